"""Property tests on random small graphs (hypothesis).

The models are checked against a slow reference written straight from docs/cost-models.md
(every path enumerated, h in Fractions, every (n, mode) tried), and against the structural
facts the solvers rely on: LBDF's F_D is subadditive and its F_beta never drops when an op
joins a connected group; BRR's lower bound never exceeds F_beta and never drops.
"""

from __future__ import annotations

import math
from fractions import Fraction

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from fuseplan.models.cost import BrrModel, LbdfModel, is_convex, is_weakly_connected
from fuseplan.models.graph import Graph, GraphBuilder

# ----- random graphs -----


@st.composite
def graphs(draw: st.DrawFn, max_ops: int = 8, squeeze_excite: bool = False) -> Graph:
    g = GraphBuilder("random")
    tensors: list[int] = [g.input("x", draw(st.integers(1, 4)), draw(st.sampled_from(
        [1, 3, 4, 7, 8, 16])), draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        tensors.append(g.input("x2", 2, g.shape(tensors[0])[1], 2))
    n_ops = draw(st.integers(1, max_ops))
    inputs_of: dict[int, list[int]] = {}  # output tensor -> the op's inputs
    for i in range(n_ops):
        # mostly chains (long paths into joins), sometimes branches
        src = tensors[-1] if draw(st.booleans()) else draw(st.sampled_from(tensors))
        c, h, w = g.shape(src)
        kind = draw(st.sampled_from(["conv", "conv", "down", "up", "global", "join", "join"]
                                    + ["se", "se", "se"] * squeeze_excite))
        params = draw(st.integers(0, 60))
        name = f"op{i}"
        if kind == "se":  # squeeze-excite: pool the map whole, scale it by the result
            gate = g.op(f"{name}_pool", "GlobalAveragePool", [src], (c, 1, 1), k=h,
                        is_global=True)
            inputs_of[gate] = [src]
            tensors.append(gate)
            tensors.append(g.op(name, "Mul", [src, gate], (c, h, w)))
            inputs_of[tensors[-1]] = [src, gate]
            continue
        if kind == "join":
            # mostly same-height joins (add, concat), sometimes a broadcast (SE's mul)
            same = draw(st.integers(0, 3)) > 0
            mates = [t for t in tensors if t != src and (g.shape(t)[1] == h or not same)]
            if mates:
                other = draw(st.sampled_from(mates))
                tensors.append(g.op(name, "Add", [src, other], (c, h, w)))
                inputs_of[tensors[-1]] = [src, other]
                continue
            kind = "conv"
        if kind == "conv":
            k = draw(st.sampled_from([1, 2, 3, 5]))
            out = g.op(name, "Conv", [src], (draw(st.integers(1, 4)), h, w), params=params, k=k)
        elif kind == "down" and h >= 2:
            k = draw(st.sampled_from([1, 2, 3]))
            out = g.op(name, "Conv", [src], (c, (h + 1) // 2, w), params=params, k=k, s=2)
        elif kind == "up":
            k = draw(st.sampled_from([1, 2]))
            out = g.op(name, "Resize", [src], (c, 2 * h, w), k=k, s=Fraction(1, 2))
        else:
            out = g.op(name, "GlobalAveragePool", [src], (c, 1, 1), k=h, is_global=True)
        tensors.append(out)
        inputs_of[out] = [src]
    # no dead ends: every tensor nobody reads is a network output, plus a random few more
    read = {x for ins in inputs_of.values() for x in ins}
    outputs = [t for t in inputs_of if t not in read or draw(st.integers(0, 5)) == 0]
    for t in outputs or tensors[-1:]:
        g.output(t)
    return g.build()


def neighbours(graph: Graph, v: int) -> set[int]:
    return set(graph.preds[v]) | set(graph.succs[v])


@st.composite
def graph_and_group(draw: st.DrawFn) -> tuple[Graph, int]:
    """A random graph and a random weakly connected group of it."""
    graph = draw(graphs())
    start = draw(st.integers(0, graph.num_ops - 1))
    group = {start}
    for _ in range(draw(st.integers(0, graph.num_ops))):
        frontier = sorted(set().union(*(neighbours(graph, v) for v in group)) - group)
        if not frontier:
            break
        group.add(draw(st.sampled_from(frontier)))
    return graph, sum(1 << v for v in group)


# ----- the reference, straight from docs/cost-models.md -----


def ops_in(mask: int) -> list[int]:
    return [v for v in range(mask.bit_length()) if mask >> v & 1]


def kernel(graph: Graph, v: int, x: int) -> int:
    op = graph.ops[v]
    return graph.tensors[x].h if op.is_global else op.k


def sets(graph: Graph, group: set[int]) -> tuple[set[int], set[int], set[int]]:
    produced = {graph.ops[v].output for v in group}
    read = {x for v in group for x in graph.ops[v].inputs}
    ins = read - produced
    outs = {
        t for t in produced
        if any(c not in group for c in graph.consumers[t]) or t in graph.outputs
    }
    return ins, outs, read


def paths(graph: Graph, group: set[int], t: int) -> list[tuple[int, Fraction]]:
    """Every path from t inside the group as (end tensor, h(P)), the empty one included."""
    found = [(t, Fraction(0))]
    stack = [(t, Fraction(0))]
    while stack:
        x, h = stack.pop()
        for v in graph.consumers[x]:
            if v in group:
                step = (kernel(graph, v, x) - 1) * Fraction(graph.tensors[t].h,
                                                            graph.tensors[x].h)
                item = (graph.ops[v].output, h + step)
                found.append(item)
                stack.append(item)
    return found


def ref_lbdf(graph: Graph, b: int, mask: int) -> tuple[int, int]:
    group = set(ops_in(mask))
    ins, outs, read = sets(graph, group)
    w = sum(graph.ops[v].params * b for v in group)
    size = {t.id: t.c * t.h * t.w * b for t in graph.tensors}
    fd = w + sum(size[t] for t in ins) + sum(size[t] for t in outs)
    fbeta = w
    for t in read:
        tensor = graph.tensors[t]
        k_max = max(kernel(graph, v, t) for v in group if t in graph.ops[v].inputs)
        ps = paths(graph, group, t)
        delay = Fraction(0)
        for j in group:
            hs = [h for end, h in ps if end in graph.ops[j].inputs]
            if len(hs) >= 2:
                delay = max(delay, max(hs) - min(hs))
        rows = min(tensor.h, math.ceil(max(Fraction(k_max), delay + 1)))
        fbeta += rows * tensor.c * tensor.w * b
    return fbeta, fd


def ref_brr(graph: Graph, b: int, mask: int, beta: int) -> tuple[int, tuple[int, str, int] | None]:
    """(F_beta, (n, mode, F_D) chosen at beta or None)."""
    group = set(ops_in(mask))
    ins, outs, read = sets(graph, group)
    tens = graph.tensors
    halo = {}
    for t in read | outs:
        hs = [h for end, h in paths(graph, group, t) if end in outs]
        halo[t] = math.ceil(max(hs)) if hs else 0
    weights = [graph.ops[v].params * b for v in group]
    row = {t.id: t.c * t.w * b for t in tens}
    n_max = max((tens[t].h for t in outs), default=1)
    tilings = []
    for n in range(1, n_max + 1):
        for mode in ("resident", "streamed"):
            buf = sum(weights) if mode == "resident" else max(weights)
            buf += sum(min(tens[t].h, -(-tens[t].h // n) + halo[t]) * row[t] for t in read)
            buf += sum(-(-tens[t].h // n) * row[t] for t in outs)
            dram = sum(weights) * (1 if mode == "resident" else n)
            dram += sum(min(n * tens[t].h, tens[t].h + (n - 1) * halo[t]) * row[t] for t in ins)
            dram += sum(tens[t].h * row[t] for t in outs)
            tilings.append((buf, dram, n, mode))
    f_beta = min(t[0] for t in tilings)
    fitting = [(d, n, mode != "resident", mode) for buf, d, n, mode in tilings if buf < beta]
    if not fitting:
        return f_beta, None
    d, n, _, mode = min(fitting)
    return f_beta, (n, mode, d)


# ----- properties -----


@settings(max_examples=300, deadline=None)
@given(graph_and_group(), st.sampled_from([1, 2]))
def test_lbdf_matches_the_reference(case: tuple[Graph, int], b: int) -> None:
    graph, mask = case
    model = LbdfModel(graph, b)
    fbeta, fd = ref_lbdf(graph, b, mask)
    assert model.buffer_bytes(mask) == fbeta
    assert model.dram_bytes(mask, fbeta) is None
    assert model.dram_bytes(mask, fbeta + 1) == fd
    # the plain rows (used by the breakdown) agree with the fast path
    assert model.buffer_breakdown(mask).total_bytes == fbeta


@settings(max_examples=300, deadline=None)
@given(graph_and_group(), st.data())
def test_brr_matches_the_reference(case: tuple[Graph, int], data: st.DataObject) -> None:
    graph, mask = case
    model = BrrModel(graph)
    f_beta = model.buffer_bytes(mask)
    prof = model.profile(mask)
    top = prof.weight_sum + prof.full_tensor_bytes + 1
    beta = data.draw(st.integers(max(1, f_beta - 3), top))
    ref_fbeta, chosen = ref_brr(graph, 1, mask, beta)
    assert f_beta == ref_fbeta == prof.buffer_bytes
    assert model.buffer_lower_bound(mask) == prof.weight_max + sum(
        min(h, 1 + halo) * r for _, h, halo, r in prof.read
    )
    tiling = model.tiling(mask, beta)
    if chosen is None:
        assert tiling is None and model.dram_bytes(mask, beta) is None
    else:
        assert tiling is not None
        assert (tiling.tiles, tiling.weights, tiling.dram_bytes) == chosen
        assert model.dram_bytes(mask, beta) == chosen[2]


@settings(max_examples=300, deadline=None)
@given(graph_and_group(), st.data())
def test_lbdf_union_never_costs_more_than_its_parts(
    case: tuple[Graph, int], data: st.DataObject
) -> None:
    graph, mask = case
    ops = ops_in(mask)
    part = sum(1 << v for v in ops if data.draw(st.booleans()))
    rest = mask & ~part
    model = LbdfModel(graph)
    big = 1 << 60
    parts = [p for p in (part, rest) if p]
    assert model.dram_bytes(mask, big) <= sum(model.dram_bytes(p, big) for p in parts)


def _grow(graph: Graph, mask: int, data: st.DataObject) -> int | None:
    frontier = sorted(
        set().union(*(neighbours(graph, v) for v in ops_in(mask))) - set(ops_in(mask))
    )
    return mask | 1 << data.draw(st.sampled_from(frontier)) if frontier else None


@settings(max_examples=300, deadline=None)
@given(graph_and_group(), st.data())
def test_adding_an_op_never_lowers_lbdf_f_beta_or_brr_bound(
    case: tuple[Graph, int], data: st.DataObject
) -> None:
    graph, mask = case
    bigger = _grow(graph, mask, data)
    if bigger is None:
        return
    lbdf, brr = LbdfModel(graph), BrrModel(graph)
    assert lbdf.buffer_bytes(bigger) >= lbdf.buffer_bytes(mask)
    assert lbdf.buffer_lower_bound(mask) == lbdf.buffer_bytes(mask)
    assert brr.buffer_lower_bound(bigger) >= brr.buffer_lower_bound(mask)
    assert brr.buffer_lower_bound(mask) <= brr.buffer_bytes(mask)
    assert brr.buffer_lower_bound(bigger) <= brr.buffer_bytes(bigger)


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_connectivity_and_convexity_match_networkx(graph: Graph, data: st.DataObject) -> None:
    mask = data.draw(st.integers(1, (1 << graph.num_ops) - 1))
    ops = ops_in(mask)
    nxg = graph.to_networkx()
    assert is_weakly_connected(graph, mask) == nx.is_weakly_connected(nxg.subgraph(ops))
    outside = set(nxg) - set(ops)
    convex = not any(
        nx.has_path(nxg, a, u) and nx.has_path(nxg, u, c)
        for u in outside for a in ops for c in ops
    )
    assert is_convex(graph, mask) == convex


@settings(max_examples=150, deadline=None)
@given(graphs(max_ops=14, squeeze_excite=True), st.data())
def test_lbdf_one_model_matches_the_reference_over_many_groups(
    graph: Graph, data: st.DataObject
) -> None:
    # one model asked about grown groups and random subsets of them, in the order drawn:
    # what it keeps between groups (per source, op sets that cap the delay at H) must
    # never change an answer
    model = LbdfModel(graph)
    mask = 1 << data.draw(st.integers(0, graph.num_ops - 1))
    for _ in range(data.draw(st.integers(1, 12))):
        if data.draw(st.integers(0, 3)) == 0:
            part = sum(1 << v for v in ops_in(mask) if data.draw(st.booleans())) or mask
            asked = part
        else:
            mask = _grow(graph, mask, data) or mask
            asked = mask
        fbeta, _ = ref_lbdf(graph, 1, asked)
        assert model.buffer_bytes(asked) == fbeta
        assert model.buffer_breakdown(asked).total_bytes == fbeta
