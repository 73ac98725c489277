"""Whatever the input, an exception with the library's message, never a crash: damaged
profiles through the whole API, wrong argument types."""
import io
import random

import pytest

import support
from heapprof_c import FormatError, RawTraceLine, Reader, Snapshot
from heapprof_c.lowlevel import HPC, HPD, HPM

# what damaged input may raise: the library's errors; IndexError for a digest without
# snapshots; nothing else
EXPECTED = (FormatError, OSError, IndexError)


def exercise(base):
    """Everything the API does with a profile and its digest."""
    with Reader(base) as r:
        for _ in HPD(base):
            pass
        r.hpm.warmRawTraceCache()
        if r.hasDigest():
            snaps = r.snapshots()
            r.timePlot({"a": support.MAIN, "b": "x.py:1"})
            for s in list(snaps)[:3] + [snaps[-1]] if len(snaps) else []:
                r.flameGraph(s, io.StringIO())
                r.flowGraph(s).asDotFile(io.StringIO())
                r.fastGetUsage(s, (RawTraceLine.parse(support.MAIN),), cumulative=False)


@pytest.mark.parametrize("which", [".hpm", ".hpd", ".hpc"])
def test_damaged_files_never_crash(tmp_path, which):
    rng = random.Random(which)
    base = support.stage(tmp_path, "tiny", "ours.i100.p0")
    path = base + which
    good = open(path, "rb").read()
    raised = 0
    for i in range(60):
        data = bytearray(good)
        kind = i % 3
        if kind == 0:
            data = data[:rng.randrange(len(data))]
        elif kind == 1:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        with open(path, "wb") as f:
            f.write(bytes(data))
        try:
            with _quiet():
                exercise(base)
        except EXPECTED as e:
            raised += 1
            assert str(e)
    assert raised > 0


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
        return False


def test_wrong_types(tmp_path):
    base = support.stage(tmp_path, "tiny", "ours.i100.p0")
    for bad in (None, 42, 1.5, object()):
        for cls in (HPM, HPD, HPC, Reader):
            with pytest.raises(TypeError):
                cls(bad)
    with Reader(base) as r:
        s = r.snapshots()[5]
        for call in (lambda: r.flameGraph(None, io.StringIO()), lambda: r.flameGraph(s, None),
                     lambda: r.flowGraph({}), lambda: r.fastGetUsage(3, ()),
                     lambda: r.timePlot(["a"]), lambda: r.snapshotAt(None),
                     lambda: r.rawTrace("3"), lambda: r.hpc["x"],
                     lambda: r.makeDigest("1"), lambda: r.compareFlowGraphs(str(tmp_path / "c"), "x")):
            with pytest.raises(TypeError):
                call()
        with pytest.raises(ValueError):
            r.timePlot({"a": "no line number"})
        # a Snapshot made by hand works like one read from the digest
        assert r.fastGetUsage(Snapshot(0.0, dict(s.usage)), ()) == ((), s.totalUsage())


def test_text_output_errors_propagate(tmp_path):
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("disk full")

    with Reader(support.stage(tmp_path, "tiny", "ours.i100.p0")) as r:
        with pytest.raises(OSError, match="disk full"):
            r.flameGraph(r.snapshots()[5], Broken())
        with pytest.raises(OSError, match="disk full"):
            r.flowGraph(r.snapshots()[5]).asDotFile(Broken())
        with pytest.raises(FileNotFoundError):
            r.writeFlameGraph(str(tmp_path / "no" / "dir.txt"), 0.5)
