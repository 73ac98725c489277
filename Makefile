# heapprof-c - GNU Makefile
#
#   make                 library (static + shared) and CLI in build/
#   make test            every test (unit, CLI); installs missing deps first
#   make demo            digest the bundled sample profile and inspect it
#   make bench           benchmarks (docs/PERFORMANCE.md); not part of test
#   make install PREFIX=/usr/local
#   make test SANITIZE=address,undefined   (or SANITIZE=thread)
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

.PHONY: all deps test unit-test cli-test mpi mpi-test demo bench install clean
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
	    echo "== $$t"; HP_TEST_DATA=tests/data HPGEN=$(GEN) ./$$t; done

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

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory cli-test
	@$(MAKE) --no-print-directory mpi-test

demo: deps
	@$(MAKE) --no-print-directory all
	@./scripts/demo.sh $(CLI)

BENCH_BIN := $(BUILD)/baseline $(BUILD)/randread $(BUILD)/membw
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@./scripts/bench.sh $(BUILD)

# the baseline is built plainly, as anyone would: no OpenMP, no library
$(BUILD)/baseline: bench/baseline.c
	$(CC) -std=c11 -O2 -g -Wall -Wextra -o $@ $<

$(BUILD)/randread: $(BUILD)/obj/bench/randread.o $(STATIC)
	$(CC) $(ALLLDFLAGS) -o $@ $< $(STATIC) $(LIBS)

$(BUILD)/membw: $(BUILD)/obj/bench/membw.o
	$(CC) $(ALLLDFLAGS) -o $@ $<

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

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) \
         $(UNIT_BIN:$(BUILD)/tests/%=$(BUILD)/obj/tests/unit/%.d) $(wildcard $(BUILD)/obj/bench/*.d)
