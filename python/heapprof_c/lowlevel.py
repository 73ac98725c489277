"""heapprof.lowlevel on libheapprof: HPM (.hpm metadata and traces), HPD (.hpd events),
HPDEvent, and HPC (.hpc digests, v1 and v2), with HPC.make (the digest).

Every handle is a context manager; close() twice is harmless and any use after close()
raises ValueError. Files are read by the C library (heapprof_c._heapprof_c); this module
only shapes the results as heapprof 1.0.2's Python API does. Differences from heapprof are
listed in docs/PYTHON.md.
"""
import linecache
import operator
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Union

from . import _heapprof_c as _c
from .types import HeapTrace, RawTrace, RawTraceLine, Snapshot, TraceLine

FileBase = Union[str, bytes, "os.PathLike[str]"]


class HPDEvent(NamedTuple):
    """One event of a .hpd: its absolute time (seconds since the epoch), the trace index of
    the allocation (also for a free), the size in bytes (negative for a free) and the scale
    factor of that size (1/p of its sampling range)."""

    timestamp: float
    traceindex: int
    size: int
    scaleFactor: float


_c._register(RawTraceLine, Snapshot, HPDEvent)


def _with_ext(filebase: FileBase, ext: str) -> bytes:
    return os.fsencode(filebase) + ext.encode()


class _Handle:
    """Context manager plumbing shared by the handles."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


class HPM(_Handle):
    """FILEBASE.hpm: the profile's start time, sampling rates and stack traces."""

    def __init__(self, filebase: FileBase) -> None:
        self._h = _c.HPMHandle(filebase)
        self.filebase = filebase
        self._initialTime, self._initialSeconds, self._initialNanoseconds = self._h.initial_time()
        self._samplingRate: Dict[int, float] = self._h.sampling_rate()
        self._scaleFactors = sorted(
            (maxSize, 1 / p if p != 0 else 0) for maxSize, p in self._samplingRate.items()
        )
        self._traces: Dict[int, Optional[HeapTrace]] = {}

    @property
    def initialTime(self) -> float:
        """The profile's start, seconds since the epoch."""
        return self._initialTime

    @property
    def samplingRate(self) -> Dict[int, float]:
        """{max bytes: probability}: a size below a key (and at or above the previous key) was
        recorded with that probability; sizes beyond every key always."""
        return self._samplingRate

    @property
    def closed(self) -> bool:
        return self._h.closed

    def rawTrace(self, traceindex: int) -> Optional[RawTrace]:
        """Trace `traceindex` as RawTraceLines, outermost first (the same list on every call),
        or None for 0 and any index the .hpm does not hold."""
        return self._h.raw_trace(traceindex)

    def trace(self, traceindex: int) -> Optional[HeapTrace]:
        """rawTrace() with each line's source text (read through linecache, stripped), or None
        (also for a trace without frames, as heapprof)."""
        if traceindex in self._traces and not self._h.closed:
            return self._traces[traceindex]
        raw = self._h.raw_trace(traceindex)
        trace = (
            [TraceLine(l.filename, l.lineno, linecache.getline(l.filename, l.lineno).strip())
             for l in raw]
            if raw
            else None
        )
        self._traces[traceindex] = trace
        return trace

    def scaleFactor(self, eventSize: int) -> float:
        """1/p for the range that holds |eventSize| (0 when p is 0), 1 beyond every range."""
        if self._h.closed:
            raise ValueError("I/O operation on a closed HPM")
        size = abs(eventSize)
        for maxSize, factor in self._scaleFactors:
            if size < maxSize:
                return factor
        return 1

    def warmRawTraceCache(self) -> None:
        """Loads every trace now (the GIL is released while the file is parsed)."""
        self._h.warm()

    def numTraces(self) -> int:
        """The number of traces in the .hpm (an extra of heapprof_c)."""
        return self._h.num_traces()

    def close(self) -> None:
        self._h.close()
        self._traces = {}


class HPD(_Handle, Iterable[HPDEvent]):
    """FILEBASE.hpd: iterating it yields every event as an HPDEvent. Each iteration reads the
    file anew. With salvage=True (an extra of heapprof_c), damaged stretches are skipped with
    a RuntimeWarning each instead of raising FormatError."""

    def __init__(self, filebase: FileBase, hpm: Optional[HPM] = None, *,
                 salvage: bool = False) -> None:
        if hpm is not None and not isinstance(hpm, HPM):
            raise TypeError(f"hpm must be an HPM, not {type(hpm).__name__}")
        self._ownHpm = hpm is None
        self.hpm = hpm if hpm is not None else HPM(filebase)
        self.filebase = filebase
        self._h = _c.HPDHandle(self.hpm._h, filebase, bool(salvage))

    @property
    def closed(self) -> bool:
        return self._h.closed

    def __iter__(self) -> Iterator[HPDEvent]:
        return iter(self._h)

    def close(self) -> None:
        """Ends every iteration of this HPD; closes the HPM too when the HPD opened it."""
        self._h.close()
        if self._ownHpm:
            self.hpm.close()


class HPC(_Handle, Sequence):
    """FILEBASE.hpc, format v1 (heapprof's) or v2 (zstd): a Sequence of Snapshot, one per
    interval, snapshot k being the heap at k * timeInterval seconds."""

    def __init__(self, filebase: FileBase, hpm: Optional[HPM] = None) -> None:
        if hpm is not None and not isinstance(hpm, HPM):
            raise TypeError(f"hpm must be an HPM, not {type(hpm).__name__}")
        self._ownHpm = hpm is None
        self.hpm = hpm if hpm is not None else HPM(filebase)
        self.filebase = filebase
        try:
            self._h = _c.HPCHandle(_with_ext(filebase, ".hpc"))
        except BaseException:
            if self._ownHpm:
                self.hpm.close()
            raise
        info = self._h.info()
        self._n: int = info["length"]
        self._offsets: Optional[List[int]] = None
        #: The profile's start, seconds since the epoch (exact, from the header).
        self.initialTime: float = info["initial_time"]
        #: Seconds between snapshots.
        self.timeInterval: float = info["time_interval"]
        #: 1 (heapprof's format) or 2 (zstd), an extra of heapprof_c.
        self.format: int = info["format"]
        #: (interval in ms, precision) as a v2 file records them, else None.
        self.recordedParams = info["recorded_params"]
        self._intervalMs: int = round(self.timeInterval * 1000)

    @property
    def offsets(self) -> List[int]:
        """Where each snapshot's record starts, in the v1 stream (the decompressed stream
        for a v2 file)."""
        if self._offsets is None:
            self._offsets = self._h.offsets()
        return self._offsets

    @property
    def closed(self) -> bool:
        return self._h.closed

    def _check(self) -> None:
        if self._h.closed:
            raise ValueError("I/O operation on a closed HPC")

    def __len__(self) -> int:
        self._check()
        return self._n

    def __getitem__(self, key):
        self._check()
        if isinstance(key, slice):
            return [self._h.snapshot(k) for k in range(*key.indices(self._n))]
        try:
            k = operator.index(key)
        except TypeError:
            raise TypeError(
                f"HPC indices must be integers or slices, not {type(key).__name__}"
            ) from None
        if k < 0:
            k += self._n
        if not 0 <= k < self._n:
            raise IndexError("HPC index out of range")
        return self._h.snapshot(k)

    def __iter__(self) -> Iterator[Snapshot]:
        self._check()
        return self._h.iter_range(0, self._n)

    def _relativeTime(self, k: int) -> float:
        # exactly the C library's k * ms / 1000 (snapshot.relativeTime)
        return k * self._intervalMs / 1000

    def close(self) -> None:
        """Closes the file; and the HPM when the HPC opened it."""
        self._h.close()
        if self._ownHpm:
            self.hpm.close()

    @classmethod
    def make(cls, filebase: FileBase, timeInterval: float, precision: float,
             verbose: bool = False, *, threads: int = 0, format: str = "v2",
             salvage: bool = False, override_sampling: bool = False,
             output: Optional[FileBase] = None) -> None:
        """Digests FILEBASE.hpm + .hpd into FILEBASE.hpc (or `output`): a snapshot every
        timeInterval seconds (rounded to whole milliseconds, at least 0.001), entries
        totalling up to `precision` (in [0, 1)) of each snapshot folded into trace 0.

        Extras of heapprof_c: `threads` (0: OMP_NUM_THREADS, else every core), `format`
        ('v2', zstd, or 'v1', heapprof's), `salvage` (skip damaged stretches of the .hpd),
        `override_sampling` (treat every event as recorded: heapprof 1.0 on 64-bit Linux
        records every allocation while storing the requested rates), `output` (another
        path). The GIL is released while it runs; Ctrl-C cancels it. The file appears whole
        or not at all: a failed or cancelled digest leaves a previous .hpc untouched. With
        `verbose`, the report (events, MB/s, phases) goes to sys.stderr.
        """
        for name, value in (("threads", threads),):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if not isinstance(format, str):
            raise TypeError(f"format must be a str, not {type(format).__name__}")
        extra = {} if output is None else {"output": output}
        report, text = _c.make(
            filebase, timeInterval, precision, threads=threads, format=format,
            salvage=bool(salvage), override_sampling=bool(override_sampling), **extra,
        )
        name = os.fsdecode(filebase)
        if report["skips"]:
            warnings.warn(
                f"{name}.hpd: salvaged: skipped {report['skips']} damaged stretches "
                f"({report['skipped_bytes']} bytes, the first at offset "
                f"{report['first_skip_offset']})", RuntimeWarning, stacklevel=2)
        if report["truncated_bytes"]:
            warnings.warn(
                f"{name}.hpd: partial final event ({report['truncated_bytes']} bytes) ignored",
                RuntimeWarning, stacklevel=2)
        if report["negative_snapshots"]:
            warnings.warn(
                f"{name}: {report['negative_snapshots']} snapshots left out traces with "
                f"negative live bytes", RuntimeWarning, stacklevel=2)
        if verbose:
            sys.stderr.write(text)
            sys.stderr.flush()
