"""HPD: heapprof 1.0.2's outputs (expected/F/hpd.json), the exact reference, the C library's
CLI on generated profiles, damaged and truncated streams, closed handles."""
import subprocess
import threading
import warnings

import pytest

import support
from heapprof_c import FormatError
from heapprof_c.lowlevel import HPD, HPM, HPDEvent


@pytest.mark.parametrize("fixture", support.FIXTURES)
def test_hpd_matches_heapprof(fixture):
    want = support.expected_json(f"{fixture}/hpd.json")
    ref = want["reference"]
    events = list(HPD(str(support.DATA / fixture)))
    assert all(type(e) is HPDEvent for e in events[:100])
    assert len(events) == want["count"]
    assert sum(e.size < 0 for e in events) == want["frees"]
    assert sum(e.size == 0 for e in events) == want["size_zero"]
    assert sum(e.size for e in events) == want["sum_size"]
    assert sum(abs(e.size) for e in events) == want["sum_abs_size"]
    assert min(e.traceindex for e in events) == want["min_traceindex"]
    assert max(e.traceindex for e in events) == want["max_traceindex"]
    # traceindex, size, scaleFactor as heapprof; the timestamp exact (heapprof's drifts)
    for got, theirs, exact in zip(events[:50] + events[-5:], want["first_50"] + want["last_5"],
                                  ref["first_50"] + ref["last_5"]):
        assert (got.traceindex, got.size, got.scaleFactor) == tuple(theirs[1:])
        assert got.timestamp == exact[0]
        assert got.timestamp == pytest.approx(theirs[0], abs=0.03)


def test_events_equal_the_cli(generated, cli):
    """Every event against `heapprof events` (the C library), on a generated profile with
    negative time deltas, trace-0 events and sizes over 4 GiB."""
    out = subprocess.run([cli, "events", generated["gen"]], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    events = list(HPD(generated["gen"]))
    assert len(events) == len(out) == 20000
    backwards = 0
    for e, line in zip(events, out):
        ts, trace, size, scale = line.split("\t")
        assert f"{e.timestamp:.6f}" == ts
        assert (e.traceindex, e.size) == (int(trace), int(size))
        assert f"{e.scaleFactor:.10g}" == scale
    for a, b in zip(events, events[1:]):
        backwards += b.timestamp < a.timestamp
    assert backwards > 0  # hpgen writes a few negative deltas: exact signed times
    assert any(abs(e.size) >= 1 << 32 for e in events)
    assert any(e.traceindex == 0 for e in events)


def test_iterations_are_independent():
    hpd = HPD(str(support.DATA / "tiny"))
    a, b = iter(hpd), iter(hpd)
    first = next(a)
    assert next(b) == first
    assert list(a)[-1] == list(b)[-1]
    assert hpd.hpm.initialTime < first.timestamp
    with pytest.raises(StopIteration):
        next(a)


def test_given_hpm_and_types():
    hpm = HPM(str(support.DATA / "small-a"))
    hpd = HPD(str(support.DATA / "tiny"), hpm)  # heapprof: the HPM's start and sampling apply
    assert hpd.hpm is hpm
    e = next(iter(hpd))
    assert e.scaleFactor == hpm.scaleFactor(e.size)
    hpd.close()
    assert not hpm.closed  # not the HPD's to close
    hpm.close()
    with pytest.raises(TypeError, match="hpm must be an HPM"):
        HPD(str(support.DATA / "tiny"), "x")
    with pytest.raises(TypeError):
        HPD(None)


def test_missing_hpd(tmp_path, staged):
    base = staged("tiny", hpd=False)
    hpd = HPD(base)  # as heapprof: the .hpd is opened by the iteration
    with pytest.raises(FileNotFoundError, match=r"tiny.hpd: cannot open: No such file"):
        iter(hpd)
    with pytest.raises(FileNotFoundError, match="nope.hpm"):
        HPD(str(tmp_path / "nope"))


def test_closed_handles(staged):
    hpd = HPD(staged("tiny"))
    it = iter(hpd)
    next(it)
    hpd.close()
    hpd.close()
    with pytest.raises(ValueError, match="closed HPD"):
        next(it)
    with pytest.raises(ValueError, match="closed HPD"):
        iter(hpd)
    assert hpd.hpm.closed  # it opened the HPM, so it closed it
    hpm = HPM(staged("tiny"))
    it = iter(HPD(staged("tiny"), hpm))
    next(it)
    hpm.close()
    with pytest.raises(ValueError, match="closed HPM"):
        next(it)


def test_truncated_hpd_warns(tmp_path, staged):
    base = staged("tiny")
    data = open(base + ".hpd", "rb").read()
    open(base + ".hpd", "wb").write(data[:5000])
    with pytest.warns(RuntimeWarning, match=r"tiny.hpd: offset \d+: partial final event"):
        events = list(HPD(base))
    assert 0 < len(events) < 1002


def test_damaged_strict_and_salvage(generated, cli):
    base = generated["damaged"]
    with pytest.raises(FormatError, match=r"damaged.hpd: offset \d+: invalid event: "):
        for _ in HPD(base):
            pass
    # the events before the damage come first, then the error
    it = iter(HPD(base))
    got = []
    with pytest.raises(FormatError):
        for e in it:
            got.append(e)
    assert len(got) > 0
    with pytest.raises(StopIteration):
        next(it)  # a failed iteration is over
    want = subprocess.run([cli, "events", "--salvage", base], check=True, capture_output=True,
                          text=True).stdout.splitlines()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        events = list(HPD(base, salvage=True))
    assert len(events) == len(want)
    assert [f"{e.timestamp:.6f}\t{e.traceindex}\t{e.size}" for e in events] == \
        [line.rsplit("\t", 1)[0] for line in want]
    skips = [str(x.message) for x in w if "skipped" in str(x.message)]
    assert skips and all("damaged.hpd: offset" in s for s in skips)


def test_threads_share_nothing_but_the_file():
    """Several threads iterate one HPD (each its own iteration) and one iterator."""
    hpd = HPD(str(support.DATA / "small-a"))
    counts = []
    shared = iter(hpd)
    taken = []

    def whole():
        counts.append(sum(1 for _ in hpd))

    def part():
        n = 0
        for _ in shared:
            n += 1
        taken.append(n)

    threads = [threading.Thread(target=f) for f in (whole, whole, part, part)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [538889, 538889]
    assert sum(taken) == 538889
