#!/usr/bin/env bash
# make bench-static: the benchmark as one folder for another machine.
#
#   scripts/bench-static.sh [OUTDIR]     (default build/heapprof-bench)
#
# Builds heapprof, hpgen, the baselines, timeit, randread, membw and schedsim
# as static executables (-static: glibc, libzstd.a, libgomp.a) in
# build/static/, checks that they are static and run, and copies them with
# scripts/bench.sh, scripts/bench-batch.sh, the small-a fixture (the real
# profile's seed) and a run.sh into OUTDIR, then packs OUTDIR.tar.gz. On the other machine (x86-64
# Linux with bash, coreutils and awk; nothing to install):
#
#   tar xzf heapprof-bench.tar.gz && heapprof-bench/run.sh
#
# generates the inputs on the spot (in heapprof-bench/bench/, about 8.3 GB
# with the big input and the mixed batch; side by side where there are 4
# cores or more) and prints the tables (make bench's two parts); BENCH_QUICK=1, THREADS, RUNS, ONLY, BENCH_DIR... as for
# make bench (see bench.sh). It also writes bench/results.json and
# bench/results.txt there.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-build/heapprof-bench}
SB=build/static
BINS="heapprof hpgen baseline baseline_fread timeit randread membw schedsim"

echo "bench-static: building static executables in $SB/" >&2
make --no-print-directory BUILD="$SB" LDFLAGS=-static $(printf "$SB/%s " $BINS) >&2

for b in $BINS; do
    desc=$(file -b "$SB/$b" 2>/dev/null || true)
    if ldd "$SB/$b" >/dev/null 2>&1; then
        echo "bench-static: $SB/$b is dynamically linked: $desc" >&2
        exit 1
    fi
    case $desc in *"dynamically linked"*) echo "bench-static: $SB/$b: $desc" >&2; exit 1 ;; esac
done
"$SB/heapprof" --version >/dev/null
"$SB/hpgen" --help >/dev/null
"$SB/membw" 2 >/dev/null

rm -rf "$OUT"
mkdir -p "$OUT"
for b in $BINS; do cp "$SB/$b" "$OUT/"; done
cp scripts/bench.sh scripts/bench-batch.sh tests/data/small-a.hpm tests/data/small-a.hpd "$OUT/"
cat >"$OUT/run.sh" <<'EOF'
#!/usr/bin/env bash
# heapprof-c's benchmark (make bench) with static executables: generates the
# inputs here, in bench/, and prints the table (also in bench/results.txt,
# the figures in bench/results.json). Knobs: environment variables, see the
# top of bench.sh (BENCH_QUICK=1 for a run of a minute or two, in
# bench-quick/).
set -euo pipefail
cd "$(dirname "$0")"
dir=${BENCH_DIR:-bench}
[ "${BENCH_QUICK:-0}" = 1 ] && dir=${BENCH_DIR:-bench-quick}
mkdir -p "$dir"
{ ./bench.sh . "$@" && ./bench-batch.sh .; } | tee "$dir/results.txt"
EOF
chmod +x "$OUT/run.sh" "$OUT/bench.sh" "$OUT/bench-batch.sh"
cat >"$OUT/README.txt" <<EOF
heapprof-c benchmark bundle ($(git describe --always --dirty 2>/dev/null || echo unknown), built $(date -u +%Y-%m-%d))

Static x86-64 Linux executables and the benchmark script of make bench.

  ./run.sh                    the whole benchmark and the mixed batch (inputs about 8.3 GB in bench/)
  BENCH_QUICK=1 ./run.sh      10M-event inputs (in bench-quick/), 3 runs, no 4 GiB input
  THREADS="1 2 4 8 16" RUNS=3 ONLY="hpgen busy" ./run.sh
  BENCH_DIR=/scratch/hpbench ./run.sh     inputs elsewhere

The table goes to the terminal and bench/results.txt, the figures to
bench/results.json. Every knob is described at the top of bench.sh.
EOF
tar czf "$OUT.tar.gz" -C "$(dirname "$OUT")" "$(basename "$OUT")"
echo "bench-static: $OUT/ and $OUT.tar.gz ($(du -h "$OUT.tar.gz" | cut -f1)); run $OUT/run.sh" >&2
