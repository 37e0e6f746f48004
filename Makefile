# corolab - build every lesson, the benchmarks and the tests.
#   make            build      make check    all tests     make bench   run the benchmarks
#   make install    PREFIX=/usr/local DESTDIR=
#   make walkthrough   run the lessons in order, as in class
#   make fuzz       libFuzzer on the URL and HTTP parsers, FUZZ_SECONDS=30 each
#   make compare LESSON=03 RUN=my-run.txt   your run against expected.txt
#   make exercise LESSON=03 [EX=name [ARGS=...] | Q=1 ANSWER=file]   see NN_*/exercises/
LESSONS := 01_yield_generator 02_greenlet_switch 03_gevent_sleep \
           04_sync_vs_async 05_io_autoswitch 06_socket_server 07_load_client

all: lessons benches

include common/corolab.mk

lib:
	$(MAKE) -C common lib

lessons: lib
	@set -e; for d in $(LESSONS); do $(MAKE) -C $$d; done

benches: lib
	$(MAKE) -C tests/bench

check: lessons benches
	$(MAKE) -C tests check

# WALKTHROUGH='--from 3' (or --only N, --no-pause) is passed on.
walkthrough:
	@$(MAKE) -s --no-print-directory lessons
	@common/walkthrough.sh $(WALKTHROUGH)

# tests/compare.sh and tests/exercise.sh; see tests/README.md, "Students".
compare:
	@tests/compare.sh "$(LESSON)" "$(RUN)"

exercise:
	@tests/exercise.sh "$(LESSON)" $(if $(EX),"$(EX)" $(if $(ARGS),'$(ARGS)')) \
	    $(if $(Q),"q$(Q)" $(if $(ANSWER),"$(ANSWER)"))

fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),30)

bench: lessons benches
	$(MAKE) -C tests/bench run

install: lessons
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include/corolab
	@set -e; for d in $(LESSONS); do \
	    echo install -m 755 $$d/$$d $(DESTDIR)$(PREFIX)/bin/corolab-$$d; \
	    install -m 755 $$d/$$d $(DESTDIR)$(PREFIX)/bin/corolab-$$d; done
	install -m 644 common/libcorolab.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 common/*.h $(DESTDIR)$(PREFIX)/include/corolab/

clean:
	$(MAKE) -C common clean
	@for d in $(LESSONS); do $(MAKE) -C $$d clean; done
	$(MAKE) -C tests clean
	$(MAKE) -C tests/bench clean
	$(MAKE) -C tests/fuzz clean

.PHONY: all lib lessons benches bench check walkthrough fuzz install clean \
        compare exercise
