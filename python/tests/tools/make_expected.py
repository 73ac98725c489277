"""Capture what heapprof 1.0.2's own Python API returns on this project's fixtures.

The output (python/tests/expected/) lets the heapprof_c package's tests compare
against heapprof 1.0.2 without heapprof being installed. See
python/tests/expected/README.md for the layout and for every value in it that
one of heapprof's bugs makes wrong.

Run it with the Python of a heapprof 1.0.2 build, from the repository root:

    make    # our CLI, only needed when python/tests/expected/digests/ is missing a file
    HEAPPROF_GIT=/path/to/humu/heapprof/clone-or-git-dir PYTHON=/usr/bin/python3 \\
        bash /work/shared/tools/setup-heapprof.sh /work/hp102
    PYTHONHASHSEED=0 /work/hp102/venv/bin/python python/tests/tools/make_expected.py

(The script re-executes itself with PYTHONHASHSEED=0 when that is not set:
heapprof's dot files name nodes by hash() and iterate over sets of node names,
so their text depends on the string-hash seed.)

Inputs: tests/data/{tiny,small-a}.hpm/.hpd, heapprof's own digests
tests/data/*.heapprof.i{100,1000}.p0.hpc, and our v1 digests in
python/tests/expected/digests/ (made with `build/heapprof digest -q --format v1`
when missing). Each input is copied into a temporary folder as FILEBASE.hpm /
.hpd / .hpc (heapprof reads them side by side); tests/data is never modified.
"""

import gzip
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

if os.environ.get("PYTHONHASHSEED") != "0":
    env = dict(os.environ, PYTHONHASHSEED="0")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import heapprof  # noqa: E402
from heapprof import FlowGraph, RawTraceLine, Reader  # noqa: E402
from heapprof.lowlevel import HPC, HPD, HPM  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
OUT = REPO / "python" / "tests" / "expected"
DIGESTS = OUT / "digests"
CLI = REPO / "build" / "heapprof"

# Text and JSON outputs larger than this are stored gzipped (NAME.gz, mtime 0),
# to keep expected/ well under 2 MB.
GZIP_ABOVE = 16 * 1024

FIXTURES = ["tiny", "small-a"]

# (name, .hpc source, how our CLI makes it or None for heapprof's own digests)
DIGEST_SPECS = [
    ("heapprof.i100.p0", "data", None),
    ("heapprof.i1000.p0", "data", None),
    ("ours.i100.p0", "ours", ("0.1", "0")),
    ("ours.i100.p0_01", "ours", ("0.1", "0.01")),
    ("ours.i1000.p0_01", "ours", ("1", "0.01")),
]

PY = "/root/.pyenv/versions/3.11.7/lib/python3.11"
MAIN = "/tmp/ref/build/heapprof/__main__.py:49"  # the outermost frame of every trace
# Lines for fastGetUsage / timePlot, chosen from the fixtures' real traces.
LINES = {
    "tiny": [
        PY + "/timeit.py:180",  # innermost frame of the largest trace, and a caller elsewhere
        PY + "/textwrap.py:17",  # both local and cumulative usage
        MAIN,  # in every trace
        PY + "/re/_compiler.py:761",  # never innermost
        "nowhere.py:1",  # in no trace
    ],
    "small-a": [
        PY + "/py_compile.py:144",  # innermost frame of trace 1705 (> 2^31 bytes at times)
        PY + "/py_compile.py:13",
        PY + "/compileall.py:16",
        MAIN,
        PY + "/re/_parser.py:464",  # recursive: appears several times in some traces
        "nowhere.py:1",
    ],
}
# timePlot's dict: labels deliberately not in sorted order, values mix str and RawTraceLine.
TIMEPLOT_LINES = {
    "tiny": {
        "zeta main": MAIN,
        "Alpha timeit180": RawTraceLine(PY + "/timeit.py", 180),
        "beta textwrap17": PY + "/textwrap.py:17",
    },
    "small-a": {
        "zeta main": MAIN,
        "Alpha py_compile144": RawTraceLine(PY + "/py_compile.py", 144),
        "beta parser464": PY + "/re/_parser.py:464",
    },
}

DOT_FULL = dict(
    minNodeFraction=0, minEdgeFraction=0, collapseNodes=False, sizeNodesBasedOnLocalUsage=False
)

SCALE_SIZES = [0, 1, 127, 128, 129, 8191, 8192, 8193, 10**6, -100]

written = []


# ---------------------------------------------------------------------------------------------
# helpers


def exc(e):
    return {"raises": type(e).__name__, "message": str(e)}


def call(f, *args, **kwargs):
    """(result, None) or (None, {"raises", "message"})."""
    try:
        return f(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 -- we record every exception heapprof raises
        return None, exc(e)


def line_str(line):
    return f"{line.filename}:{line.lineno}"


def write_out(relpath, text):
    """Write text (str) under OUT; gzip it when large. Returns the name actually written."""
    path = OUT / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if len(data) > GZIP_ABOVE:
        path = path.with_name(path.name + ".gz")
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
            g.write(data)
        data = buf.getvalue()
    path.write_bytes(data)
    written.append(path)
    return str(path.relative_to(OUT))


def _dump(obj, indent):
    """JSON with one line per dict item or list item; lists of scalars on one line."""
    pad = " " * (indent + 1)
    if isinstance(obj, dict) and obj:
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_dump(v, indent + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(obj, (list, tuple)) and any(isinstance(x, (list, tuple, dict)) for x in obj):
        items = [pad + _dump(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def write_json(relpath, obj):
    text = _dump(obj, 0) + "\n"
    assert json.loads(text) == json.loads(json.dumps(obj))
    return write_out(relpath, text)


def raw_trace_json(rt):
    return None if rt is None else [[l.filename, l.lineno] for l in rt]


def trace_json(t):
    return None if t is None else [[l.filename, l.lineno, l.fileline] for l in t]


def usage_pairs(usage):
    return [[t, b] for t, b in usage.items()]


# ---------------------------------------------------------------------------------------------
# A correct reader of v1 .hpc files (64-bit varints, two's-complement sizes), used only to list
# where heapprof's reader (varints decoded through 32-bit ints) returns something else.


def _varint(buf, pos):
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _s64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def reference_hpc(path):
    buf = Path(path).read_bytes()
    assert int.from_bytes(buf[0:4], "big") == 1
    secs = int.from_bytes(buf[4:12], "big")
    nsec = int.from_bytes(buf[12:20], "big")
    interval_ms, pos = _varint(buf, 20)
    index_at = int.from_bytes(buf[pos:pos + 8], "big")
    assert int.from_bytes(buf[index_at:index_at + 4], "big") == 0xAB935776
    count, p = _varint(buf, index_at + 4)
    offsets, off = [], 0
    for _ in range(count):
        d, p = _varint(buf, p)
        off += d
        offsets.append(off)
    snaps = []
    for off in offsets:
        assert int.from_bytes(buf[off:off + 4], "big") == 0x5379A0BD
        n, p = _varint(buf, off + 4)
        entries, size = [], 0
        for i in range(n):
            t, p = _varint(buf, p)
            d, p = _varint(buf, p)
            size = _s64(d) if i == 0 else _s64(size - d)
            entries.append([t, size])
        snaps.append(entries)
    return {
        "initial_seconds": secs,
        "initial_nanoseconds": nsec,
        "initialTime": secs + 1e-9 * nsec,
        "interval_ms": interval_ms,
        "offsets": offsets,
        "snapshots": snaps,
    }


def reference_hpd(hpm_path, hpd_path):
    """Exact event times (integer microseconds since the .hpm start, signed deltas as the
    contract reads them) and sizes, read without heapprof."""
    m = Path(hpm_path).read_bytes()
    secs = int.from_bytes(m[4:12], "big")
    nsec = int.from_bytes(m[12:20], "big")
    b = Path(hpd_path).read_bytes()
    pos, rel_us, events = 0, 0, []
    while pos + 4 <= len(b):
        word = int.from_bytes(b[pos:pos + 4], "big")
        ds, pos = _varint(b, pos + 4)
        du, pos = _varint(b, pos)
        size, pos = _varint(b, pos)
        delta = -ds * 1000000 + du if word >> 31 else ds * 1000000 + du
        rel_us += delta
        free = bool(word >> 30 & 1)
        events.append((rel_us, word & 0x3FFFFFFF, -size if free else size, free))
    return secs, nsec, events


# ---------------------------------------------------------------------------------------------
# captures


def capture_hpm(base, fixture):
    hpm = HPM(base)
    hpm.warmRawTraceCache()
    n = len(hpm._rawTraces)
    hpm.close()
    hpm = HPM(base)  # a fresh one: rawTrace()/trace() as a user would call them
    mid = sorted({n // 4, n // 2, 3 * n // 4})
    indices = [0, 1, 2] + mid + [n, n + 1, 1 << 31]
    files = set()
    traces = []
    for i in indices:
        rt, rte = call(hpm.rawTrace, i)
        t, te = call(hpm.trace, i)
        for l in rt or []:
            files.add(l.filename)
        traces.append(
            {"index": i, "rawTrace": raw_trace_json(rt), "rawTrace_error": rte,
             "trace": trace_json(t), "trace_error": te}
        )
    out = {
        "fixture": fixture,
        "initialTime": hpm.initialTime,
        "samplingRate": [[k, v] for k, v in hpm.samplingRate.items()],
        "trace_count": n,
        "traces": traces,
        "scaleFactor": [[s, hpm.scaleFactor(s)] for s in SCALE_SIZES],
        "source_files_present_at_capture": {f: os.path.exists(f) for f in sorted(files)},
    }
    hpm.close()
    write_json(f"{fixture}/hpm.json", out)


def capture_hpd(base, fixture):
    hpd = HPD(base)
    first, last = [], []
    count = frees = zero = 0
    sum_size = sum_abs = 0
    backwards = 0
    prev_ts = hpd.hpm.initialTime
    tmin = tmax = None
    for ev in hpd:
        if count < 50:
            first.append(list(ev))
        last.append(list(ev))
        if len(last) > 5:
            last.pop(0)
        count += 1
        frees += ev.size < 0
        zero += ev.size == 0
        sum_size += ev.size
        sum_abs += abs(ev.size)
        backwards += ev.timestamp < prev_ts
        prev_ts = ev.timestamp
        tmin = ev.traceindex if tmin is None else min(tmin, ev.traceindex)
        tmax = ev.traceindex if tmax is None else max(tmax, ev.traceindex)
    secs, nsec, ref = reference_hpd(base + ".hpm", base + ".hpd")
    assert len(ref) == count

    def exact(e):
        # the exact absolute time, rounded once to a double
        return float(secs) + (nsec + 1000 * e[0]) / 1e9

    out = {
        "fixture": fixture,
        "event_fields": ["timestamp", "traceindex", "size", "scaleFactor"],
        "count": count,
        "frees": frees,  # events with size < 0: a free of 0 bytes reads as size 0
        "allocs": count - frees,
        "size_zero": zero,
        "sum_size": sum_size,
        "sum_abs_size": sum_abs,
        "events_earlier_than_previous": backwards,
        "min_traceindex": tmin,
        "max_traceindex": tmax,
        "last_timestamp": prev_ts,
        "first_50": first,
        "last_5": last,
        "reference": {
            "note": "read without heapprof: exact time = start + signed sum of deltas (integer "
                    "microseconds), rounded once to a double; is_free from the free flag",
            "count": len(ref),
            "frees": sum(e[3] for e in ref),
            "max_abs_size": max((abs(e[2]) for e in ref), default=0),
            "relative_us_last": ref[-1][0] if ref else 0,
            "first_50": [[exact(e), e[1], e[2], e[3]] for e in ref[:50]],
            "last_5": [[exact(e), e[1], e[2], e[3]] for e in ref[-5:]],
            "first_50_last_5_traceindex_size_equal": [[x[1], x[2]] for x in first + last]
            == [[e[1], e[2]] for e in ref[:50] + ref[-5:]],
        },
    }
    write_json(f"{fixture}/hpd.json", out)


def capture_nodigest(base, fixture):
    r = Reader(base)
    out = {"hasDigest": r.hasDigest(), "hpc_is_None": r.hpc is None}
    for name, f, args in [
        ("elapsedTime", r.elapsedTime, ()),
        ("finalTime", r.finalTime, ()),
        ("snapshotInterval", r.snapshotInterval, ()),
        ("snapshots", r.snapshots, ()),
        ("snapshotAt", r.snapshotAt, (0.0,)),
        ("timePlot", r.timePlot, ()),
    ]:
        v, e = call(f, *args)
        out[name] = e if e else repr(v)
    out["initialTime"] = r.initialTime()
    r.close()
    write_json(f"{fixture}/nodigest.json", out)


def capture_hpc(base, fixture, dname, hpc_path):
    hpc = HPC(base)
    n = len(hpc)
    snaps = []
    for k in range(n):
        s = hpc[k]
        snaps.append({"relativeTime": s.relativeTime, "total": s.totalUsage(),
                      "usage": usage_pairs(s.usage)})
    m1, m1e = call(lambda: hpc[-1].relativeTime)
    _, slice_e = call(lambda: hpc[0:2])
    ref = reference_hpc(hpc_path)
    misread = []
    for k, (ours, theirs) in enumerate(zip(ref["snapshots"], snaps)):
        for j, ((t1, b1), (t2, b2)) in enumerate(zip(ours, theirs["usage"])):
            if t1 != t2 or b1 != b2:
                misread.append({"snapshot": k, "entry": j, "trace": t1, "heapprof": b2,
                                "stored": b1})
    out = {
        "fixture": fixture,
        "digest": dname,
        "len": n,
        "initialTime": hpc.initialTime,
        "timeInterval": hpc.timeInterval,
        "offsets": hpc.offsets,
        "item_minus_1_relativeTime": m1 if m1e is None else m1e,
        "slice_0_2": slice_e,
        "snapshots": snaps,
        "reference": {
            "note": "the file decoded correctly (64-bit varints, sizes as two's complement)",
            "initial_seconds": ref["initial_seconds"],
            "initial_nanoseconds": ref["initial_nanoseconds"],
            "initialTime": ref["initialTime"],
            "interval_ms": ref["interval_ms"],
            "offsets_equal": ref["offsets"] == hpc.offsets,
            "entries_equal": len(misread) == 0
            and [len(s) for s in ref["snapshots"]] == [len(s["usage"]) for s in snaps],
            "negative_entries": [[k, j, t, b] for k, s in enumerate(ref["snapshots"])
                                 for j, (t, b) in enumerate(s) if b < 0],
            "zero_entries": [[k, j, t] for k, s in enumerate(ref["snapshots"])
                             for j, (t, b) in enumerate(s) if b == 0],
            "snapshot_totals": [sum(b for _, b in s) for s in ref["snapshots"]],
        },
        "misread": misread,
    }
    hpc.close()
    write_json(f"{fixture}/{dname}/hpc.json", out)
    return out


def flow_json(g):
    return {
        "totalUsage": g.totalUsage,
        "nodeLocalUsage": [[line_str(k), v] for k, v in g.nodeLocalUsage.items()],
        "nodeCumulativeUsage": [[line_str(k), v] for k, v in g.nodeCumulativeUsage.items()],
        "edgeUsage": [[line_str(a), line_str(b), v] for (a, b), v in g.edgeUsage.items()],
    }


def text_of(f):
    """Run f(output) into a StringIO: (text, None) or (partial text, exception)."""
    out = io.StringIO()
    try:
        f(out)
        return out.getvalue(), None
    except Exception as e:  # noqa: BLE001
        return out.getvalue(), exc(e)


def file_text_of(tmp, f, *args, **kwargs):
    path = os.path.join(tmp, "out.txt")
    if os.path.exists(path):
        os.remove(path)
    try:
        f(path, *args, **kwargs)
        err = None
    except Exception as e:  # noqa: BLE001
        err = exc(e)
    text = Path(path).read_text() if os.path.exists(path) else None
    return text, err


def capture_reader(base, tmp, fixture, dname, misread):
    prefix = f"{fixture}/{dname}"
    r = Reader(base)
    assert r.hasDigest()
    snaps = r.snapshots()
    n = len(snaps)
    interval = r.snapshotInterval()
    first, mid, last = 0, n // 2, n - 1
    # Where heapprof misreads the file (see hpc.json "misread"), also the snapshot with the most
    # misread entries (the first such), to show what its analytics do with the wrong values
    # (not to be matched); else the first snapshot with a negative total (heapprof's own digests
    # store negative entries where its 32-bit counters wrapped).
    counts = {}
    for m in misread:
        counts[m["snapshot"]] = counts.get(m["snapshot"], 0) + 1
    if counts:
        bad = min(counts, key=lambda k: (-counts[k], k))
    else:
        bad = next((k for k in range(n) if snaps[k].totalUsage() < 0), None)
    chosen = sorted({first, mid, last} | ({bad} if bad is not None else set()))
    out = {
        "fixture": fixture,
        "digest": dname,
        "hasDigest": r.hasDigest(),
        "initialTime": r.initialTime(),
        "elapsedTime": r.elapsedTime(),
        "finalTime": r.finalTime(),
        "snapshotInterval": interval,
        "samplingRate": [[k, v] for k, v in r.samplingRate().items()],
        "len_snapshots": n,
        "snapshots_minus_1_relativeTime": snaps[-1].relativeTime,
        "chosen_snapshots": {"first": first, "mid": mid, "last": last, "anomalous": bad},
    }

    # snapshotAt
    times = [-1.0, 0.0, interval / 2, mid * interval, mid * interval + interval / 2,
             (n - 1) * interval, n * interval, 1e9]
    at = []
    for t in times:
        s, e = call(r.snapshotAt, t)
        if e:
            at.append({"t": t, **e})
        else:
            at.append({"t": t, "relativeTime": s.relativeTime,
                       "index": round(s.relativeTime / interval), "total": s.totalUsage(),
                       "entries": len(s.usage)})
    out["snapshotAt"] = at

    # fastGetUsage
    lines = tuple(RawTraceLine.parse(x) for x in LINES[fixture])
    fg = []
    for k in chosen:
        for cumulative in (True, False):
            vals, total = r.fastGetUsage(snaps[k], lines, cumulative=cumulative)
            fg.append({"snapshot": k, "cumulative": cumulative,
                       "lines": [line_str(l) for l in lines],
                       "values": list(vals), "total": total})
    dup = (lines[0], lines[0], lines[2])
    vals, total = r.fastGetUsage(snaps[last], dup)
    fg.append({"snapshot": last, "cumulative": True, "lines": [line_str(l) for l in dup],
               "values": list(vals), "total": total, "note": "a line given twice"})
    out["fastGetUsage"] = fg

    # timePlot
    tp = r.timePlot()
    out["timePlot_none"] = {"times": tp.times, "totalUsage": tp.totalUsage, "lines": tp.lines,
                            "labels": tp.labels}
    spec = TIMEPLOT_LINES[fixture]
    tp = r.timePlot(spec)
    out["timePlot_lines"] = {
        "argument": {k: (v if isinstance(v, str) else ["RawTraceLine", v.filename, v.lineno])
                     for k, v in spec.items()},
        "times": tp.times, "totalUsage": tp.totalUsage, "lines": tp.lines, "labels": tp.labels,
    }

    # flame graphs, flow graphs, dot files
    files = {}
    graphs = {}
    for k in chosen:
        text, e = text_of(lambda o: r.flameGraph(snaps[k], o))
        files[f"flame.s{k}"] = {"file": write_out(f"{prefix}/flame.s{k}.txt", text),
                                "error": e}
        g = r.flowGraph(snaps[k])
        graphs[k] = g
        files[f"flow.s{k}"] = {"file": write_json(f"{prefix}/flow.s{k}.json", flow_json(g))}
        for tag, opts in (("default", {}), ("full", DOT_FULL)):
            text, e = text_of(lambda o: g.asDotFile(o, **opts))
            name = f"dot.s{k}.{tag}.dot"
            files[name[:-4]] = {"file": write_out(f"{prefix}/{name}", text) if not e else None,
                                "error": e, "partial_chars": len(text) if e else None}
    out["outputs"] = files

    # flameGraphAt matches flameGraph(snapshotAt(t))
    t_mid = mid * interval + interval / 2
    a, ea = text_of(lambda o: r.flameGraphAt(t_mid, o))
    b, eb = text_of(lambda o: r.flameGraph(r.snapshotAt(t_mid), o))
    assert ea is None and eb is None
    out["flameGraphAt_mid_equals_flameGraph_snapshotAt"] = a == b

    # writeFlameGraph: always TypeError in heapprof 1.0.2
    _, out["writeFlameGraph_snapshot"] = file_text_of(tmp, r.writeFlameGraph, snaps[last])
    _, out["writeFlameGraph_time"] = file_text_of(tmp, r.writeFlameGraph, t_mid)

    # comparisons: two non-empty snapshots (mid and last), then one with snapshot 0
    cmp = {}
    t_last = last * interval + interval / 2
    text, e = file_text_of(tmp, r.compareFlowGraphs, t_mid, t_last)
    cmp["compareFlowGraphs_mid_last_default"] = {
        "times": [t_mid, t_last], "snapshots": [mid, last], "error": e,
        "file": write_out(f"{prefix}/compare.s{mid}.s{last}.default.dot", text) if not e else None}
    text, e = file_text_of(tmp, FlowGraph.compare, graphs[mid], graphs[last], **DOT_FULL)
    cmp["FlowGraph_compare_mid_last_full"] = {
        "snapshots": [mid, last], "options": DOT_FULL, "error": e,
        "file": write_out(f"{prefix}/compare.s{mid}.s{last}.full.dot", text) if not e else None}
    text, e = file_text_of(tmp, r.compareFlowGraphs, 0.0, t_last)
    cmp["compareFlowGraphs_0_last_default"] = {
        "times": [0.0, t_last], "snapshots": [0, last],
        "snapshot0_total": snaps[0].totalUsage(), "error": e,
        "file": write_out(f"{prefix}/compare.s0.s{last}.default.dot", text) if not e else None}
    out["compare"] = cmp

    r.close()
    write_json(f"{prefix}/reader.json", out)


def ensure_our_digests():
    DIGESTS.mkdir(parents=True, exist_ok=True)
    for fixture in FIXTURES:
        for dname, src, how in DIGEST_SPECS:
            if src != "ours":
                continue
            path = DIGESTS / f"{fixture}.{dname}.hpc"
            if path.exists():
                continue
            if not CLI.exists():
                sys.exit(f"{path} is missing and {CLI} is not built: run `make` first")
            i, p = how
            subprocess.run([str(CLI), "digest", "-q", "--format", "v1", "-i", i, "-p", p,
                            "-o", str(path), str(DATA / fixture)], check=True)
            print(f"made {path.relative_to(REPO)}")


def main():
    ensure_our_digests()
    for p in OUT.iterdir():
        if p.is_dir() and p.name in FIXTURES:
            shutil.rmtree(p)
    summary = {}
    with tempfile.TemporaryDirectory(prefix="hp-expected-") as tmp:
        for fixture in FIXTURES:
            base = os.path.join(tmp, fixture)
            for ext in (".hpm", ".hpd"):
                shutil.copyfile(DATA / (fixture + ext), base + ext)
            capture_hpm(base, fixture)
            capture_hpd(base, fixture)
            capture_nodigest(base, fixture)
            for dname, src, _ in DIGEST_SPECS:
                hpc_src = (DATA / f"{fixture}.{dname}.hpc" if src == "data"
                           else DIGESTS / f"{fixture}.{dname}.hpc")
                shutil.copyfile(hpc_src, base + ".hpc")
                info = capture_hpc(base, fixture, dname, hpc_src)
                try:
                    capture_reader(base, tmp, fixture, dname, info["misread"])
                except Exception:
                    traceback.print_exc()
                    raise
                summary[f"{fixture}/{dname}"] = {
                    "source": str(hpc_src.relative_to(REPO)),
                    "snapshots": info["len"],
                    "misread_entries": len(info["misread"]),
                    "misread_snapshots": sorted({m["snapshot"] for m in info["misread"]}),
                }
                os.remove(base + ".hpc")
    write_json("manifest.json", {
        "heapprof": "1.0.2 (humu/heapprof c46a5d0, built by setup-heapprof.sh)",
        "heapprof_module": heapprof.__file__,
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
        "gzip_above_bytes": GZIP_ABOVE,
        "digests": summary,
    })
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(written)} files; expected/ is {total} bytes")


if __name__ == "__main__":
    main()
