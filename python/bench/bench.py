#!/usr/bin/env python3
"""The Python package's benchmark (make bench-python): heapprof_c against heapprof 1.0.2's
own reader on the same files, where heapprof 1.0.2 is installed.

    PYTHONPATH=python python3 python/bench/bench.py [--heapprof PYTHON] [--repeat N]

Profiles: tests/data/small-a (538,889 events), and one made by build/hpgen (300,000 events,
800 traces, 3,600 s) digested at 1 s, precision 0.01: about 3,600 snapshots of about 770
entries. heapprof 1.0.2 reads only v1 digests, so it gets the v1 file; heapprof_c is timed on
both. Times are CPU seconds of the process (user + system), the best of --repeat runs
(heapprof 1.0.2: one run). The figures go to docs/PERFORMANCE.md ("The Python package").
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "tests", "data")
HEAPPROF102 = "/work/hp102/venv/bin/python"


def best(f, repeat):
    """The best of `repeat` runs, in CPU seconds of this process (user + system): every
    operation here runs on one thread, and CPU time is what a shared machine's other load
    disturbs least."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        f()
        times.append(time.process_time() - t)
    return min(times)


def top_lines(reader, snapshot, n=3):
    """Three lines present in many traces of a snapshot, as "file:line"."""
    counts = {}
    for t in list(snapshot.usage)[:200]:
        for line in reader.rawTrace(t) or []:
            counts[line] = counts.get(line, 0) + 1
    lines = sorted(counts, key=lambda l: (-counts[l], str(l)))[:n]
    return {f"line {i}": f"{l.filename}:{l.lineno}" for i, l in enumerate(lines)}


def run(impl, work, repeat, name="m"):
    """Times every operation with `impl` (heapprof_c or heapprof); returns {name: seconds}."""
    mod = __import__(impl)
    lowlevel = __import__(impl + ".lowlevel", fromlist=["HPD"])
    out = {}
    n = 0

    def iterate_hpd():
        nonlocal n
        n = 0
        for _ in lowlevel.HPD(os.path.join(DATA, "small-a")):
            n += 1

    if name == "m":
        out["hpd_small_a"] = best(iterate_hpd, repeat)
        out["hpd_small_a_events"] = n
    bases = {"v1": os.path.join(work, "v1", name)}
    if impl == "heapprof_c":
        bases["v2"] = os.path.join(work, "v2", name)
    for fmt, base in bases.items():
        r = mod.Reader(base)
        snaps = r.snapshots()

        def iterate_hpc():
            for _ in snaps:
                pass

        out[f"hpc_iter_{fmt}"] = best(iterate_hpc, repeat)
        out[f"time_plot_{fmt}"] = best(r.timePlot, repeat)
        last = snaps[len(snaps) - 1]
        lines = top_lines(r, last)
        out[f"time_plot_lines_{fmt}"] = best(lambda: r.timePlot(lines), repeat)
        r.close()
        r = mod.Reader(base)  # a cold trace cache
        last = r.snapshots()[len(r.snapshots()) - 1]
        out[f"flame_cold_{fmt}"] = best(lambda: r.flameGraph(last, io.StringIO()), 1)
        out[f"flame_warm_{fmt}"] = best(lambda: r.flameGraph(last, io.StringIO()), repeat)
        out[f"flow_{fmt}"] = best(lambda: r.flowGraph(last), repeat)
        out[f"snapshots_{fmt}"] = len(r.snapshots())
        r.close()
    if impl == "heapprof_c":
        # what building the same dicts costs in Python, from ints that already exist
        with mod.Reader(bases["v2"]) as r:
            pairs = [(list(s.usage), list(s.usage.values())) for s in r.snapshots()]
            out["entries"] = sum(len(k) for k, _ in pairs)
            out["dicts_only"] = best(lambda: [dict(zip(k, v)) for k, v in pairs], repeat)
            out["totals_only_v2"] = best(lambda: r.hpc._h.series(), repeat)
    return out


PROFILES = {"m": ("300000", "800", "2"), "large": ("2000000", "5000", "1")}


def make_profiles(work, names):
    gen = os.path.join(REPO, "build", "hpgen")
    if not os.path.exists(gen):
        sys.exit(f"{gen} is missing: make")
    from heapprof_c.lowlevel import HPC

    for fmt in ("v1", "v2"):
        os.makedirs(os.path.join(work, fmt), exist_ok=True)
    for name in names:
        events, traces, seed = PROFILES[name]
        base = os.path.join(work, "v2", name)
        if os.path.exists(base + ".hpc"):
            continue
        subprocess.run([gen, "-e", events, "-t", traces, "-d", "3600", "-s", seed, base],
                       check=True, stdout=subprocess.DEVNULL)
        HPC.make(base, 1, 0.01, False)
        for ext in (".hpm", ".hpd"):
            shutil.copyfile(base + ext, os.path.join(work, "v1", name + ext))
        HPC.make(os.path.join(work, "v1", name), 1, 0.01, False, format="v1")


ROWS = [
    ("HPD iteration, small-a (538,889 events)", "hpd_small_a", "events"),
    ("HPC: every snapshot, v1", "hpc_iter_v1", "s"),
    ("HPC: every snapshot, v2", "hpc_iter_v2", "s"),
    ("Reader.timePlot(), v1", "time_plot_v1", "s"),
    ("Reader.timePlot(), v2", "time_plot_v2", "s"),
    ("Reader.timePlot(3 lines), v1", "time_plot_lines_v1", "s"),
    ("Reader.timePlot(3 lines), v2", "time_plot_lines_v2", "s"),
    ("flameGraph(last snapshot), first call, v1", "flame_cold_v1", "s"),
    ("flameGraph(last snapshot), again, v1", "flame_warm_v1", "s"),
    ("flowGraph(last snapshot), v1", "flow_v1", "s"),
]


def fmt(value, unit, events):
    if value is None:
        return "-"
    if unit == "events":
        return f"{events / value / 1e6:.2f} M events/s"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heapprof", default=os.environ.get("HEAPPROF102_PYTHON", HEAPPROF102),
                    help="a Python with heapprof 1.0.2 (default %(default)s; 'none' to skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default="/tmp/heapprof-c-bench-python")
    ap.add_argument("--large", action="store_true",
                    help="also time heapprof_c on a larger digest (2,000,000 events, 5,000 "
                         "traces: about 4,800 entries per snapshot)")
    ap.add_argument("--impl", default="heapprof_c", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.impl != "heapprof_c":  # the child run with heapprof 1.0.2's Python
        result = run(args.impl, args.work, args.repeat)
        with open(args.json, "w") as f:
            json.dump(result, f)
        return
    import heapprof_c
    from heapprof_c import _heapprof_c

    make_profiles(args.work, ["m"] + (["large"] if args.large else []))
    ours = run("heapprof_c", args.work, args.repeat)
    theirs = {}
    if args.heapprof != "none" and os.path.exists(args.heapprof):
        out = os.path.join(args.work, "heapprof102.json")
        subprocess.run([args.heapprof, __file__, "--impl", "heapprof", "--work", args.work,
                        "--repeat", "1", "--json", out], check=True)
        with open(out) as f:
            theirs = json.load(f)
    print(f"heapprof_c {heapprof_c.__version__}, Python {sys.version.split()[0]}, CPU seconds, "
          f"NamedTuples {'direct' if _heapprof_c.fast_tuples() else 'through tuple.__new__'}; "
          f"{os.cpu_count()} CPUs")
    print(f"digest: {ours['snapshots_v2']} snapshots, {ours['entries']} entries "
          f"({ours['entries'] / ours['snapshots_v2']:.0f} per snapshot)")
    print(f"{'operation':44} {'heapprof_c':>18} {'heapprof 1.0.2':>18} {'speed-up':>9}")
    ev = ours["hpd_small_a_events"]
    for label, key, unit in ROWS:
        a, b = ours.get(key), theirs.get(key)
        ratio = f"{b / a:.0f}x" if a and b else "-"
        print(f"{label:44} {fmt(a, unit, ev):>18} {fmt(b, unit, ev):>18} {ratio:>9}")
    summary(ours)
    if args.large:
        large = run("heapprof_c", args.work, args.repeat, "large")
        print(f"larger digest: {large['snapshots_v2']} snapshots, {large['entries']} entries "
              f"({large['entries'] / large['snapshots_v2']:.0f} per snapshot), heapprof_c only")
        for label, key, unit in ROWS[1:]:
            print(f"{label:44} {fmt(large.get(key), unit, 0):>18}")
        summary(large)


def summary(r):
    print(f"every snapshot's dicts built in Python from existing ints: "
          f"{fmt(r['dicts_only'], 's', 0)}; decoding them all (totals, v2): "
          f"{fmt(r['totals_only_v2'], 's', 0)}; HPC iteration (v2) / dict building: "
          f"{r['hpc_iter_v2'] / r['dicts_only']:.2f}")


if __name__ == "__main__":
    main()
