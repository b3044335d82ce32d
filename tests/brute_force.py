"""A brute-force oracle for the planners, plus tiny graphs and a toy cost model.

``brute_force_optimum`` lists every set partition of the ops (Bell(9) = 21,147 for 9 ops),
keeps the valid plans (each group weakly connected, convex, fitting or an unfusable
singleton, the graph of groups acyclic, the user's pins/forbids/max-group-ops honoured) and
returns the least fusible total. It shares no code with the solvers: connectivity, convexity
and cycles are checked with networkx.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import networkx as nx

from fuseplan.models.cost.base import GroupCost
from fuseplan.models.group import as_mask, mask_ops
from fuseplan.models.graph import Graph, GraphBuilder


class ToyModel:
    """An honest additive cost model for testing the search: weights stay on chip, each map
    read by the group holds min(H, k) rows (k the largest kernel among its readers in the
    group), each map leaving the group one row. F_D = weights + inputs + outputs."""

    name = "toy"

    def __init__(self, graph: Graph, bytes_per_element: int = 1) -> None:
        self.graph = graph
        self.bytes_per_element = bytes_per_element

    def _sets(self, group: int) -> tuple[set[int], set[int], dict[int, int]]:
        g = self.graph
        ops = set(mask_ops(group))
        produced = {g.ops[v].output for v in ops}
        read: dict[int, int] = {}
        for v in ops:
            for t in g.ops[v].inputs:
                read[t] = max(read.get(t, 1), g.ops[v].k)
        ins = {t for t in read if t not in produced}
        outs = {
            g.ops[v].output for v in ops
            if g.ops[v].output in g.outputs
            or any(c not in ops for c in g.consumers[g.ops[v].output])
        }
        return ins, outs, read

    def buffer_bytes(self, group: int) -> int:
        g, b = self.graph, self.bytes_per_element
        _, outs, read = self._sets(group)
        weights = sum(g.ops[v].params for v in mask_ops(group)) * b
        rows = sum(min(g.tensors[t].h, k) * g.tensors[t].row_elements * b for t, k in read.items())
        out_rows = sum(g.tensors[t].row_elements * b for t in outs if t not in read)
        return weights + rows + out_rows

    def buffer_lower_bound(self, group: int) -> int:
        return self.buffer_bytes(group)

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        cost = self.group_cost(group, buffer_bytes)
        return cost.dram_bytes if cost.fits else None

    def group_cost(self, group: int | Sequence[int], buffer_bytes: int) -> GroupCost:
        mask = as_mask(group)
        g, b = self.graph, self.bytes_per_element
        ins, outs, _ = self._sets(mask)
        weights = sum(g.ops[v].params for v in mask_ops(mask)) * b
        i = sum(g.tensors[t].elements for t in ins) * b
        o = sum(g.tensors[t].elements for t in outs) * b
        buf = self.buffer_bytes(mask)
        return GroupCost(buf, weights + i + o, i, weights, o, buf < buffer_bytes)


def random_dag(n_ops: int, seed: int, *, fan_in: int = 2, name: str = "rand") -> Graph:
    """A random CNN-like DAG of ``n_ops`` ops: each op reads 1..fan_in earlier tensors."""
    rng = random.Random(seed)
    gb = GraphBuilder(f"{name}{seed}")
    tensors = [gb.input("x", rng.choice([4, 8]), 8, 8)]
    for i in range(n_ops):
        k = rng.randint(1, min(fan_in, len(tensors)))
        ins = rng.sample(tensors[-4:] if rng.random() < 0.7 else tensors, min(k, len(tensors)))
        c = rng.choice([4, 8, 16])
        tensors.append(
            gb.op(f"op{i}", "Conv", ins, (c, 8, 8), params=rng.choice([0, 16, 64, 256]),
                  k=rng.choice([1, 3]))
        )
    return _with_outputs(gb)


def _with_outputs(gb: GraphBuilder) -> Graph:
    """Marks every tensor no op reads as a network output, then builds."""
    read = {t for op in gb._ops for t in op.inputs}
    for op in gb._ops:
        if op.output not in read:
            gb.output(op.output)
    return gb.build()


def two_cycle_graph() -> Graph:
    """A = {a1 -> a2}, B = {b2 -> b1} with a1 -> b1 and b2 -> a2: A and B are each convex and
    connected, but as a pair of groups they depend on each other (a cycle)."""
    gb = GraphBuilder("twocycle")
    x = gb.input("x", 8, 8, 8)
    a1 = gb.op("a1", "Conv", [x], (8, 8, 8), params=8)
    b2 = gb.op("b2", "Conv", [x], (8, 8, 8), params=8)
    b1 = gb.op("b1", "Add", [a1, b2], (8, 8, 8))
    a2 = gb.op("a2", "Add", [a1, b2], (8, 8, 8))
    gb.output(b1)
    gb.output(a2)
    return gb.build()


def set_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1:]
        yield [[first]] + part


class _Checker:
    """Validity of one block (memoised by mask) and of a whole partition."""

    def __init__(self, graph: Graph, model, buffer: int, pins, forbids, max_ops) -> None:
        self.graph = graph
        self.nx = graph.to_networkx()
        self.model = model
        self.buffer = buffer
        self.pins = [set(p) for p in pins]
        self.forbids = list(forbids)
        self.max_ops = max_ops
        self.unfusable = {v for v in range(graph.num_ops) if model.buffer_bytes(1 << v) >= buffer}
        self.memo: dict[int, int | None] = {}

    def block_cost(self, block: list[int]) -> int | None:
        """The block's fusible cost (0 for an unfusable singleton), None if it is invalid."""
        mask = as_mask(block)
        if mask not in self.memo:
            self.memo[mask] = self._block_cost(block, mask)
        return self.memo[mask]

    def _block_cost(self, block: list[int], mask: int) -> int | None:
        if set(block) & self.unfusable:
            return 0 if len(block) == 1 else None
        if self.max_ops is not None and len(block) > self.max_ops:
            return None
        if not nx.is_weakly_connected(self.nx.subgraph(block)):
            return None
        if self.model.buffer_bytes(mask) >= self.buffer:
            return None
        return self.model.dram_bytes(mask, self.buffer)

    def plan_cost(self, blocks: list[list[int]]) -> int | None:
        total = 0
        for block in blocks:
            cost = self.block_cost(block)
            if cost is None:
                return None
            total += cost
        group_of = {v: i for i, block in enumerate(blocks) for v in block}
        for pin in self.pins:
            if len({group_of[v] for v in pin}) != 1:
                return None
        for a, b in self.forbids:
            if group_of[a] == group_of[b]:
                return None
        quotient = nx.DiGraph()
        quotient.add_nodes_from(range(len(blocks)))
        for u, v in self.nx.edges:
            if group_of[u] != group_of[v]:
                quotient.add_edge(group_of[u], group_of[v])
        # convexity follows: a path leaving a group and coming back is a cycle of groups
        return total if nx.is_directed_acyclic_graph(quotient) else None


def brute_force_optimum(
    graph: Graph, model, buffer: int, *, pins: Sequence[set[int]] = (),
    forbids: Sequence[tuple[int, int]] = (), max_ops: int | None = None,
) -> tuple[int | None, list[list[int]] | None]:
    """(least fusible total, its groups) over every valid plan; (None, None) if none."""
    checker = _Checker(graph, model, buffer, pins, forbids, max_ops)
    best: int | None = None
    best_blocks = None
    for blocks in set_partitions(list(range(graph.num_ops))):
        total = checker.plan_cost(blocks)
        if total is not None and (best is None or total < best):
            best, best_blocks = total, blocks
    return best, best_blocks


def pinned_instance(graph: Graph, model, buffer: int):
    """A pin and a forbid that change the optimum: ``together`` is a pair the free optimum
    puts in one group (to forbid), ``apart`` the first pair it keeps apart whose pinning
    (with that forbid and groups of at most 4 ops) still has a plan. Returns
    (apart, together, constrained optimum, free optimum)."""
    free, free_blocks = brute_force_optimum(graph, model, buffer)
    together = next((u, v) for blk in free_blocks if len(blk) > 1 for u in blk for v in blk
                    if u < v)
    n = graph.num_ops
    for apart in ((u, v) for u in range(n) for v in range(u + 1, n)):
        if any(apart[0] in blk and apart[1] in blk for blk in free_blocks):
            continue
        expected, _ = brute_force_optimum(graph, model, buffer, pins=[set(apart)],
                                          forbids=[together], max_ops=4)
        if expected is not None:
            return apart, together, expected, free
    raise AssertionError("no pin keeps a plan")
