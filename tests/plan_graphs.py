"""Small hand-made graphs and a toy cost model for the plan tests (not a test module).

ToyModel is deliberately simple so its numbers are checked by hand:
F_beta(G) = sum W(v) + one row of every tensor in T(G); F_D(G) = W + S(In) + S(Out).
"""

from __future__ import annotations

from collections.abc import Iterable

from fuseplan.models.cost.base import GroupCost
from fuseplan.models.group import as_mask
from fuseplan.models.cost.common import group_tensors
from fuseplan.models.graph import Graph, GraphBuilder


class ToyModel:
    name = "toy"

    def __init__(self, graph: Graph, bytes_per_element: int = 1) -> None:
        self.graph = graph
        self.bytes_per_element = bytes_per_element

    def _weights(self, mask: int) -> int:
        return sum(op.params for op in self.graph.ops if mask >> op.id & 1) * self.bytes_per_element

    def buffer_bytes(self, group: int) -> int:
        sets = group_tensors(self.graph, group)
        rows = sum(self.graph.tensors[t].row_elements for t in sets.read)
        return self._weights(group) + rows * self.bytes_per_element

    def buffer_lower_bound(self, group: int) -> int:
        return self.buffer_bytes(group)

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        cost = self.group_cost(group, buffer_bytes)
        return cost.dram_bytes if cost.fits else None

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        mask = as_mask(group)
        sets = group_tensors(self.graph, mask)
        b = self.bytes_per_element
        inputs = sum(self.graph.tensors[t].elements for t in sets.inputs) * b
        outputs = sum(self.graph.tensors[t].elements for t in sets.outputs) * b
        weights = self._weights(mask)
        need = self.buffer_bytes(mask)
        return GroupCost(need, weights + inputs + outputs, inputs, weights, outputs, need < buffer_bytes)


def two_cycle() -> Graph:
    """Ops a1, b2, a2, b1 with edges a1 -> a2, b2 -> b1, a1 -> b1, b2 -> a2: the groups
    A = {a1, a2} and B = {b2, b1} are each connected and convex, but A feeds B and B feeds A."""
    b = GraphBuilder("two_cycle", source="two_cycle")
    x = b.input("x", 4, 8, 8)
    ta1 = b.op("a1", "Relu", [x], (4, 8, 8))
    tb2 = b.op("b2", "Sigmoid", [x], (4, 8, 8))
    ta2 = b.op("a2", "Add", [ta1, tb2], (4, 8, 8))
    tb1 = b.op("b1", "Mul", [tb2, ta1], (4, 8, 8))
    b.output(ta2)
    b.output(tb1)
    return b.build()


def diamond() -> Graph:
    """p = conv(x) (id 0), q = conv(x) (1), r = relu(q) (2), s = add(p, r) (3), then a
    classifier gemm g (4) with 1,000,000 parameters that fits no small buffer alone."""
    b = GraphBuilder("diamond", source="diamond")
    x = b.input("x", 8, 16, 16)
    tp = b.op("p", "Conv", [x], (8, 16, 16), params=584, k=3)
    tq = b.op("q", "Conv", [x], (8, 16, 16), params=72)
    tr = b.op("r", "Relu", [tq], (8, 16, 16))
    ts = b.op("s", "Add", [tp, tr], (8, 16, 16))
    tg = b.op("g", "Gemm", [ts], (10, 1, 1), params=1_000_000, k=16, is_global=True)
    b.output(tg)
    return b.build()
