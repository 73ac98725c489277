"""Flow graphs as Graphviz dot text, byte for byte as heapprof 1.0.2 writes them.

The algorithm (node pruning, edge pruning, a synthetic root, collapsing of chains, the
labels, sizes and colours) follows heapprof's own (MIT-licensed, humu/heapprof) so that the
output is identical, including its dependence on hash(): node names are derived from the
hash of each RawTraceLine and the order of some edges from iteration over sets of names, so
the text depends on the string-hash seed (PYTHONHASHSEED) exactly as heapprof's does.

Where heapprof raises, this renders (docs/PYTHON.md): a graph whose total usage is 0 (an
empty snapshot) has fractions 0 instead of ZeroDivisionError, a negative size is written as
'-' and its magnitude instead of "ValueError: math domain error".
"""
import colorsys
import html
import math
from typing import Dict, List, Set, TextIO, Tuple

from .types import RawTraceLine

_MIN_FONT = 15
_MAX_FONT = 200
_FONT_FROM = 0.01
_FONT_SLOPE = (_MAX_FONT - _MIN_FONT) / (1 - _FONT_FROM)
_HUE_LOW = 200 / 360
_HUE_HIGH = 1
_SATURATION = 0.7
_VALUE = 0.95
_PREFIXES_UP = "kMGTPEZY"
_PREFIXES_DOWN = "mμnpfazy"


def bytes_string(value) -> str:
    """heapprof's bytesString: binary steps with SI letters, switching prefix at 1.1 x 1024^k,
    one decimal: 0.0B, 152.0B, 1032.0B, 46.8kB, 1.6GB (and 1024.0mB for 1)."""
    if value < 0:
        return "-" + bytes_string(-value)
    if value == 0:
        exponent, coefficient = 0, 0
    else:
        exponent = math.floor(math.log(value / 1.1) / math.log(1024))
        coefficient = value * math.pow(1024, -exponent)
    if exponent == 0:
        prefix = ""
    elif 0 < exponent <= len(_PREFIXES_UP):
        prefix = _PREFIXES_UP[exponent - 1]
    elif 0 < -exponent <= len(_PREFIXES_DOWN):
        prefix = _PREFIXES_DOWN[-exponent - 1]
    else:  # beyond yotta: heapprof raises OverflowError
        return "%.1f << %dB" % (coefficient, 10 * exponent)
    return "%.1f%sB" % (coefficient, prefix)


def node_id(line: RawTraceLine) -> str:
    return f"n{abs(hash(line)):016x}"


def _fraction(part, whole) -> float:
    return part / whole if whole else 0


def _font_size(fraction: float) -> int:
    return int(_MIN_FONT + max(0, fraction - _FONT_FROM) * _FONT_SLOPE)


def _colour(fraction: float) -> str:
    r, g, b = colorsys.hsv_to_rgb(_HUE_LOW + (_HUE_HIGH - _HUE_LOW) * fraction, _SATURATION,
                                  _VALUE)
    return "#" + "".join(f"{int(255 * v):02x}" for v in (r, g, b))


class _Sizes:
    __slots__ = ("cum", "local")

    def __init__(self, cum=0, local=0):
        self.cum = cum
        self.local = local


class _Node:
    __slots__ = ("lines", "sizes")

    def __init__(self, lines: List[RawTraceLine], sizes: List[_Sizes]):
        self.lines = lines
        self.sizes = sizes

    def absorb(self, other: "_Node") -> None:
        """Merges a collapsed descendant: its lines, and its local sizes (cumulative sizes
        are sums already)."""
        self.lines.extend(other.lines)
        for mine, theirs in zip(self.sizes, other.sizes):
            mine.local += theirs.local

    def font_size(self, graphs, by_local_usage: bool) -> int:
        if not by_local_usage:
            return _MIN_FONT
        return _font_size(max(_fraction(s.local, g.totalUsage)
                              for s, g in zip(self.sizes, graphs)))

    def label(self, graphs) -> str:
        if not self.lines:
            return ""
        n = len(self.sizes)
        parts = ['< <table border="1" cellborder="0" cellspacing="0">']
        for line in self.lines:
            name = html.escape(line.filename)
            text = f"{name}:{line.lineno}" if line.lineno else name
            parts.append(f'<tr><td colspan="{n}" bgcolor="white">{text}</td></tr>')
        parts.append("<tr>")
        for s, g in zip(self.sizes, graphs):
            fraction = _fraction(s.cum, g.totalUsage)
            parts.append(
                f'<td color="white" bgcolor="{_colour(fraction)}" cellspacing="4">'
                f"{bytes_string(s.local)} / {bytes_string(s.cum)} = "
                f"{int(100 * fraction):2d}%</td>"
            )
        parts.append("</tr></table> >")
        return "".join(parts)


def write_dot(output: TextIO, graphs, minNodeFraction: float = 0.01,
              minEdgeFraction: float = 0.05, collapseNodes: bool = True,
              sizeNodesBasedOnLocalUsage: bool = True) -> None:
    if not 0 <= minNodeFraction <= 1:
        raise ValueError("minNodeFraction must be in [0, 1]")
    if not 0 <= minEdgeFraction <= 1:
        raise ValueError("minEdgeFraction must be in [0, 1]")
    count = len(graphs)

    # nodes: every line of every graph, then those under minNodeFraction everywhere go
    nodes: Dict[str, _Node] = {}
    for index, graph in enumerate(graphs):
        for line, cum in graph.nodeCumulativeUsage.items():
            nid = node_id(line)
            node = nodes.get(nid)
            if node is None:
                node = nodes[nid] = _Node([line], [_Sizes() for _ in range(count)])
            node.sizes[index].cum = cum
            node.sizes[index].local = graph.nodeLocalUsage.get(line, 0)
    floors = [minNodeFraction * g.totalUsage for g in graphs]
    for nid in list(nodes):
        if all(s.cum < f for s, f in zip(nodes[nid].sizes, floors)):
            del nodes[nid]

    # edges between kept nodes that carry at least minEdgeFraction of their source
    incoming: Dict[str, Set[str]] = {}
    outgoing: Dict[str, Set[str]] = {}
    sizes: Dict[Tuple[str, str], List[int]] = {}
    for index, graph in enumerate(graphs):
        for (src, dst), size in graph.edgeUsage.items():
            sid = node_id(src)
            if sid not in nodes:
                continue
            did = node_id(dst)
            if did not in nodes:
                continue
            src_cum = nodes[sid].sizes[index].cum
            if (size / src_cum if src_cum else 1) < minEdgeFraction:
                continue
            incoming.setdefault(did, set()).add(sid)
            outgoing.setdefault(sid, set()).add(did)
            sizes.setdefault((sid, did), [0] * count)[index] = size

    # several roots: a synthetic one above them
    roots: Set[str] = set()
    for nid in nodes:
        if nid not in incoming:
            roots.add(nid)
    if len(roots) >= 2:
        nodes["root"] = _Node([RawTraceLine("Program Root", "0")],
                              [_Sizes(cum=g.totalUsage) for g in graphs])
        for nid in roots:
            outgoing.setdefault("root", set()).add(nid)
            incoming.setdefault(nid, set()).add("root")
            sizes[("root", nid)] = [s.cum for s in nodes[nid].sizes]

    # chains: a node that allocates little and calls one node that only it calls absorbs it
    merged: Dict[str, str] = {}
    if collapseNodes:
        for nid, node in nodes.items():
            if max(_fraction(s.local, s.cum) for s in node.sizes) >= 0.01:
                continue
            targets = outgoing.get(nid, set())
            if len(targets) != 1:
                continue
            did = next(iter(targets))
            if did == nid or len(incoming.get(did, set())) != 1:
                continue
            into = merged.get(nid, nid)
            did = merged.get(did, did)
            nodes[into].absorb(nodes[did])
            merged[did] = into
        remapped: Dict[Tuple[str, str], List[int]] = {}
        for (sid, did), values in sizes.items():
            key = (merged.get(sid, sid), merged.get(did, did))
            old = remapped.get(key)
            remapped[key] = values if old is None else [max(a, b) for a, b in zip(old, values)]
        sizes = remapped

    out = ["digraph {\n", "  node [shape=none margin=0]\n"]
    for nid, node in nodes.items():
        if nid in merged:
            continue
        out.append(f"  {nid} [fontsize={node.font_size(graphs, sizeNodesBasedOnLocalUsage)} "
                   f"label={node.label(graphs)}]\n")
    black = max(minEdgeFraction, 0.5)
    slope = 180 / (black - minEdgeFraction) if black > minEdgeFraction else 0
    for sid, dids in outgoing.items():
        sid = merged.get(sid, sid)
        for did in dids:
            did = merged.get(did, did)
            if sid == did:  # recursion, or made by collapsing
                continue
            values = sizes.get((sid, did))
            if values is None:
                continue
            weight = max(_fraction(v, s.cum) for v, s in zip(values, nodes[sid].sizes))
            if weight < minEdgeFraction:
                continue
            grey = 0 if weight >= black else int((black - weight) * slope)
            label = " / ".join(bytes_string(v) for v in values)
            out.append(f'  {sid} -> {did} [color="#{grey:02x}{grey:02x}{grey:02x}" '
                       f'label="{label}"];\n')
    out.append("}\n")
    output.write("".join(out))
