# corolab.mk - the one build fragment. Every Makefile in the tree includes
# it: the lesson Makefiles (PROG := name, then include), common/, tests/.
#
# Knobs:  CC CFLAGS CPPFLAGS LDFLAGS PREFIX DESTDIR   as usual
#         SWITCH=asm|ucontext   the context switch (default asm)
#         SAN=1                 AddressSanitizer + UBSan
#         WERROR=1              -Werror (CI sets it)

# 'all' stays the default goal of whatever Makefile includes this.
.DEFAULT_GOAL := all

COROLAB_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VERSION := 0.1.0

CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SWITCH ?= asm

# Install libevent-dev, check and pkg-config if missing (once per make).
ifndef COROLAB_DEPS_CHECKED
  export COROLAB_DEPS_CHECKED := $(shell $(COROLAB_DIR)/deps.sh >&2 && echo yes)
  ifneq ($(COROLAB_DEPS_CHECKED),yes)
    $(error build dependencies missing; see the message above)
  endif
endif

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)
ifeq ($(SWITCH),ucontext)
  SWITCH_CPPFLAGS := -DCL_SWITCH_UCONTEXT
  SWITCH_SRC :=
else ifeq ($(SWITCH),asm)
  SWITCH_SRC := $(COROLAB_DIR)/switch_$(ARCH).S
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
EVENT_CFLAGS := $(shell $(PKG_CONFIG) --cflags libevent)
EVENT_LIBS := $(shell $(PKG_CONFIG) --libs libevent)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

ALL_CPPFLAGS := -I$(COROLAB_DIR) -D_GNU_SOURCE -DCL_VERSION='"$(VERSION)"' \
                $(SWITCH_CPPFLAGS) $(EVENT_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS := -std=gnu11 $(WARN_FLAGS) $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

# The core, layer by layer (see common/README.md). monkey*.c are not here:
# they define read(), write() and friends, and must only be linked on
# purpose, as one object: $(MONKEY_OBJ) (EXTRA_OBJS = $(MONKEY_OBJ)).
LIB_SRCS := $(addprefix $(COROLAB_DIR)/,clock.c cli.c rlimit.c switch.c stack.c greenlet.c \
              generator.c trace.c hub.c timer.c backend_libevent.c sync.c pool.c \
              resolve.c http.c dial.c urlopen.c cosock.c repr.c)
LIB_OBJS := $(LIB_SRCS:.c=.o) $(SWITCH_SRC:.S=.o)
LIB_HDRS := $(wildcard $(COROLAB_DIR)/*.h)
LIBCOROLAB := $(COROLAB_DIR)/libcorolab.a
LIBS := $(LIBCOROLAB) $(EVENT_LIBS) -lpthread -ldl -lm

# Rebuild everything when the flags change (SAN=1 after a plain build...).
FLAGS_STAMP := $(COROLAB_DIR)/.build-flags
BUILD_FLAGS := $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)
ifneq ($(file <$(FLAGS_STAMP)),$(BUILD_FLAGS))
  $(file >$(FLAGS_STAMP),$(BUILD_FLAGS))
endif
# Written while this file is read, possibly after make has listed the
# folder: the empty rule keeps make from taking it for missing and falling
# back to its built-in %.o rule.
$(FLAGS_STAMP): ;

$(COROLAB_DIR)/%.o: $(COROLAB_DIR)/%.c $(LIB_HDRS) $(FLAGS_STAMP)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(COROLAB_DIR)/%.o: $(COROLAB_DIR)/%.S $(FLAGS_STAMP)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

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
all: $(PROG)
$(PROG): $(SRCS) $(EXTRA_OBJS) $(LIBCOROLAB) $(LIB_HDRS) $(FLAGS_STAMP)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(SRCS) \
	    $(EXTRA_OBJS) $(LIBS)
clean:
	rm -f $(PROG) *.o
.PHONY: all clean
endif
