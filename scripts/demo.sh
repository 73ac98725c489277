#!/bin/sh
# make demo: digest the bundled sample profile (tests/data/small-a, written by
# heapprof itself) and look at the result.
set -e
HEAPPROF=${1:-build/heapprof}
OUT=build/demo
mkdir -p "$OUT"
cp tests/data/small-a.hpm tests/data/small-a.hpd "$OUT/"
echo "== heapprof info (before digesting)"
"$HEAPPROF" info "$OUT/small-a"
echo
echo "== heapprof digest -i 0.1 -v"
"$HEAPPROF" digest -q -v -i 0.1 "$OUT/small-a"
echo
echo "== heapprof info (after)"
"$HEAPPROF" info "$OUT/small-a" 2>/dev/null | tail -2
echo
echo "== heapprof snapshot --at 1.0 --top 5"
"$HEAPPROF" snapshot "$OUT/small-a" --at 1.0 --top 5
echo
echo "== zstd -t (a v2 .hpc is a standard zstd seekable file)"
zstd -t "$OUT/small-a.hpc"
