#!/usr/bin/env bash
# CLI tests: each command's output on the bundled fixtures, and every error
# path (one line on stderr naming the file, the right exit status).
# Environment: HEAPPROF (the CLI), HPGEN (the generator).
set -u
HEAPPROF=${HEAPPROF:-build/heapprof}
HPGEN=${HPGEN:-build/hpgen}
DATA=${DATA:-tests/data}
T=$(mktemp -d /tmp/hp-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# run STATUS CMD... : runs CMD, checks the exit status; output in $T/out, $T/err
run() {
    local want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        bad "exit $got (wanted $want): $*"; sed 's/^/    /' "$T/err" >&2; return 1
    fi
    return 0
}
# has FILE PATTERN: the file contains the fixed string
has() { grep -qF -- "$2" "$1" || { bad "$1 lacks '$2'"; sed 's/^/    /' "$1" >&2; return 1; }; }
# one_line_error PATTERN: stderr is exactly one line containing PATTERN
one_line_error() {
    [ "$(wc -l <"$T/err")" -eq 1 ] || { bad "stderr is not one line:"; cat "$T/err" >&2; return 1; }
    has "$T/err" "$1"
}
check() { if "$@"; then ok; fi; }

cp "$DATA"/tiny.hpm "$DATA"/tiny.hpd "$T/"
P="$T/tiny"

# --- help, version, usage ----------------------------------------------------
check run 0 "$HEAPPROF" --version && check has "$T/out" "heapprof-c "
check run 0 "$HEAPPROF" --help && check has "$T/out" "digest"
for c in info traces events check snapshot digest; do
    check run 0 "$HEAPPROF" "$c" --help && check has "$T/out" "usage: heapprof $c"
done
check run 2 "$HEAPPROF" && ok
check run 2 "$HEAPPROF" frobnicate && check one_line_error "unknown command 'frobnicate'"
check run 2 "$HEAPPROF" info && check one_line_error "invalid usage"
check run 2 "$HEAPPROF" info --bogus "$P" && check one_line_error "unknown option '--bogus'"

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
check has "$T/err" "phases: split"
check has "$T/err" "5 snapshots"

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

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
