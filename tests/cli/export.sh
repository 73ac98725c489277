#!/usr/bin/env bash
# CLI tests of export, timeline, diff and `snapshot --at peak|last`: their
# outputs, exit statuses and one-line errors, and the pprof files read back
# by a real viewer, `go tool pprof`, where Go is installed (Debian's
# golang-go; the test says when it skipped).
# Environment: HEAPPROF (the CLI), HPGEN (the generator).
set -u
NAME=export
. "$(dirname "$0")/lib.sh"
# nothing but the inputs in a folder: no output, no temporary left behind
only_inputs() { [ "$(ls -A "$1" | grep -cvE '\.(hpm|hpd|hpc)$')" -eq 0 ] || { bad "left in $1: $(ls -A "$1")"; return 1; }; }

# tiny, digested at 100 ms: snapshot 0 is empty, the peak is snapshot 1
cp "$DATA"/tiny.hpm "$DATA"/tiny.hpd "$T/"
P="$T/tiny"
"$HEAPPROF" digest -q -i 0.1 -p 0.01 "$P" || bad "digest"
# a synthetic profile with many traces, OTHER and negative time steps
G="$T/gen"
"$HPGEN" -e 20000 -t 300 -d 5 -s 3 "$G" >/dev/null || bad "hpgen"
"$HEAPPROF" digest -q -i 0.5 -p 0.01 "$G" || bad "digest"

# --- help and usage ------------------------------------------------------------
for c in export timeline diff; do
    check run 0 "$HEAPPROF" "$c" --help && check has "$T/out" "usage: heapprof $c"
done
check run 0 "$HEAPPROF" --help && check has "$T/out" "timeline"
check run 2 "$HEAPPROF" export && check one_line_error "export: invalid usage"
check run 2 "$HEAPPROF" export "$P" --format svg && check one_line_error "invalid --format 'svg'"
check run 2 "$HEAPPROF" export "$P" --at soon && check one_line_error "invalid --at 'soon' (seconds >= 0, peak or last)"
check run 2 "$HEAPPROF" export "$P" --from 0 --to 1 && check one_line_error "--format speedscope only"
check run 2 "$HEAPPROF" export "$P" --format speedscope --at 1 --from 0 && check one_line_error "exclude each other"
check run 2 "$HEAPPROF" export "$P" --every 2 && check one_line_error "--every goes with --from and --to"
check run 2 "$HEAPPROF" export "$P" --top 3 && check one_line_error "unknown option '--top'"
check run 2 "$HEAPPROF" timeline "$P" --top -1 && check one_line_error "invalid --top '-1'"
check run 2 "$HEAPPROF" timeline "$P" --format xml && check one_line_error "invalid --format 'xml'"
check run 2 "$HEAPPROF" diff "$P" && check one_line_error "diff: invalid usage"
check run 2 "$HEAPPROF" diff "$P" "$P" --at 1 --new-at 2 && check one_line_error "exclude each other"
check run 2 "$HEAPPROF" diff "$P" "$P" --fail-over 10MB && check one_line_error "invalid --fail-over '10MB'"
check run 2 "$HEAPPROF" snapshot "$P" --at never && check one_line_error "invalid --at 'never'"

# --- snapshot --at peak|last ---------------------------------------------------------
check run 0 "$HEAPPROF" snapshot "$P" --at peak --top 1 && check has "$T/out" "snapshot 1 at 0.1 s"
check run 0 "$HEAPPROF" snapshot "$P" --at last --top 1 && check has "$T/out" "snapshot 34 at 3.4 s"

# --- export ----------------------------------------------------------------------------
for f in pprof collapsed speedscope json csv; do
    check run 0 "$HEAPPROF" export "$P" --format "$f"
done
for e in pb.gz collapsed speedscope.json json csv; do [ -s "$P.$e" ] && ok || bad "no $P.$e"; done
check run 0 "$HEAPPROF" export "$P.hpc" --format collapsed -o - # FILEBASE as NAME.hpc
cmp -s "$T/out" "$P.collapsed" && ok || bad "-o - differs from the default file"
check run 0 "$HEAPPROF" export "$P" --format collapsed -c
cmp -s "$T/out" "$P.collapsed" && ok || bad "-c differs from the default file"
check run 0 "$HEAPPROF" export "$P" --format collapsed -o "$T/again.txt"
cmp -s "$T/again.txt" "$P.collapsed" && ok || bad "two exports differ"
check has "$P.collapsed" "OTHER "
check run 0 "$HEAPPROF" export "$P" --at 1.7 --format csv -o -
check has "$T/out" "trace,bytes,share,file,line,source"
check run 0 "$HEAPPROF" export "$P" --format json --at last -o -
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["snapshot"] == 34 and d["entries"]' "$T/out" && ok || bad "json export"
check run 0 "$HEAPPROF" export "$G" --format speedscope --from 0 --to last --every 2 -o "$T/s.json"
python3 - "$T/s.json" <<'PY' && ok || bad "speedscope series"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["$schema"] == "https://www.speedscope.app/file-format-schema.json"
n = len(d["shared"]["frames"])
assert len(d["profiles"]) == 6, len(d["profiles"])  # 11 snapshots, every 2nd
for p in d["profiles"]:
    assert p["type"] == "sampled" and p["unit"] == "bytes"
    assert len(p["samples"]) == len(p["weights"])
    assert p["endValue"] == sum(p["weights"])
    assert all(0 <= i < n for s in p["samples"] for i in s)
PY
# errors: one line, exit 1, no output file
check run 1 "$HEAPPROF" export "$P" --at 3.5 -o "$T/x.pb.gz" && check one_line_error "tiny.hpc: no snapshot at 3.5 s (the digest covers 0 to 3.4 s)"
mkdir -p "$T/wrong" && cp "$P.hpc" "$T/wrong/tiny.hpc" && "$HPGEN" -e 10 -t 5 -s 1 "$T/wrong/tiny" >/dev/null
# (a warning that the digest was made from other inputs comes first: it was)
check run 1 "$HEAPPROF" export "$T/wrong/tiny" && check has "$T/err" "made from other inputs" \
    && sed -i '/warning: /d' "$T/err" && check one_line_error "is not in $T/wrong/tiny.hpm, which has 5 traces (a digest of another profile?)"
check only_inputs "$T/wrong"
mkdir -p "$T/damaged" && cp "$P.hpm" "$T/damaged/" && head -c -5 "$P.hpc" >"$T/damaged/tiny.hpc"
check run 1 "$HEAPPROF" export "$T/damaged/tiny" && check one_line_error "damaged/tiny.hpc"
check only_inputs "$T/damaged"
check run 1 "$HEAPPROF" export "$P" -o /nonexistent/x.pb.gz && check one_line_error "/nonexistent/x.pb.gz"
# an output never replaces an input
cp "$P.hpc" "$T/keep.hpc"
check run 2 "$HEAPPROF" export "$P" --format csv -o "$P.hpc" && check one_line_error "tiny.hpc"
cmp -s "$P.hpc" "$T/keep.hpc" && ok || bad "export -o FILEBASE.hpc replaced the digest"
check run 2 "$HEAPPROF" diff "$P" "$P" -o "$P.hpm" && check one_line_error "tiny.hpm"

# --- timeline --------------------------------------------------------------------------------
check run 0 "$HEAPPROF" timeline "$P" --top 3
[ "$(wc -l <"$T/out")" -eq 36 ] && ok || bad "timeline: a header and 35 rows"
head -1 "$T/out" | grep -q '^time,total,.*timeit.py:180,.*,other$' && ok || bad "timeline header"
python3 - "$T/out" <<'PY' && ok || bad "timeline: columns sum to the total"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert len(rows[0]) == 6
for r in rows[1:]:
    v = [int(x) for x in r[1:]]
    assert v[0] == sum(v[1:]), r
PY
cp "$T/out" "$T/tl1.csv"
check run 0 "$HEAPPROF" timeline "$P" --top 3 -T 3 -o "$T/tl3.csv" && cmp -s "$T/tl1.csv" "$T/tl3.csv" && ok || bad "timeline -T 3 differs"
check run 0 "$HEAPPROF" timeline "$P" --top 3 -j 2 -c && cmp -s "$T/tl1.csv" "$T/out" && ok || bad "timeline -j 2 -c differs"
check run 2 "$HEAPPROF" timeline "$P" -T 0 && check one_line_error "invalid thread count '0'"
check run 0 "$HEAPPROF" timeline "$G" --format json -o "$T/tl.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["rows"]) == 11 and len(d["columns"]) == 13' "$T/tl.json" && ok || bad "timeline json"

# --- diff: one run at two times, and two runs ------------------------------------------------
check run 0 "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last
check has "$T/out" "change    -494 bytes (-1.03%)"
check run 0 "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last --fail-over 1%
check run 3 "$HEAPPROF" diff "$P" "$P" --base-at 0 --new-at last --fail-over 1000
check one_line_error "grew past --fail-over: total +47379 bytes"
check has "$T/out" "PASSED by the total"
check run 3 "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last --fail-over 150 -o "$T/d.txt"
check has "$T/d.txt" "PASSED by a stack"
check run 0 "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last --fail-over 200
check run 0 "$HEAPPROF" diff "$P" "$G" --format json -o "$T/d.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["new_only"] > 0 and d["base_only"] > 0' "$T/d.json" && ok || bad "diff json"
check run 0 "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last --format collapsed
awk 'NF < 3 || $(NF-1) !~ /^-?[0-9]+$/ || $NF !~ /^-?[0-9]+$/ {exit 1}' "$T/out" && ok || bad "diff collapsed: STACK BEFORE AFTER"
check run 1 "$HEAPPROF" diff "$P" "$T/wrong/tiny" && sed -i '/warning: /d' "$T/err" \
    && check one_line_error "a digest of another profile?"
check run 1 "$HEAPPROF" diff "$P" "$P" --new-at 99 && check one_line_error "no snapshot at 99 s"

# --- pprof read back by go tool pprof -----------------------------------------------------------
# pprof_vs_collapsed PROFILE COLLAPSED: every sample of PROFILE (go tool
# pprof -raw) is a line of COLLAPSED ("STACK VALUE", or for a diff "STACK
# BEFORE AFTER" with AFTER - BEFORE != 0), and every line is a sample
pprof_vs_collapsed() {
    go tool pprof -raw "$1" >"$T/raw" 2>"$T/raw.err" || { cat "$T/raw.err" >&2; return 1; }
    python3 - "$T/raw" "$2" <<'PY'
import re, sys
from collections import Counter
raw = open(sys.argv[1]).read().splitlines()
locs, samples, part = {}, [], None
for l in raw:
    if l in ("Samples:", "Locations", "Mappings"):
        part = l
        continue
    if part == "Samples:":
        m = re.match(r"^\s*(-?\d+): ([\d ]*)$", l)
        if m:
            samples.append((int(m.group(1)), [int(x) for x in m.group(2).split()]))
    elif part == "Locations":
        m = re.match(r"^\s*(\d+): 0x0 M=1 (.*) (\S*):(\d+) s=\d+(\(.*\))?$", l)
        assert m, l
        name, f, line = m.group(2), m.group(3), m.group(4)
        locs[int(m.group(1))] = "OTHER" if name == "OTHER" and f == "" else f + ":" + line
got = Counter((";".join(locs[i] for i in reversed(ids)), v) for v, ids in samples)
want = Counter()
for l in open(sys.argv[2]).read().splitlines():
    parts = l.rsplit(" ", 2)
    if len(parts) == 3 and re.match(r"^-?\d+$", parts[1]):  # a diff: STACK BEFORE AFTER
        v = int(parts[2]) - int(parts[1])
        if v:
            want[(parts[0], v)] += 1
    else:
        stack, v = l.rsplit(" ", 1)
        want[(stack, int(v))] += 1
assert got == want, (sorted((got - want).items())[:5], sorted((want - got).items())[:5])
assert samples, "no samples"
print("pprof: %d samples checked" % len(samples))
PY
}
if command -v go >/dev/null 2>&1 && go tool pprof -h >/dev/null 2>&1; then
    export PPROF_TMPDIR="$T/pprof" HOME="$T" # pprof may save fetched profiles there
    for at in 1.7 last; do
        "$HEAPPROF" export "$P" --at "$at" -o "$T/t.pb.gz" && "$HEAPPROF" export "$P" --at "$at" --format collapsed -o "$T/t.txt" || bad "export"
        pprof_vs_collapsed "$T/t.pb.gz" "$T/t.txt" >/dev/null && ok || bad "go tool pprof: tiny at $at"
    done
    "$HEAPPROF" export "$G" -o "$T/g.pb.gz" && "$HEAPPROF" export "$G" --format collapsed -o "$T/g.txt" || bad "export"
    pprof_vs_collapsed "$T/g.pb.gz" "$T/g.txt" && ok || bad "go tool pprof: hpgen profile"
    "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last --format pprof -o "$T/d.pb.gz" &&
        "$HEAPPROF" diff "$P" "$P" --base-at 0.1 --new-at last --format collapsed -o "$T/d.txt" || bad "diff"
    pprof_vs_collapsed "$T/d.pb.gz" "$T/d.txt" >/dev/null && ok || bad "go tool pprof: a diff"
    go tool pprof -top "$T/d.pb.gz" 2>/dev/null | grep -q "^Showing nodes accounting for -494B" && ok || bad "go tool pprof -top: the diff's total"
    "$HEAPPROF" export "$P" --at 0 -o "$T/empty.pb.gz" || bad "export of an empty snapshot"
    go tool pprof -raw "$T/empty.pb.gz" >/dev/null 2>&1 && ok || bad "go tool pprof: an empty snapshot"
else
    echo "export: go tool pprof checks skipped (Go is not installed: apt-get install golang-go)"
fi

summary "cli export"
