"""Hand-built blocks for the cut and explainer tests, plus a brute-force cut oracle.

Op ids follow the order ops are added (listed in each docstring). The oracle shares no code
with ``explain/cuts.py``: it walks every subset of the group and checks the cut rules with
networkx and ``check_group``.
"""

from __future__ import annotations

import networkx as nx

from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.group import check_group, mask_ops

from cost_graphs import conv_params


def residual_stem() -> Graph:
    """stem 3x3 (16x16x16) -> c1 3x3 -> relu -> c2 3x3 -> add(c2, stem).
    Ops: 0 stem, 1 c1, 2 relu, 3 c2, 4 add. The skip edge is stem -> add."""
    g = GraphBuilder("residual_stem")
    x = g.input("x", 16, 16, 16)
    s = g.op("stem", "Conv", [x], (16, 16, 16), params=conv_params(16, 16, 3), k=3)
    t = g.op("c1", "Conv", [s], (16, 16, 16), params=conv_params(16, 16, 3), k=3)
    t = g.op("relu", "Relu", [t], (16, 16, 16))
    t = g.op("c2", "Conv", [t], (16, 16, 16), params=conv_params(16, 16, 3), k=3)
    y = g.op("add", "Add", [t, s], (16, 16, 16))
    g.output(y)
    return g.build()


def inception_stem() -> Graph:
    """stem 1x1 (8 -> 16, 16x16) then four branches: b1 1x1; b2a 1x1 -> b2b 3x3;
    b3a 1x1 -> b3b 5x5; pool 3x3 -> b4 1x1; concat of the four (4 channels each).
    Ops: 0 stem, 1 b1, 2 b2a, 3 b2b, 4 b3a, 5 b3b, 6 pool, 7 b4, 8 concat."""
    g = GraphBuilder("inception_stem")
    x = g.input("x", 8, 16, 16)
    s = g.op("stem", "Conv", [x], (16, 16, 16), params=conv_params(8, 16, 1))
    b1 = g.op("b1", "Conv", [s], (4, 16, 16), params=conv_params(16, 4, 1))
    b2 = g.op("b2a", "Conv", [s], (4, 16, 16), params=conv_params(16, 4, 1))
    b2 = g.op("b2b", "Conv", [b2], (4, 16, 16), params=conv_params(4, 4, 3), k=3)
    b3 = g.op("b3a", "Conv", [s], (4, 16, 16), params=conv_params(16, 4, 1))
    b3 = g.op("b3b", "Conv", [b3], (4, 16, 16), params=conv_params(4, 4, 5), k=5)
    b4 = g.op("pool", "MaxPool", [s], (16, 16, 16), k=3)
    b4 = g.op("b4", "Conv", [b4], (4, 16, 16), params=conv_params(16, 4, 1))
    y = g.op("concat", "Concat", [b1, b2, b3, b4], (16, 16, 16))
    g.output(y)
    return g.build()


def brute_force_cuts(model, group: int) -> dict[int, frozenset[tuple[int, int]]]:
    """Every valid cut of ``group`` by brute force: first half -> its crossing (p, c) edges."""
    graph = model.graph
    ops = mask_ops(group)
    nxg = graph.to_networkx().subgraph(ops).copy()
    out: dict[int, frozenset[tuple[int, int]]] = {}
    for bits in range(1, (1 << len(ops)) - 1):
        first = {v for i, v in enumerate(ops) if bits >> i & 1}
        second = set(ops) - first
        if any(p in second and c in first for p, c in nxg.edges):
            continue
        if not (nx.is_weakly_connected(nxg.subgraph(first))
                and nx.is_weakly_connected(nxg.subgraph(second))):
            continue
        if not (check_group(model, first, 1).structural
                and check_group(model, second, 1).structural):
            continue
        mask = sum(1 << v for v in first)
        out[mask] = frozenset((p, c) for p, c in nxg.edges if p in first and c in second)
    return out
