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
#   make python          the Python package heapprof_c, built in place (python/)
#   make bench-python    the Python package's benchmark (docs/PERFORMANCE.md)
#   make install PREFIX=/usr/local    (make uninstall PREFIX=... removes it)
#   make deps            install what is missing (apt-get); only `deps`,
#                        `test` and `demo` ever install anything
#   make CC=clang

CC       ?= cc
PREFIX   ?= /usr/local
# Debian's python3 (with python3-dev, -setuptools, -pytest) rather than another on PATH
PYTHON   ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
SANITIZE ?=
CFLAGS   ?= -O2 -g
AR       ?= ar

PKGS     := libzstd libxxhash libprotobuf-c zlib
ifeq ($(SANITIZE),)
BUILD    ?= build
else
BUILD    ?= build/san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
comma    := ,

# the version, from the public header: the soname is libheapprof.so.MAJOR
VERSION  := $(shell sed -n 's/^\#define HP_VERSION_STRING "\(.*\)"/\1/p' include/heapprof.h)
MAJOR    := $(firstword $(subst ., ,$(VERSION)))

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual \
             -Wundef -Wpointer-arith -Wformat=2
BASEFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) -fPIC -pthread -D_GNU_SOURCE -Iinclude
# the library: its own headers, OpenMP, and only heapprof.h's symbols exported
LIBCFLAGS := $(BASEFLAGS) -fopenmp -fvisibility=hidden -Isrc/lib -I$(BUILD)/gen \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# the CLI and the MPI driver see the public header alone
CLICFLAGS := $(BASEFLAGS)
# tests and benchmarks may look inside
TESTCFLAGS := $(LIBCFLAGS) -Itests/unit
LIBS      := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lzstd -lxxhash -lprotobuf-c -lz) -lm
ALLLDFLAGS := $(SANFLAGS) -fopenmp -pthread $(LDFLAGS)

LIB_SRC  := $(wildcard src/lib/*.c)
# pprof's profile.proto as C, generated at build time (docs/DESIGN.md)
PROTO_OBJ := $(BUILD)/obj/gen/profile.pb-c.o
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(PROTO_OBJ)
# the CLI: its commands, and the parts heapprof-mpi shares with it
CLI_COMMON_OBJ := $(patsubst %,$(BUILD)/obj/src/cli/%.o,options util report digest_opts)
CLI_CMD_OBJ    := $(patsubst %,$(BUILD)/obj/src/cli/%.o,main digest inspect tune export)
CLI_OBJ  := $(CLI_COMMON_OBJ) $(CLI_CMD_OBJ)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/obj/%.o)

STATIC   := $(BUILD)/libheapprof.a
SHARED   := $(BUILD)/libheapprof.so
CLI      := $(BUILD)/heapprof
GEN      := $(BUILD)/hpgen
DEPS_OK  := build/.deps-ok

.PHONY: all deps test check unit-test abi-test cli-test mpi mpi-test fuzz fuzz-smoke demo bench \
        bench-static install uninstall clean python python-test python-pip-test bench-python
# test objects are intermediate files; keep them so reruns do not rebuild
.SECONDARY:
all: $(STATIC) $(SHARED) $(CLI) $(GEN)

# Installs missing packages (scripts/install-deps.sh): `make deps`, and
# `make test` and `make demo` first. A plain `make` never installs anything.
deps: $(DEPS_OK)
$(DEPS_OK): scripts/install-deps.sh
	@./scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/src/lib/%.o: src/lib/%.c
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -MMD -MP -c $< -o $@

# src/lib/profile.proto -> BUILD/gen/profile.pb-c.[ch] with protoc-c (Debian:
# protobuf-c-compiler), for every build folder (plain, sanitizers, fuzz)
PROTOC_C ?= protoc-c
%/gen/profile.pb-c.c %/gen/profile.pb-c.h: src/lib/profile.proto
	@mkdir -p $(@D)
	$(PROTOC_C) --proto_path=src/lib --c_out=$(@D) src/lib/profile.proto
$(PROTO_OBJ): $(BUILD)/gen/profile.pb-c.c
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -MMD -MP -c $< -o $@
# what includes the generated header waits for it
$(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(UNIT_SRC:%.c=$(BUILD)/obj/%.o) $(TESTLIB_OBJ): | $(BUILD)/gen/profile.pb-c.h

$(BUILD)/obj/src/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CLICFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TESTCFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libheapprof.so.$(MAJOR) $(ALLLDFLAGS) -o $@ $^ $(LIBS)

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(ALLLDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

$(GEN): $(BUILD)/obj/scripts/hpgen.o
	$(CC) $(ALLLDFLAGS) -o $@ $^ -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TESTLIB_OBJ) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALLLDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(STATIC) $(LIBS) $$(pkg-config --libs cmocka)

unit-test: $(UNIT_BIN) $(GEN)
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== $$t"; HP_TEST_DATA=tests/data HPGEN=$(GEN) $(if $(SANITIZE),HP_SANITIZED=$(SANITIZE)) ./$$t; done

# only what heapprof.h declares is exported from the shared library
abi-test: $(SHARED)
	@./tests/abi.sh $(SHARED)

# out of memory and write errors, one call after another
# (tests/cli/failcalls.sh): not under the sanitizers, whose allocators the
# preloaded library would stand in front of
FAILCALLS := $(if $(SANITIZE),,$(BUILD)/failcalls.so)
$(BUILD)/failcalls.so: tests/cli/failcalls.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -shared -o $@ $< -ldl

cli-test: $(CLI) $(GEN) $(FAILCALLS)
	@HEAPPROF=$(CLI) HPGEN=$(GEN) BUILD=$(BUILD) ./tests/cli/run.sh
	@HEAPPROF=$(CLI) HPGEN=$(GEN) $(if $(SANITIZE),HP_SANITIZED=1) ./tests/cli/edges.sh
	@HEAPPROF=$(CLI) HPGEN=$(GEN) ./tests/cli/export.sh
	@HEAPPROF=$(CLI) HPGEN=$(GEN) FAILCALLS=$(FAILCALLS) ./tests/cli/failcalls.sh

# heapprof-mpi: built and tested where Open MPI's mpicc and mpirun are
# installed (Debian: libopenmpi-dev openmpi-bin); skipped elsewhere.
MPICC    ?= mpicc
MPI_BIN  := $(BUILD)/heapprof-mpi
$(MPI_BIN): src/mpi/main.c $(CLI_COMMON_OBJ) $(STATIC)
	OMPI_CC=$(CC) $(MPICC) $(CLICFLAGS) -Isrc/cli -o $@ $< $(CLI_COMMON_OBJ) $(STATIC) \
	    $(ALLLDFLAGS) $(LIBS)
mpi:
	@if command -v $(MPICC) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(MPI_BIN); \
	else echo "mpi: $(MPICC) not found (apt-get install libopenmpi-dev openmpi-bin)"; fi
mpi-test: mpi $(CLI) $(GEN)
	@if command -v mpirun >/dev/null 2>&1 && [ -x $(MPI_BIN) ]; then \
	    HEAPPROF=$(CLI) HEAPPROF_MPI=$(MPI_BIN) HPGEN=$(GEN) ./tests/cli/mpi.sh; \
	else echo "mpi-test: skipped (Open MPI is not installed)"; fi

# ---- the Python package (python/, docs/PYTHON.md) ------------------------------
# setup.py builds the extension, here as for pip: against include/heapprof.h
# and $(BUILD)/libheapprof.a. Plain: in place (python/heapprof_c/); with
# SANITIZE=address,undefined: into $(BUILD)/python/ beside a copy of the
# package's Python files, run with libasan preloaded.
PY_SRC   := python/setup.py python/src/_heapprof_c.c include/heapprof.h
ifeq ($(SANITIZE),)
PY_DIR   := python
PY_EXT_FLAGS := --inplace --force
PY_ENV   :=
else
PY_DIR   := $(BUILD)/python
PY_EXT_FLAGS := --build-lib $(abspath $(PY_DIR)) --build-temp $(abspath $(BUILD)/python-tmp) --force
PY_ENV   := CFLAGS="$(SANFLAGS)" LDFLAGS="$(SANFLAGS)" HEAPPROF_BUILD=$(abspath $(BUILD))
PY_RUN   := LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
            PYTHONMALLOC=malloc
endif
PY_EXT   := $(PY_DIR)/heapprof_c/_heapprof_c.abi3.so

python: $(PY_EXT)
$(PY_EXT): $(STATIC) $(PY_SRC) $(if $(SANITIZE),$(wildcard python/heapprof_c/*.py))
	@cd python && $(PY_ENV) $(PYTHON) setup.py -q build_ext $(PY_EXT_FLAGS) 2>&1 \
	    | { grep -v -e _BetaConfiguration -e 'warnings.warn(msg' || true; }
	@test -z "$(SANITIZE)" || cp python/heapprof_c/*.py $(PY_DIR)/heapprof_c/
	@test -f $@ && touch $@

# the pytest suite (its closing summary line is the last line it prints);
# skipped under ThreadSanitizer, whose runtime CPython cannot preload
python-test:
	@if [ "$(findstring thread,$(SANITIZE))" ]; then echo "python-test: skipped under TSan"; \
	else $(MAKE) --no-print-directory -s python && cd python && \
	    $(PY_RUN) PYTHONPATH=$(abspath $(PY_DIR)) HEAPPROF_BUILD=$(abspath $(BUILD)) \
	    $(PYTHON) -m pytest -q -p no:cacheprovider tests; fi

# `pip install --no-build-isolation ./python` works offline: into a scratch
# folder, then imported from there
python-pip-test: $(STATIC)
	@./python/tests/pip_install.sh $(PYTHON)

bench-python: all python
	@PYTHONPATH=python $(PYTHON) python/bench/bench.py $(BENCH_ARGS)

# check: the suite once, as built (plain, or with SANITIZE=...)
check:
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory abi-test
	@$(MAKE) --no-print-directory cli-test
	@$(MAKE) --no-print-directory mpi-test
	@$(MAKE) --no-print-directory python-test
	@test -n "$(SANITIZE)" || $(MAKE) --no-print-directory python-pip-test

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

BENCH_BIN := $(BUILD)/baseline $(BUILD)/baseline_fread $(BUILD)/timeit $(BUILD)/randread \
             $(BUILD)/membw $(BUILD)/schedsim
bench:
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@./scripts/bench.sh $(BUILD)
	@./scripts/bench-batch.sh $(BUILD)

# static binaries and the bench script in one folder, for a bigger machine
bench-static:
	@./scripts/bench-static.sh

# the baselines are built plainly, as anyone would: no OpenMP, no library
$(BUILD)/baseline $(BUILD)/baseline_fread $(BUILD)/timeit: $(BUILD)/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g $(WARN) $(LDFLAGS) -o $@ $<

# the batch scheduler replayed under its cost model (scripts/bench-batch.sh)
$(BUILD)/schedsim: $(BUILD)/obj/bench/schedsim.o $(STATIC)
	$(CC) $(ALLLDFLAGS) -o $@ $< $(STATIC) $(LIBS)

$(BUILD)/randread: $(BUILD)/obj/bench/randread.o $(STATIC)
	$(CC) $(ALLLDFLAGS) -o $@ $< $(STATIC) $(LIBS)

$(BUILD)/membw: $(BUILD)/obj/bench/membw.o
	$(CC) $(ALLLDFLAGS) -o $@ $<

# ---- fuzzing (clang's libFuzzer; docs/RELIABILITY.md) ------------------------
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 1800
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_TARGETS := hpm hpd hpc digest
FUZZ_CFLAGS  := -std=c11 $(WARN) -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all -fopenmp=libgomp -pthread -D_GNU_SOURCE \
                -Iinclude -Isrc/lib -I$(FUZZ_BUILD)/gen -Itests/unit -Itests/fuzz \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/gen/profile.pb-c.o \
                $(FUZZ_BUILD)/obj/tests/unit/testutil.o
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_RUN     := -rss_limit_mb=2048 -timeout=20 -max_len=4096 -print_final_stats=1

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/obj/gen/profile.pb-c.o: $(FUZZ_BUILD)/gen/profile.pb-c.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_LIB_OBJ): | $(FUZZ_BUILD)/gen/profile.pb-c.h

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

# The header, both libraries (libheapprof.so.VERSION, with the soname and
# the development links), pkg-config, the CLI, heapprof-mpi where `make mpi`
# built it, and the man page. Python goes through pip (README).
INSTALLED := include/heapprof.h lib/libheapprof.a lib/libheapprof.so.$(VERSION) \
             lib/libheapprof.so.$(MAJOR) lib/libheapprof.so lib/pkgconfig/heapprof.pc \
             bin/heapprof bin/heapprof-mpi share/man/man1/heapprof.1
install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 include/heapprof.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libheapprof.so.$(VERSION)
	ln -sf libheapprof.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libheapprof.so.$(MAJOR)
	ln -sf libheapprof.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libheapprof.so
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	if [ -x $(MPI_BIN) ]; then install -m 755 $(MPI_BIN) $(DESTDIR)$(PREFIX)/bin/; fi
	install -m 644 docs/heapprof.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|' \
	    heapprof.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/heapprof.pc

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))

clean:
	rm -rf build python/build python/heapprof_c/*.so python/*.egg-info
	find python -name __pycache__ -prune -exec rm -rf {} +

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) $(wildcard $(FUZZ_BUILD)/obj/*/*/*.d) \
         $(UNIT_BIN:$(BUILD)/tests/%=$(BUILD)/obj/tests/unit/%.d) $(wildcard $(BUILD)/obj/bench/*.d)
