# corolab.mk - the one build fragment. Every Makefile in the tree includes
# it: the lesson Makefiles (PROG := name, then include), common/, tests/.
#
# Knobs:  CC CFLAGS CPPFLAGS LDFLAGS PREFIX DESTDIR   as usual
#         SWITCH=asm|ucontext   the context switch (default asm)
#         SAN=1                 AddressSanitizer + UBSan
#         WERROR=1              -Werror (CI sets it)
# Dependencies are not installed here: `make deps` (common/deps.sh) does.

# 'all' stays the default goal of whatever Makefile includes this.
.DEFAULT_GOAL := all

COROLAB_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VERSION := 0.1.0

CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SWITCH ?= asm

# Are the build's libraries there? Only asked, never installed, while make
# reads its files: `make deps` installs them (common/deps.sh), and the
# top-level `make walkthrough` and `make check` run it first. Asked by each
# make (a sub-make may run after `make deps` has installed them).
COROLAB_DEPS_OK := $(if $(shell $(PKG_CONFIG) --exists libevent check \
                     2>/dev/null && echo yes),yes,no)
DEPS_MISSING_MSG := corolab: the build needs pkg-config, libevent (>= 2.1) and \
  check, and they are not all there: run 'make deps' at the top of the tree \
  (it installs them with apt-get) and build again.
# A Makefile that includes this one to build something stops here with that
# message; the top-level Makefile (COROLAB_TOP) must get as far as `deps`.
ifeq ($(COROLAB_DEPS_OK),no)
  ifndef COROLAB_TOP
    ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
      $(error $(DEPS_MISSING_MSG))
    endif
  endif
endif

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)
ifeq ($(SWITCH),ucontext)
  SWITCH_CPPFLAGS := -DCL_SWITCH_UCONTEXT
  SWITCH_SRC :=
else ifeq ($(SWITCH),asm)
  SWITCH_SRC := $(COROLAB_DIR)/switch_$(ARCH).S
  # The inline switch (switch.h) pushes right under its caller's frame
  # when nothing lives below rsp: one line of a parked stack fewer.
  ifeq ($(ARCH),x86_64)
    SWITCH_CPPFLAGS := -mno-red-zone -DCL_NO_RED_ZONE
  endif
  ifeq ($(wildcard $(SWITCH_SRC)),)
    $(error no assembly switch for $(ARCH): build with SWITCH=ucontext)
  endif
else
  $(error SWITCH must be asm or ucontext, not '$(SWITCH)')
endif

ifneq ($(SAN),)
  SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all
endif

WARN_FLAGS := -Wall -Wextra $(if $(WERROR),-Werror)
EVENT_CFLAGS := $(shell $(PKG_CONFIG) --cflags libevent 2>/dev/null)
EVENT_LIBS := $(shell $(PKG_CONFIG) --libs libevent 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# Hardening the compiler may not know: probed once per top-level make (and
# again only if a sub-make is given another CC).
ifneq ($(COROLAB_PROBED_CC),$(CC))
  export COROLAB_PROBED_CC := $(CC)
  export COROLAB_HARDEN := $(shell $(CC) -fstack-clash-protection -Werror -x c \
                             -c -o /dev/null /dev/null 2>/dev/null && \
                             echo -fstack-clash-protection)
endif

# Header dependencies: each object's .d file, written as it compiles, lists
# the headers it included (-MP: a deleted header is no error).
DEP_FLAGS = -MMD -MP -MF $(@:.o=.d)

# The messages' catalogues (issue 15): built from common/po/*.po into
# LOCALEDIR_BUILD by common/Makefile, installed into LOCALEDIR. A program
# reads the tree's while it is there, else the installed one (cli.c).
LOCALEDIR := $(PREFIX)/share/locale
LOCALEDIR_BUILD := $(COROLAB_DIR)/po/locale
PO_LANGS := zh_CN

ALL_CPPFLAGS := -I$(COROLAB_DIR) -D_GNU_SOURCE -DCL_VERSION='"$(VERSION)"' \
                -DCL_LOCALEDIR='"$(LOCALEDIR)"' -DCL_LOCALEDIR_BUILD='"$(LOCALEDIR_BUILD)"' \
                $(SWITCH_CPPFLAGS) $(EVENT_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS := -std=gnu11 $(WARN_FLAGS) $(COROLAB_HARDEN) $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

# The core, layer by layer (see common/README.md). monkey*.c are not here:
# they define read(), write() and friends, and must only be linked on
# purpose, as one object: $(MONKEY_OBJ) (EXTRA_OBJS = $(MONKEY_OBJ)).
LIB_SRCS := $(addprefix $(COROLAB_DIR)/,clock.c cli.c rlimit.c switch.c stack.c slab.c greenlet.c \
              generator.c trace.c trace_file.c hub.c timer.c backend_libevent.c sync.c pool.c \
              resolve.c http.c dial.c urlopen.c cosock.c repr.c)
LIB_OBJS := $(LIB_SRCS:.c=.o) $(SWITCH_SRC:.S=.o)
# For rules that compile and link in one step (the tests, the benchmarks):
# objects built by the rules below know their own headers.
LIB_HDRS := $(wildcard $(COROLAB_DIR)/*.h)
LIBCOROLAB := $(COROLAB_DIR)/libcorolab.a
LIBS := $(LIBCOROLAB) $(EVENT_LIBS) -lpthread -ldl -lm

# Rebuild everything when the flags change (SAN=1 after a plain build...).
FLAGS_STAMP := $(COROLAB_DIR)/.build-flags
BUILD_FLAGS := $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)
# Not by a make that builds nothing: a dry run (-n), one without the
# libraries, or `make deps`/`clean`/`uninstall` alone.
NO_BUILD_GOALS := clean deps deps-build need-deps uninstall
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS)))$(filter no,$(COROLAB_DEPS_OK)),)
  ifneq ($(filter-out $(NO_BUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
    ifneq ($(file <$(FLAGS_STAMP)),$(BUILD_FLAGS))
      $(file >$(FLAGS_STAMP),$(BUILD_FLAGS))
    endif
  endif
endif
# Written while this file is read, possibly after make has listed the
# folder: the empty rule keeps make from taking it for missing and falling
# back to its built-in %.o rule.
$(FLAGS_STAMP): ;

# Any object, in common/ or a lesson's folder.
%.o: %.c $(FLAGS_STAMP)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

%.o: %.S $(FLAGS_STAMP)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

# Only those whose source is still there: a .d names its own .c, and one
# left from a deleted source would stop the build ("no rule to make").
-include $(foreach d,$(wildcard $(COROLAB_DIR)/*.d *.d),\
           $(if $(wildcard $(d:.d=.c) $(d:.d=.S)),$(d)))

MONKEY_PARTS := $(addprefix $(COROLAB_DIR)/,monkey_core.o monkey_io.o monkey_fd.o \
                  monkey_poll.o monkey_sleep.o monkey_dns.o)
MONKEY_OBJ := $(COROLAB_DIR)/monkey.o
$(MONKEY_OBJ): $(MONKEY_PARTS)
	$(LD) -r -o $@ $^

$(LIBCOROLAB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# A lesson: PROG is its name, SRCS its sources (default PROG.c), EXTRA_OBJS
# anything else it links (05 links monkey.o).
ifdef PROG
SRCS ?= $(PROG).c
OBJS := $(patsubst %.c,%.o,$(SRCS))
all: $(PROG)
$(PROG): $(OBJS) $(EXTRA_OBJS) $(LIBCOROLAB) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(EXTRA_OBJS) $(LIBS)
clean:
	rm -f $(PROG) *.o *.d
.PHONY: all clean
endif
