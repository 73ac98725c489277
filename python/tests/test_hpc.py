"""HPC: heapprof 1.0.2's outputs (expected/F/D/hpc.json) with its misreadings corrected, v2
files, heapprof's own digests (negative entries, zero snapshots), HPC.make, bad input."""
import collections.abc
import os
import subprocess
import threading
import time

import pytest

import support
from heapprof_c import FormatError, Snapshot
from heapprof_c.lowlevel import HPC, HPM


@pytest.mark.parametrize("fixture,dname", support.ALL)
def test_hpc_matches_heapprof(fixture, dname, staged):
    want = support.expected_json(f"{fixture}/{dname}/hpc.json")
    ref = want["reference"]
    right = support.right_usage(fixture, dname)
    with HPC(staged(fixture, dname)) as hpc:
        assert isinstance(hpc, collections.abc.Sequence)
        assert len(hpc) == want["len"] == len(right)
        assert hpc.format == 1 and hpc.recordedParams is None
        # heapprof rounds both to a float32: the right values come from the header
        assert hpc.initialTime == ref["initialTime"]
        assert hpc.timeInterval == ref["interval_ms"] / 1000
        assert hpc.offsets == want["offsets"]
        snaps = list(hpc)
        for k, s in enumerate(snaps):
            assert type(s) is Snapshot
            assert s.relativeTime == k * ref["interval_ms"] / 1000
            assert [[t, b] for t, b in s.usage.items()] == right[k]
            assert s.totalUsage() == ref["snapshot_totals"][k]
            assert hpc[k] == s
        # heapprof: -interval; here the last snapshot
        assert hpc[-1] == snaps[-1]
        assert hpc[-1].relativeTime == (len(hpc) - 1) * ref["interval_ms"] / 1000
        assert hpc[0:2] == snaps[0:2] and hpc[::-5] == snaps[::-5]  # heapprof: NotImplemented
        assert [[k, j, t, b] for k, s in enumerate(snaps) for j, (t, b) in enumerate(s.usage.items())
                if b < 0] == ref["negative_entries"]
        assert [[k, j, t] for k, s in enumerate(snaps) for j, (t, b) in enumerate(s.usage.items())
                if b == 0] == ref["zero_entries"]


def test_misread_snapshots_are_right(staged):
    """The snapshots heapprof misreads (entries of 2 GiB or more): the stored values, so
    trace 1705 of small-a at 100 ms (expected/README.md, table 1)."""
    with HPC(staged("small-a", "ours.i100.p0")) as hpc:
        assert hpc[3].usage[1705] == 4783224291
        assert hpc[7].usage[1705] == 18243912405
        assert hpc[13].usage[1705] == 2327634767
        assert hpc[7].totalUsage() == 18952496780
        assert hpc[13].totalUsage() == 2997776016
        assert all(b > 0 for s in hpc for b in s.usage.values())


def test_sequence_behaviour(staged):
    with HPC(staged("tiny", "ours.i1000.p0_01")) as hpc:
        n = len(hpc)
        assert n == 5
        for bad in (n, -n - 1, 1 << 70, -(1 << 70)):
            with pytest.raises(IndexError):
                hpc[bad]
        for bad in ("1", 1.0, None, (1,)):
            with pytest.raises(TypeError, match="HPC indices must be integers or slices"):
                hpc[bad]
        assert hpc[True] == hpc[1]
        s = hpc[2]
        assert s in hpc and hpc.index(s) == 2 and hpc.count(s) == 1
        assert list(reversed(hpc)) == list(hpc)[::-1]
        assert Snapshot(2.0, {}) not in hpc
        it = iter(hpc)
        assert next(it) == hpc[0]
        assert len(list(it)) == n - 1


def test_zero_snapshots(staged, tmp_path):
    """heapprof's digest of a run shorter than its interval has no snapshot."""
    base = staged("tiny")
    import shutil
    shutil.copyfile(support.DATA / "tiny.heapprof.i10000.p0.hpc", base + ".hpc")
    with HPC(base) as hpc:
        assert len(hpc) == 0 and list(hpc) == [] and hpc.offsets == []
        assert hpc.timeInterval == 10.0
        with pytest.raises(IndexError):
            hpc[0]
        with pytest.raises(IndexError):
            hpc[-1]
        assert hpc[:] == []


def test_v2_equals_v1(staged, tmp_path, cli):
    base = staged("small-a")
    HPC.make(base, 0.1, 0.0, False, format="v1", output=str(tmp_path / "v1.hpc"))
    HPC.make(base, 0.1, 0.0, False)
    assert open(base + ".hpc", "rb").read(4) == b"\x28\xb5\x2f\xfd"
    v1 = HPC(staged("small-a", name="v1"))
    with HPC(base) as v2:
        assert v2.format == 2 and v2.recordedParams == (100, 0.0)
        assert v1.format == 1 and v1.recordedParams is None
        assert len(v2) == len(v1) == 24
        assert list(v2) == list(v1)
        assert v2.offsets == v1.offsets
        assert v2.initialTime == v1.initialTime == 1795576262.8994565
        for k in (23, 0, 13, 7):  # random access
            assert v2[k] == v1[k]
    v1.close()
    # the same file as the CLI's (the same library)
    subprocess.run([cli, "digest", "-q", "-i", "0.1", "-p", "0", "-o", str(tmp_path / "c.hpc"),
                    base], check=True)
    assert open(tmp_path / "c.hpc", "rb").read() == open(base + ".hpc", "rb").read()


def test_make_options(staged, tmp_path, capsys, cli, generated):
    base = staged("tiny")
    HPC.make(base, 1, 0.01, True, threads=2)
    err = capsys.readouterr().err
    assert "tiny: 1002 events" in err and "phases: resync" in err and "5 snapshots" in err
    with HPC(base) as hpc:
        assert len(hpc) == 5 and hpc.recordedParams == (1000, 0.01)
    out = str(tmp_path / "elsewhere.hpc")
    HPC.make(base, 0.25, 0, False, output=out, format="v1")
    assert open(out, "rb").read(4) == b"\0\0\0\1"
    # heapprof truncates the interval to whole ms; this rounds: 0.0996 s is 100 ms
    HPC.make(base, 0.0996, 0, False, output=out)
    with HPC(staged("tiny", name="elsewhere")) as hpc:
        pass
    fb = str(tmp_path / "elsewhere")
    os.replace(out, fb + ".hpc")
    with HPC(fb) as hpc:
        assert hpc.timeInterval == 0.1
    # override_sampling: as the CLI's --override-sampling
    full = generated["gen"]
    HPC.make(full, 1, 0.01, False, override_sampling=True, output=str(tmp_path / "o1.hpc"))
    subprocess.run([cli, "digest", "-q", "-i", "1", "--override-sampling", "-o",
                    str(tmp_path / "o2.hpc"), full], check=True)
    assert open(tmp_path / "o1.hpc", "rb").read() == open(tmp_path / "o2.hpc", "rb").read()


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((0, 0.01), {}, ValueError, "invalid interval 0 s"),
    ((0.0004, 0.01), {}, ValueError, "invalid interval"),
    ((float("nan"), 0.01), {}, ValueError, "invalid interval"),
    ((1e10, 0.01), {}, ValueError, "invalid interval"),
    ((1, 1.0), {}, ValueError, r"invalid precision 1 \(must be in \[0, 1\)\)"),
    ((1, -0.1), {}, ValueError, "invalid precision"),
    ((1, 0.01), {"format": "v3"}, ValueError, "invalid format 'v3'"),
    ((1, 0.01), {"threads": -1}, ValueError, "invalid thread count -1"),
    ((1, 0.01), {"threads": 5000}, ValueError, "invalid thread count"),
    (("1", 0.01), {}, TypeError, ""),
    ((1, None), {}, TypeError, ""),
    ((1, 0.01), {"threads": "2"}, TypeError, ""),
    ((1, 0.01), {"threads": 2.0}, TypeError, ""),
    ((1, 0.01), {"format": 2}, TypeError, ""),
    ((1, 0.01), {"bogus": 1}, TypeError, ""),
])
def test_make_bad_arguments(staged, args, kwargs, exc, match):
    base = staged("tiny")
    with pytest.raises(exc, match=match):
        HPC.make(base, *args, False, **kwargs)
    assert not os.path.exists(base + ".hpc")


def test_make_bad_input(staged, tmp_path, generated):
    with pytest.raises(FileNotFoundError, match="nope.hpm: cannot open"):
        HPC.make(str(tmp_path / "nope"), 1, 0.01, False)
    with pytest.raises(TypeError):
        HPC.make(None, 1, 0.01, False)
    base = staged("tiny", hpd=False)
    with pytest.raises(FileNotFoundError, match="tiny.hpd: cannot open"):
        HPC.make(base, 1, 0.01, False)
    # a damaged stream: strict fails with the offset, and leaves a previous digest alone
    damaged = generated["damaged"]
    out = str(tmp_path / "d.hpc")
    with open(out, "wb") as f:
        f.write(b"previous")
    with pytest.raises(FormatError, match=r"damaged.hpd: offset \d+: invalid event"):
        HPC.make(damaged, 0.5, 0.01, False, output=out)
    assert open(out, "rb").read() == b"previous"
    with pytest.warns(RuntimeWarning, match="salvaged: skipped"):
        HPC.make(damaged, 0.5, 0.01, False, output=out, salvage=True)
    assert open(out, "rb").read(4) == b"\x28\xb5\x2f\xfd"
    with pytest.raises((FileNotFoundError, OSError), match="cannot create"):
        HPC.make(damaged, 0.5, 0.01, False, salvage=True, output="/nonexistent/x.hpc")


def test_make_releases_the_gil(big_profile, tmp_path):
    """Another Python thread runs while the digest works: it leaves timestamps in the
    middle of the digest's run, which it could not do if the digest held the GIL."""
    samples = []
    stop = threading.Event()

    def spin():
        n = 0
        while not stop.is_set():
            n += 1
            if n % 100 == 0:
                samples.append(time.perf_counter())

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.02)
    start = time.perf_counter()
    HPC.make(big_profile, 0.1, 0.0, False, threads=1, output=str(tmp_path / "b.hpc"))
    end = time.perf_counter()
    stop.set()
    t.join()
    quarter = (end - start) / 4
    inside = [x for x in samples if start + quarter < x < end - quarter]
    assert end - start > 0.02 and len(inside) > 10, (end - start, len(inside))


def corrupt(tmp_path, data):
    (tmp_path / "x.hpc").write_bytes(data)
    import shutil
    shutil.copyfile(support.DATA / "tiny.hpm", tmp_path / "x.hpm")
    return str(tmp_path / "x")


def read_all(base):
    with HPC(base) as hpc:
        for s in hpc:
            pass
        return len(hpc)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_damaged_digests(tmp_path, staged, fmt):
    """Every cut and many bit flips: FormatError with the file and offset, never a crash."""
    base = staged("tiny")
    HPC.make(base, 0.1, 0, False, format=fmt)
    good = open(base + ".hpc", "rb").read()
    errors = 0
    for cut in range(0, len(good), max(1, len(good) // 150)):
        try:
            read_all(corrupt(tmp_path, good[:cut]))
        except FormatError as e:
            assert "x.hpc" in str(e) and "offset" in str(e)
            errors += 1
    assert errors > 0
    import random
    rng = random.Random(5)
    for _ in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        try:
            read_all(corrupt(tmp_path, bytes(data)))
        except FormatError as e:
            assert "x.hpc" in str(e)


def test_bad_version_and_garbage(tmp_path):
    with pytest.raises(FormatError, match="x.hpc: offset 0: unsupported .hpc version 7"):
        HPC(corrupt(tmp_path, b"\0\0\0\7" + bytes(40)))
    with pytest.raises(FormatError, match="x.hpc: offset"):
        HPC(corrupt(tmp_path, b"garbage"))
    with pytest.raises(FormatError):
        HPC(corrupt(tmp_path, b""))
    with pytest.raises(FileNotFoundError, match="nope.hpm"):
        HPC(str(tmp_path / "nope"))
    os.remove(tmp_path / "x.hpc")
    with pytest.raises(FileNotFoundError, match="x.hpc: cannot open"):
        HPC(str(tmp_path / "x"))


def test_closed_and_given_hpm(staged):
    base = staged("tiny", "ours.i1000.p0_01")
    hpm = HPM(base)
    hpc = HPC(base, hpm)
    assert hpc.hpm is hpm
    it = iter(hpc)
    hpc.close()
    hpc.close()
    assert not hpm.closed
    for call in (lambda: hpc[0], lambda: len(hpc), lambda: list(hpc), lambda: next(it),
                 lambda: hpc.offsets):
        with pytest.raises(ValueError, match="closed HPC"):
            call()
    hpm.close()
    with HPC(base) as owned:
        pass
    assert owned.hpm.closed  # it opened its HPM, it closed it
    with pytest.raises(TypeError, match="hpm must be an HPM"):
        HPC(base, 42)


def test_threads_reading_one_digest(staged):
    base = staged("small-a", "ours.i100.p0")
    want = support.right_usage("small-a", "ours.i100.p0")
    hpc = HPC(base)
    errors = []

    def reader(order):
        try:
            for _ in range(5):
                for k in order:
                    assert [[t, b] for t, b in hpc[k].usage.items()] == want[k]
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    n = len(hpc)
    threads = [threading.Thread(target=reader, args=(list(range(n))[::step],))
               for step in (1, -1, 3, -2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hpc.close()
    assert errors == []


def test_reentrant_use_from_a_finalizer(tmp_path):
    """A garbage-collector callback that uses a handle while the same thread is inside it
    (building RawTraceLines) gets RuntimeError instead of waiting for itself. CPython
    3.9-3.11 collect inside allocations; from 3.12 on collections wait for the interpreter
    loop, so there the callback never finds the handle busy. In a child process: a hang
    would not block the suite."""
    import sys
    import heapprof_c
    code = f"""
import gc, sys
sys.path.insert(0, {os.path.dirname(os.path.dirname(heapprof_c.__file__))!r})
from heapprof_c.lowlevel import HPM
hpm = HPM({str(support.DATA / "small-a")!r})
inside, outside = [], []
later = iter(range(1720, 0, -1))
def callback(phase, info):
    if phase == "start":
        try:
            outside.append(len(hpm.rawTrace(next(later))))
        except RuntimeError as e:
            inside.append(str(e))
gc.callbacks.append(callback)
gc.set_threshold(1)
n = sum(len(hpm.rawTrace(i)) for i in range(1, 600))
gc.callbacks.remove(callback)
print(n, len(inside), len(outside), set(inside))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    n, inside, outside, messages = out.split(" ", 3)
    with HPM(str(support.DATA / "small-a")) as hpm:
        assert int(n) == sum(len(hpm.rawTrace(i)) for i in range(1, 600))
    assert int(inside) + int(outside) > 0
    if sys.version_info < (3, 12):
        assert int(inside) > 0
        assert "a handle used again by the thread that is using it" in messages
