"""heapprof_c.read(): reuses a digest made with the same parameters (either format), makes
one otherwise, and never overwrites a digest it cannot read."""
import os
import subprocess
import warnings

import pytest

import heapprof_c
import support
from heapprof_c import FormatError


def stamp(path):
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, open(path, "rb").read()


def test_digests_when_absent_then_reuses(tmp_path, capsys):
    base = support.stage(tmp_path, "tiny")
    r = heapprof_c.read(base, timeInterval=1, precision=0.01)
    assert isinstance(r, heapprof_c.Reader) and r.hasDigest()
    assert len(r.snapshots()) == 5 and r.hpc.format == 2
    assert "tiny: 1002 events" in capsys.readouterr().err  # verbose, as heapprof's read()
    r.close()
    before = stamp(base + ".hpc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with heapprof_c.read(base, 1, 0.01) as r:
            assert len(r.snapshots()) == 5
    assert stamp(base + ".hpc") == before and capsys.readouterr().err == ""


def test_other_parameters_make_a_new_digest(tmp_path):
    base = support.stage(tmp_path, "tiny")
    heapprof_c.read(base, 1, 0.01).close()
    with pytest.warns(RuntimeWarning, match=r"tiny.hpc was made with interval 1 s: digesting "
                                            r"again at 0.5 s, precision 0.01"):
        with heapprof_c.read(base, 0.5, 0.01) as r:
            assert r.snapshotInterval() == 0.5 and len(r.snapshots()) == 8
    with pytest.warns(RuntimeWarning, match="made with precision 0.01"):
        with heapprof_c.read(base, 0.5, 0) as r:
            assert r.hpc.recordedParams == (500, 0.0)
    # 0.5004 s is 500 ms: the same digest
    before = stamp(base + ".hpc")
    heapprof_c.read(base, 0.5004, 0).close()
    assert stamp(base + ".hpc") == before


def test_other_parameters_without_hpd(tmp_path):
    """Nothing to digest again: the digest there is used, with a warning."""
    base = support.stage(tmp_path, "tiny", "ours.i100.p0", hpd=False)
    before = stamp(base + ".hpc")
    with pytest.warns(RuntimeWarning, match="made with interval 0.1 s, and there is no .hpd"):
        with heapprof_c.read(base) as r:
            assert r.snapshotInterval() == 0.1 and len(r.snapshots()) == 35
    assert stamp(base + ".hpc") == before


def test_heapprof_v1_digest_is_reused(tmp_path):
    """heapprof's own v1 files record no precision: the interval decides."""
    base = support.stage(tmp_path, "small-a", "heapprof.i100.p0")
    before = stamp(base + ".hpc")
    with heapprof_c.read(base, 0.1) as r:
        assert r.hpc.format == 1 and len(r.snapshots()) == 22
        assert r.snapshots()[3].usage[1705] == -1560738615  # as heapprof stored it
    assert stamp(base + ".hpc") == before


def test_cli_digest_is_reused(tmp_path, cli):
    base = support.stage(tmp_path, "tiny")
    subprocess.run([cli, "digest", "-q", base], check=True)  # heapprof's defaults: 60 s, 0.01
    before = stamp(base + ".hpc")
    with heapprof_c.read(base) as r:
        assert r.hpc.recordedParams == (60000, 0.01) and len(r.snapshots()) == 2
    assert stamp(base + ".hpc") == before


@pytest.mark.parametrize("content", [b"garbage", b"\0\0\0\7" + bytes(40), b"",
                                     b"\x28\xb5\x2f\xfd" + bytes(30)])
def test_unreadable_digest_is_never_overwritten(tmp_path, content):
    base = support.stage(tmp_path, "tiny")
    with open(base + ".hpc", "wb") as f:
        f.write(content)
    before = stamp(base + ".hpc")
    with pytest.raises(FormatError, match=r"tiny.hpc: .*does not overwrite a digest it cannot read"):
        heapprof_c.read(base)
    assert stamp(base + ".hpc") == before


def test_bad_arguments(tmp_path):
    base = support.stage(tmp_path, "tiny")
    with pytest.raises(ValueError, match="invalid interval"):
        heapprof_c.read(base, 0)
    with pytest.raises(TypeError):
        heapprof_c.read(base, "60")
    assert not os.path.exists(base + ".hpc")
    heapprof_c.read(base, 1).close()
    with pytest.raises(TypeError, match="timeInterval must be a number"):
        heapprof_c.read(base, "60")
    with pytest.raises(FileNotFoundError, match="nope.hpm: cannot open"):
        heapprof_c.read(str(tmp_path / "nope"))
