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
echo "The warning above is right: heapprof 1.0 on 64-bit Linux records every"
echo "allocation while the .hpm keeps the requested rates (1e-4 under 128 bytes),"
echo "so digesting with those rates would count each small allocation 10,000"
echo "times (a peak of 18.9 GB for a program that used a few MB). The demo"
echo "digests with --override-sampling, which is what this profile needs."
echo
echo "== heapprof digest -i 0.1 --override-sampling -v"
"$HEAPPROF" digest -q -v -i 0.1 --override-sampling "$OUT/small-a"
echo
echo "== heapprof info (after)"
"$HEAPPROF" info "$OUT/small-a" 2>/dev/null | tail -3
echo
echo "== heapprof snapshot --at 1.0 --top 5"
"$HEAPPROF" snapshot "$OUT/small-a" --at 1.0 --top 5
echo
echo "== zstd -t (a v2 .hpc is a standard zstd seekable file)"
zstd -t "$OUT/small-a.hpc"
echo
echo "== heapprof export: the peak for pprof and speedscope, as heapprof's flame graph lines"
"$HEAPPROF" export "$OUT/small-a"
"$HEAPPROF" export "$OUT/small-a" --format speedscope
"$HEAPPROF" export "$OUT/small-a" --format collapsed
ls -l "$OUT"/small-a.pb.gz "$OUT"/small-a.speedscope.json "$OUT"/small-a.collapsed
echo "(open the .speedscope.json or the .pb.gz at https://www.speedscope.app, or"
echo " go tool pprof -http=localhost:8080 $OUT/small-a.pb.gz)"
echo
echo "== heapprof timeline --top 3 (the first rows)"
"$HEAPPROF" timeline "$OUT/small-a" --top 3 | head -6
echo
echo "== heapprof diff: 1.0 s against the last snapshot, the 5 largest changes"
"$HEAPPROF" diff "$OUT/small-a" "$OUT/small-a" --base-at 1.0 --new-at last --top 5
