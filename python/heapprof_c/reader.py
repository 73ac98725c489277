"""heapprof's Reader on libheapprof: a profile and its digest, and the analyses on them
(time plots, flame graphs, flow graphs). Differences from heapprof 1.0.2 are listed in
docs/PYTHON.md."""
import math
import os
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, TextIO, Tuple, Union

from . import _heapprof_c as _c
from .flow_graph import FlowGraph
from .lowlevel import HPC, HPD, HPM, FileBase
from .types import HeapTrace, RawTrace, RawTraceLine, Snapshot

def _usage(snapshot) -> Mapping:
    usage = getattr(snapshot, "usage", None)
    if not isinstance(usage, Mapping):
        raise TypeError(f"expected a Snapshot, not {type(snapshot).__name__}")
    return usage


def _writer(output):
    write = getattr(output, "write", None)
    if not callable(write):
        raise TypeError(f"output must be a text file, not {type(output).__name__}")
    return write


# snapshotAt(t) rounds t / interval down, forgiving this much below a whole number, so
# that snapshotAt(s.relativeTime) is s (0.3 / 0.1 is 2.9999999999999996); as the CLI's
# `snapshot --at`.
_AT_TOLERANCE = 1e-9


class Reader:
    """A profile, FILEBASE.hpm + .hpd, and its digest FILEBASE.hpc when there is one.

    Reader(filebase) opens the .hpm and, when it exists, the .hpc (either format); a .hpc
    that exists but cannot be read raises FormatError (heapprof silently ignores it). Use
    it in a `with` statement, or close() it.
    """

    def __init__(self, filebase: FileBase) -> None:
        self.filebase = filebase
        self._hpm = HPM(filebase)
        self._hpd = HPD(filebase, self._hpm)
        self._hpc: Optional[HPC] = None
        self._stacks: Dict[int, Optional[str]] = {}
        try:
            self._openHPC()
        except BaseException:
            self._hpm.close()
            raise

    def _openHPC(self) -> None:
        try:
            self._hpc = HPC(self.filebase, self._hpm)
        except FileNotFoundError:
            self._hpc = None

    def hasDigest(self) -> bool:
        """Whether FILEBASE.hpc is open (make one with makeDigest(), or heapprof_c.read())."""
        return self._hpc is not None

    def makeDigest(self, timeInterval: float = 60, precision: float = 0.01,
                   verbose: bool = False, *, threads: int = 0, format: str = "v2",
                   salvage: bool = False, override_sampling: bool = False) -> None:
        """Digests the profile into FILEBASE.hpc, replacing any digest there, and opens it
        (see HPC.make for the parameters). A failed digest leaves the previous one, open and
        on disk, untouched."""
        self._check()
        HPC.make(self.filebase, timeInterval, precision, verbose, threads=threads,
                 format=format, salvage=salvage, override_sampling=override_sampling)
        old = self._hpc
        self._hpc = None
        if old is not None:
            old.close()
        self._openHPC()

    def close(self) -> None:
        """Closes the profile and its digest; the Reader is unusable afterwards."""
        self._hpd.close()
        if self._hpc is not None:
            self._hpc.close()
        self._hpm.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    # -- the profile and its digest --------------------------------------------------------

    def _check(self) -> None:
        if self._hpm.closed:
            raise ValueError("I/O operation on a closed Reader")

    def _digest(self) -> HPC:
        self._check()
        if self._hpc is None:
            raise AssertionError(
                f"{os.fsdecode(self.filebase)}: no digest (use makeDigest() or heapprof_c.read())")
        return self._hpc

    def initialTime(self) -> float:
        """The profile's start, seconds since the epoch (from the .hpm)."""
        self._check()
        return self._hpm.initialTime

    def elapsedTime(self) -> float:
        """Number of snapshots x interval: the time the digest covers."""
        hpc = self._digest()
        return hpc._relativeTime(len(hpc))

    def finalTime(self) -> float:
        return self.initialTime() + self.elapsedTime()

    def samplingRate(self) -> Dict[int, float]:
        self._check()
        return self._hpm.samplingRate

    def snapshotInterval(self) -> float:
        """Seconds between snapshots."""
        return self._digest().timeInterval

    def trace(self, traceindex: int) -> Optional[HeapTrace]:
        return self._hpm.trace(traceindex)

    def rawTrace(self, traceindex: int) -> Optional[RawTrace]:
        return self._hpm.rawTrace(traceindex)

    def snapshots(self) -> Sequence[Snapshot]:
        """The digest's snapshots (the HPC itself)."""
        return self._digest()

    def snapshotAt(self, relativeTime: float) -> Snapshot:
        """The snapshot at or before relativeTime (seconds since the start), clamped to the
        first and last snapshots."""
        hpc = self._digest()
        n = len(hpc)
        if n == 0:
            raise IndexError(f"{os.fsdecode(self.filebase)}.hpc: the digest has no snapshots")
        x = relativeTime / hpc.timeInterval
        if x != x:
            raise ValueError("relativeTime is NaN")
        if x >= n:
            return hpc[n - 1]
        if x <= 0:
            return hpc[0]
        return hpc[min(n - 1, math.floor(x + _AT_TOLERANCE))]

    @property
    def hpm(self) -> HPM:
        return self._hpm

    @property
    def hpd(self) -> HPD:
        return self._hpd

    @property
    def hpc(self) -> Optional[HPC]:
        return self._hpc

    def fastGetUsage(self, snapshot: Snapshot, lines: Tuple[RawTraceLine, ...],
                     cumulative: bool = True) -> Tuple[Tuple[int, ...], int]:
        """Bytes attributed to each of `lines` in a snapshot, and its total. Cumulative: a
        trace counts for every line it contains (a line given twice counts twice, at both
        places, as in heapprof); otherwise only for its innermost line."""
        self._check()
        usage = _usage(snapshot)
        raw = self._hpm._h.raw_trace
        data: Dict[RawTraceLine, int] = {}
        total = 0
        for traceindex, size in usage.items():
            total += size
            trace = raw(traceindex)
            if trace is None:
                continue
            if not cumulative:
                if trace and trace[-1] in lines:
                    data[trace[-1]] = data.get(trace[-1], 0) + size
            else:
                for line in lines:
                    if line in trace:
                        data[line] = data.get(line, 0) + size
        return tuple(data.get(line, 0) for line in lines), total

    # -- time plots ------------------------------------------------------------------------

    class TimePlot(NamedTuple):
        """timePlot()'s data: parallel lists over snapshots (times in seconds, total bytes),
        one list per requested line in `lines`, and their `labels`."""

        times: List[float]
        totalUsage: List[int]
        lines: List[List[int]]
        labels: List[str]

        def pyplot(self, scale: int = 1 << 20) -> None:
            """Shows the plot with matplotlib (pip install matplotlib, or apt-get install
            python3-matplotlib): total usage; with lines, also each line's usage and its
            share of the total. Byte values are divided by `scale` (default MiB)."""
            try:
                import matplotlib.pyplot as plt
            except ImportError:
                raise ImportError(
                    "TimePlot.pyplot() needs matplotlib: apt-get install python3-matplotlib "
                    "or pip install matplotlib") from None
            if self.lines:
                _, (total, raw, share) = plt.subplots(3, 1, sharex=True)
                total.plot(self.times, [t / scale for t in self.totalUsage])
                series: list = []
                for line in self.lines:
                    series += [self.times, [v / scale for v in line]]
                raw.plot(*series)
                shares: list = []
                for line in self.lines:
                    shares += [self.times,
                               [v / t if t else math.nan for v, t in zip(line, self.totalUsage)]]
                share.plot(*shares)
                plt.legend(self.labels)
            else:
                _, ax = plt.subplots()
                ax.plot(self.times, [t / scale for t in self.totalUsage])
            plt.show()

    def timePlot(self, lines: Optional[Dict[str, Union[str, RawTraceLine]]] = None
                 ) -> "Reader.TimePlot":
        """Total usage at every snapshot and, for each {label: line} given (a RawTraceLine
        or "file:line"), that line's cumulative usage (labels sorted)."""
        hpc = self._digest()
        lines = lines or {}
        if not isinstance(lines, Mapping):
            raise TypeError(f"lines must be a dict of label: line, not {type(lines).__name__}")
        labels = sorted(list(lines.keys()))
        wanted = tuple(RawTraceLine.parse(lines[label]) for label in labels)
        times = [hpc._relativeTime(k) for k in range(len(hpc))]
        raw = self._hpm._h.raw_trace
        counts: Dict[RawTraceLine, int] = {}
        for line in wanted:
            counts[line] = counts.get(line, 0) + 1

        def match(traceindex: int):
            trace = raw(traceindex)
            if not trace:
                return ()
            return [(j, counts[line]) for j, line in enumerate(wanted) if line in trace]

        series = hpc._h.series(len(wanted), match)
        if series is not None:
            totals, values = series
        else:  # an int64 sum overflowed: Python's integers are exact
            totals, values = [], [[] for _ in wanted]
            for snapshot in hpc:
                data, total = self.fastGetUsage(snapshot, wanted, cumulative=True)
                totals.append(total)
                for column, datum in zip(values, data):
                    column.append(datum)
        return self.TimePlot(times, totals, values, labels)

    # -- flow graphs -----------------------------------------------------------------------

    def flowGraph(self, snapshot: Snapshot) -> FlowGraph:
        """The FlowGraph of a snapshot (dicts in first-seen order, as heapprof's)."""
        self._check()
        usage = _usage(snapshot)
        raw = self._hpm._h.raw_trace
        local: Dict[RawTraceLine, int] = {}
        cumulative: Dict[RawTraceLine, int] = {}
        edges: Dict[Tuple[RawTraceLine, RawTraceLine], int] = {}
        total = 0
        for traceindex, size in usage.items():
            total += size
            trace = raw(traceindex)
            if trace is None:
                continue
            last = len(trace) - 1
            for i, line in enumerate(trace):
                cumulative[line] = cumulative.get(line, 0) + size
                if i < last:
                    edge = (line, trace[i + 1])
                    edges[edge] = edges.get(edge, 0) + size
                else:
                    local[line] = local.get(line, 0) + size
        return FlowGraph(local, cumulative, edges, total)

    def flowGraphAt(self, relativeTime: float) -> FlowGraph:
        return self.flowGraph(self.snapshotAt(relativeTime))

    def compareFlowGraphs(self, dotFile: str, *relativeTimes: float, **kwargs) -> None:
        """FlowGraph.compare() of the snapshots at these times, into dotFile."""
        graphs = tuple(self.flowGraphAt(t) for t in relativeTimes)
        FlowGraph.compare(dotFile, *graphs, **kwargs)

    # -- flame graphs ----------------------------------------------------------------------

    def _stack(self, traceindex: int) -> Optional[str]:
        stack = self._stacks.get(traceindex, False)
        if stack is False:
            trace = self._hpm._h.raw_trace(traceindex)
            stack = ";".join(f"{l.filename}:{l.lineno}" for l in trace) if trace else None
            self._stacks[traceindex] = stack
        return stack

    def flameGraph(self, snapshot: Snapshot, output: TextIO) -> None:
        """Writes a snapshot in the "collapsed stack" format of flame graphs (speedscope.app,
        flamegraph.pl): "file:line;file:line;... SIZE" per trace, outermost first, in the
        snapshot's order; bytes without a trace last as "OTHER SIZE" when positive."""
        self._check()
        usage = _usage(snapshot)
        write = _writer(output)
        text = []
        other = 0
        for traceindex, size in usage.items():
            stack = self._stack(traceindex)
            if stack is None:
                other += size
            else:
                text.append(f"{stack} {size}\n")
        if other > 0:
            text.append(f"OTHER {other}\n")
        write("".join(text))

    def flameGraphAt(self, relativeTime: float, output: TextIO) -> None:
        self.flameGraph(self.snapshotAt(relativeTime), output)

    def writeFlameGraph(self, filename: str, when: Union[float, Snapshot]) -> None:
        """flameGraph() of a snapshot, or of the snapshot at a time, into a file."""
        snapshot = when if isinstance(when, Snapshot) else self.snapshotAt(when)
        with open(filename, "w") as output:
            self.flameGraph(snapshot, output)
