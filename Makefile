# corolab - build every lesson, the benchmarks and the tests.
#   make            build      make check    all tests     make bench   run the benchmarks
#   make deps       install the build's and the tests' Debian packages (apt-get)
#   make install    PREFIX=/usr/local DESTDIR=      make uninstall (same knobs)
#   make walkthrough   run the lessons in order, as in class
#   make update-po  refresh common/po/corolab.pot and merge it into each .po
#   make fuzz       libFuzzer on the URL and HTTP parsers, FUZZ_SECONDS=30 each
#   make compare LESSON=03 RUN=my-run.txt   your run against expected.txt
#   make exercise LESSON=03 [EX=name [ARGS=...] | Q=1 ANSWER=file]   see NN_*/exercises/
# `make walkthrough` and `make check` run `make deps` first (walkthrough: the
# build's packages only); plain `make` never installs anything.
LESSONS := 01_yield_generator 02_greenlet_switch 03_gevent_sleep \
           04_sync_vs_async 05_io_autoswitch 06_socket_server 07_load_client

all: lessons benches

# Here make must get as far as `deps` even when the libraries are missing.
COROLAB_TOP := 1
include common/corolab.mk

# What a program of one's own links (see common/corolab.pc.in).
MONKEY_O := $(or $(MONKEY_OBJ),$(COROLAB_DIR)/monkey.o)

# ---- dependencies -------------------------------------------------------
# deps: everything (the tests' tools too; chromium is tried, not required).
# deps-build: only what the lessons need to build.
deps:
	@common/deps.sh all
deps-build:
	@common/deps.sh build

# Stops the build with a clear message when `make deps` is needed.
need-deps:
	@$(if $(filter no,$(COROLAB_DEPS_OK)),echo "$(DEPS_MISSING_MSG)" >&2; exit 1,:)

# ---- building -----------------------------------------------------------
lib: need-deps
	$(MAKE) -C common lib

lessons: lib
	@set -e; for d in $(LESSONS); do $(MAKE) -C $$d; done

benches: lib
	$(MAKE) -C tests/bench

# After the lessons: 05 links it too, and two makes must not build it at once.
monkey: lessons
	$(MAKE) -C common $(MONKEY_O)

# The sub-make reads the tree again after `make deps` has run.
check: deps
	@$(MAKE) --no-print-directory check-only

check-only: lessons benches
	$(MAKE) -C tests check

# WALKTHROUGH='--from 3' (or --only N, --no-pause, --pictures DIR) is passed on.
walkthrough: deps-build
	@$(MAKE) -s --no-print-directory lessons
	@common/walkthrough.sh $(WALKTHROUGH)

# tests/compare.sh and tests/exercise.sh; see tests/README.md, "Students".
compare:
	@tests/compare.sh "$(LESSON)" "$(RUN)"

exercise:
	@tests/exercise.sh "$(LESSON)" $(if $(EX),"$(EX)" $(if $(ARGS),'$(ARGS)')) \
	    $(if $(Q),"q$(Q)" $(if $(ANSWER),"$(ANSWER)"))

update-po:
	$(MAKE) -C common update-po

fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),30)

bench: lessons benches
	$(MAKE) -C tests/bench run

# ---- install ------------------------------------------------------------
# A program of one's own links libcorolab.a (and, to be monkey-patched,
# monkey.o) with the flags `pkg-config --cflags --libs corolab` gives.
# Every command gets a man page made from its --help (common/mkman.sh).
BINDIR := $(PREFIX)/bin
LIBDIR := $(PREFIX)/lib
INCDIR := $(PREFIX)/include/corolab
PCDIR := $(LIBDIR)/pkgconfig
MAN1DIR := $(PREFIX)/share/man/man1
DOCDIR := $(PREFIX)/share/doc/corolab
MANDIR_BUILD := tests/out/man

man: lessons
	@mkdir -p $(MANDIR_BUILD)
	@set -e; for d in $(LESSONS); do \
	    common/mkman.sh $$d/$$d corolab-$$d $(VERSION) >$(MANDIR_BUILD)/corolab-$$d.1; done

corolab.pc: common/corolab.pc.in
	@mkdir -p $(MANDIR_BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    common/corolab.pc.in >$(MANDIR_BUILD)/corolab.pc

install: lessons monkey man corolab.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) \
	    $(DESTDIR)$(PCDIR) $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(DOCDIR)
	@set -e; for d in $(LESSONS); do \
	    echo install -m 755 $$d/$$d $(DESTDIR)$(BINDIR)/corolab-$$d; \
	    install -m 755 $$d/$$d $(DESTDIR)$(BINDIR)/corolab-$$d; \
	    install -m 644 $(MANDIR_BUILD)/corolab-$$d.1 $(DESTDIR)$(MAN1DIR)/; \
	    install -d $(DESTDIR)$(DOCDIR)/$$d; \
	    install -m 644 $$d/README.md $$d/expected.txt $(DESTDIR)$(DOCDIR)/$$d/; done
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 644 common/libcorolab.a $(MONKEY_O) $(DESTDIR)$(LIBDIR)/
	mv $(DESTDIR)$(LIBDIR)/$(notdir $(MONKEY_O)) $(DESTDIR)$(LIBDIR)/corolab-monkey.o
	install -m 644 common/*.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(MANDIR_BUILD)/corolab.pc $(DESTDIR)$(PCDIR)/
	@set -e; for l in $(PO_LANGS); do \
	    mo=$(LOCALEDIR_BUILD)/$$l/LC_MESSAGES/corolab.mo; [ -f $$mo ] || continue; \
	    echo install -m 644 $$mo $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/; \
	    install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES; \
	    install -m 644 $$mo $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/; done

uninstall:
	@set -e; for d in $(LESSONS); do \
	    rm -f $(DESTDIR)$(BINDIR)/corolab-$$d $(DESTDIR)$(MAN1DIR)/corolab-$$d.1; \
	    rm -rf $(DESTDIR)$(DOCDIR)/$$d; done
	rm -f $(DESTDIR)$(LIBDIR)/libcorolab.a $(DESTDIR)$(LIBDIR)/corolab-monkey.o \
	    $(DESTDIR)$(PCDIR)/corolab.pc $(DESTDIR)$(DOCDIR)/README.md
	rm -rf $(DESTDIR)$(INCDIR)
	@set -e; for l in $(PO_LANGS); do \
	    rm -f $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/corolab.mo; done
	@rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

clean:
	$(MAKE) -C common clean
	@for d in $(LESSONS); do $(MAKE) -C $$d clean; done
	$(MAKE) -C tests clean
	$(MAKE) -C tests/bench clean
	$(MAKE) -C tests/fuzz clean

.PHONY: all deps deps-build need-deps lib lessons benches monkey check check-only update-po \
        walkthrough fuzz bench man corolab.pc install uninstall clean compare exercise
