# heapprof-c - GNU Makefile
#
#   make                 library (static + shared) and CLI in build/
#   make test            what CI runs: the suite plain, under ASan+UBSan and
#                        TSan, and a fuzz smoke run; installs missing deps
#   make check           the suite once (unit, CLI, MPI where installed)
#   make check SANITIZE=address,undefined   (or SANITIZE=thread)
#   make demo            digest the bundled sample profile and inspect it
#   make bench           benchmarks (docs/PERFORMANCE.md); not part of test
#   make bench-static    the same as a static bundle for another machine
#   make fuzz            each libFuzzer target for FUZZ_SECONDS (clang)
#   make mpi             heapprof-mpi, where Open MPI is installed
#   make install PREFIX=/usr/local
#   make CC=clang

CC       ?= cc
PREFIX   ?= /usr/local
SANITIZE ?=
CFLAGS   ?= -O2 -g
AR       ?= ar

PKGS     := libzstd
ifeq ($(SANITIZE),)
BUILD    ?= build
else
BUILD    ?= build/san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
comma    := ,

WARN      := -Wall -Wextra
ALLCFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) -fopenmp -fPIC -pthread \
             -D_GNU_SOURCE -Iinclude -Isrc/lib \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS      := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lzstd) -lm
ALLLDFLAGS := $(SANFLAGS) -fopenmp -pthread $(LDFLAGS)

LIB_SRC  := $(wildcard src/lib/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/obj/%.o)

STATIC   := $(BUILD)/libheapprof.a
SHARED   := $(BUILD)/libheapprof.so
CLI      := $(BUILD)/heapprof
GEN      := $(BUILD)/hpgen
DEPS_OK  := build/.deps-ok

.PHONY: all deps test check unit-test cli-test mpi mpi-test fuzz fuzz-smoke demo bench bench-static install clean
# test objects are intermediate files; keep them so reruns do not rebuild
.SECONDARY:
all: $(STATIC) $(SHARED) $(CLI) $(GEN)

# Installs missing -dev packages once (scripts/install-deps.sh).
deps: $(DEPS_OK)
$(DEPS_OK): scripts/install-deps.sh
	@./scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libheapprof.so.0 $(ALLLDFLAGS) -o $@ $^ $(LIBS)

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(ALLLDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

$(GEN): $(BUILD)/obj/scripts/hpgen.o
	$(CC) $(ALLLDFLAGS) -o $@ $^ -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TESTLIB_OBJ) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(STATIC) $(LIBS) $$(pkg-config --libs cmocka)

unit-test: $(UNIT_BIN) $(GEN)
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== $$t"; HP_TEST_DATA=tests/data HPGEN=$(GEN) $(if $(SANITIZE),HP_SANITIZED=1) ./$$t; done

cli-test: $(CLI) $(GEN)
	@HEAPPROF=$(CLI) HPGEN=$(GEN) BUILD=$(BUILD) ./tests/cli/run.sh

# heapprof-mpi: built and tested where Open MPI's mpicc and mpirun are
# installed (Debian: libopenmpi-dev openmpi-bin); skipped elsewhere.
MPICC    ?= mpicc
MPI_BIN  := $(BUILD)/heapprof-mpi
CLI_LIB_OBJ := $(filter-out %/main.o %/digest.o %/inspect.o %/tune.o,$(CLI_OBJ))
$(MPI_BIN): src/mpi/main.c $(CLI_LIB_OBJ) $(STATIC)
	OMPI_CC=$(CC) $(MPICC) $(ALLCFLAGS) -Isrc/cli -o $@ $< $(CLI_LIB_OBJ) $(STATIC) $(ALLLDFLAGS) $(LIBS)
mpi:
	@if command -v $(MPICC) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(MPI_BIN); \
	else echo "mpi: $(MPICC) not found (apt-get install libopenmpi-dev openmpi-bin)"; fi
mpi-test: mpi $(CLI) $(GEN)
	@if command -v mpirun >/dev/null 2>&1 && [ -x $(MPI_BIN) ]; then \
	    HEAPPROF=$(CLI) HEAPPROF_MPI=$(MPI_BIN) HPGEN=$(GEN) ./tests/cli/mpi.sh; \
	else echo "mpi-test: skipped (Open MPI is not installed)"; fi

# check: the suite once, as built (plain, or with SANITIZE=...)
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory cli-test
	@$(MAKE) --no-print-directory mpi-test

# test: what CI runs. The suite plain, again under ASan+UBSan, the unit
# tests (the threaded engine and batches) under TSan, then a short fuzz run
# of every target and its regression inputs where clang is installed.
test: deps
	@$(MAKE) --no-print-directory check
	@echo "== the suite under AddressSanitizer and UndefinedBehaviorSanitizer"
	@$(MAKE) --no-print-directory check SANITIZE=address,undefined
	@echo "== the unit tests under ThreadSanitizer"
	@$(MAKE) --no-print-directory all unit-test SANITIZE=thread
	@$(MAKE) --no-print-directory fuzz-smoke

demo: deps
	@$(MAKE) --no-print-directory all
	@./scripts/demo.sh $(CLI)

BENCH_BIN := $(BUILD)/baseline $(BUILD)/baseline_fread $(BUILD)/timeit $(BUILD)/randread $(BUILD)/membw
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@./scripts/bench.sh $(BUILD)

# static binaries and the bench script in one folder, for a bigger machine
bench-static: deps
	@./scripts/bench-static.sh

# the baselines are built plainly, as anyone would: no OpenMP, no library
$(BUILD)/baseline $(BUILD)/baseline_fread $(BUILD)/timeit: $(BUILD)/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -Wall -Wextra $(LDFLAGS) -o $@ $<

$(BUILD)/randread: $(BUILD)/obj/bench/randread.o $(STATIC)
	$(CC) $(ALLLDFLAGS) -o $@ $< $(STATIC) $(LIBS)

$(BUILD)/membw: $(BUILD)/obj/bench/membw.o
	$(CC) $(ALLLDFLAGS) -o $@ $<

# ---- fuzzing (clang's libFuzzer; docs/RELIABILITY.md) ------------------------
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 1800
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGETS := hpm hpd hpc digest
FUZZ_CFLAGS  := -std=c11 -Wall -Wextra -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all -fopenmp=libgomp -pthread -D_GNU_SOURCE \
                -Iinclude -Isrc/lib -Itests/unit -Itests/fuzz $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/tests/unit/testutil.o
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_RUN     := -rss_limit_mb=2048 -timeout=20 -max_len=4096 -print_final_stats=1

$(FUZZ_BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -fopenmp=libgomp -pthread -o $@ $^ \
	    $(LIBS) $$(pkg-config --libs cmocka)

# make fuzz: each target for FUZZ_SECONDS (default 30 min), growing its corpus
# in tests/fuzz/findings/ (crashes land there too: keep them as regressions)
fuzz: $(FUZZ_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p tests/fuzz/findings/$$t; echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_RUN) -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=tests/fuzz/findings/$$t- tests/fuzz/findings/$$t tests/fuzz/corpus/$$t; \
	done

# part of make test: the regression inputs once each, then a short run
fuzz-smoke:
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then echo "fuzz-smoke: skipped ($(FUZZ_CC) not installed)"; \
	else $(MAKE) --no-print-directory $(FUZZ_BIN) && set -e && for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$t: regressions, then $(FUZZ_SMOKE_SECONDS) s"; \
	    if ls tests/fuzz/regressions/$$t/* >/dev/null 2>&1; then \
	        $(FUZZ_BUILD)/fuzz_$$t -runs=1 tests/fuzz/regressions/$$t/* >$(FUZZ_BUILD)/$$t.log 2>&1 \
	            || { cat $(FUZZ_BUILD)/$$t.log; exit 1; }; \
	        echo "$$(ls tests/fuzz/regressions/$$t | wc -l) regression inputs pass"; fi; \
	    work=$$(mktemp -d); cp tests/fuzz/corpus/$$t/* $$work/; mkdir -p tests/fuzz/findings; \
	    $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_RUN) -max_total_time=$(FUZZ_SMOKE_SECONDS) \
	        -artifact_prefix=tests/fuzz/findings/$$t- $$work >$(FUZZ_BUILD)/$$t.log 2>&1 \
	        || { rm -rf $$work; tail -40 $(FUZZ_BUILD)/$$t.log; \
	             echo "fuzz_$$t failed: the input is in tests/fuzz/findings/"; exit 1; }; \
	    grep -E "^Done" $(FUZZ_BUILD)/$$t.log; rm -rf $$work; done; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/heapprof.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libheapprof.so.0
	ln -sf libheapprof.so.0 $(DESTDIR)$(PREFIX)/lib/libheapprof.so
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define HP_VERSION_STRING "\(.*\)"/\1/p' include/heapprof.h)|' \
	    heapprof.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/heapprof.pc

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) $(wildcard $(FUZZ_BUILD)/obj/*/*/*.d) \
         $(UNIT_BIN:$(BUILD)/tests/%=$(BUILD)/obj/tests/unit/%.d) $(wildcard $(BUILD)/obj/bench/*.d)
