"""heapprof's data types (heapprof.types), the same names and fields."""
from typing import Dict, List, NamedTuple, Union


class RawTraceLine(NamedTuple):
    """One line of code: a file name and a line number."""

    filename: str
    lineno: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}" if self.lineno else self.filename

    @classmethod
    def parse(cls, value: Union["RawTraceLine", str]) -> "RawTraceLine":
        """A RawTraceLine, or one from a "file:line" string (split at the last ':')."""
        if isinstance(value, RawTraceLine):
            return value
        filename, line = value.rsplit(":", 1)
        return cls(filename, int(line))


# A raw stack trace, outermost frame first.
RawTrace = List[RawTraceLine]


class TraceLine(NamedTuple):
    """A RawTraceLine with its source line (stripped; '' when unreadable)."""

    filename: str
    lineno: int
    fileline: str


HeapTrace = List[TraceLine]


class Snapshot(NamedTuple):
    """The heap at one moment: relativeTime (seconds since the profile's start) and usage,
    trace index -> live bytes in the digest's order (trace 0: bytes without a trace)."""

    relativeTime: float
    usage: Dict[int, int]

    def totalUsage(self) -> int:
        return sum(self.usage.values())
