#!/usr/bin/env bash
# make bench: the performance figures of docs/PERFORMANCE.md (issue 13).
#
#   scripts/bench.sh [BUILD_DIR]
#
# BUILD_DIR holds heapprof, hpgen, baseline, baseline_fread, timeit, randread
# and membw (make bench builds them; scripts/bench-static.sh bundles static
# ones with this script for machines with nothing installed).
#
# Inputs, generated once by hpgen and cached in BENCH_DIR (read into the page
# cache before timing):
#   hpgen  hpgen -e BENCH_EVENTS -t 20000 -d 3600 -s 7 (150M events, 1.07 GB)
#   busy   hpgen --busy -e BUSY_EVENTS -s 7 (120M events, 0.96 GB): 20,000
#          traces, 1M live objects, 70% of the traces change every second
#   big    hpgen -e BIG_EVENTS -t 20000 -d 3600 -s 7 (600M events, 4.26 GB),
#          for the peak RSS check only
# What is timed:
#   - the plain decoder (baseline: mapped file, inline decode) and the first,
#     fread-based one (baseline_fread), on hpgen and busy;
#   - digest -p 0.01 of hpgen at -i 1 and -i 60 and of busy at -i 1, with
#     each thread count of THREADS: seconds, speedup over 1 thread, ratio to
#     each baseline, peak RSS, per-phase seconds (from digest -v), and the
#     serial fraction (Karp-Flatt) overall and per phase;
#   - hog: digest of hpgen at -i 1 with -j 1 and -j 2 while HOGS CPU-bound
#     processes (yes >/dev/null) run: is -j 2 ever slower than -j 1?
#   - sizes of v1 and v2 at -i 1, random access into v2, peak RSS on the big
#     input at 2 and at the most threads, memory bandwidth.
# The phases are whatever digest -v names after "phases:" ("NAME SECONDS s"
# pairs), plus "unaccounted": the wall time minus their sum (start-up, the
# .hpm; negative when the engine's phase timers overlap).
# Each point is the median of RUNS runs. The runs go in rounds, after an
# untimed warm-up round: each round times every point once, grouped by input
# (one untimed baseline run first), so that drifts of a shared or virtual
# machine spread over all points instead of favouring some. Times are
# wall-clock from build/timeit (microseconds; peak RSS from wait4).
#
# A shared machine: timeit also reports the CPU time other processes used
# during each run. Before a timed run the script waits (up to QUIET_WAIT s,
# and QUIET_BUDGET s in all) until others use under QUIET_CORES of the
# machine, and a run they disturbed anyway is done again (up to
# QUIET_RETRIES times); the tables give the median of the cores others used
# ("others"), results.json every run's. Figures with others well above 0
# are not worth keeping.
#
# Environment (all optional):
#   RUNS=5             timed runs per point
#   QUIET=1 QUIET_CORES=0.15 QUIET_WAIT=120 QUIET_BUDGET=1800 QUIET_RETRIES=3
#                      (QUIET=0: no waiting, no retries)
#   THREADS="1 2 ..."  thread counts (default: 1 2 4 8 12 16 up to the
#                      cores, and the core count itself)
#   BENCH_EVENTS=150000000 BUSY_EVENTS=120000000 BIG_EVENTS=600000000
#   BENCH_QUICK=1      small inputs (10M events each), RUNS=3, no big input,
#                      in BUILD_DIR/bench-quick: about a minute on 2 cores,
#                      to check the plumbing
#   ONLY="hpgen busy hog sizes big membw real"   the sections to run
#   SKIP_BIG=1         no big input (same as leaving big out of ONLY)
#   HOGS=1 HOG_THREADS="1 2" HOG_PIN=1 (pin the hogs to CPU 0 with taskset)
#   REAL_PROFILE=FILEBASE   the real profile timed at -i 0.1 -p 0 with 1
#                      thread and the most threads against the baseline;
#                      by default the bundled fixture small-a (a real
#                      heapprof profile, 3.8 MB) with its events repeated
#                      REAL_REPEAT=16 times: 61 MB, 8.6 million events, the
#                      size of issue 13's real profile (62 MB, 8.8 million)
#   BENCH_DIR=BUILD_DIR/bench   where inputs and results go
#   BENCH_CLEAN=1      delete the generated inputs at the end
# Prints the tables and the targets on stdout, progress on stderr, and writes
# BENCH_DIR/results.json.
set -euo pipefail

BUILD=${1:-build}
HEAPPROF=$BUILD/heapprof
HPGEN=$BUILD/hpgen
BASELINE=$BUILD/baseline
BASELINE_FREAD=$BUILD/baseline_fread
TIMEIT=$BUILD/timeit
RANDREAD=$BUILD/randread
MEMBW=$BUILD/membw
DIR=${BENCH_DIR:-$BUILD/bench}

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    : "${BENCH_EVENTS:=10000000}" "${BUSY_EVENTS:=10000000}" "${RUNS:=3}" "${SKIP_BIG:=1}"
    DIR=${BENCH_DIR:-$BUILD/bench-quick} # leaves the full inputs cached
fi
RUNS=${RUNS:-5}
EVENTS=${BENCH_EVENTS:-150000000}
BUSY_EVENTS=${BUSY_EVENTS:-120000000}
BIG_EVENTS=${BIG_EVENTS:-600000000}
NPROC=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
if [ -z "${THREADS:-}" ]; then
    THREADS=
    for t in 1 2 4 8 12 16; do [ "$t" -le "$NPROC" ] && THREADS="$THREADS $t"; done
    case " $THREADS " in *" $NPROC "*) ;; *) THREADS="$THREADS $NPROC" ;; esac
    THREADS=${THREADS# }
fi
JMAX=$(printf '%s\n' $THREADS | sort -n | tail -1)
ONLY=${ONLY:-hpgen busy hog sizes big membw real}
[ "${SKIP_BIG:-0}" = 1 ] && ONLY=$(printf '%s\n' $ONLY | grep -vx big | tr '\n' ' ')
REAL_REPEAT=${REAL_REPEAT:-16}
# the fixture the default real profile is made of: beside the executables
# (the static bundle) or in the repository's tests/data
REAL_SEED=
for d in "$BUILD" "$(dirname "$0")/../tests/data"; do
    [ -s "$d/small-a.hpd" ] && [ -s "$d/small-a.hpm" ] && { REAL_SEED=$d/small-a; break; }
done
if [ -z "${REAL_PROFILE:-}" ] && [ -z "$REAL_SEED" ]; then
    echo "bench: no small-a fixture for the real profile: its section is left out" >&2
    ONLY=$(printf '%s\n' $ONLY | grep -vx real | tr '\n' ' ')
fi
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
HOGS=${HOGS:-1}
if [ -z "${HOG_THREADS:-}" ]; then
    HOG_THREADS="1 2"
    [ "$JMAX" -gt 2 ] && HOG_THREADS="1 2 $JMAX"
fi

for b in "$HEAPPROF" "$HPGEN" "$BASELINE" "$TIMEIT"; do
    [ -x "$b" ] || { echo "bench: $b is missing (make bench builds it)" >&2; exit 1; }
done
mkdir -p "$DIR"
log() { echo "bench: $*" >&2; }
QUIET=${QUIET:-1}
QUIET_CORES=${QUIET_CORES:-0.15}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUDGET=${QUIET_BUDGET:-1800}
WAITED=0 # seconds waited in all
QUIET_RETRIES=${QUIET_RETRIES:-3}
ALLOWED=0 # cores others may use: the hogs, in the hog section
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---- helpers ------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "null"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
calc() { awk "BEGIN {print $*}"; }         # calc 'EXPR' with -v-free arithmetic
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "null"; else printf "%.4f", a / b}'; }
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# Phases from a digest -v report: after "phases:", comma- or
# semicolon-separated "NAME SECONDS s" pairs, whatever the names (a name of
# several words is joined by underscores; ms and us are converted). Prints
# "NAME SECONDS" lines in the report's order.
parse_phases() {
    awk '/phases:/ {
        s = $0; sub(/.*phases:[ \t]*/, "", s)
        n = split(s, part, /[,;]/)
        for (i = 1; i <= n; i++) {
            x = part[i]; gsub(/^[ \t]+|[ \t]+$/, "", x)
            if (x !~ /^[A-Za-z_].* [0-9.]+([eE][-+]?[0-9]+)? (s|ms|us)$/) continue
            m = split(x, w, /[ \t]+/); v = w[m - 1]
            if (w[m] == "ms") v /= 1e3; else if (w[m] == "us") v /= 1e6
            name = w[1]; for (k = 2; k <= m - 2; k++) name = name "_" w[k]
            gsub(/[^A-Za-z0-9_-]/, "_", name)
            printf "%s %.6f\n", name, v
        }
    }' "$@"
}

# The cores the machine's processes used over half a second (none of ours
# runs meanwhile).
stat_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat 2>/dev/null || echo 0; }
others_now() {
    local a b
    a=$(stat_busy)
    sleep 0.5
    b=$(stat_busy)
    awk -v a="$a" -v b="$b" -v t="$CLK" 'BEGIN {printf "%.3f", (b - a) / t / 0.5}'
}
too_busy() { awk -v o="$1" -v a="$ALLOWED" -v q="$QUIET_CORES" 'BEGIN {exit !(o > a + q)}'; }
wait_quiet() {
    [ "$QUIET" = 1 ] || return 0
    local waited=0 o
    while o=$(others_now) && too_busy "$o"; do
        if [ "$waited" -ge "$QUIET_WAIT" ] || [ "$WAITED" -ge "$QUIET_BUDGET" ]; then
            log "others still use $o cores after ${waited} s (${WAITED} s in all); going on"
            [ "$WAITED" -ge "$QUIET_BUDGET" ] && log "QUIET_BUDGET spent: no more waiting" && QUIET=0
            return 0
        fi
        [ "$waited" = 0 ] && log "waiting for other processes ($o cores busy) ..."
        sleep 5
        waited=$((waited + 5))
        WAITED=$((WAITED + 5))
    done
}

# ---- inputs -------------------------------------------------------------------
declare -A INPUT_BASE=() INPUT_ARGS=() INPUT_EVENTS=() INPUT_BYTES=()
input_args() { # INPUT -> hpgen arguments
    case $1 in
    hpgen) echo "-e $EVENTS -t 20000 -d 3600 -s 7" ;;
    busy) echo "--busy -e $BUSY_EVENTS -s 7" ;;
    big) echo "-e $BIG_EVENTS -t 20000 -d 3600 -s 7" ;;
    esac
}
gen() { # INPUT: generates (if not cached) and records the base path
    local name=$1 args base
    if [ "$name" = real ] && [ -n "${REAL_PROFILE:-}" ]; then
        base=${REAL_PROFILE%.hp[mdc]}
        [ -s "$base.hpd" ] || { echo "bench: REAL_PROFILE: no $base.hpd" >&2; exit 1; }
        args="(real profile $base)"
    elif [ "$name" = real ]; then
        # events are stored as deltas from the one before: the repeated
        # stream is a valid profile REAL_REPEAT times as long, with the real one's
        # sizes, traces and timing
        base=$DIR/real
        args="(small-a's events x $REAL_REPEAT)"
        if [ ! -s "$base.hpd" ] || [ "$(cat "$base.args" 2>/dev/null)" != "$args" ]; then
            log "making $base: small-a's events $REAL_REPEAT times ..."
            rm -f "$base.args"
            cp "$REAL_SEED.hpm" "$base.hpm"
            for _ in $(seq "$REAL_REPEAT"); do cat "$REAL_SEED.hpd"; done >"$base.hpd"
            echo "$args" >"$base.args"
        fi
    else
        args=$(input_args "$name")
        base=$DIR/$name
        if [ ! -s "$base.hpd" ] || [ "$(cat "$base.args" 2>/dev/null)" != "$args" ]; then
            log "generating $base: hpgen $args ..."
            rm -f "$base.args"
            # shellcheck disable=SC2086
            "$HPGEN" $args "$base"
            echo "$args" >"$base.args"
        fi
    fi
    INPUT_BASE[$name]=$base
    INPUT_ARGS[$name]=$args
    INPUT_BYTES[$name]=$(stat -c %s "$base.hpd")
}
warm() { cat "${INPUT_BASE[$1]}.hpd" >/dev/null; } # into the page cache

NEED=()
{ want hpgen || want hog || want sizes; } && NEED+=(hpgen)
{ want busy || want sizes; } && NEED+=(busy)
want real && NEED+=(real)
# several cores: generate side by side (hpgen is single-threaded)
if [ "$NPROC" -ge 4 ] && [ ${#NEED[@]} -gt 1 ]; then
    for n in "${NEED[@]}"; do [ "$n" = real ] || (gen "$n") & done
    wait
fi
for n in "${NEED[@]}"; do gen "$n"; done

# ---- points -------------------------------------------------------------------
# A point is one command timed RUNS times: kind (baseline, baseline_fread,
# digest), input, and for digests a workload label, interval, precision and
# threads.
NP=0
declare -A P_KIND=() P_INPUT=() P_LABEL=() P_IV=() P_PREC=() P_J=() P_SECS=() P_RSS=() P_PHN=() P_PHV=() P_REPORT=() P_ALL=() P_MIN=() P_MAX=() P_OTH=() P_OTHALL=() IDX=()
add_point() { # KIND INPUT [LABEL IV PREC J]
    P_KIND[$NP]=$1
    P_INPUT[$NP]=$2
    P_LABEL[$NP]=${3:-$1}
    P_IV[$NP]=${4:-}
    P_PREC[$NP]=${5:-}
    P_J[$NP]=${6:-}
    IDX["${P_LABEL[$NP]},${P_INPUT[$NP]},${6:-0}"]=$NP
    : >"$DIR/.runs.$NP"
    : >"$DIR/.phases.$NP"
    NP=$((NP + 1))
}
point_cmd() { # INDEX -> the command in CMD[]
    local i=$1 base=${INPUT_BASE[${P_INPUT[$1]}]}
    case ${P_KIND[$i]} in
    baseline) CMD=("$BASELINE" "$base.hpd") ;;
    baseline_fread) CMD=("$BASELINE_FREAD" "$base.hpd") ;;
    digest) # threads "2c": two split by chunks, as more threads are (no pipeline)
        CMD=(env "HEAPPROF_PIPELINE=$(case ${P_J[$i]} in *c) echo 0 ;; *) echo auto ;; esac)"
            "$HEAPPROF" digest -q -v -i "${P_IV[$i]}" -p "${P_PREC[$i]}" -j "${P_J[$i]%c}"
            -o "$DIR/out.hpc" "$base") ;;
    esac
}
# run_point INDEX [TIMED]: one run; a timed one waits for a quiet machine,
# is done again if others disturbed it, and appends "SECONDS RSS_KIB
# OTHERS_CORES STEAL_S" to the point's runs
run_point() {
    local i=$1 try=0 secs kb cpu oth steal
    point_cmd "$i"
    while :; do
        [ "${2:-}" = timed ] && wait_quiet
        # the last digest's output goes first, untimed: replacing a 300 MB
        # file (freeing its blocks, syncing the folder) cost the next digest
        # up to 0.1 s, which a small one then showed as its fixed cost
        rm -f "$DIR/out.hpc"
        sync -f "$DIR" 2>/dev/null || true
        if ! "$TIMEIT" "$DIR/.t" "${CMD[@]}" >"$DIR/.out" 2>"$DIR/.err"; then
            echo "bench: failed: ${CMD[*]}" >&2
            cat "$DIR/.err" >&2
            exit 1
        fi
        [ "${2:-}" = timed ] || return 0
        read -r secs kb cpu oth steal <"$DIR/.t"
        oth=$(awk -v o="${oth:-0}" -v s="$secs" 'BEGIN {printf "%.3f", (s > 0 ? o / s : 0)}')
        { [ "$QUIET" = 1 ] && too_busy "$oth" && [ "$try" -lt "$QUIET_RETRIES" ]; } || break
        try=$((try + 1))
        log "others used $oth cores during ${P_LABEL[$i]} -j ${P_J[$i]:-1}: again ($try of $QUIET_RETRIES)"
    done
    echo "$secs $kb $oth ${steal:-0}" >>"$DIR/.runs.$i"
    case ${P_KIND[$i]} in
    digest)
        # the phases, then "unaccounted": the wall time they leave out
        parse_phases "$DIR/.err" | awk -v wall="$(awk '{print $1}' "$DIR/.t")" \
            '{print; wall -= $2} END {if (NR) printf "unaccounted %.4f\n", wall}' >>"$DIR/.phases.$i"
        P_REPORT[$i]=$(grep -m1 'phases:' "$DIR/.err" | sed 's/^ *//' || true)
        ;;
    *) P_REPORT[$i]=$(head -1 "$DIR/.out") ;;
    esac
}
# summarise INDEX: median seconds, peak RSS, median seconds of each phase
summarise() {
    local i=$1
    P_SECS[$i]=$(awk '{print $1}' "$DIR/.runs.$i" | median)
    P_RSS[$i]=$(awk '{print $2 / 1024}' "$DIR/.runs.$i" | sort -g | tail -1)
    P_ALL[$i]=$(awk '{printf "%s%s", (NR > 1 ? ", " : ""), $1}' "$DIR/.runs.$i")
    P_MIN[$i]=$(awk '{print $1}' "$DIR/.runs.$i" | sort -g | head -1)
    P_MAX[$i]=$(awk '{print $1}' "$DIR/.runs.$i" | sort -g | tail -1)
    P_OTH[$i]=$(awk '{print $3}' "$DIR/.runs.$i" | median)
    P_OTHALL[$i]=$(awk '{printf "%s%s", (NR > 1 ? ", " : ""), $3}' "$DIR/.runs.$i")
    P_PHN[$i]=$(awk '!seen[$1]++ {print $1}' "$DIR/.phases.$i" | tr '\n' ' ')
    P_PHV[$i]=
    local name
    for name in ${P_PHN[$i]}; do
        P_PHV[$i]="${P_PHV[$i]} $(awk -v n="$name" '$1 == n {print $2}' "$DIR/.phases.$i" | median)"
    done
}
# measure_rounds INDEX...: a warm-up round, then RUNS rounds; in each round
# the points are grouped by input, each group after an untimed baseline run
measure_rounds() {
    local r i input last
    for r in $(seq 0 "$RUNS"); do
        log "round $r of $RUNS$([ "$r" = 0 ] && echo ' (warm-up)')"
        last=
        for i in "$@"; do
            input=${P_INPUT[$i]}
            if [ "$input" != "$last" ]; then
                [ "$r" = 0 ] && warm "$input"
                run_point "${IDX[baseline,$input,0]}"
                last=$input
            fi
            run_point "$i" "$([ "$r" -gt 0 ] && echo timed)"
        done
    done
    for i in "$@"; do summarise "$i"; done
}

MAIN=()
for input in hpgen busy real; do
    case $input in
    hpgen) want hpgen || continue ;;
    busy) want busy || continue ;;
    real) want real || continue ;;
    esac
    add_point baseline "$input"
    MAIN+=($((NP - 1)))
    if [ -x "$BASELINE_FREAD" ] && [ "$input" != real ]; then
        add_point baseline_fread "$input"
        MAIN+=($((NP - 1)))
    fi
done
WORKLOADS=()
want hpgen && WORKLOADS+=("hpgen_i1 hpgen 1 0.01" "hpgen_i60 hpgen 60 0.01")
want busy && WORKLOADS+=("busy_i1 busy 1 0.01")
want real && WORKLOADS+=("real_i0.1 real 0.1 0")
# Two threads run as a pipeline (decode | emit) where emitting weighs; more
# split the work by chunks. Where two are the most, "2c" times the chunk
# split too, and the projection to more threads is made from it.
PROJ_J=$JMAX
[ "$JMAX" = 2 ] && PROJ_J=2c
workload_threads() { # INPUT -> the thread counts of its points
    if [ "$1" = real ]; then printf '%s\n' 1 "$JMAX" | sort -un | tr '\n' ' '
    elif [ "$PROJ_J" = 2c ]; then echo "$THREADS 2c"
    else echo "$THREADS"; fi
}
for w in "${WORKLOADS[@]}"; do
    set -- $w
    ths=$(workload_threads "$2")
    for j in $ths; do
        add_point digest "$2" "$1" "$3" "$4" "$j"
        MAIN+=($((NP - 1)))
    done
done

{ [ ${#MAIN[@]} -gt 0 ] || want hog; } && log "$RUNS runs per point, threads: $THREADS, $NPROC cores"
[ ${#MAIN[@]} -gt 0 ] && measure_rounds "${MAIN[@]}"

# ---- the hog: digests on a machine already busy -------------------------------------
HOG_PIDS=()
stop_hogs() {
    local p
    for p in "${HOG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${HOG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    HOG_PIDS=()
}
trap stop_hogs EXIT
HOG_IDX=()
if want hog; then
    [ -n "${IDX[baseline,hpgen,0]:-}" ] || add_point baseline hpgen
    for j in $HOG_THREADS; do
        add_point digest hpgen "hog_i1" 1 0.01 "$j"
        HOG_IDX+=($((NP - 1)))
    done
    for _ in $(seq "$HOGS"); do
        if [ "${HOG_PIN:-0}" = 1 ] && command -v taskset >/dev/null; then
            taskset -c 0 yes >/dev/null &
        else
            yes >/dev/null &
        fi
        HOG_PIDS+=($!)
    done
    log "hog: $HOGS CPU-bound process(es) running$([ "${HOG_PIN:-0}" = 1 ] && echo ', pinned to CPU 0')"
    ALLOWED=$HOGS
    measure_rounds "${HOG_IDX[@]}"
    ALLOWED=0
    stop_hogs
fi

# ---- sizes, random access, the big input, bandwidth ----------------------------------
declare -A SIZE_V1=() SIZE_V2=()
RA=
if want sizes; then
    for input in hpgen busy; do
        log "sizes: $input at -i 1, v1 and v2"
        base=${INPUT_BASE[$input]}
        "$HEAPPROF" digest -q -i 1 -p 0.01 -j "$JMAX" --format v1 -o "$DIR/v1.hpc" "$base"
        "$HEAPPROF" digest -q -i 1 -p 0.01 -j "$JMAX" -o "$DIR/v2_$input.hpc" "$base"
        SIZE_V1[$input]=$(stat -c %s "$DIR/v1.hpc")
        SIZE_V2[$input]=$(stat -c %s "$DIR/v2_$input.hpc")
        if [ "$input" = hpgen ] && [ -x "$RANDREAD" ]; then
            read -r _ RA_MED _ RA_P99 _ NSNAP _ MEAN_ENT < <("$RANDREAD" "$DIR/v2_hpgen.hpc" 1000)
            read -r _ RA1_MED _ _ _ _ _ _ < <("$RANDREAD" "$DIR/v1.hpc" 1000)
            RA="{\"v2_median_us\": $RA_MED, \"v2_p99_us\": $RA_P99, \"v1_median_us\": $RA1_MED, \"reads\": 1000, \"snapshots\": $NSNAP, \"mean_entries\": $MEAN_ENT}"
        fi
        rm -f "$DIR/v1.hpc" "$DIR/v2_$input.hpc"
    done
fi

declare -A BIG_SECS=() BIG_RSS=()
BIG_J=
if want big; then
    gen big
    warm big
    BIG_J=$(printf '%s\n' 2 "$JMAX" | awk -v m="$JMAX" '$1 <= m' | sort -un | tr '\n' ' ')
    for j in $BIG_J; do
        log "big input: -i 1 -j $j"
        wait_quiet
        "$TIMEIT" "$DIR/.t" "$HEAPPROF" digest -q -i 1 -p 0.01 -j "$j" -o "$DIR/big.hpc" "${INPUT_BASE[big]}"
        read -r s kb _ <"$DIR/.t"
        BIG_SECS[$j]=$s
        BIG_RSS[$j]=$(calc "$kb / 1024")
    done
    rm -f "$DIR/big.hpc"
fi

BW=
if want membw && [ -x "$MEMBW" ]; then
    log "memory bandwidth"
    BW1=$("$MEMBW" 1 | awk '{print $1}')
    BWN=$("$MEMBW" "$NPROC" | awk '{print $1}')
    BW="{\"1\": $BW1, \"$NPROC\": $BWN}"
fi

# ---- tables ---------------------------------------------------------------------
# Karp-Flatt: the serial fraction e from T_1 and T_p, e = (T_p/T_1 - 1/p) /
# (1 - 1/p); Amdahl with it: S(n) = 1 / (e + (1 - e)/n).
kf() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN {if (p <= 1 || a <= 0 || b == "") {print "null"; exit} e = (b / a - 1 / p) / (1 - 1 / p); printf "%.4f", e}'; }
amdahl() { awk -v e="$1" -v n="$2" 'BEGIN {if (e == "null") print "null"; else {if (e < 0) e = 0; printf "%.2f", 1 / (e + (1 - e) / n)}}'; }
phase_of() { # INDEX NAME -> median seconds or empty
    local i=$1 name=$2 k=0 n
    local -a vals=(${P_PHV[$i]})
    for n in ${P_PHN[$i]}; do
        [ "$n" = "$name" ] && { echo "${vals[$k]}"; return; }
        k=$((k + 1))
    done
}
mib() { awk -v m="$1" 'BEGIN {printf "%.0f MiB", m}'; }
fx() { awk -v v="$1" 'BEGIN {if (v == "null" || v == "") print "-"; else printf "%.2fx", v}'; }

JSON=()
addj() { JSON+=("$1"); }

declare -A BASE_SECS=() FREAD_SECS=()
for input in hpgen busy real; do
    i=${IDX[baseline,$input,0]:-}
    [ -n "$i" ] && [ -s "$DIR/.runs.$i" ] || continue
    BASE_SECS[$input]=${P_SECS[$i]}
    INPUT_EVENTS[$input]=$(awk '{print $1}' <<<"${P_REPORT[$i]}")
    f=${IDX[baseline_fread,$input,0]:-}
    [ -n "$f" ] && FREAD_SECS[$input]=${P_SECS[$f]}
done

echo
echo "== heapprof digest benchmark: $NPROC cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), median of $RUNS runs"
for input in "${!INPUT_BASE[@]}"; do
    echo "   input $input: ${INPUT_ARGS[$input]}; ${INPUT_BYTES[$input]} bytes of .hpd${INPUT_EVENTS[$input]:+, ${INPUT_EVENTS[$input]} events}"
done
if [ ${#BASE_SECS[@]} -gt 0 ]; then
    echo
    echo "plain decoders (1 thread)   seconds       (min-max)  others   peak RSS (the mapped file counts)"
    js=
    for input in hpgen busy real; do
        [ -n "${BASE_SECS[$input]:-}" ] || continue
        i=${IDX[baseline,$input,0]}
        printf '  baseline, %-15s %8.3f %15s %7.2f   %s\n' "$input" "${P_SECS[$i]}" "$(printf '(%.2f-%.2f)' "${P_MIN[$i]}" "${P_MAX[$i]}")" "${P_OTH[$i]}" "$(mib "${P_RSS[$i]}")"
        js="$js${js:+, }\"$input\": {\"seconds\": ${P_SECS[$i]}, \"runs_seconds\": [${P_ALL[$i]}], \"others_cores\": [${P_OTHALL[$i]}], \"peak_rss_mib\": ${P_RSS[$i]}, \"events\": ${INPUT_EVENTS[$input]}, \"hpd_bytes\": ${INPUT_BYTES[$input]}, \"output\": $(jstr "${P_REPORT[$i]}")"
        f=${IDX[baseline_fread,$input,0]:-}
        if [ -n "$f" ]; then
            printf '  baseline_fread, %-9s %8.3f %15s %7.2f   %s\n' "$input" "${P_SECS[$f]}" "$(printf '(%.2f-%.2f)' "${P_MIN[$f]}" "${P_MAX[$f]}")" "${P_OTH[$f]}" "$(mib "${P_RSS[$f]}")"
            js="$js, \"fread_seconds\": ${P_SECS[$f]}, \"fread_runs_seconds\": [${P_ALL[$f]}], \"fread_peak_rss_mib\": ${P_RSS[$f]}"
        fi
        js="$js}"
    done
    addj "\"baselines\": {$js}"
fi

# workload_table LABEL INPUT INTERVAL PRECISION THREADS...
declare -A WT=()
workload_table() {
    local label=$1 input=$2 iv=$3 prec=$4
    shift 4
    local i1=${IDX[$label,$input,1]:-} j i base=${BASE_SECS[$input]:-} fread=${FREAD_SECS[$input]:-}
    echo
    echo "digest $input -i $iv -p $prec"
    printf '  %7s %9s %15s %8s %11s %8s %9s %6s %7s %7s\n' threads seconds "(min-max)" speedup "/ baseline" "/ fread" "peak RSS" MB/s "e (KF)" others
    local pts=
    for j in "$@"; do
        i=${IDX[$label,$input,$j]:-}
        [ -n "$i" ] || continue
        local s=${P_SECS[$i]} sp vb vf e mbs
        sp=$([ -n "$i1" ] && ratio "${P_SECS[$i1]}" "$s" || echo null)
        vb=$(ratio "$s" "$base")
        vf=$(ratio "$s" "$fread")
        e=$([ -n "$i1" ] && kf "${P_SECS[$i1]}" "$s" "${j%c}" || echo null)
        mbs=$(awk -v b="${INPUT_BYTES[$input]}" -v s="$s" 'BEGIN {printf "%.0f", b / s / 1e6}')
        printf '  %7s %9.3f %15s %8s %11s %8s %9s %6s %7s %7.2f\n' "$j" "$s" "$(printf '(%.2f-%.2f)' "${P_MIN[$i]}" "${P_MAX[$i]}")" \
            "$(fx "$sp")" "$(fx "$vb")" "$(fx "$vf")" "$(mib "${P_RSS[$i]}")" "$mbs" \
            "$([ "$e" = null ] && echo - || printf '%.3f' "$e")" "${P_OTH[$i]}"
        local ph= k=0 n
        local -a vals=(${P_PHV[$i]})
        for n in ${P_PHN[$i]}; do
            local pw=null
            [ -n "$i1" ] && [ "$n" != unaccounted ] && [ -n "$(phase_of "$i1" "$n")" ] &&
                pw=$(ratio "${vals[$k]}" "$(phase_of "$i1" "$n")")
            ph="$ph${ph:+, }\"$n\": {\"seconds\": ${vals[$k]}, \"work_vs_1_thread\": $pw}"
            k=$((k + 1))
        done
        pts="$pts${pts:+, }\"$j\": {\"seconds\": $s, \"runs_seconds\": [${P_ALL[$i]}], \"others_cores\": [${P_OTHALL[$i]}], \"peak_rss_mib\": ${P_RSS[$i]}, \"speedup\": $sp, \"vs_baseline\": $vb, \"vs_fread_baseline\": $vf, \"serial_fraction\": $e, \"mb_per_s\": $mbs, \"events_per_s\": $(awk -v e="${INPUT_EVENTS[$input]:-0}" -v s="$s" 'BEGIN {printf "%.0f", e / s}'), \"phases\": {$ph}, \"report\": $(jstr "${P_REPORT[$i]:-}")}"
        WT[$label,$j]=$s
    done
    # phases: every name seen at any thread count, in order of appearance.
    # Their seconds are work (tasks on any thread; settle, totals and write
    # are the serial chain), so the last column is the work at the most
    # threads over the work at one, not a serial fraction.
    local names
    names=$(for j in "$@"; do i=${IDX[$label,$input,$j]:-}; [ -n "$i" ] && printf '%s\n' ${P_PHN[$i]}; done | awk '!seen[$0]++' | tr '\n' ' ')
    local jm=${IDX[$label,$input,$JMAX]:-} jp=${IDX[$label,$input,$PROJ_J]:-}
    if [ -n "$names" ]; then
        printf '  %-18s' "phase (s of work)"
        for j in "$@"; do [ -n "${IDX[$label,$input,$j]:-}" ] && printf ' %8s' "-j $j"; done
        [ -n "$jm" ] && [ "$JMAX" -gt 1 ] && printf '   work %s/1' "$JMAX"
        echo
        local n
        for n in $names; do
            printf '  %-18s' "$n"
            local v1= vm=
            for j in "$@"; do
                i=${IDX[$label,$input,$j]:-}
                [ -n "$i" ] || continue
                local v
                v=$(phase_of "$i" "$n")
                if [ -n "$v" ]; then printf ' %8.3f' "$v"; else printf ' %8s' -; fi
                [ "$j" = 1 ] && v1=$v
                [ "$j" = "$JMAX" ] && vm=$v
            done
            if [ -n "$jm" ] && [ "$JMAX" -gt 1 ] && [ -n "$v1" ] && [ -n "$vm" ] && [ "$n" != unaccounted ]; then
                ratio "$vm" "$v1" | awk '{if ($1 == "null") printf "   %8s", "-"; else printf "   %7.2fx", $1}'
            fi
            echo
        done
    fi
    local am=
    if [ -n "$i1" ] && [ -n "$jm" ] && [ "$JMAX" -gt 1 ]; then
        local e
        e=$(kf "${P_SECS[$i1]}" "${P_SECS[$jm]}" "$JMAX")
        echo "  Amdahl from e(1 -> $JMAX) = $e: 16 threads $(amdahl "$e" 16)x, 64 threads $(amdahl "$e" 64)x"
        am=", \"amdahl_from\": $JMAX, \"amdahl_16\": $(amdahl "$e" 16), \"amdahl_64\": $(amdahl "$e" 64)"
        # From the phases instead (docs/PERFORMANCE.md, "Scaling"): at n
        # threads the tasks' work W (as measured at the most threads, its
        # growth over one thread included) spreads over n threads, the serial
        # chain S (settle, totals, write) runs beside them, and the fixed
        # cost F (one thread's unaccounted time) comes on top:
        #   T(n) = F + max(S, W / n)
        local W S F
        # (where two are the most, from their split by chunks: more threads
        # never pipe)
        [ -n "$jp" ] || jp=$jm
        W=$(awk -v a="$(phase_of "$jp" resync)" -v b="$(phase_of "$jp" decode)" -v c="$(phase_of "$jp" emit)" -v d="$(phase_of "$jp" compress)" 'BEGIN {print a + b + c + d}')
        S=$(awk -v a="$(phase_of "$jp" settle)" -v b="$(phase_of "$jp" totals)" -v c="$(phase_of "$jp" write)" 'BEGIN {print a + b + c}')
        F=$(phase_of "$i1" unaccounted)
        local pj= n tn sp line=
        for n in 2 4 8 16 32 64; do
            tn=$(awk -v F="${F:-0}" -v S="$S" -v W="$W" -v n="$n" 'BEGIN {p = W / n; if (S > p) p = S; if (F < 0) F = 0; printf "%.4f", F + p}')
            sp=$(ratio "${P_SECS[$i1]}" "$tn")
            [ "$n" = 16 ] && WT[$label,proj16]=$sp
            line="$line $(printf '%s: %.2fx' "$n" "$sp")"
            pj="$pj${pj:+, }\"$n\": {\"seconds\": $tn, \"speedup\": $sp}"
        done
        printf '  from the phases at -j %s: tasks %.3f s of work, serial chain %.3f s, fixed %.3f s; T(n) = F + max(S, W/n):%s\n' \
            "$([ "$jp" = "$jm" ] && echo "$JMAX" || echo "$PROJ_J (split by chunks)")" "$W" "$S" "${F:-0}" "$line"
        am="$am, \"projection\": {\"from_threads\": \"$([ "$jp" = "$jm" ] && echo "$JMAX" || echo "$PROJ_J")\", \"work_s\": $W, \"serial_s\": $S, \"fixed_s\": ${F:-0}, \"points\": {$pj}}"
    fi
    addj "$(jstr "$label"): {\"input\": $(jstr "$input"), \"interval\": $iv, \"precision\": $prec, \"points\": {$pts}$am}"
}
for w in "${WORKLOADS[@]}"; do
    set -- $w
    workload_table "$1" "$2" "$3" "$4" $(workload_threads "$2")
done

HOG_RATIO=
if [ ${#HOG_IDX[@]} -gt 0 ]; then
    echo
    echo "digest hpgen -i 1 -p 0.01 with $HOGS CPU-bound process(es) running$([ "${HOG_PIN:-0}" = 1 ] && echo ' (pinned to CPU 0)')"
    printf '  %7s %9s %15s %8s %10s %7s\n' threads seconds "(min-max)" "/ -j 1" "peak RSS" others
    js=
    h1=${IDX[hog_i1,hpgen,1]:-}
    for i in "${HOG_IDX[@]}"; do
        r=$([ -n "$h1" ] && ratio "${P_SECS[$i]}" "${P_SECS[$h1]}" || echo null)
        printf '  %7s %9.3f %15s %8s %10s %7.2f\n' "${P_J[$i]}" "${P_SECS[$i]}" "$(printf '(%.2f-%.2f)' "${P_MIN[$i]}" "${P_MAX[$i]}")" \
            "$(fx "$r")" "$(mib "${P_RSS[$i]}")" "${P_OTH[$i]}"
        js="$js${js:+, }\"${P_J[$i]}\": {\"seconds\": ${P_SECS[$i]}, \"runs_seconds\": [${P_ALL[$i]}], \"others_cores\": [${P_OTHALL[$i]}], \"vs_j1\": $r, \"peak_rss_mib\": ${P_RSS[$i]}}"
        [ "${P_J[$i]}" = 2 ] && HOG_RATIO=$r
    done
    addj "\"hog\": {\"input\": \"hpgen\", \"interval\": 1, \"precision\": 0.01, \"hogs\": $HOGS, \"pinned\": $([ "${HOG_PIN:-0}" = 1 ] && echo true || echo false), \"points\": {$js}}"
fi

if [ ${#SIZE_V1[@]} -gt 0 ]; then
    echo
    echo "sizes at -i 1 -p 0.01:"
    js=
    for input in hpgen busy; do
        [ -n "${SIZE_V1[$input]:-}" ] || continue
        printf '  %-6s v1 %12d bytes, v2 %11d bytes, v2/v1 %.4f\n' "$input" "${SIZE_V1[$input]}" "${SIZE_V2[$input]}" "$(ratio "${SIZE_V2[$input]}" "${SIZE_V1[$input]}")"
        js="$js${js:+, }\"$input\": {\"v1_bytes\": ${SIZE_V1[$input]}, \"v2_bytes\": ${SIZE_V2[$input]}, \"ratio\": $(ratio "${SIZE_V2[$input]}" "${SIZE_V1[$input]}")}"
    done
    addj "\"sizes_i1\": {$js}"
fi
if [ -n "$RA" ]; then
    echo "  random v2 snapshot read (hpgen): median $RA_MED us, p99 $RA_P99 us ($NSNAP snapshots, $MEAN_ENT entries on average); v1 median $RA1_MED us"
    addj "\"random_access\": $RA"
fi
if [ -n "$BIG_J" ]; then
    echo
    js=
    for j in $BIG_J; do
        printf 'big input (%s bytes) -i 1 -j %s: %.3f s, peak RSS %s\n' "${INPUT_BYTES[big]}" "$j" "${BIG_SECS[$j]}" "$(mib "${BIG_RSS[$j]}")"
        js="$js${js:+, }\"$j\": {\"seconds\": ${BIG_SECS[$j]}, \"peak_rss_mib\": ${BIG_RSS[$j]}}"
    done
    addj "\"memory_big\": {\"hpd_bytes\": ${INPUT_BYTES[big]}, \"points\": {$js}}"
fi
if [ -n "$BW" ]; then
    echo
    echo "memory bandwidth: $BW1 GB/s on 1 thread, $BWN GB/s on $NPROC"
    addj "\"memory_bandwidth_gbs\": $BW"
fi

# ---- targets (issue 13) -----------------------------------------------------------
TJ=
echo
echo "targets (issue 13; measured on $NPROC cores):"
target() { # DESCRIPTION VALUE OP LIMIT
    [ -n "$2" ] && [ "$2" != null ] || return 0
    local ok
    ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {print (op == "<=" ? v <= l : v >= l) ? "met" : "MISSED"}')
    printf '  %-58s %9s %s %-6s %s\n' "$1" "$2" "$3" "$4" "$ok"
    TJ="$TJ${TJ:+, }{\"target\": $(jstr "$1"), \"value\": $2, \"op\": \"$3\", \"limit\": $4, \"met\": $([ "$ok" = met ] && echo true || echo false)}"
}
wt() { echo "${WT[$1]:-}"; }
sp() { [ -n "$(wt "$1,1")" ] && [ -n "$(wt "$1,$2")" ] && ratio "$(wt "$1,1")" "$(wt "$1,$2")"; }
vb() { [ -n "$(wt "$1,$2")" ] && [ -n "${BASE_SECS[$3]:-}" ] && ratio "$(wt "$1,$2")" "${BASE_SECS[$3]}"; }
target "16 threads vs 1, hpgen -i 1 (speedup)" "$(sp hpgen_i1 16 || true)" ">=" 12
target "16 threads vs 1, hpgen -i 60 (speedup)" "$(sp hpgen_i60 16 || true)" ">=" 12
target "16 threads vs 1, busy -i 1 (speedup)" "$(sp busy_i1 16 || true)" ">=" 12
if [ "$NPROC" -lt 16 ]; then
    for l in hpgen_i1 hpgen_i60 busy_i1; do
        [ -n "${WT[$l,proj16]:-}" ] && target "16 threads vs 1, $l, PROJECTED from the phases" "${WT[$l,proj16]}" ">=" 12
    done
fi
target "busy -i 1, 1 thread / plain decoder" "$(vb busy_i1 1 busy || true)" "<=" 2.5
target "busy -i 1, 2 threads / plain decoder" "$(vb busy_i1 2 busy || true)" "<=" 1.3
target "hpgen -i 1, 2 threads / plain decoder" "$(vb hpgen_i1 2 hpgen || true)" "<=" 1.0
target "real -i 0.1 -p 0, 1 thread / plain decoder" "$(vb real_i0.1 1 real || true)" "<=" 2
target "2 threads vs 1, hpgen -i 1 (speedup)" "$(sp hpgen_i1 2 || true)" ">=" 1.8
target "-j 2 / -j 1 with $HOGS CPU-bound process(es) running" "$HOG_RATIO" "<=" 1.0
target "peak RSS (MiB), big input, 2 threads" "${BIG_RSS[2]:-}" "<=" 256
target "peak RSS (MiB), big input, 16 threads" "${BIG_RSS[16]:-}" "<=" 768
[ -n "${SIZE_V1[hpgen]:-}" ] && target "v2 bytes / v1 bytes, hpgen -i 1" "$(ratio "${SIZE_V2[hpgen]}" "${SIZE_V1[hpgen]}")" "<=" 0.125
target "random v2 snapshot read, median (us)" "${RA_MED:-}" "<=" 1000
addj "\"targets\": [$TJ]"

# ---- results.json -------------------------------------------------------------
{
    printf '{\n  "machine": {"nproc": %d, "cpu": %s},\n' "$NPROC" "$(jstr "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)")"
    printf '  "runs": %d,\n  "threads": [%s],\n' "$RUNS" "$(echo $THREADS | tr ' ' ',')"
    printf '  "omp_env": %s,\n' "$(jstr "$(env | grep '^OMP_' | tr '\n' ' ' || true)")"
    js=
    for input in "${!INPUT_BASE[@]}"; do
        js="$js${js:+, }\"$input\": {\"generator\": $(jstr "${INPUT_ARGS[$input]}"), \"hpd_bytes\": ${INPUT_BYTES[$input]}${INPUT_EVENTS[$input]:+, \"events\": ${INPUT_EVENTS[$input]}}}"
    done
    printf '  "inputs": {%s}' "$js"
    for j in "${JSON[@]}"; do printf ',\n  %s' "$j"; done
    printf '\n}\n'
} >"$DIR/results.json"
rm -f "$DIR"/.runs.* "$DIR"/.phases.* "$DIR/.t" "$DIR/.out" "$DIR/.err" "$DIR/out.hpc"
if [ "${BENCH_CLEAN:-0}" = 1 ]; then
    for input in hpgen busy big; do
        [ -n "${INPUT_BASE[$input]:-}" ] && rm -f "${INPUT_BASE[$input]}".hp[mdc] "${INPUT_BASE[$input]}.args"
    done
fi
echo
echo "results: $DIR/results.json"
