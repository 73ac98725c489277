#!/usr/bin/env bash
# Trust at the edges: the CLI where it meets the file system. Outputs never
# destroy anything, every write error is an error, special and changing
# inputs, batches where one bad profile fails alone, readers that trust
# nothing, and the CLI as a new user meets it (docs/RELIABILITY.md).
# Environment: HEAPPROF, HPGEN.
set -u
NAME=edges
. "$(dirname "$0")/lib.sh"

cp -p "$DATA"/tiny.hpm "$DATA"/tiny.hpd "$T/"
P="$T/tiny"
cp -p "$P.hpd" "$T/tiny.hpd.orig"
cp -p "$P.hpm" "$T/tiny.hpm.orig"

# --- outputs never destroy anything -------------------------------------------------
check run 2 "$HEAPPROF" digest -q -o "$P.hpd" "$P" && check one_line_error "refusing to write over"
check same "$P.hpd" "$T/tiny.hpd.orig"
check run 2 "$HEAPPROF" digest -q -o "$P.hpm" "$P" && check one_line_error "refusing to write over"
check same "$P.hpm" "$T/tiny.hpm.orig"
ln "$P.hpd" "$T/hard.hpc"
check run 2 "$HEAPPROF" digest -q -o "$T/hard.hpc" "$P" && check one_line_error "refusing to write over"
rm -f "$T/hard.hpc"
check run 2 "$HEAPPROF" digest -q --report "$P.hpd" "$P" && check one_line_error "refusing to write the report"
check same "$P.hpd" "$T/tiny.hpd.orig"
check run 2 "$HEAPPROF" digest -q --report "$P.hpc" "$P" && check one_line_error "refusing to write the report"
if [ -w /dev/null ] && [ -c /dev/null ]; then
    check run 0 "$HEAPPROF" digest -q -o /dev/null "$P"
    [ -c /dev/null ] && ok || bad "/dev/null is no longer a character device"
fi
if [ -c /dev/full ]; then
    check run 1 "$HEAPPROF" digest -q -o /dev/full "$P" && check one_line_error "/dev/full: write failed"
    [ -c /dev/full ] && ok || bad "/dev/full is no longer a character device"
fi
echo old >"$T/real.hpc"
ln -s real.hpc "$T/link.hpc"
check run 0 "$HEAPPROF" digest -q -o "$T/link.hpc" "$P"
[ -L "$T/link.hpc" ] && ok || bad "-o at a link replaced the link"
check run 0 "$HEAPPROF" info "$T/real.hpc"
mkfifo "$T/fifo.hpc"
check run 1 timeout 10 "$HEAPPROF" digest -q -o "$T/fifo.hpc" "$P" && check one_line_error "a FIFO with no reader"
(cat "$T/fifo.hpc" >"$T/from-fifo.hpc") &
reader=$!
for _ in $(seq 50); do "$HEAPPROF" digest -q -o "$T/fifo.hpc" "$P" 2>/dev/null && break; sleep 0.1; done
wait $reader
"$HEAPPROF" digest -q -o "$T/direct.hpc" "$P"
cmp -s "$T/from-fifo.hpc" "$T/direct.hpc" && ok || bad "a digest through a FIFO differs"
# permissions: a replaced file keeps its own; a new one is no more open than its inputs
echo old >"$T/perm.hpc" && chmod 600 "$T/perm.hpc"
check run 0 "$HEAPPROF" digest -q -o "$T/perm.hpc" "$P"
[ "$(stat -c %a "$T/perm.hpc")" = 600 ] && ok || bad "a replaced output lost its permissions"
mkdir -p "$T/secret" && cp -p "$P.hpm" "$P.hpd" "$T/secret/" && chmod 600 "$T/secret/tiny.hpd"
check run 0 "$HEAPPROF" digest -q "$T/secret/tiny"
[ "$(stat -c %a "$T/secret/tiny.hpc")" = 600 ] && ok || bad "a digest of a 0600 input is $(stat -c %a "$T/secret/tiny.hpc")"
# a 255-byte name
long=$(printf 'n%.0s' $(seq 251)).hpc
check run 0 "$HEAPPROF" digest -q -o "$T/$long" "$P"
# -c and -o -: standard output, byte for byte the file
"$HEAPPROF" digest -q -c "$P" >"$T/stdout.hpc" && "$HEAPPROF" digest -q -o "$T/file.hpc" "$P" && ok || bad "digest -c"
check same "$T/stdout.hpc" "$T/file.hpc"
"$HEAPPROF" digest -q -o - "$P" | cmp -s - "$T/file.hpc" && ok || bad "digest -o - differs"
# without /proc: a private mount namespace with an empty /proc (root only)
if [ -n "${HP_SANITIZED:-}" ]; then
    skip "digest without /proc (the sanitizers' runtime itself needs /proc)"
elif [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    unshare -m sh -c "mount -t tmpfs none /proc && '$HEAPPROF' digest -q -o '$T/noproc.hpc' '$P'" \
        >"$T/out" 2>"$T/err" && ok || { bad "a digest without /proc failed"; cat "$T/err" >&2; }
    check same "$T/noproc.hpc" "$T/file.hpc"
    if command -v setpriv >/dev/null; then # not privileged either: the copy fallback
        chmod 777 "$T" && chmod 644 "$P.hpm" "$P.hpd"
        unshare -m sh -c "mount -t tmpfs none /proc && setpriv --reuid=65534 --regid=65534 \
            --clear-groups '$HEAPPROF' digest -q -o '$T/noproc2.hpc' '$P'" >"$T/out" 2>"$T/err" \
            && ok || { bad "an unprivileged digest without /proc failed"; cat "$T/err" >&2; }
        check same "$T/noproc2.hpc" "$T/file.hpc"
    fi
else
    skip "digest without /proc (needs root and unshare)"
fi
# the file and its folder are synced before and after the rename
if command -v strace >/dev/null; then
    # (LeakSanitizer cannot run under strace: off there)
    ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=fsync -o "$T/strace" "$HEAPPROF" digest -q \
        -o "$T/synced.hpc" "$P"
    [ "$(grep -c 'fsync(' "$T/strace")" -ge 2 ] && ok || bad "no fsync of the file and its folder"
else
    skip "fsync check (needs strace)"
fi

# --- every write error is an error ------------------------------------------------------
if [ -c /dev/full ]; then
    for cmd in "events $P" "traces $P" "info $P" "snapshot $T/file --at 0" "check $P" "--help" \
               "digest --help"; do
        cp -p "$P.hpm" "$T/file.hpm" && cp -p "$P.hpd" "$T/file.hpd"
        # shellcheck disable=SC2086
        "$HEAPPROF" $cmd >/dev/full 2>"$T/err"
        [ $? -eq 1 ] && ok || bad "$cmd >/dev/full: not an error"
        check one_line_error "write failed"
    done
    # the digest itself to standard output: named so, not "-"
    "$HEAPPROF" digest -q -c "$P" >/dev/full 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "digest -c >/dev/full: not an error"
    check one_line_error "heapprof: standard output: write failed at offset 0"
    "$HEAPPROF" digest -q --report - "$P" >/dev/full 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "--report - >/dev/full: not an error"
    check has "$T/err" "write failed"
    check run 1 "$HEAPPROF" digest -q --report /dev/full "$P" && check has "$T/err" "/dev/full: write failed"
fi
# a full disk with room for the .hpc only: the report is an error (root, a small tmpfs)
if [ -z "${HP_SANITIZED:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    mkdir -p "$T/full"
    unshare -m sh -c "mount -t tmpfs -o size=64k none '$T/full' && head -c 65536 /dev/zero >'$T/full/filler' 2>/dev/null;
        '$HEAPPROF' digest -q --report '$T/full/r.json' '$P'" >"$T/out" 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "a report on a full disk: not an error"
    check has "$T/err" "No space left on device"
else
    skip "report on a full disk (needs root and unshare)"
fi
# the report appears whole: the old one stays until the batch is done
B="$T/batch"
mkdir -p "$B"
for s in 1 2 3; do "$HPGEN" -e $((s * 200000)) -t 200 -d 20 -s "$s" "$B/p$s" >/dev/null || bad hpgen; done
echo "the old report" >"$T/r.json"
"$HEAPPROF" digest -q -i 0.001 -T 1 --jobs 1 --chunk-bytes 4096 --report "$T/r.json" "$B" 2>/dev/null &
pid=$!
sleep 0.3
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ "$(cat "$T/r.json")" = "the old report" ]; then ok
else tail -1 "$T/r.json" | grep -q '"summary": true' && ok || bad "a killed batch left a partial report"; fi
[ "$(find "$T" -name '.hp-*' | wc -l)" -eq 0 ] && ok || bad "a killed batch left a temporary"

# --- inputs: special files, changing files, batches that survive -----------------------
S="$T/special"
mkdir -p "$S/dir.hpd"
cp -p "$P.hpm" "$S/fifo.hpm" && mkfifo "$S/fifo.hpd"
cp -p "$P.hpm" "$S/dir.hpm"
cp -p "$P.hpm" "$S/zero.hpm" && ln -s /dev/zero "$S/zero.hpd"
cp -p "$P.hpm" "$S/loop.hpm" && ln -s loop.hpd "$S/loop.hpd"
for c in check events info; do
    check run 1 timeout 10 "$HEAPPROF" $c "$S/fifo" && check one_line_error "fifo.hpd: is a FIFO, not a regular file"
done
mkfifo "$S/fifom.hpm" && cp -p "$P.hpd" "$S/fifom.hpd"
check run 1 timeout 10 "$HEAPPROF" traces "$S/fifom" && check one_line_error "fifom.hpm: is a FIFO, not a regular file"
check run 1 "$HEAPPROF" digest -q "$S/fifo" && check one_line_error "fifo.hpd: is a FIFO, not a regular file"
check run 1 "$HEAPPROF" digest -q "$S/dir" && check one_line_error "dir.hpd: is a directory, not a regular file"
check run 1 "$HEAPPROF" digest -q "$S/zero" && check one_line_error "zero.hpd: is a character device, not a regular file"
check run 1 "$HEAPPROF" digest -q "$S/loop" && check one_line_error "loop.hpd: cannot open: Too many levels of symbolic links"
# a keep-going batch: bad profiles fail alone, the good ones are digested
K="$T/keep"
mkdir -p "$K"
cp -p "$P.hpm" "$P.hpd" "$K/"
cp -p "$P.hpm" "$K/z.hpm" && ln -s /dev/zero "$K/z.hpd"
ln -s /dev/zero "$K/m.hpm" && cp -p "$P.hpd" "$K/m.hpd"
check run 1 "$HEAPPROF" digest -q --keep-going --report "$T/k.json" "$K"
[ -s "$K/tiny.hpc" ] && ok || bad "keep-going: the good profile was not digested"
[ "$(grep -c '"status": "failed"' "$T/k.json")" -eq 2 ] && ok || bad "keep-going: want 2 failures"
grep -q '"summary": true' "$T/k.json" && ok || bad "keep-going: no summary"
# an input truncated while a batch digests it: that profile fails, the rest are done
TR="$T/trunc"
mkdir -p "$TR"
"$HPGEN" -e 3000000 -t 2000 -d 600 -s 8 "$TR/big" >/dev/null
cp -p "$P.hpm" "$P.hpd" "$TR/"
"$HEAPPROF" digest -q -i 0.001 -T 1 --jobs 1 --chunk-bytes 65536 --keep-going --report "$T/t.json" "$TR" \
    >"$T/out" 2>"$T/err" &
pid=$!
sleep 0.3
truncate -s 1000 "$TR/big.hpd"
wait $pid
st=$?
if grep -q '"status": "failed"' "$T/t.json" 2>/dev/null; then
    [ $st -eq 1 ] && ok || bad "a shrinking input: exit $st"
    grep '"status": "failed"' "$T/t.json" | grep -q "big.hpd: the file shrank while it was being read" \
        && ok || bad "a shrinking input: wrong reason"
    [ -s "$TR/tiny.hpc" ] && ok || bad "a shrinking input sank the batch"
    [ ! -e "$TR/big.hpc" ] && ok || bad "a shrinking input left a .hpc"
    grep -q '"summary": true' "$T/t.json" && ok || bad "a shrinking input: no summary"
else
    [ $st -eq 0 ] && ok || bad "shrinking input: exit $st"
    skip "the shrinking input was digested before it shrank"
fi
# the progress line counts bytes across running profiles (on a terminal)
if command -v script >/dev/null; then
    script -qec "'$HEAPPROF' digest -T 2 --jobs 2 -o /dev/null '$P'" /dev/null >"$T/tty" 2>&1
    grep -q "tiny \[" "$T/tty" && ok || bad "no progress bar on a terminal"
    script -qec "'$HEAPPROF' digest -T 2 --jobs 2 '$TR' '$P'" /dev/null >"$T/tty" 2>&1
    grep -q "/3 profiles\] [0-9.]* of" "$T/tty" && ok || bad "no batch progress line on a terminal"
else
    skip "progress on a terminal (needs script)"
fi
# one profile once, whatever the names and links
D="$T/dedupe"
mkdir -p "$D/sub"
cp -p "$P.hpm" "$P.hpd" "$D/sub/"
ln -s . "$D/sub/self"
ln -s .. "$D/sub/up"
check run 0 "$HEAPPROF" digest -q -r --report "$T/d.json" "$D"
[ "$(grep -c '"status": "ok"' "$T/d.json")" -eq 1 ] && ok || bad "-r through link loops: a profile digested more than once"
(cd "$D/sub" && "$HEAPPROF" digest -q --report "$T/d2.json" tiny ./tiny "$PWD/tiny" tiny.hpd)
[ "$(grep -c '"status": "ok"' "$T/d2.json")" -eq 1 ] && ok || bad "tiny, ./tiny, \$PWD/tiny: more than one profile"
# a folder that can be listed but not searched: its profile fails, named, rather
# than go unseen (as another user: root may search anything)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    NS="$T/nosearch"
    mkdir -p "$NS/sub"
    cp -p "$P.hpm" "$P.hpd" "$NS/sub/"
    chmod 755 "$T" "$NS" && chmod 644 "$NS/sub/"* && chmod 444 "$NS/sub"
    check run 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$HEAPPROF" digest -q -r "$NS"
    check one_line_error "sub/tiny.hpm: cannot stat: Permission denied"
    chmod 755 "$NS/sub"
else
    skip "a folder without search permission (needs root and setpriv)"
fi
# --skip-up-to-date: the inputs as they were read, and every content parameter
U="$T/uptodate"
mkdir -p "$U"
cp -p "$P.hpm" "$P.hpd" "$U/"
check run 0 "$HEAPPROF" digest -q "$U/tiny"
check run 0 "$HEAPPROF" digest -q --skip-up-to-date --report "$T/u1.json" "$U/tiny"
grep -q '"status": "skipped"' "$T/u1.json" && ok || bad "skip-up-to-date: not skipped"
check run 0 "$HEAPPROF" digest -q --skip-up-to-date --override-sampling --report "$T/u2.json" "$U/tiny"
grep -q '"status": "ok"' "$T/u2.json" && ok || bad "skip-up-to-date: --override-sampling ignored"
printf '\000\000\000\001\000\000\005' >>"$U/tiny.hpd"
touch -r "$P.hpd" "$U/tiny.hpd" # the old time back: the size still tells
check run 0 "$HEAPPROF" digest -q --skip-up-to-date --override-sampling --report "$T/u3.json" "$U/tiny"
grep -q '"status": "ok"' "$T/u3.json" && ok || bad "skip-up-to-date: an appended .hpd was called up to date"

# --- readers that trust nothing -----------------------------------------------------------
cp -p "$P.hpm" "$T/dmg.hpm" && cp -p "$P.hpd" "$T/dmg.hpd"
"$HEAPPROF" digest -q -o "$T/dmg.hpc" "$P"
printf 'garbage!' | dd of="$T/dmg.hpc" bs=1 seek=$(($(stat -c %s "$T/dmg.hpc") / 2)) conv=notrunc 2>/dev/null
check run 1 "$HEAPPROF" info "$T/dmg" && check has "$T/err" "dmg.hpc: offset"
grep -q "peak usage" "$T/out" && bad "info on a damaged .hpc printed a peak" || ok
# a profile of two events 1.1e6 s apart at 1 ms: refused at once, with advice
printf '\000\000\000\001\000\000\010\000\000\000\001\203\203\103\000\010' >"$T/far.hpd"
cp -p "$P.hpm" "$T/far.hpm"
check run 1 timeout 20 "$HEAPPROF" digest -q -i 0.001 "$T/far" && check one_line_error "an interval of at least"
# a decompression bomb: refused with little memory
if command -v python3 >/dev/null && command -v zstd >/dev/null && [ -x /usr/bin/time ]; then
    python3 - "$T/bomb.hpc" <<'PY'
import struct, subprocess, sys
hdr = struct.pack(">IQQ", 1, 1795576259, 0) + bytes([100]) + struct.pack(">Q", 29)
zst = lambda b: subprocess.run(["zstd", "-q", "-c", "-1"], input=b, capture_output=True).stdout
f0 = zst(hdr)
f1 = subprocess.run("head -c 200M /dev/zero | zstd -q -c -1", shell=True, capture_output=True).stdout
entries = [(len(f0), len(hdr)), (len(f1), 200 << 20)]
table = b"".join(struct.pack("<II", c, d) for c, d in entries) + struct.pack("<IBI", 2, 0, 0x8F92EAB1)
out = f0 + f1 + struct.pack("<II", 0x184D2A5E, len(table)) + table
open(sys.argv[1], "wb").write(out)
PY
    /usr/bin/time -f %M -o "$T/rss" "$HEAPPROF" info "$T/bomb.hpc" >"$T/out" 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "a decompression bomb was read"
    has "$T/err" "bad index magic" && ok
    if [ -n "${HP_SANITIZED:-}" ]; then skip "the bomb's memory under a sanitizer"
    else [ "$(tail -1 "$T/rss")" -lt 65536 ] && ok || bad "a decompression bomb took $(tail -1 "$T/rss") KB"; fi
else
    skip "decompression bomb (needs python3, zstd and GNU time)"
fi

# --- consistency -----------------------------------------------------------------------------
"$HPGEN" -e 200000 -t 40 -d 20 -s 9 --damage 3 "$T/dam" >/dev/null
"$HEAPPROF" check "$T/dam" >/dev/null 2>"$T/want"
for j in 1 2 4; do
    "$HEAPPROF" digest -q -T $j --chunk-bytes 4096 "$T/dam" 2>"$T/got"
    cmp -s "$T/want" "$T/got" && ok || { bad "-T $j gives another reason than check:"; cat "$T/want" "$T/got" >&2; }
done
cp -p "$P.hpm" "$T/many.hpm" && cp -p "$P.hpd" "$T/many.hpd"
OMP_NUM_THREADS=100000 "$HEAPPROF" digest -q "$P" "$T/many" >"$T/out" 2>"$T/err" && ok || bad "OMP_NUM_THREADS=100000 failed"
has "$T/err" "100000 threads asked for (OMP_NUM_THREADS): using"
# JSON: a name that is not UTF-8 and one with a newline
J="$T/json"
mkdir -p "$J"
cp -p "$P.hpm" "$J/$(printf 'bad\377name').hpm" && cp -p "$P.hpd" "$J/$(printf 'bad\377name').hpd"
cp -p "$P.hpm" "$J/$(printf 'new\nline').hpm" && printf 'x' >"$J/$(printf 'new\nline').hpd"
"$HEAPPROF" digest -q --keep-going --report "$T/j.json" "$J" 2>"$T/err"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$T/j.json" \
    && ok || bad "the report is not valid JSON"
[ "$(wc -l <"$T/err")" -eq 1 ] && ok || { bad "an error about a name with a newline is not one line"; cat "$T/err" >&2; }
grep -q '"mb_per_s"' "$T/j.json" && ok
"$HEAPPROF" digest -q --skip-up-to-date --report "$T/j2.json" "$J/$(printf 'bad\377name')" 2>/dev/null
tail -1 "$T/j2.json" | grep -q '"digested_bytes": 0, .*"mb_per_s": 0.0' && ok || bad "mb_per_s counts skipped profiles"
check run 1 "$HEAPPROF" digest -q --jobs 1 --report "$T/j3.json" "$T/dam" "$P"
grep '"status": "not_run"' "$T/j3.json" | grep -q 'tiny"' && ok || bad "profiles not run are not listed"
# tune killed leaves nothing in TMPDIR
mkdir -p "$T/tmp"
TMPDIR="$T/tmp" "$HEAPPROF" tune --max-threads 2 "$TR/tiny" >/dev/null 2>&1 &
pid=$!
sleep 0.05
kill -TERM $pid 2>/dev/null
wait $pid 2>/dev/null
[ "$(ls -A "$T/tmp" | wc -l)" -eq 0 ] && ok || bad "tune left $(ls -A "$T/tmp") in TMPDIR"

# --- the CLI, as a new user meets it ---------------------------------------------------------
check run 0 "$HEAPPROF" help digest && check has "$T/out" "usage: heapprof digest"
check run 2 "$HEAPPROF" help frobnicate && check one_line_error "no command 'frobnicate'"
check run 0 "$HEAPPROF" digest -q -T 2 -o "$T/t2.hpc" "$P"
check run 0 "$HEAPPROF" digest -q -j 2 -o "$T/j2.hpc" "$P"
check same "$T/t2.hpc" "$T/j2.hpc"
cp -p "$P.hpm" "$T/renamed.hpm" && cp "$T/file.hpc" "$T/renamed.hpd"
check run 1 "$HEAPPROF" check "$T/renamed" && check one_line_error "renamed.hpd: offset 0: not an event log: this is a zstd file"
"$HEAPPROF" digest -q --format v1 -o "$T/v1.hpc" "$P" && cp "$T/v1.hpc" "$T/renamed.hpd"
check run 1 "$HEAPPROF" digest -q "$T/renamed" && check one_line_error "this is a v1 .hpc"
check run 1 "$HEAPPROF" traces "$P" 180 && check one_line_error "no trace 180 (it has 179 traces)"
check run 0 "$HEAPPROF" traces "$P" 0 179
check run 0 "$HEAPPROF" info --salvage "$T/dam" && check has "$T/out" "damage"
mkdir -p "$T/alone" && cp "$T/file.hpc" "$T/alone/x.hpc"
check run 0 "$HEAPPROF" info "$T/alone/x.hpc" && check has "$T/out" "no .hpm or .hpd beside it"
check has "$T/out" "2 snapshots"
# a digest that no longer matches its profile, or names traces it does not have
cp -p "$P.hpm" "$P.hpd" "$T/alone/"
"$HEAPPROF" digest -q "$T/alone/tiny"
touch "$T/alone/tiny.hpd"
check run 0 "$HEAPPROF" info "$T/alone/tiny" && check has "$T/err" "made from other inputs"
check run 0 "$HEAPPROF" snapshot "$T/alone/tiny" --at 0 && check has "$T/err" "made from other inputs"
for c in "export -o $T/alone/e.pb.gz" "timeline -o $T/alone/t.csv"; do
    # shellcheck disable=SC2086
    check run 0 "$HEAPPROF" $c "$T/alone/tiny" && check has "$T/err" "made from other inputs"
done
cp -p "$DATA/small-a.hpm" "$DATA/small-a.hpd" "$T/alone/"
"$HEAPPROF" digest -q -i 1 "$T/alone/small-a"
cp "$T/alone/small-a.hpc" "$T/alone/tiny.hpc"
check run 1 "$HEAPPROF" snapshot "$T/alone/tiny" --at 1 && check one_line_error "but $T/alone/tiny.hpm has 179 traces"

summary edges
