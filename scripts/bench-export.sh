#!/bin/sh
# Times export, diff and timeline on large synthetic inputs, with GNU time's
# peak RSS (docs/PERFORMANCE.md, "Exports, diffs and timelines"). Not part
# of `make test`: the inputs take about 1.3 GB (cached in BUILD/bench-export)
# and a few minutes to make.   usage: scripts/bench-export.sh [BUILD]
set -eu
B=${1:-build}
D=$B/bench-export
H=$B/heapprof
G=$B/hpgen
mkdir -p "$D"
# 1,000,000 traces, every one live from the start: the peak snapshot names
# them all (-p 0); m2 is a second run of the same program (the same stacks)
[ -e "$D/m.hpm" ] || "$G" -e 60000000 -t 1000000 -d 600 -s 1 "$D/m" >/dev/null
[ -e "$D/m.hpc" ] || "$H" digest -q -i 10 -p 0 "$D/m"
[ -e "$D/m2.hpc" ] || { cp "$D/m.hpm" "$D/m2.hpm"; cp "$D/m.hpc" "$D/m2.hpc"; }
# the same .hpm, a digest whose peak keeps only the entries holding half the bytes
[ -e "$D/h.hpc" ] || { "$H" digest -q -i 10 -p 0.5 -o "$D/h.hpc" "$D/m"; ln -sf m.hpm "$D/h.hpm"; }
# 3,600 snapshots of about 19,400 entries each (20,000 traces, -i 1)
[ -e "$D/t.hpm" ] || "$G" -e 30000000 -t 20000 -d 3600 -s 7 "$D/t" >/dev/null
[ -e "$D/t.hpc" ] || "$H" digest -q -i 1 -p 0.01 "$D/t"

measure() { # LABEL CMD...
    label=$1
    shift
    /usr/bin/time -f "%e s wall, %U s user, %M KB peak RSS" -o "$D/time" "$@" >/dev/null
    printf '%-44s %s\n' "$label" "$(cat "$D/time")"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for f in pprof collapsed speedscope json csv; do
    measure "export --format $f (1M traces at the peak)" "$H" export "$D/m" --format "$f" -o "$D/out"
done
measure "export (19,346 of the 1M traces)" "$H" export "$D/h" -o "$D/out"
measure "diff text (1M stacks against 1M)" "$H" diff "$D/m" "$D/m2" --base-at 100 -o "$D/out"
measure "diff pprof (1M stacks against 1M)" "$H" diff "$D/m" "$D/m2" --base-at 100 --format pprof -o "$D/out"
for j in 1 2 4; do
    measure "timeline -T $j (3,587 snapshots, 19,400 entries)" "$H" timeline "$D/t" -T "$j" -o "$D/out"
done
rm -f "$D/out" "$D/time"
