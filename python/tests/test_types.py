"""heapprof_c.types: heapprof's NamedTuples, same names, fields and behaviour."""
import collections.abc

import pytest

import heapprof_c
from heapprof_c import RawTraceLine, Snapshot, TraceLine
from heapprof_c.lowlevel import HPDEvent


def test_raw_trace_line():
    line = RawTraceLine("a/b.py", 12)
    assert str(line) == "a/b.py:12"
    assert str(RawTraceLine("a/b.py", 0)) == "a/b.py"
    assert line == ("a/b.py", 12) and hash(line) == hash(("a/b.py", 12))
    assert RawTraceLine._fields == ("filename", "lineno")
    assert RawTraceLine.parse("c:/x.py:7") == RawTraceLine("c:/x.py", 7)  # the last ':'
    assert RawTraceLine.parse(line) is line
    with pytest.raises(ValueError):
        RawTraceLine.parse("no-line-number")
    with pytest.raises(ValueError):
        RawTraceLine.parse("file.py:x")


def test_trace_line_and_snapshot():
    t = TraceLine("f.py", 3, "x = 1")
    assert t._fields == ("filename", "lineno", "fileline") and t.fileline == "x = 1"
    s = Snapshot(0.5, {3: 100, 0: 20, 7: -5})
    assert s._fields == ("relativeTime", "usage")
    assert s.totalUsage() == 115 and s.relativeTime == 0.5
    assert Snapshot(0.0, {}).totalUsage() == 0
    assert s._replace(relativeTime=1.0).relativeTime == 1.0


def test_hpd_event():
    assert HPDEvent._fields == ("timestamp", "traceindex", "size", "scaleFactor")
    e = HPDEvent(1.5, 3, -10, 2.0)
    assert e._asdict() == {"timestamp": 1.5, "traceindex": 3, "size": -10, "scaleFactor": 2.0}


def test_package_names():
    for name in ("read", "Reader", "FlowGraph", "RawTraceLine", "RawTrace", "TraceLine", "DEFAULT_SAMPLING_RATE",
                 "HeapTrace", "Snapshot", "FormatError", "__version__"):
        assert hasattr(heapprof_c, name), name
    assert issubclass(heapprof_c.FormatError, ValueError)
    assert heapprof_c.FormatError.__module__ == "heapprof_c"
    assert issubclass(heapprof_c.lowlevel.HPC, collections.abc.Sequence)
    assert issubclass(heapprof_c.lowlevel.HPD, collections.abc.Iterable)
    assert heapprof_c.__version__.count(".") == 2


def test_both_ways_of_making_namedtuples(tmp_path):
    """NamedTuples made directly (CPython 3.9-3.13) and through tuple.__new__ (3.14 on,
    where a tuple caches its hash) are the same values, with a tuple's hash."""
    import support
    from heapprof_c import Reader, _heapprof_c
    from heapprof_c.lowlevel import HPD

    base = support.stage(tmp_path, "tiny", "ours.i100.p0")
    results = []
    was = _heapprof_c.fast_tuples()
    try:
        for fast in (True, False):
            _heapprof_c._set_fast_tuples(fast)
            with Reader(base) as r:
                events = list(HPD(base))
                snaps = list(r.snapshots())
                trace = r.rawTrace(44)
            for x in events[:20] + trace:
                assert hash(x) == hash(tuple(x)) and x == tuple(x)
            for x in snaps[:5]:  # a dict inside: unhashable, as heapprof's
                assert x == tuple(x) and x.relativeTime == x[0]
            assert {events[3]: 1}[tuple(events[3])] == 1
            results.append((events, snaps, trace))
    finally:
        _heapprof_c._set_fast_tuples(was)
    assert results[0] == results[1]
    assert type(results[1][0][0]) is HPDEvent and type(results[1][1][0]) is Snapshot
