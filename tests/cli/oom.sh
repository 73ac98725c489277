#!/usr/bin/env bash
# Out of memory: each command below is run once for every allocation it
# makes (OOM_POINTS of them where there are more: see points), with that one
# allocation failing (tests/cli/failmalloc.c, preloaded). Whatever fails,
# the command must end (no crash, no hang) with status 0 and the very
# output and messages of a run with memory to spare, or status 1 with its
# error on standard error ("heapprof: ..." lines, one not a warning), its
# output file absent and no temporary left behind: never a silently short
# or wrong result. Each campaign must see at least one such failure (else
# the library failed nothing, and the test would prove nothing).
# Environment: HEAPPROF (the CLI), HPGEN (the generator), FAILMALLOC (the
# preloaded library; the test is skipped without it, as under the
# sanitizers, which replace malloc themselves), OOM_POINTS (default 120).
set -u
NAME=oom
. "$(dirname "$0")/lib.sh"
FAILMALLOC=${FAILMALLOC:-}
OOM_POINTS=${OOM_POINTS:-120}
if [ -z "$FAILMALLOC" ] || [ ! -e "$FAILMALLOC" ]; then
    skip "out-of-memory runs: no FAILMALLOC library (make cli-test builds it, except under sanitizers)"
    summary oom
    exit
fi
FAILMALLOC=$(realpath "$FAILMALLOC")

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

# points N: the allocation numbers to fail: all of 1..N, or where N is
# more than OOM_POINTS, the first half of them (setting up: arguments,
# folders, files opened, where a shortcut would cost a whole result), then
# the other half spread over the rest (the same work chunk after chunk)
points() {
    local n=$1 head=$((OOM_POINTS / 2))
    if [ "$n" -le "$OOM_POINTS" ]; then seq 1 "$n"; else
        seq 1 "$head"
        awk -v n="$n" -v h="$head" -v m="$((OOM_POINTS - head))" \
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

# campaign LABEL OUTPUT CMD...: OUTPUT is the file CMD writes, or - for its
# standard output, or batch for the .hpc files of the batch folder
campaign() {
    local label=$1 out=$2 n k rc problems=0 failures=0
    shift 2
    clean
    if ! timeout 120 "$@" >"$T/ref.stdout" 2>"$T/ref.stderr"; then
        bad "$label: the run with memory to spare failed: $*"
        return
    fi
    case $out in
    -) ;;
    batch) for p in a b c; do cp "$T/batch/$p.hpc" "$T/ref.$p.hpc"; done ;;
    *) cp "$out" "$T/ref.file" ;;
    esac
    clean
    n=$(timeout 120 env FAILMALLOC_COUNT=1 LD_PRELOAD="$FAILMALLOC" "$@" 2>&1 >/dev/null | tail -n 1)
    case $n in '' | 0 | *[!0-9]*) bad "$label: no allocation count ($n)"; return ;; esac
    for k in $(points "$n"); do
        clean
        # (timeout itself is not preloaded: only the command's allocations count)
        timeout 60 env FAILMALLOC_AT="$k" LD_PRELOAD="$FAILMALLOC" "$@" >"$T/o" 2>"$T/e"
        rc=$?
        local why=""
        if [ "$rc" -eq 0 ]; then
            cmp -s "$T/e" "$T/ref.stderr" || why="status 0, but its messages differ"
            case $out in
            -) cmp -s "$T/o" "$T/ref.stdout" || why="status 0, but its output differs" ;;
            batch) for p in a b c; do cmp -s "$T/batch/$p.hpc" "$T/ref.$p.hpc" || why="status 0, but $p.hpc differs"; done ;;
            *) cmp -s "$out" "$T/ref.file" || why="status 0, but its output differs" ;;
            esac
        elif [ "$rc" -eq 1 ]; then
            failures=$((failures + 1))
            errors_only || why="status 1, but standard error is not 'heapprof: ...' lines with an error"
            case $out in
            -) ;;
            batch) for p in a b c; do [ ! -e "$T/batch/$p.hpc" ] || cmp -s "$T/batch/$p.hpc" "$T/ref.$p.hpc" ||
                why="status 1, and $p.hpc is not the one it should be"; done ;;
            *) [ ! -e "$out" ] || why="status 1, but it left its output" ;;
            esac
        else
            why="status $rc"
        fi
        [ -z "$(temporaries)" ] || why="$why; left $(temporaries | tr '\n' ' ')"
        if [ -n "$why" ]; then
            problems=$((problems + 1))
            bad "$label: allocation $k of $n failing: $why"
            sed 's/^/    /' "$T/e" | head -n 3 >&2
        fi
    done
    [ "$failures" -gt 0 ] || bad "$label: no run failed: were allocations failed at all?"
    [ "$problems" -eq 0 ] && [ "$failures" -gt 0 ] && ok
    echo "$label: $(points "$n" | wc -l) of $n allocations failed in turn, $failures runs ended in an error"
}

H=$HEAPPROF
campaign "digest, 1 thread" "$O/g.hpc" "$H" digest -q -i 0.5 -j 1 -o "$O/g.hpc" "$T/g"
campaign "digest, 2 threads" "$O/g.hpc" "$H" digest -q -i 0.5 -j 2 -o "$O/g.hpc" "$T/g"
campaign "digest v1, 3 threads, small chunks" "$O/g.hpc" \
    "$H" digest -q -i 0.2 -j 3 --format v1 --chunk-bytes 8192 -o "$O/g.hpc" "$T/g"
campaign "digest, standard output" - "$H" digest -q -i 0.5 -j 2 -c "$T/g"
campaign "digest, a folder of 3 on 2 threads" batch \
    "$H" digest -q -i 0.5 -T 2 --report "$O/report.json" "$T/batch"
campaign "export pprof" "$O/g.pb.gz" "$H" export "$T/g" --at peak -o "$O/g.pb.gz"
campaign "export collapsed" "$O/g.txt" "$H" export "$T/g" --format collapsed -o "$O/g.txt"
campaign "export speedscope" "$O/g.json" \
    "$H" export "$T/g" --format speedscope --from 0 --to 5 -o "$O/g.json"
campaign "export json" "$O/g.json" "$H" export "$T/g" --format json --at last -o "$O/g.json"
campaign "export csv" "$O/g.csv" "$H" export "$T/g" --format csv -o "$O/g.csv"
campaign "timeline" "$O/g.csv" "$H" timeline "$T/g" -o "$O/g.csv"
campaign "diff" - "$H" diff "$T/g" "$T/g" --base-at 1 --new-at last --format json
campaign "snapshot" - "$H" snapshot "$T/g" --at peak
campaign "traces" - "$H" traces "$T/g" 1 2 3
campaign "info" - "$H" info "$T/g"
campaign "check" - "$H" check "$T/g"

summary oom
