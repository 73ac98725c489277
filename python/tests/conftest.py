"""pytest set-up for heapprof_c: the package under test is the one on sys.path (the Makefile
sets PYTHONPATH to the in-place build, or to the ASan build); without one, the in-place
build in python/ is used."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
try:
    import heapprof_c  # noqa: F401
except ImportError:
    sys.path.insert(0, str(HERE.parent))
    import heapprof_c  # noqa: F401

import support  # noqa: E402


def pytest_report_header(config):
    from heapprof_c import _heapprof_c

    return (f"heapprof_c {heapprof_c.__version__} from {Path(heapprof_c.__file__).parent} "
            f"(NamedTuples made {'directly' if _heapprof_c.fast_tuples() else 'by tuple.__new__'})")


@pytest.fixture
def staged(tmp_path):
    """staged(fixture, digest=None, hpd=True, name=None) -> a filebase in tmp_path."""

    def make(fixture, dname=None, hpd=True, name=None):
        return support.stage(tmp_path, fixture, dname, hpd=hpd, name=name)

    return make


def _run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """Profiles made by build/hpgen (skipped when it is not built): name -> filebase."""
    gen = support.hpgen()
    if not gen.exists():
        pytest.skip(f"{gen} is not built (make)")
    d = tmp_path_factory.mktemp("generated")
    out = {}
    specs = {
        # events, traces, seconds, seed, extra
        "gen": ("20000", "300", "30", "7", []),
        "damaged": ("5000", "40", "2", "9", ["--damage", "3"]),
        "full": ("3000", "50", "5", "3", ["--full-sampling"]),
    }
    for name, (events, traces, secs, seed, extra) in specs.items():
        _run(gen, "-e", events, "-t", traces, "-d", secs, "-s", seed, *extra, d / name)
        out[name] = str(d / name)
    return out


@pytest.fixture(scope="session")
def big_profile(tmp_path_factory):
    """A profile whose digest takes a while (hpgen, 600,000 events)."""
    gen = support.hpgen()
    if not gen.exists():
        pytest.skip(f"{gen} is not built (make)")
    d = tmp_path_factory.mktemp("big")
    _run(gen, "-e", "600000", "-t", "2000", "-d", "600", "-s", "11", d / "big")
    return str(d / "big")


@pytest.fixture(scope="session")
def cli():
    path = support.cli()
    if not path.exists():
        pytest.skip(f"{path} is not built (make)")
    return str(path)


def copy_profile(src, dst_dir, name):
    for ext in (".hpm", ".hpd", ".hpc"):
        if os.path.exists(src + ext):
            shutil.copyfile(src + ext, os.path.join(dst_dir, name + ext))
    return os.path.join(dst_dir, name)
