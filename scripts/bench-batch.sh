#!/usr/bin/env bash
# make bench, second part: mixed batches (issue 14; docs/PERFORMANCE.md,
# "Mixed batches").
#
#   scripts/bench-batch.sh [BUILD_DIR]
#
# Real, on this machine's cores (P): a directory holding one big hpgen
# profile and many small ones (issue 14's mix: 150M events, about 1.07 GB,
# and 31 of 4M events, about 30 MB each), digested at -i 1 with the
# automatic scheduler and with every fixed --jobs from 1 to P, against the
# lower bound max(the big profile alone on P threads, the whole batch on
# one thread / P). Then the same cost model, measured here (one thread's
# seconds per byte, the serial fraction from the big profile's speedup, a
# tiny profile's fixed cost), replays the scheduler on 16, 64 and 128 cores
# (build/schedsim). Each time is the median of RUNS runs, in rounds, after
# one warm-up round; "others" is the median of the cores that other
# processes used meanwhile (bench/timeit.c), to show a disturbed run.
#
# Environment: RUNS (default 3), MIX_BIG_EVENTS, MIX_SMALL_EVENTS, MIX_SMALL
# (how many small ones), BENCH_DIR (default BUILD_DIR/bench), BENCH_QUICK=1
# (10M events + 15 x 1M, in BUILD_DIR/bench-quick).
set -euo pipefail

BUILD=${1:-build}
HEAPPROF=$BUILD/heapprof
HPGEN=$BUILD/hpgen
TIMEIT=$BUILD/timeit
SCHEDSIM=$BUILD/schedsim
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    DIR=${BENCH_DIR:-$BUILD/bench-quick}
    BIG=${MIX_BIG_EVENTS:-10000000} SMALL=${MIX_SMALL_EVENTS:-1000000} NSMALL=${MIX_SMALL:-15}
else
    DIR=${BENCH_DIR:-$BUILD/bench}
    BIG=${MIX_BIG_EVENTS:-150000000} SMALL=${MIX_SMALL_EVENTS:-4000000} NSMALL=${MIX_SMALL:-31}
fi
RUNS=${RUNS:-3}
P=$(nproc)
MIX=$DIR/mix
TINY=$DIR/mix-tiny
for x in "$HEAPPROF" "$HPGEN" "$TIMEIT" "$SCHEDSIM"; do
    [ -x "$x" ] || { echo "bench-batch: $x missing (make bench builds it)" >&2; exit 1; }
done
log() { echo "bench-batch: $*" >&2; }

# ---- inputs: generated once, kept while the sizes stay the same ----------------
mkdir -p "$MIX" "$TINY"
want="$BIG $SMALL $NSMALL"
if [ "$(cat "$MIX/.args" 2>/dev/null)" != "$want" ]; then
    log "generating $MIX (1 x $BIG events + $NSMALL x $SMALL events) ..."
    rm -f "$MIX"/*.hpm "$MIX"/*.hpd "$MIX"/*.hpc "$MIX/.args"
    "$HPGEN" -e "$BIG" -t 20000 -d 3600 -s 7 "$MIX/big" >/dev/null
    for i in $(seq "$NSMALL"); do
        "$HPGEN" -e "$SMALL" -t 2000 -d 600 -s $((100 + i)) "$MIX/small$i" >/dev/null
    done
    echo "$want" >"$MIX/.args"
fi
[ -s "$TINY/t.hpd" ] || "$HPGEN" -e 1000 -t 10 -d 10 -s 3 "$TINY/t" >/dev/null
cat "$MIX"/*.hpd "$MIX"/*.hpm >/dev/null # into the page cache
BIG_BYTES=$(stat -c %s "$MIX/big.hpd")
ALL_BYTES=$(cat "$MIX"/*.hpd | wc -c)

# ---- the points: a label and the digest's arguments -----------------------------
labels=() cmds=()
point() { labels+=("$1"); shift; cmds+=("$*"); }
point "big alone, 1 thread" -T 1 -o /dev/null "$MIX/big"
point "big alone, $P threads" -T "$P" -o /dev/null "$MIX/big"
point "tiny alone, 1 thread" -T 1 -o /dev/null "$TINY/t"
point "batch on 1 thread" -T 1 --jobs 1 "$MIX"
point "batch, automatic" -T "$P" "$MIX"
for j in $(seq "$P"); do point "batch, --jobs $j" -T "$P" --jobs "$j" "$MIX"; done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
run() { # INDEX: one run of a point; appends "seconds others_cores" to its file
    local t=$DIR/.mix-time
    # shellcheck disable=SC2086 # the arguments are words without spaces
    "$TIMEIT" "$t" "$HEAPPROF" digest -q -i 1 ${cmds[$1]} >/dev/null
    awk '{printf "%s %.2f\n", $1, ($1 > 0 ? $4 / $1 : 0)}' "$t" >>"$DIR/.mix-$1"
}
log "$P cores, $ALL_BYTES bytes in $((NSMALL + 1)) profiles; $RUNS runs of ${#labels[@]} points"
for i in "${!labels[@]}"; do : >"$DIR/.mix-$i"; run "$i"; : >"$DIR/.mix-$i"; done # warm-up
for _ in $(seq "$RUNS"); do for i in "${!labels[@]}"; do run "$i"; done; done
secs=() others=()
for i in "${!labels[@]}"; do
    secs[i]=$(awk '{print $1}' "$DIR/.mix-$i" | median)
    others[i]=$(awk '{print $2}' "$DIR/.mix-$i" | median)
done

# ---- the real table --------------------------------------------------------------
BIG1=${secs[0]} BIGP=${secs[1]} TINY1=${secs[2]} ALL1=${secs[3]} AUTO=${secs[4]}
BOUND=$(awk -v a="$BIGP" -v b="$ALL1" -v p="$P" 'BEGIN {x = b / p; printf "%.3f", (a > x ? a : x)}')
BEST=; BEST_J=
for j in $(seq "$P"); do
    s=${secs[4 + j]}
    if [ -z "$BEST" ] || awk -v a="$s" -v b="$BEST" 'BEGIN {exit !(a < b)}'; then BEST=$s BEST_J=$j; fi
done
echo
echo "mixed batch, measured ($P cores, -i 1): 1 x $BIG_BYTES bytes + $NSMALL small, $ALL_BYTES bytes in all"
printf '  %-26s %9s %9s %8s\n' point seconds "x bound" others
for i in "${!labels[@]}"; do
    printf '  %-26s %9.3f %9s %8s\n' "${labels[i]}" "${secs[i]}" \
        "$([ "$i" -ge 3 ] && awk -v a="${secs[i]}" -v b="$BOUND" 'BEGIN {printf "%.2fx", a / b}')" "${others[i]}"
done
printf '  %-26s %9.3f\n' "lower bound" "$BOUND"
printf '  automatic / lower bound %.2fx (target <= 1.3); automatic / best --jobs (%d) %.2fx (target <= 1.1)\n' \
    "$(awk -v a="$AUTO" -v b="$BOUND" 'BEGIN {print a / b}')" "$BEST_J" \
    "$(awk -v a="$AUTO" -v b="$BEST" 'BEGIN {print a / b}')"

# ---- the model, measured here, replayed on more cores ------------------------------
S_PER_GB=$(awk -v s="$BIG1" -v b="$BIG_BYTES" 'BEGIN {printf "%.4f", s / b * 1e9}')
SERIAL=$(awk -v s1="$BIG1" -v sp="$BIGP" -v p="$P" 'BEGIN {
    if (p < 2) { print 0.156; exit } # nothing to measure it from: the 16-core figure
    s = s1 / sp; e = (1 / s - 1 / p) / (1 - 1 / p); printf "%.3f", (e < 0 ? 0 : e > 1 ? 1 : e) }')
echo
echo "mixed batches, modelled (this machine's cost model on 16, 64 and 128 cores):"
"$SCHEDSIM" "$S_PER_GB" "$SERIAL" "$TINY1" | sed 's/^/  /'
{
    printf '{"cores": %d, "bytes": %d, "profiles": %d, "lower_bound": %s, "best_jobs": %d,\n' \
        "$P" "$ALL_BYTES" $((NSMALL + 1)) "$BOUND" "$BEST_J"
    printf ' "s_per_gb": %s, "serial": %s, "fixed_s": %s, "points": [\n' "$S_PER_GB" "$SERIAL" "$TINY1"
    for i in "${!labels[@]}"; do
        printf '  {"point": "%s", "seconds": %s, "others": %s}%s\n' "${labels[i]}" "${secs[i]}" \
            "${others[i]}" "$([ "$i" -lt $((${#labels[@]} - 1)) ] && echo ,)"
    done
    printf ']}\n'
} >"$DIR/batch.json"
rm -f "$DIR"/.mix-*
echo
echo "results: $DIR/batch.json"
