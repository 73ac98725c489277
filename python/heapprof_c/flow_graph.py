"""heapprof's FlowGraph: usage per line of code and per caller -> callee edge."""
from typing import Dict, NamedTuple, TextIO, Tuple

from ._dot import write_dot
from .types import RawTraceLine


class FlowGraph(NamedTuple):
    """The heap of one snapshot as a graph of lines of code.

    nodeLocalUsage: bytes allocated at the line itself (traces ending there);
    nodeCumulativeUsage: bytes of every trace through the line (once per occurrence, so a
    recursive line counts several times, as in heapprof); edgeUsage: bytes of the traces
    that go from one line directly to the next; totalUsage: the snapshot's total, trace 0
    included. Make them with Reader.flowGraph().
    """

    nodeLocalUsage: Dict[RawTraceLine, int]
    nodeCumulativeUsage: Dict[RawTraceLine, int]
    edgeUsage: Dict[Tuple[RawTraceLine, RawTraceLine], int]
    totalUsage: int

    def asDotFile(self, dotFile: TextIO, minNodeFraction: float = 0.01,
                  minEdgeFraction: float = 0.05, collapseNodes: bool = True,
                  sizeNodesBasedOnLocalUsage: bool = True) -> None:
        """Writes the graph as Graphviz dot text (`dot -Tpdf -o out.pdf file.dot`): nodes
        under minNodeFraction of the total and edges under minEdgeFraction of their source's
        cumulative usage are left out; collapseNodes merges chains of lines that allocate
        little; sizeNodesBasedOnLocalUsage scales the font with local usage."""
        write_dot(dotFile, [self], minNodeFraction=minNodeFraction,
                  minEdgeFraction=minEdgeFraction, collapseNodes=collapseNodes,
                  sizeNodesBasedOnLocalUsage=sizeNodesBasedOnLocalUsage)

    def writeDotFile(self, filename: str, **kwargs) -> None:
        """asDotFile() into a file."""
        with open(filename, "w") as output:
            self.asDotFile(output, **kwargs)

    @classmethod
    def compare(cls, dotFileName: str, *usageGraphs: "FlowGraph",
                minNodeFraction: float = 0.01, minEdgeFraction: float = 0.05,
                collapseNodes: bool = True, sizeNodesBasedOnLocalUsage: bool = True) -> None:
        """One dot graph of several FlowGraphs (usually snapshots at several times): each
        node shows local / cumulative usage and its share of the total for each graph."""
        with open(dotFileName, "w") as output:
            write_dot(output, list(usageGraphs), minNodeFraction=minNodeFraction,
                      minEdgeFraction=minEdgeFraction, collapseNodes=collapseNodes,
                      sizeNodesBasedOnLocalUsage=sizeNodesBasedOnLocalUsage)
