#!/usr/bin/env bash
# make bench: the performance figures of docs/PERFORMANCE.md.
#
#   scripts/bench.sh BUILD_DIR
#
# Inputs are generated once and cached under build/bench/: a 1 GiB .hpd
# (20,000 traces, one hour, heapprof's default sampling) and a 4 GiB one for
# the memory check. Every timing is the median of RUNS runs (default 5) after
# one warm-up run, with the input in the page cache. Prints a table and
# writes build/bench/results.json.
#
# Environment: RUNS (runs per point), THREADS ("1 2" by default: 1..nproc),
# BENCH_EVENTS / BIG_EVENTS (input sizes in events), SKIP_BIG=1 (no 4 GiB
# input), BENCH_DIR (where inputs and results go).
set -euo pipefail

BUILD=${1:-build}
HEAPPROF=$BUILD/heapprof
HPGEN=$BUILD/hpgen
BASELINE=$BUILD/baseline
RANDREAD=$BUILD/randread
MEMBW=$BUILD/membw
DIR=${BENCH_DIR:-build/bench}
RUNS=${RUNS:-5}
NPROC=$(nproc)
THREADS=${THREADS:-$(seq -s ' ' 1 "$NPROC")}
EVENTS=${BENCH_EVENTS:-150000000} # about 1 GiB with hpgen's event mix
BIG_EVENTS=${BIG_EVENTS:-600000000}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }
mkdir -p "$DIR"

# ---- inputs -------------------------------------------------------------------
gen() { # NAME EVENTS
    local base=$DIR/$1
    if [ ! -s "$base.hpd" ] || [ "$(cat "$base.args" 2>/dev/null)" != "$2" ]; then
        echo "bench: generating $base ($2 events) ..." >&2
        "$HPGEN" -e "$2" -t 20000 -d 3600 -s 7 "$base"
        echo "$2" >"$base.args"
    fi
    cat "$base.hpd" >/dev/null # into the page cache
}
gen p1g "$EVENTS"
P=$DIR/p1g
HPD_BYTES=$(stat -c %s "$P.hpd")

# ---- helpers ------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# run_timed OUTFILE CMD...: runs CMD once under GNU time; appends "secs rss_kb"
run_timed() {
    local out=$1
    shift
    "$TIME" -f "%e %M" -o "$DIR/.time" "$@" >/dev/null 2>"$DIR/.stderr" || {
        cat "$DIR/.stderr" >&2
        return 1
    }
    cat "$DIR/.time" >>"$out"
}

# measure NAME CMD...: a warm-up, then RUNS timed runs; sets SECS and RSS_MB
measure() {
    local name=$1
    shift
    "$@" >/dev/null 2>&1 || true
    : >"$DIR/.runs"
    for _ in $(seq "$RUNS"); do run_timed "$DIR/.runs" "$@"; done
    SECS=$(awk '{print $1}' "$DIR/.runs" | median)
    RSS_MB=$(awk '{print $2 / 1024}' "$DIR/.runs" | sort -g | tail -1)
    printf '  %-34s %8.3f s  %8.1f MiB peak RSS\n' "$name" "$SECS" "$RSS_MB" >&2
}

json=()
add_json() { json+=("$1"); }

# ---- the baseline ---------------------------------------------------------------
echo "bench: $HPD_BYTES bytes of .hpd, $RUNS runs per point, threads: $THREADS" >&2
measure "baseline (plain decode loop)" "$BASELINE" "$P.hpd"
BASE_SECS=$SECS
EV=$("$BASELINE" "$P.hpd" | awk '{print $1}')
add_json "\"baseline\": {\"seconds\": $BASE_SECS, \"events\": $EV, \"hpd_bytes\": $HPD_BYTES}"

# ---- the digest sweep -------------------------------------------------------------
# phase timings come from -v; the last line of each -v report is kept
digest_point() { # LABEL INTERVAL THREADS
    local label=$1 iv=$2 j=$3 out=$DIR/out.hpc
    measure "digest $label -j $j" "$HEAPPROF" digest -q -i "$iv" -p 0.01 -j "$j" -o "$out" "$P"
    "$HEAPPROF" digest -q -v -i "$iv" -p 0.01 -j "$j" -o "$out" "$P" 2>"$DIR/.report"
    local phases
    phases=$(sed -n 's/.*phases: split \([0-9.]*\) s, bin \([0-9.]*\) s, reduce \([0-9.]*\) s, compress \([0-9.]*\) s, write \([0-9.]*\) s.*/\1 \2 \3 \4 \5/p' "$DIR/.report")
    local prof
    prof=$(sed -n 's/.* \([0-9.e+]*\) s of profile\/s.*/\1/p' "$DIR/.report")
    set -- $phases
    local total
    total=$(awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" -v e="$5" 'BEGIN {print a + b + c + d + e}')
    add_json "\"digest_${label}_j$j\": {\"interval\": $iv, \"precision\": 0.01, \"threads\": $j, \"seconds\": $SECS, \"peak_rss_mib\": $RSS_MB, \"events_per_s\": $(awk -v e="$EV" -v s="$SECS" 'BEGIN {print e / s}'), \"mb_per_s\": $(awk -v b="$HPD_BYTES" -v s="$SECS" 'BEGIN {print b / s / 1e6}'), \"profile_s_per_s\": ${prof:-0}, \"phases\": {\"split\": $1, \"bin\": $2, \"reduce\": $3, \"compress\": $4, \"write\": $5}}"
    eval "T_${label}_$j=$SECS"
    eval "PH_${label}_$j=\"$1 $2 $3 $4 $5\""
}
for j in $THREADS; do digest_point i1 1 "$j"; done
for j in $THREADS; do digest_point i60 60 "$j"; done

# ---- sizes and random access ------------------------------------------------------------
JMAX=${THREADS##* }
"$HEAPPROF" digest -q -i 1 -p 0.01 -j "$JMAX" --format v1 -o "$DIR/v1.hpc" "$P"
"$HEAPPROF" digest -q -i 1 -p 0.01 -j "$JMAX" -o "$DIR/v2.hpc" "$P"
V1=$(stat -c %s "$DIR/v1.hpc")
V2=$(stat -c %s "$DIR/v2.hpc")
read -r _ RA_MED _ RA_P99 _ NSNAP _ MEAN_ENT < <("$RANDREAD" "$DIR/v2.hpc" 1000)
read -r _ RA1_MED _ RA1_P99 _ _ _ _ < <("$RANDREAD" "$DIR/v1.hpc" 1000)
add_json "\"sizes_i1\": {\"v1_bytes\": $V1, \"v2_bytes\": $V2, \"snapshots\": $NSNAP, \"mean_entries\": $MEAN_ENT}"
add_json "\"random_access\": {\"v2_median_us\": $RA_MED, \"v2_p99_us\": $RA_P99, \"v1_median_us\": $RA1_MED, \"reads\": 1000}"

# ---- memory: the 4 GiB input -------------------------------------------------------------
BIG_RSS=null
if [ "${SKIP_BIG:-0}" != 1 ]; then
    gen p4g "$BIG_EVENTS"
    : >"$DIR/.runs"
    run_timed "$DIR/.runs" "$HEAPPROF" digest -q -i 1 -p 0.01 -j "$JMAX" -o "$DIR/big.hpc" "$DIR/p4g"
    read -r BIG_SECS BIG_KB <"$DIR/.runs"
    BIG_RSS=$(awk -v k="$BIG_KB" 'BEGIN {print k / 1024}')
    BIG_BYTES=$(stat -c %s "$DIR/p4g.hpd")
    printf '  %-34s %8.3f s  %8.1f MiB peak RSS\n' "digest 4 GiB -i 1 -j $JMAX" "$BIG_SECS" "$BIG_RSS" >&2
    add_json "\"memory_4g\": {\"hpd_bytes\": $BIG_BYTES, \"threads\": $JMAX, \"seconds\": $BIG_SECS, \"peak_rss_mib\": $BIG_RSS}"
    rm -f "$DIR/big.hpc"
fi

# ---- memory bandwidth and the scaling model --------------------------------------------------
BW1=$("$MEMBW" 1 | awk '{print $1}')
BWN=$("$MEMBW" "$NPROC" | awk '{print $1}')
add_json "\"memory_bandwidth_gbs\": {\"1\": $BW1, \"$NPROC\": $BWN}"

# Karp-Flatt: the serial fraction e of a phase from its time on 1 and on p
# threads, e = (T_p/T_1 - 1/p) / (1 - 1/p); then Amdahl: S(n) = 1/(e + (1-e)/n).
model() { # LABEL
    local label=$1
    eval "local one=\"\$PH_${label}_1\" many=\"\$PH_${label}_$JMAX\" t1=\$T_${label}_1 tp=\$T_${label}_$JMAX"
    awk -v one="$one" -v many="$many" -v t1="$t1" -v tp="$tp" -v p="$JMAX" -v label="$label" '
    function kf(a, b) { if (p <= 1 || a <= 0) return 1; e = (b / a - 1 / p) / (1 - 1 / p); return e < 0 ? 0 : (e > 1 ? 1 : e) }
    function amdahl(e, n) { return 1 / (e + (1 - e) / n) }
    BEGIN {
        split(one, a, " "); split(many, b, " "); split("split bin reduce compress write", names, " ")
        printf "\"scaling_%s\": {\"speedup\": %.3f, \"serial_fraction\": %.4f, \"amdahl_16\": %.2f, \"amdahl_64\": %.2f, \"phases\": {", label, t1 / tp, kf(t1, tp), amdahl(kf(t1, tp), 16), amdahl(kf(t1, tp), 64)
        for (i = 1; i <= 5; i++)
            printf "%s\"%s\": {\"t1\": %s, \"t%d\": %s, \"serial_fraction\": %.4f}", (i > 1 ? ", " : ""), names[i], a[i], p, b[i], kf(a[i], b[i])
        printf "}}"
    }'
}
if [ "$JMAX" -gt 1 ]; then
    add_json "$(model i1)"
    add_json "$(model i60)"
fi

# ---- the table and the targets ---------------------------------------------------------------
{
    printf '{\n  "machine": {"nproc": %d, "cpu": "%s"},\n' "$NPROC" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    printf '  "runs": %d,\n' "$RUNS"
    for i in "${!json[@]}"; do
        printf '  %s%s\n' "${json[$i]}" "$([ "$i" -lt $((${#json[@]} - 1)) ] && echo ,)"
    done
    printf '}\n'
} >"$DIR/results.json"

eval "TI1_1=\$T_i1_1 TI1_N=\$T_i1_$JMAX"
target() { # DESCRIPTION VALUE OP LIMIT
    local ok
    ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {print (op == "<=" ? v <= l : v >= l) ? "met" : "MISSED"}')
    printf '  %-52s %10s %s %-8s %s\n' "$1" "$2" "$3" "$4" "$ok"
}
echo
echo "targets ($NPROC cores; ratios from this run):"
target "digest -j $JMAX -i 1 time / baseline time" "$(awk -v a="$TI1_N" -v b="$BASE_SECS" 'BEGIN {printf "%.3f", a / b}')" "<=" 0.7
target "speedup -j $JMAX vs -j 1 (-i 1)" "$(awk -v a="$TI1_1" -v b="$TI1_N" 'BEGIN {printf "%.3f", a / b}')" ">=" 1.8
[ "$BIG_RSS" != null ] && target "peak RSS on the 4 GiB input (MiB)" "$(printf '%.1f' "$BIG_RSS")" "<=" 256
target "v2 bytes / v1 bytes" "$(awk -v a="$V2" -v b="$V1" 'BEGIN {printf "%.4f", a / b}')" "<=" 0.125
target "random v2 snapshot read, median (us)" "$RA_MED" "<=" 1000
echo
echo "results: $DIR/results.json"
