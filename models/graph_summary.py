"""What ``fuseplan graph`` shows about a graph, as one frozen record.

Structure, from the op-to-op edges and the number of ideals (downward-closed op sets, which
measure how hard exact planning is; see models/lattice.py):

* ``chain``: every op has at most one producer op and one reader op (a single path);
* ``has skips``: not a chain, but at most ``WIDE_FACTOR * (ops + 1)`` ideals: mostly one
  path with skip connections or short side branches (ResNet, MobileNetV2, DenseNet);
* ``wide``: more ideals than that (parallel branches: Inception, NASNet cells, random DAGs),
  or more than the cap, which is then reported as "> cap".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .graph import Graph, Op
from .lattice import count_ideals

WIDE_FACTOR = 2
DEFAULT_IDEAL_CAP = 100_000


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, int, int]
    elements: int


@dataclass(frozen=True)
class GraphSummary:
    name: str
    source: str
    num_ops: int
    num_tensors: int
    ops_by_kind: tuple[tuple[str, int], ...]  # most frequent first; depthwise convs apart
    params: int
    largest_tensor: TensorInfo
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    global_ops: int
    max_readers: int  # the most ops reading one tensor
    structure: str  # "chain", "has skips" or "wide"
    ideals: int  # exact when ideals_complete, else a number > ideal_cap
    ideals_complete: bool
    ideal_cap: int

    @property
    def ideals_text(self) -> str:
        return f"{self.ideals:,}" if self.ideals_complete else f"> {self.ideal_cap:,} (cap)"


def kind_label(graph: Graph, op: Op) -> str:
    """The op's kind, with depthwise convolutions (group = input channels > 1) and barriers
    (ops the importer does not know, ``--unsupported barrier``) told apart."""
    if op.barrier:
        return f"{op.kind} (barrier)"
    if op.kind == "Conv":
        group = op.attr("group", 1)
        if isinstance(group, int) and group > 1 and group == graph.tensors[op.inputs[0]].c:
            return "Conv (depthwise)"
    return op.kind


def _info(graph: Graph, t: int) -> TensorInfo:
    tensor = graph.tensors[t]
    return TensorInfo(tensor.name, tensor.shape, tensor.elements)


def structure_of(graph: Graph, ideals: int, complete: bool) -> str:
    if all(len(p) <= 1 for p in graph.preds) and all(len(s) <= 1 for s in graph.succs):
        return "chain"
    if complete and ideals <= WIDE_FACTOR * (graph.num_ops + 1):
        return "has skips"
    return "wide"


def summarise(graph: Graph, ideal_cap: int = DEFAULT_IDEAL_CAP) -> GraphSummary:
    kinds = Counter(kind_label(graph, op) for op in graph.ops)
    ideals, complete = count_ideals(graph, cap=ideal_cap)
    largest = max(graph.tensors, key=lambda t: (t.elements, -t.id))
    return GraphSummary(
        name=graph.name,
        source=graph.source,
        num_ops=graph.num_ops,
        num_tensors=len(graph.tensors),
        ops_by_kind=tuple(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
        params=graph.total_params,
        largest_tensor=_info(graph, largest.id),
        inputs=tuple(_info(graph, t) for t in graph.inputs),
        outputs=tuple(_info(graph, t) for t in graph.outputs),
        global_ops=sum(op.is_global for op in graph.ops),
        max_readers=max(len(c) for c in graph.consumers),
        structure=structure_of(graph, ideals, complete),
        ideals=ideals,
        ideals_complete=complete,
        ideal_cap=ideal_cap,
    )
