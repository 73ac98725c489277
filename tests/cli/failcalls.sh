#!/usr/bin/env bash
# Failing calls: each command below is run once for every allocation it
# makes, then once for every write to a file (write, pwrite, fsync, linkat,
# rename), with that one call failing (tests/cli/failcalls.c, preloaded):
# out of memory, then a disk that fails (EIO). Where a command makes more
# than FAIL_POINTS calls of a kind, see points.
#
# Whatever fails, the command must end (no crash, no hang) with status 0
# and the very output and messages of a run where nothing fails, or with
# status 1 and its error on standard error ("heapprof: ..." lines, one not
# a warning), no temporary left behind, and its output file absent (out of
# memory) or, for a write error, naming the file and leaving the output as
# it was before (or, where only the folder's sync after the rename failed,
# the new output whole): never a silently short or wrong result. Each
# campaign must see at least one such failure (else the library failed
# nothing, and the test would prove nothing).
# Environment: HEAPPROF (the CLI), HPGEN (the generator), FAILCALLS (the
# preloaded library; the test is skipped without it, as under the
# sanitizers, which replace malloc themselves), FAIL_POINTS (default 120).
set -u
NAME=failcalls
. "$(dirname "$0")/lib.sh"
FAILCALLS=${FAILCALLS:-}
FAIL_POINTS=${FAIL_POINTS:-120}
if [ -z "$FAILCALLS" ] || [ ! -e "$FAILCALLS" ]; then
    skip "failing calls: no FAILCALLS library (make cli-test builds it, except under sanitizers)"
    summary failcalls
    exit
fi
FAILCALLS=$(realpath "$FAILCALLS")

# a profile whose frames have source text (hpgen writes the files), digested
mkdir "$T/src" "$T/out" "$T/batch"
"$HPGEN" -e 30000 -t 60 -d 6 -s 5 --source-dir "$T/src" "$T/g" >/dev/null || bad "hpgen"
"$HEAPPROF" digest -q -i 0.5 "$T/g" || bad "digest"
seed=1
for p in a b c; do
    "$HPGEN" -e $((3000 * seed)) -t 40 -d 3 -s "$seed" "$T/batch/$p" >/dev/null || bad "hpgen $p"
    seed=$((seed + 1))
done
O=$T/out

# points N: the call numbers to fail: all of 1..N, or where N is more than
# FAIL_POINTS, the first half of them (setting up: arguments, folders,
# files opened, where a shortcut would cost a whole result), then the other
# half spread over the rest (the same work chunk after chunk)
points() {
    local n=$1 head=$((FAIL_POINTS / 2))
    if [ "$n" -le "$FAIL_POINTS" ]; then seq 1 "$n"; else
        seq 1 "$head"
        awk -v n="$n" -v h="$head" -v m="$((FAIL_POINTS - head))" \
            'BEGIN { for (i = 1; i <= m; i++) print h + int(i * (n - h) / m) }'
    fi
}

# clean: nothing in the output folder and no .hpc in the batch folder
clean() {
    rm -rf "${O:?}"/* "${O:?}"/.[!.]* "${O:?}"/..?* "$T"/batch/*.hpc "$T"/batch/.[!.]* "$T"/batch/..?* \
        2>/dev/null
}

# temporaries: what a run left that no run may leave (hidden files)
temporaries() {
    ls -A "$O" "$T/batch" | grep '^\.' || true
}

# errors_only: standard error holds "heapprof: ..." lines only, and an error
# among them (not only warnings)
errors_only() {
    ! grep -qv '^heapprof: ' "$T/e" && grep -qv '^heapprof: warning: ' "$T/e"
}

# previous OUT: before a write-error run, an older output where OUT goes,
# which a failed write must leave as it was
previous() {
    case $1 in
    -) ;;
    batch) for p in a b c; do echo "previous $p" >"$T/batch/$p.hpc"; done ;;
    *) echo previous >"$1" ;;
    esac
}

# campaign KIND LABEL OUTPUT CMD...: KIND is malloc or write; OUTPUT is the
# file CMD writes, or - for its standard output, or batch for the .hpc
# files of the batch folder
campaign() {
    local kind=$1 label="$2 ($1)" out=$3 n k rc problems=0 failures=0
    shift 3
    clean
    if ! timeout 120 "$@" >"$T/ref.stdout" 2>"$T/ref.stderr"; then
        bad "$label: the run where nothing fails failed: $*"
        return
    fi
    case $out in
    -) ;;
    batch) for p in a b c; do cp "$T/batch/$p.hpc" "$T/ref.$p.hpc"; done ;;
    *) cp "$out" "$T/ref.file" ;;
    esac
    clean
    n=$(timeout 120 env FAILCALLS_COUNT=1 LD_PRELOAD="$FAILCALLS" "$@" 2>&1 >/dev/null | tail -n 1)
    case $kind in malloc) n=${n% *} ;; write) n=${n#* } ;; esac
    case $n in '' | 0 | *[!0-9]*) bad "$label: no count of calls ($n)"; return ;; esac
    local at=FAILMALLOC_AT
    [ "$kind" = write ] && at=FAILWRITE_AT
    for k in $(points "$n"); do
        clean
        [ "$kind" = write ] && previous "$out"
        rm -f "$T/failed"
        # (timeout itself is not preloaded: only the command's calls count)
        timeout 60 env "$at=$k" FAILCALLS_LOG="$T/failed" LD_PRELOAD="$FAILCALLS" "$@" >"$T/o" 2>"$T/e"
        rc=$?
        local why=""
        if [ "$rc" -eq 0 ]; then
            cmp -s "$T/e" "$T/ref.stderr" || why="status 0, but its messages differ"
            # a failed sync changes no byte: only the status can tell of it
            case $(cat "$T/failed" 2>/dev/null) in
            fsync | fdatasync) why="status 0, but $(cat "$T/failed") failed" ;;
            esac
            case $out in
            -) cmp -s "$T/o" "$T/ref.stdout" || why="status 0, but its output differs" ;;
            batch) for p in a b c; do cmp -s "$T/batch/$p.hpc" "$T/ref.$p.hpc" || why="status 0, but $p.hpc differs"; done ;;
            *) cmp -s "$out" "$T/ref.file" || why="status 0, but its output differs" ;;
            esac
        elif [ "$rc" -eq 1 ]; then
            failures=$((failures + 1))
            errors_only || why="status 1, but standard error is not 'heapprof: ...' lines with an error"
            case $kind/$out in
            */-) [ ! -s "$T/o" ] || [ "$kind" = malloc ] || why="status 1, but it wrote to standard output" ;;
            malloc/batch) for p in a b c; do [ ! -e "$T/batch/$p.hpc" ] || cmp -s "$T/batch/$p.hpc" "$T/ref.$p.hpc" ||
                why="status 1, and $p.hpc is not the one it should be"; done ;;
            write/batch) for p in a b c; do grep -qx "previous $p" "$T/batch/$p.hpc" || cmp -s "$T/batch/$p.hpc" "$T/ref.$p.hpc" ||
                why="status 1, and $p.hpc is neither the previous one nor the new one"; done ;;
            malloc/*) [ ! -e "$out" ] || why="status 1, but it left its output" ;;
            write/*)
                grep -qF "$(basename "$out")" "$T/e" || why="status 1, but the error does not name $(basename "$out")"
                grep -qx previous "$out" || cmp -s "$out" "$T/ref.file" ||
                    why="status 1, and the output is neither the previous one nor the new one" ;;
            esac
        else
            why="status $rc"
        fi
        [ -z "$(temporaries)" ] || why="$why; left $(temporaries | tr '\n' ' ')"
        if [ -n "$why" ]; then
            problems=$((problems + 1))
            bad "$label: call $k of $n failing: $why"
            sed 's/^/    /' "$T/e" | head -n 3 >&2
        fi
    done
    [ "$failures" -gt 0 ] || bad "$label: no run failed: were calls failed at all?"
    [ "$problems" -eq 0 ] && [ "$failures" -gt 0 ] && ok
    echo "$label: $(points "$n" | wc -l) of $n calls failed in turn, $failures runs ended in an error"
}

H=$HEAPPROF
# commands that write a file: out of memory, then write errors
writers() {
    local kind=$1
    campaign "$kind" "digest, 1 thread" "$O/g.hpc" "$H" digest -q -i 0.5 -j 1 -o "$O/g.hpc" "$T/g"
    campaign "$kind" "digest, 2 threads" "$O/g.hpc" "$H" digest -q -i 0.5 -j 2 -o "$O/g.hpc" "$T/g"
    campaign "$kind" "digest v1, 3 threads, small chunks" "$O/g.hpc" \
        "$H" digest -q -i 0.2 -j 3 --format v1 --chunk-bytes 8192 -o "$O/g.hpc" "$T/g"
    campaign "$kind" "digest, standard output" - "$H" digest -q -i 0.5 -j 2 -c "$T/g"
    campaign "$kind" "digest, a folder of 3 on 2 threads" batch \
        "$H" digest -q -i 0.5 -T 2 --report "$O/report.json" "$T/batch"
    campaign "$kind" "export pprof" "$O/g.pb.gz" "$H" export "$T/g" --at peak -o "$O/g.pb.gz"
    campaign "$kind" "export collapsed" "$O/g.txt" "$H" export "$T/g" --format collapsed -o "$O/g.txt"
    campaign "$kind" "export speedscope" "$O/g.json" \
        "$H" export "$T/g" --format speedscope --from 0 --to 5 -o "$O/g.json"
    campaign "$kind" "export json" "$O/g.json" "$H" export "$T/g" --format json --at last -o "$O/g.json"
    campaign "$kind" "export csv" "$O/g.csv" "$H" export "$T/g" --format csv -o "$O/g.csv"
    campaign "$kind" "timeline" "$O/g.csv" "$H" timeline "$T/g" -o "$O/g.csv"
    campaign "$kind" "diff" "$O/d.json" \
        "$H" diff "$T/g" "$T/g" --base-at 1 --new-at last --format json -o "$O/d.json"
}
writers malloc
# commands that only read: out of memory
campaign malloc "snapshot" - "$H" snapshot "$T/g" --at peak
campaign malloc "traces" - "$H" traces "$T/g" 1 2 3
campaign malloc "info" - "$H" info "$T/g"
campaign malloc "check" - "$H" check "$T/g"
writers write

summary failcalls
