#!/usr/bin/env bash
# CLI tests: each command's output on the bundled fixtures, and every error
# path (one line on stderr naming the file, the right exit status).
# Environment: HEAPPROF (the CLI), HPGEN (the generator).
set -u
NAME=cli
. "$(dirname "$0")/lib.sh"

cp "$DATA"/tiny.hpm "$DATA"/tiny.hpd "$T/"
P="$T/tiny"

# --- help, version, usage ----------------------------------------------------
check run 0 "$HEAPPROF" --version && check has "$T/out" "heapprof-c "
check run 0 "$HEAPPROF" --help && check has "$T/out" "digest"
for c in info traces events check snapshot digest tune; do
    check run 0 "$HEAPPROF" "$c" --help && check has "$T/out" "usage: heapprof $c"
done
check run 2 "$HEAPPROF" && ok
check run 2 "$HEAPPROF" frobnicate && check one_line_error "unknown command 'frobnicate'"
check run 2 "$HEAPPROF" info && check one_line_error "invalid usage"
check run 2 "$HEAPPROF" info --bogus "$P" && check one_line_error "unknown option '--bogus'"
# the option named is the one given, not its value or the command
check run 2 "$HEAPPROF" events "$P" --top 3 && check one_line_error "option '--top' is not taken by this command"
check run 2 "$HEAPPROF" digest -Z2 "$P" && check one_line_error "unknown option '-Z'"
check run 2 "$HEAPPROF" digest "$P" -j && check one_line_error "option '-j' needs a value"

# --- info --------------------------------------------------------------------
check run 0 "$HEAPPROF" info "$P"
check has "$T/out" "traces       179"
check has "$T/out" "events       1002 (560 allocations, 442 frees)"
check has "$T/out" "duration     3.383618 s"
check has "$T/out" "hpd size     8030 bytes"
check has "$T/out" "2026-11-25T03:10:59.103482858Z (epoch 1795576259.103482858)"
check has "$T/out" "[0, 128) bytes: p = 0 (never recorded)"
check run 0 "$HEAPPROF" info "$P.hpd" && check has "$T/out" "traces       179"
check run 0 "$HEAPPROF" info "$DATA/small-a"
check has "$T/err" "sampling rates look ineffective"

# --- traces ------------------------------------------------------------------
check run 0 "$HEAPPROF" traces "$P" 5 0
check has "$T/out" "trace 5: 3 frames"
check has "$T/out" "heapprof/__main__.py:49"
check has "$T/out" "trace 0: no trace"
[ "$(sed -n 2p "$T/out" | grep -c '__main__.py:49')" -eq 1 ] && ok || bad "outermost frame not first"
check run 0 "$HEAPPROF" traces "$P" && [ "$(grep -c '^trace ' "$T/out")" -eq 179 ] && ok
check run 2 "$HEAPPROF" traces "$P" x1 && check one_line_error "invalid trace index 'x1'"

# --- events ------------------------------------------------------------------
check run 0 "$HEAPPROF" events "$P" --limit 2
check has "$T/out" "$(printf '1795576259.103528\t1\t152\t1')"
[ "$(wc -l <"$T/out")" -eq 2 ] && ok || bad "--limit 2"
check run 0 "$HEAPPROF" events "$P" && [ "$(wc -l <"$T/out")" -eq 1002 ] && ok
[ "$(awk -F'\t' '$3 < 0' "$T/out" | wc -l)" -eq 442 ] && ok || bad "frees are not negative"
check run 2 "$HEAPPROF" events "$P" --limit -1 && check one_line_error "invalid --limit"

# --- check -------------------------------------------------------------------
check run 0 "$HEAPPROF" check "$P"
check has "$T/out" "ok: 179 traces, 1002 events (560 allocations, 442 frees)"

# --- digest, and reading it back -----------------------------------------------
check run 0 "$HEAPPROF" digest -q -i 0.1 -p 0 "$P"
check run 0 "$HEAPPROF" info "$P" && check has "$T/out" "format v2, interval 0.1 s, 35 snapshots"
check run 0 "$HEAPPROF" snapshot "$P" --at 3.4 --top 3
check has "$T/out" "snapshot 34 at 3.4 s: 47379 bytes"
[ "$(wc -l <"$T/out")" -eq 4 ] && ok || bad "--top 3"
check run 0 "$HEAPPROF" snapshot "$P" --at 0.35 && check has "$T/out" "snapshot 3 at 0.3 s"
check run 1 "$HEAPPROF" snapshot "$P" --at 3.5 && check one_line_error "tiny.hpc: no snapshot at 3.5 s"
check run 2 "$HEAPPROF" snapshot "$P" && check one_line_error "--at SECONDS is required"
check run 0 "$HEAPPROF" digest -q -i 0.1 -p 0 --format v1 -o "$T/v1.hpc" "$P"
zstd -q -dc "$P.hpc" | cmp -s - "$T/v1.hpc" && ok || bad "zstd -dc of v2 differs from v1"
zstd -q -t "$P.hpc" && ok || bad "zstd -t"
check run 0 "$HEAPPROF" digest -q -i 0.05 -j 1 -o "$T/j1.hpc" "$P"
check run 0 "$HEAPPROF" digest -q -i 0.05 -j 2 --chunk-bytes 100 -o "$T/j2.hpc" "$P"
cmp -s "$T/j1.hpc" "$T/j2.hpc" && ok || bad "-j 1 and -j 2 differ"
check run 0 "$HEAPPROF" digest -v -q -i 1 -o "$T/verbose.hpc" "$P"
check has "$T/err" "phases: resync"
check has "$T/err" "5 snapshots"

# --- heapprof's own digests: negative entries, zero snapshots -------------------
mkdir -p "$T/own"
cp "$DATA"/small-a.hpm "$T/own/"; cp "$DATA"/small-a.heapprof.i100.p0.hpc "$T/own/small-a.hpc"
check run 0 "$HEAPPROF" snapshot "$T/own/small-a" --at 0.3 --top 400
check has "$T/out" "snapshot 3 at 0.3 s: -852154800 bytes in 367 entries (1 negative: heapprof 1.0's 32-bit counters wrapped)"
check has "$T/out" " 367    -1560738615"
cp "$DATA"/small-a.hpd "$T/own/"
check run 0 "$HEAPPROF" info "$T/own/small-a"
check has "$T/out" "negative     7 snapshots hold negative entries"
cp "$DATA"/tiny.hpm "$DATA"/tiny.hpd "$T/own/"; cp "$DATA"/tiny.heapprof.i10000.p0.hpc "$T/own/tiny.hpc"
check run 1 "$HEAPPROF" snapshot "$T/own/tiny" --at 0 && check one_line_error "tiny.hpc: the digest has no snapshots"
check run 0 "$HEAPPROF" info "$T/own/tiny"
check has "$T/out" "interval 10 s, 0 snapshots"
check has "$T/out" "peak usage   none (no snapshots"

# --- usage errors ------------------------------------------------------------
for args in "-i 0" "-i 0.0005" "-i x" "-p 1" "-p -0.5" "-p nan" "-j 0" "-j 5000" "--format v3" \
            "--level 99" "--chunk-bytes 3"; do
    # shellcheck disable=SC2086
    check run 2 "$HEAPPROF" digest -q $args "$P" && check one_line_error "digest: invalid"
done
check run 2 "$HEAPPROF" digest -q -o "$T/x.hpc" "$P" "$P" && check one_line_error "-o takes one FILEBASE"
check run 2 "$HEAPPROF" digest && check one_line_error "no FILEBASE"

# --- data errors: one line, the file, the offset --------------------------------
check run 1 "$HEAPPROF" info "$T/nope" && check one_line_error "$T/nope.hpm: cannot open"
cp "$P.hpm" "$T/v.hpm"; cp "$P.hpd" "$T/v.hpd"
printf '\000\000\000\002' | dd of="$T/v.hpm" conv=notrunc 2>/dev/null
check run 1 "$HEAPPROF" info "$T/v" && check one_line_error "v.hpm: offset 0: unsupported .hpm version 2"
head -c 10 "$P.hpm" >"$T/v.hpm"
check run 1 "$HEAPPROF" check "$T/v" && check one_line_error "v.hpm: offset 10: truncated header"
check run 1 "$HEAPPROF" digest -q "$T/v" && check one_line_error "v.hpm: offset 10"
[ ! -e "$T/v.hpc" ] && ok || bad "a failed digest left v.hpc"
cp "$P.hpm" "$T/v.hpm"
head -c 5000 "$P.hpd" >"$T/v.hpd"
check run 0 "$HEAPPROF" check "$T/v" && check has "$T/err" "partial final event"
printf 'garbage' >"$T/g.hpc"; cp "$P.hpm" "$T/g.hpm"; cp "$P.hpd" "$T/g.hpd"
check run 1 "$HEAPPROF" snapshot "$T/g" --at 0 && check one_line_error "g.hpc: offset"
check run 1 "$HEAPPROF" digest -q -o /nonexistent/x.hpc "$P" && check one_line_error "/nonexistent/x.hpc: cannot create"

# --- damaged streams: strict fails with the offset, salvage reports ------------
"$HPGEN" -e 5000 -t 40 -d 2 -s 9 --damage 3 "$T/d" || bad "hpgen"
check run 1 "$HEAPPROF" check "$T/d" && check one_line_error "d.hpd: offset"
check has "$T/err" "invalid event: trace index beyond the last trace"
check run 1 "$HEAPPROF" digest -q "$T/d" && check one_line_error "d.hpd: offset"
[ ! -e "$T/d.hpc" ] && ok || bad "strict digest of a damaged stream left d.hpc"
check run 1 "$HEAPPROF" check --salvage "$T/d" && check has "$T/out" "3 damaged stretches"
check run 0 "$HEAPPROF" digest -q --salvage "$T/d" && check has "$T/err" "skipped 3 damaged stretches"
check run 1 "$HEAPPROF" events "$T/d" && check has "$T/err" "invalid event"

# --- a file size limit is a clean write error -----------------------------------
"$HPGEN" -e 50000 -t 400 -d 20 -s 4 "$T/big" || bad "hpgen"
echo previous >"$T/big.hpc"
(ulimit -f 8; "$HEAPPROF" digest -q -i 0.01 -p 0 --format v1 "$T/big") >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && ok || bad "RLIMIT_FSIZE: wrong exit status"
check one_line_error "big.hpc: write failed"
[ "$(cat "$T/big.hpc")" = previous ] && ok || bad "the previous .hpc was touched"
[ "$(ls -a "$T" | grep -c '^\.big')" -eq 0 ] && ok || bad "a temporary file was left"

# --- faults while digesting ---------------------------------------------------
F="$T/faults"
mkdir -p "$F"
"$HPGEN" -e 3000000 -t 2000 -d 600 -s 8 "$F/big" || bad "hpgen"
"$HEAPPROF" digest -q -i 0.01 -j 1 -o "$F/expected.hpc" "$F/big" || bad "digest"
# two digests of one filebase at once: both succeed, one valid .hpc remains
"$HEAPPROF" digest -q -i 0.01 -j 1 "$F/big" & a=$!
"$HEAPPROF" digest -q -i 0.01 -j 1 "$F/big" & b=$!
wait $a && wait $b && ok || bad "concurrent digests of one filebase failed"
cmp -s "$F/big.hpc" "$F/expected.hpc" && ok || bad "concurrent digests left a wrong .hpc"
[ "$(ls -a "$F" | grep -c '^\.')" -eq 2 ] && ok || bad "concurrent digests left temporary files"
# the input shrinks while it is read: a clean error (or done first), never a crash
cp "$F/big.hpd" "$F/shrink.hpd" && cp "$F/big.hpm" "$F/shrink.hpm"
echo previous >"$F/shrink.hpc"
"$HEAPPROF" digest -q -i 0.001 -j 1 --chunk-bytes 65536 "$F/shrink" 2>"$T/err" & pid=$!
sleep 0.2; truncate -s 1000 "$F/shrink.hpd"
wait $pid; st=$?
if [ $st -eq 1 ]; then
    check one_line_error "shrank while it was being read"
    [ "$(cat "$F/shrink.hpc")" = previous ] && ok || bad "a failed digest touched the previous .hpc"
else
    [ $st -eq 0 ] && ok || bad "digest of a shrinking input: exit $st"
fi
# the output folder disappears during the digest: an error naming it (or done first)
mkdir -p "$F/gone" && cp "$F/big.hpm" "$F/big.hpd" "$F/gone/"
"$HEAPPROF" digest -q -i 0.001 -j 1 --chunk-bytes 65536 "$F/gone/big" 2>"$T/err" & pid=$!
sleep 0.2; rm -rf "$F/gone"
wait $pid; st=$?
if [ $st -eq 1 ]; then check one_line_error "gone/big.hpc"; else [ $st -eq 0 ] && ok || bad "vanished folder: exit $st"; fi

# --- batches: directories, reports, skip-up-to-date, keep-going, shards ---------
B="$T/batch"
mkdir -p "$B/sub" "$B/.hidden"
for s in 1 2 3; do "$HPGEN" -e $((s * 3000)) -t 30 -d 4 -s "$s" "$B/p$s" || bad "hpgen"; done
"$HPGEN" -e 2000 -t 20 -d 2 -s 4 "$B/sub/q" || bad "hpgen"
"$HPGEN" -e 500 -t 5 -d 1 -s 5 "$B/.hidden/h" || bad "hpgen"
cp "$B/p1.hpm" "$B/lone.hpm" # a .hpm without its .hpd is no profile
# json_ok FILE KEYS...: every line is a JSON object; profile lines have KEYS
json_ok() {
    python3 - "$@" <<'PY'
import json, sys
keys = sys.argv[2:]
lines = open(sys.argv[1]).read().splitlines()
assert lines, "empty report"
for l in lines[:-1]:
    o = json.loads(l)
    missing = [k for k in keys if k not in o]
    assert not missing, "missing %s in %s" % (missing, l)
s = json.loads(lines[-1])
assert s.get("summary") is True, "no summary line"
PY
}
KEYS="filebase status error input_bytes events snapshots output_bytes seconds mb_per_s threads"
check run 0 "$HEAPPROF" digest -q -i 0.5 --jobs 1 --report "$T/r1.json" "$B"
json_ok "$T/r1.json" $KEYS && ok || bad "report is not valid JSON lines"
[ "$(grep -c '"status": "ok"' "$T/r1.json")" -eq 3 ] && ok || bad "a directory: want p1 p2 p3"
grep -q '"profiles": 3, "digested": 3' "$T/r1.json" && ok || bad "summary counts"
[ ! -e "$B/sub/q.hpc" ] && ok || bad "without -r, subdirectories are not entered"
# largest first: p3 (the most events) is the first line (one job at a time)
head -1 "$T/r1.json" | grep -q "p3\"" && ok || bad "not largest first"
# the batch's output equals a single digest's
"$HEAPPROF" digest -q -i 0.5 -j 1 -o "$T/p2-single.hpc" "$B/p2" && cmp -s "$T/p2-single.hpc" "$B/p2.hpc" && ok || bad "batch output differs from a single digest"
check run 0 "$HEAPPROF" digest -q -i 0.5 -r --skip-up-to-date --report "$T/r2.json" "$B"
[ "$(grep -c '"status": "skipped"' "$T/r2.json")" -eq 3 ] && [ "$(grep -c '"status": "ok"' "$T/r2.json")" -eq 1 ] && ok || bad "skip-up-to-date: p1-3 skipped, sub/q digested"
check run 0 "$HEAPPROF" digest -q -i 0.25 -r --skip-up-to-date --report "$T/r3.json" "$B"
[ "$(grep -c '"status": "ok"' "$T/r3.json")" -eq 4 ] && ok || bad "skip-up-to-date: a new interval redoes all"
check run 0 "$HEAPPROF" digest -q -i 0.25 -p 0.02 --skip-up-to-date --report "$T/r4.json" "$B/p1"
grep -q '"status": "ok"' "$T/r4.json" && ok || bad "skip-up-to-date: a new precision redoes it"
sleep 0.01; touch "$B/p2.hpd"
check run 0 "$HEAPPROF" digest -q -i 0.25 --skip-up-to-date --report "$T/r5.json" "$B"
grep '"status": "ok"' "$T/r5.json" | grep -q 'p2"' && [ "$(grep -c '"status": "skipped"' "$T/r5.json")" -eq 1 ] && ok || bad "skip-up-to-date: a newer .hpd redoes only it"
# a corrupt profile: reported, the others complete with --keep-going
"$HPGEN" -e 2000 -t 20 -d 2 -s 6 --damage 2 "$B/bad" || bad "hpgen"
rm -f "$B"/*.hpc
check run 1 "$HEAPPROF" digest -q -i 0.5 --keep-going --jobs 2 --report "$T/r6.json" "$B"
json_ok "$T/r6.json" $KEYS && ok || bad "report with a failure is not valid JSON"
grep '"status": "failed"' "$T/r6.json" | grep -q 'bad.hpd: offset [0-9]*: invalid event' && ok || bad "report lacks the failure's reason"
[ -e "$B/p1.hpc" ] && [ -e "$B/p2.hpc" ] && [ -e "$B/p3.hpc" ] && [ ! -e "$B/bad.hpc" ] && ok || bad "keep-going: the others must complete"
has "$T/err" "bad.hpd: offset"
# --salvage in a batch: the damaged profile is digested, with the same warning as alone
check run 0 "$HEAPPROF" digest -q -i 0.5 --salvage --jobs 2 "$B" && check has "$T/err" "bad.hpd: salvaged: skipped 2 damaged stretches"
# without --keep-going, nothing starts after the failure (bad is the smallest: last)
rm -f "$B"/*.hpc
check run 1 "$HEAPPROF" digest -q -i 0.5 --jobs 1 --report "$T/r7.json" "$B" "$B/bad"
grep -q '"not_run": 0' "$T/r7.json" && ok || bad "the failure came last: nothing left to skip"
check run 1 "$HEAPPROF" digest -q -i 0.5 --jobs 1 --report "$T/r8.json" "$B/bad" "$B/p1" "$B/p2" "$B/p3" --shard 0/1
json_ok "$T/r8.json" $KEYS && ok || bad "report is not valid JSON"
# shards: each profile in exactly one shard, for several N
"$HEAPPROF" digest -q -i 0.5 -r --report "$T/all.json" "$B" "$B/bad" >/dev/null 2>&1
grep -o '"filebase": "[^"]*"' "$T/all.json" | sort >"$T/all.list"
for n in 1 2 3 4 7; do
    : >"$T/shards.list"
    for k in $(seq 0 $((n - 1))); do
        "$HEAPPROF" digest -q -i 0.5 -r --keep-going --shard "$k/$n" --report "$T/s.json" "$B" >/dev/null 2>&1
        grep -o '"filebase": "[^"]*"' "$T/s.json" >>"$T/shards.list"
    done
    sort "$T/shards.list" | cmp -s - "$T/all.list" && ok || bad "shards of $n do not cover every profile exactly once"
done
check run 2 "$HEAPPROF" digest --shard 3/3 "$B" && check one_line_error "invalid --shard '3/3'"
check run 2 "$HEAPPROF" digest --shard x "$B" && check one_line_error "invalid --shard 'x'"
check run 2 "$HEAPPROF" digest --jobs 0 "$B" && check one_line_error "invalid --jobs '0'"
mkdir -p "$T/empty"
check run 1 "$HEAPPROF" digest "$T/empty" && check one_line_error "no profiles"
check run 1 "$HEAPPROF" digest "$B/lone" && check one_line_error "lone.hpd: cannot open"

# --- -o is a batch of one: --report, --skip-up-to-date and --shard hold ---------
check run 0 "$HEAPPROF" digest -q -i 0.1 -o "$T/o.hpc" --report "$T/o.json" "$P"
json_ok "$T/o.json" $KEYS && ok || bad "-o: the report is not valid JSON lines"
grep -q '"status": "ok"' "$T/o.json" && grep -q '"profiles": 1, "digested": 1' "$T/o.json" && ok || bad "-o: report"
check run 0 "$HEAPPROF" digest -q -v -i 0.1 -o "$T/o.hpc" --skip-up-to-date --report "$T/o2.json" "$P"
grep -q '"status": "skipped"' "$T/o2.json" && ok || bad "-o: --skip-up-to-date ignored"
check has "$T/err" "up to date, skipped"
rm -f "$T/o3.hpc"
check run 0 "$HEAPPROF" digest -q -i 0.1 -o "$T/o3.hpc" --shard 1/2 --report "$T/o3.json" "$P"
[ ! -e "$T/o3.hpc" ] && grep -q '"profiles": 0' "$T/o3.json" && ok || bad "-o: --shard ignored"
check run 2 "$HEAPPROF" digest -q -o "$T/x.hpc" "$B" && check one_line_error "-o takes one FILEBASE"

# --- tune ------------------------------------------------------------------------
check run 0 "$HEAPPROF" tune --max-threads 2 "$B/p3"
has "$T/out" "recommended: -j " && [ "$(grep -cE '^ +[12] ' "$T/out")" -eq 2 ] && ok || bad "tune: rows for 1 and 2 threads"
check run 2 "$HEAPPROF" tune --max-threads 0 "$B/p3" && check one_line_error "invalid --max-threads"
check run 1 "$HEAPPROF" tune "$T/nope" && check one_line_error "nope.hpm: cannot open"
# a directory: the batch's advice, measured on its largest profile (p3)
check run 0 "$HEAPPROF" tune --max-threads 2 -i 0.5 "$B"
grep -qE "^batch: [0-9]+ profiles" "$T/out" && has "$T/out" "measured on the largest, $B/p3" \
    && grep -qE '^recommended: (-j 2 and no --jobs|--jobs [12] -j 2)' "$T/out" && ok || bad "tune DIR: the batch's advice"
mkdir -p "$T/empty" && check run 1 "$HEAPPROF" tune "$T/empty" && check one_line_error "no profiles"

summary cli
