"""HPM against heapprof 1.0.2's outputs (expected/F/hpm.json) and bad input."""
import os

import pytest

import support
from heapprof_c import FormatError, RawTraceLine, TraceLine
from heapprof_c.lowlevel import HPM


@pytest.mark.parametrize("fixture", support.FIXTURES)
def test_hpm_matches_heapprof(fixture):
    want = support.expected_json(f"{fixture}/hpm.json")
    with HPM(str(support.DATA / fixture)) as hpm:
        assert hpm.initialTime == want["initialTime"]
        assert [[k, v] for k, v in hpm.samplingRate.items()] == want["samplingRate"]
        assert hpm.numTraces() == want["trace_count"]
        present = want["source_files_present_at_capture"]
        for t in want["traces"]:
            raw = hpm.rawTrace(t["index"])
            if t["rawTrace"] is None:
                assert raw is None
            else:
                assert [list(l) for l in raw] == t["rawTrace"]
                assert all(type(l) is RawTraceLine for l in raw)
                assert raw is hpm.rawTrace(t["index"])  # cached, as heapprof's
            trace = hpm.trace(t["index"])
            if t["trace"] is None:
                assert trace is None
                continue
            assert all(type(l) is TraceLine for l in trace)
            for got, (name, line, text) in zip(trace, t["trace"]):
                assert (got.filename, got.lineno) == (name, line)
                # source text is read here; compare it where this machine has the file
                if present.get(name) and os.path.exists(name):
                    assert got.fileline == text
        for size, factor in want["scaleFactor"]:
            assert hpm.scaleFactor(size) == factor


def test_warm_and_counts():
    with HPM(str(support.DATA / "small-a")) as hpm:
        hpm.warmRawTraceCache()
        assert hpm.numTraces() == 1720
        assert len(hpm.rawTrace(1720)) > 0 and hpm.rawTrace(1721) is None
        # one RawTraceLine object per distinct line, shared between traces
        lines = {}
        for i in range(1, 1721):
            for l in hpm.rawTrace(i):
                assert lines.setdefault(l, l) is l
        assert hpm.rawTrace(-1) is None and hpm.rawTrace(0) is None
        assert hpm.rawTrace(1 << 40) is None and hpm.trace(1 << 40) is None
        assert hpm.rawTrace(True) == hpm.rawTrace(1)
        with pytest.raises(TypeError):
            hpm.rawTrace("1")
        with pytest.raises(TypeError):
            hpm.rawTrace(1.0)
        assert hpm.scaleFactor(1 << 70) == 1 and hpm.scaleFactor(-(1 << 70)) == 1
        assert hpm.scaleFactor(2.5) == hpm.scaleFactor(2)


def test_closed(tmp_path):
    hpm = HPM(str(support.DATA / "tiny"))
    first = hpm.rawTrace(3)
    hpm.close()
    hpm.close()  # harmless
    assert hpm.closed and first
    for call in (lambda: hpm.rawTrace(3), lambda: hpm.trace(3), hpm.warmRawTraceCache,
                 hpm.numTraces, lambda: hpm.scaleFactor(3)):
        with pytest.raises(ValueError, match="closed HPM"):
            call()
    assert hpm.initialTime > 0  # metadata stays readable, like a closed file's name
    with HPM(str(support.DATA / "tiny")) as h:
        pass
    with pytest.raises(ValueError):
        h.rawTrace(1)


def test_missing_and_wrong_types(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        HPM(str(tmp_path / "nope"))
    assert str(e.value) == f"{tmp_path}/nope.hpm: cannot open: No such file or directory"
    assert e.value.errno == 2
    (tmp_path / "d.hpm").mkdir()
    with pytest.raises(IsADirectoryError, match="d.hpm: is a directory"):
        HPM(str(tmp_path / "d"))
    for bad in (None, 3, 2.5, ["x"]):
        with pytest.raises(TypeError):
            HPM(bad)
    with pytest.raises(ValueError):
        HPM("x\0y")
    h = HPM(support.DATA / "tiny")  # os.PathLike
    assert h.rawTrace(1)
    h.close()


def damaged(tmp_path, data):
    (tmp_path / "x.hpm").write_bytes(data)
    return str(tmp_path / "x")


def test_truncated_and_corrupt(tmp_path):
    good = (support.DATA / "tiny.hpm").read_bytes()
    with pytest.raises(FormatError, match=r"x.hpm: offset 0: truncated header \(file is 3 bytes\)"):
        HPM(damaged(tmp_path, good[:3]))
    with pytest.raises(FormatError, match="offset 0: unsupported .hpm version 2"):
        HPM(damaged(tmp_path, b"\0\0\0\2" + good[4:]))
    # every cut: an error at open, or fewer traces (a trailing partial trace is absent)
    for cut in range(0, len(good), len(good) // 150 + 1):
        try:
            with HPM(damaged(tmp_path, good[:cut])) as h:
                n = h.numTraces()
                assert n <= 179
                assert h.rawTrace(n + 1) is None
        except FormatError as e:
            assert "x.hpm: offset" in str(e)
    # 0xff bytes where the first trace starts (after 20 + 1 + 12 bytes of header): an
    # over-long varint, reported with its offset, by every call that reaches it
    bad = good[:33] + b"\xff" * 11 + good[44:]
    with HPM(damaged(tmp_path, bad)) as h:
        for call in (h.warmRawTraceCache, h.numTraces, lambda: h.rawTrace(1)):
            with pytest.raises(FormatError, match="x.hpm: offset 33: over-long varint in trace"):
                call()
