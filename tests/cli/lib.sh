# lib.sh - what the CLI test scripts share; sourced after setting NAME (the
# scratch folder's prefix). Sets HEAPPROF, HPGEN, DATA (absolute where they
# exist) and T, a scratch folder removed at exit; counts in pass, fail,
# skipped; prints the tally with `summary LABEL` (its status: 0 if none
# failed).
HEAPPROF=${HEAPPROF:-build/heapprof}
HPGEN=${HPGEN:-build/hpgen}
DATA=${DATA:-tests/data}
[ -e "$HEAPPROF" ] && HEAPPROF=$(realpath "$HEAPPROF")
[ -e "$HPGEN" ] && HPGEN=$(realpath "$HPGEN")
T=$(mktemp -d "/tmp/hp-$NAME-XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0 skipped=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
skip() { skipped=$((skipped + 1)); echo "skipped: $*"; }
# run STATUS CMD... : runs CMD, checks the exit status; output in $T/out, $T/err
run() {
    local want=$1
    shift
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        bad "exit $got (wanted $want): $*"
        sed 's/^/    /' "$T/err" >&2
        return 1
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
same() { cmp -s "$1" "$2" || { bad "$1 and $2 differ"; return 1; }; }
summary() {
    echo "$1: $pass passed, $fail failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
    [ "$fail" -eq 0 ]
}
