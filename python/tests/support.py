"""Shared helpers of the heapprof_c tests: the fixtures, heapprof 1.0.2's expected outputs
(expected/README.md), and render(), which makes every dot file the expected outputs hold.
Run as a script (with PYTHONHASHSEED=0) it writes render()'s texts as JSON:

    PYTHONHASHSEED=0 python3 support.py OUT.json
"""
import gzip
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = REPO / "tests" / "data"
EXPECTED = HERE / "expected"
FIXTURES = ["tiny", "small-a"]
DIGESTS = ["heapprof.i100.p0", "heapprof.i1000.p0", "ours.i100.p0", "ours.i100.p0_01",
           "ours.i1000.p0_01"]
ALL = [(f, d) for f in FIXTURES for d in DIGESTS]
DOT_FULL = dict(minNodeFraction=0, minEdgeFraction=0, collapseNodes=False,
                sizeNodesBasedOnLocalUsage=False)
PY = "/root/.pyenv/versions/3.11.7/lib/python3.11"
MAIN = "/tmp/ref/build/heapprof/__main__.py:49"


def build_dir() -> Path:
    return Path(os.environ.get("HEAPPROF_BUILD", REPO / "build"))


def cli() -> Path:
    return build_dir() / "heapprof"


def hpgen() -> Path:
    return Path(os.environ.get("HPGEN", build_dir() / "hpgen"))


def digest_file(fixture: str, dname: str) -> Path:
    if dname.startswith("heapprof."):
        return DATA / f"{fixture}.{dname}.hpc"
    return EXPECTED / "digests" / f"{fixture}.{dname}.hpc"


def stage(directory, fixture: str, dname=None, hpd: bool = True, name=None) -> str:
    """Copies FIXTURE.hpm (and .hpd, and a digest as .hpc) into directory; the filebase."""
    base = Path(directory) / (name or fixture)
    shutil.copyfile(DATA / f"{fixture}.hpm", f"{base}.hpm")
    if hpd:
        shutil.copyfile(DATA / f"{fixture}.hpd", f"{base}.hpd")
    if dname:
        shutil.copyfile(digest_file(fixture, dname), f"{base}.hpc")
    return str(base)


def read_expected(rel: str) -> str:
    """An expected file's text: NAME, or NAME.gz (files over 16 KB are gzipped)."""
    path = EXPECTED / rel
    if not path.exists() and not rel.endswith(".gz"):
        path = path.with_name(path.name + ".gz")
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def expected_json(rel: str):
    return json.loads(read_expected(rel))


def right_usage(fixture: str, dname: str):
    """Every snapshot as [[trace, bytes], ...]: heapprof's reading with the entries it
    misreads replaced by the stored values (hpc.json "misread")."""
    hpc = expected_json(f"{fixture}/{dname}/hpc.json")
    snaps = [[list(e) for e in s["usage"]] for s in hpc["snapshots"]]
    for m in hpc["misread"]:
        entry = snaps[m["snapshot"]][m["entry"]]
        assert entry[0] == m["trace"]
        entry[1] = m["stored"]
    return snaps


def misread_snapshots(fixture: str, dname: str):
    return set(expected_json("manifest.json")["digests"][f"{fixture}/{dname}"]["misread_snapshots"])


def render(base: str, fixture: str, dname: str) -> dict:
    """The dot texts of reader.json's chosen snapshots and comparisons, made by heapprof_c."""
    import io

    from heapprof_c import FlowGraph, Reader

    rj = expected_json(f"{fixture}/{dname}/reader.json")
    chosen = rj["chosen_snapshots"]
    out = {}
    with Reader(base) as r:
        snaps = r.snapshots()
        interval = r.snapshotInterval()
        ks = sorted({chosen["first"], chosen["mid"], chosen["last"]}
                    | ({chosen["anomalous"]} if chosen["anomalous"] is not None else set()))
        graphs = {k: r.flowGraph(snaps[k]) for k in ks}
        for k in ks:
            for tag, opts in (("default", {}), ("full", DOT_FULL)):
                buf = io.StringIO()
                graphs[k].asDotFile(buf, **opts)
                out[f"dot.s{k}.{tag}"] = buf.getvalue()
        mid, last = chosen["mid"], chosen["last"]
        tmp = Path(base).parent / "render.dot"
        r.compareFlowGraphs(str(tmp), (mid + 0.5) * interval, (last + 0.5) * interval)
        out[f"compare.s{mid}.s{last}.default"] = tmp.read_text()
        FlowGraph.compare(str(tmp), graphs[mid], graphs[last], **DOT_FULL)
        out[f"compare.s{mid}.s{last}.full"] = tmp.read_text()
        r.compareFlowGraphs(str(tmp), 0.0, (last + 0.5) * interval)
        out[f"compare.s0.s{last}.default"] = tmp.read_text()
    return out


def render_all(directory) -> dict:
    out = {}
    for fixture, dname in ALL:
        d = Path(directory) / f"{fixture}.{dname}"
        d.mkdir(parents=True, exist_ok=True)
        out[f"{fixture}/{dname}"] = render(stage(d, fixture, dname), fixture, dname)
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = {"PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
                  "outputs": render_all(tmp)}
    Path(sys.argv[1]).write_text(json.dumps(result))
