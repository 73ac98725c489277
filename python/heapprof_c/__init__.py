"""heapprof_c: heapprof's analysis API (heapprof 1.0.2's names) on libheapprof.

    import heapprof_c
    r = heapprof_c.read("prof", timeInterval=1)    # digests prof.hpm + prof.hpd if needed
    r.timePlot().pyplot()
    r.writeFlameGraph("prof.txt", r.elapsedTime() / 2)

heapprof_c.lowlevel has HPM, HPD, HPDEvent and HPC (with HPC.make, the digest);
docs/PYTHON.md in the heapprof-c repository lists every difference from heapprof 1.0.2.
"""
import os
import warnings
from typing import Optional

from . import _heapprof_c
from ._heapprof_c import FormatError
from .flow_graph import FlowGraph
from .lowlevel import HPC, FileBase
from .reader import Reader
from .types import HeapTrace, RawTrace, RawTraceLine, Snapshot, TraceLine

__all__ = [
    "DEFAULT_SAMPLING_RATE", "FlowGraph", "FormatError", "HeapTrace", "RawTrace",
    "RawTraceLine", "Reader", "Snapshot", "TraceLine", "read", "__version__",
]

#: The package's version: libheapprof's.
__version__ = _heapprof_c.library_version()

#: heapprof's default sampling rates ({max bytes: probability}), for reference: profiles are
#: made by heapprof itself.
DEFAULT_SAMPLING_RATE = {128: 1e-4, 8192: 0.1}


def _same_parameters(hpc: HPC, timeInterval: float, precision: float) -> Optional[str]:
    """None when the digest was made with these parameters (or may have been: a v1 file
    records no precision), else what it was made with."""
    ms = round(timeInterval * 1000)
    params = hpc.recordedParams
    if hpc._intervalMs != ms:
        made = f"interval {hpc.timeInterval:g} s"
    elif params is not None and params[1] != precision:
        made = f"precision {params[1]:g}"
    else:
        return None
    return made


def read(filebase: FileBase, timeInterval: float = 60, precision: float = 0.01) -> Reader:
    """Opens a profile, digesting it first (verbosely) unless FILEBASE.hpc exists and was
    made with the same interval (in whole ms) and precision (where the file records it: v2
    files made by heapprof-c; a v1 file is taken as made with any precision).

    A .hpc made with other parameters is replaced (with a RuntimeWarning), or used as it is
    when there is no .hpd to digest; a .hpc that cannot be read is never overwritten: read()
    raises FormatError and leaves it as it is.
    """
    try:
        r = Reader(filebase)
    except FormatError as e:
        raise FormatError(
            f"{e} (heapprof_c.read() does not overwrite a digest it cannot read: remove it, "
            f"or make a new one with Reader.makeDigest() or heapprof_c.lowlevel.HPC.make())"
        ) from e
    try:
        if r.hasDigest():
            if not isinstance(timeInterval, (int, float)) or isinstance(timeInterval, bool):
                raise TypeError(
                    f"timeInterval must be a number, not {type(timeInterval).__name__}")
            made = _same_parameters(r.hpc, timeInterval, precision)
            if made is None:
                return r
            if not os.path.exists(os.fsencode(filebase) + b".hpd"):
                warnings.warn(
                    f"{os.fsdecode(filebase)}.hpc was made with {made}, and there is no .hpd "
                    f"to digest again: using it as it is", RuntimeWarning, stacklevel=2)
                return r
            warnings.warn(
                f"{os.fsdecode(filebase)}.hpc was made with {made}: digesting again at "
                f"{timeInterval:g} s, precision {precision:g}", RuntimeWarning, stacklevel=2)
        r.makeDigest(timeInterval=timeInterval, precision=precision, verbose=True)
        return r
    except BaseException:
        r.close()
        raise
