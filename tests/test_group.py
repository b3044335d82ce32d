"""check_group, the one definition of a valid group; the hot loops' own bitset tests agree
with it; the seeded group samplers."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from brute_force import random_dag
from cost_graphs import residual_block
from fuseplan.models.cost import make_cost_model
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.group import check_group, graph_masks, hull, mask_ops
from fuseplan.models.group_report import group_report
from fuseplan.models.group_sampling import (
    random_convex_group,
    random_cut,
    segment_cuts,
    segment_parts,
    segments_of,
)
from fuseplan.models.lattice import ideal_lattice
from fuseplan.models.zoo import build
from fuseplan.solver.candidates import enumerate_candidates
from fuseplan.solver.exact.astar_prices import INVALID, GroupPrices
from fuseplan.solver.problem import make_problem
from plan_graphs import diamond


def _oracle(graph, mask: int) -> tuple[bool, bool]:
    """(weakly connected, convex) by networkx, from the definitions."""
    nxg = graph.to_networkx()
    ops = mask_ops(mask)
    connected = nx.is_weakly_connected(nxg.subgraph(ops))
    inside = set(ops)
    outside_paths = any(
        nx.has_path(nxg, a, x) and nx.has_path(nxg, x, b)
        for x in nxg.nodes if x not in inside for a in ops for b in ops
    )
    return connected, not outside_paths


def test_diamond_by_hand() -> None:
    """p(0), q(1) read x; r(2) = relu(q); s(3) = add(p, r); g(4) a 1 M-param gemm."""
    graph = diamond()
    model = make_cost_model("lbdf", graph, 1)
    big = 10**9
    assert check_group(model, 0b1111, big).valid
    not_convex = check_group(model, ["q", "p", "s"], big)  # q -> r -> s leaves the group
    assert not not_convex.connected and not not_convex.convex and not not_convex.valid
    assert not_convex.fits and "not convex" in not_convex.reason
    apart = check_group(model, [0, 1], big)  # p and q share only the network input
    assert not apart.connected and apart.convex and "not weakly connected" in apart.reason
    gemm = check_group(model, 1 << 4, 64 * 1024)  # an op that does not fit alone
    assert gemm.structural and not gemm.fits and not gemm.valid
    assert gemm.excess_bytes == gemm.need_bytes - 64 * 1024 > 0
    assert "does not fit" in gemm.reason
    exact = check_group(model, 1 << 4, gemm.need_bytes)  # F_beta == buffer: strict rule
    assert not exact.fits and exact.excess_bytes == 0
    assert check_group(model, 1 << 4, gemm.need_bytes + 1).valid
    assert hull(graph, 0b1010) == 0b1110  # {q, s} needs r between them


def _skip_chain() -> Graph:
    """a -> b -> c with a skip a -> c: {a, c} is connected (the skip) but not convex."""
    g = GraphBuilder("skip_chain")
    x = g.input("x", 4, 8, 8)
    ta = g.op("a", "Conv", [x], (4, 8, 8), params=148, k=3)
    tb = g.op("b", "Relu", [ta], (4, 8, 8))
    g.output(g.op("c", "Add", [tb, ta], (4, 8, 8)))
    return g.build()


def test_group_report_valid_needs_convexity() -> None:
    """A connected group that fits but is not convex is not valid (the README's rule)."""
    graph = _skip_chain()
    report = group_report(make_cost_model("lbdf", graph, 1), [0, 2], 10**9)
    assert report.connected and report.fits and not report.convex
    assert not report.valid


def test_check_group_errors() -> None:
    model = make_cost_model("lbdf", diamond(), 1)
    with pytest.raises(FusePlanError, match="no op"):
        check_group(model, ["p", "nope"], 1000)
    with pytest.raises(FusePlanError, match="not a non-empty set"):
        check_group(model, 0, 1000)


@pytest.mark.parametrize("seed", range(4))
def test_structure_matches_networkx(seed: int) -> None:
    graph = random_dag(9, seed, fan_in=3)
    model = make_cost_model("brr", graph, 1)
    rng = random.Random(seed)
    for _ in range(60):
        mask = rng.randrange(1, 1 << graph.num_ops)
        check = check_group(model, mask, 2_000)
        assert (check.connected, check.convex) == _oracle(graph, mask)
        assert check.need_bytes == model.buffer_bytes(mask)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_enumeration_agrees_with_check_group(scheme: str) -> None:
    """Candidate growth's incremental tests find exactly the groups check_group calls valid
    (plus the unfusable singletons), against all 2^n subsets of small random DAGs."""
    for seed in range(5):
        graph = random_dag(9, seed, fan_in=3)
        model = make_cost_model(scheme, graph, 1)
        problem = make_problem(graph, model, 1_500)
        expected = {
            m for m in range(1, 1 << graph.num_ops)
            if check_group(model, m, 1_500).valid or m.bit_count() == 1
        }
        assert set(enumerate_candidates(problem).masks) == expected


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_astar_prices_agree_with_check_group(scheme: str) -> None:
    """A*'s prices (groups are differences of ideals, so convex) are valid exactly when
    check_group says so."""
    graph = random_dag(10, 3, fan_in=3)
    model = make_cost_model(scheme, graph, 1)
    problem = make_problem(graph, model, 1_500)
    prices = GroupPrices(problem)
    ideals = list(ideal_lattice(graph)[0])
    for lo in ideals:
        for hi in ideals:
            group = hi & ~lo
            if hi & lo != lo or not group:
                continue
            check = check_group(model, group, 1_500)
            assert check.convex
            assert (prices.price(group) != INVALID) == check.valid


def test_segment_parts_partition_into_valid_structures() -> None:
    graph = build("resnet18")
    model = make_cost_model("lbdf", graph, 1)
    for seed in range(5):
        parts = segment_parts(graph, random.Random(seed))
        assert sum(parts) == (1 << graph.num_ops) - 1
        assert sum(p.bit_count() for p in parts) == graph.num_ops
        assert all(check_group(model, p, 10**12).structural for p in parts)
    assert segment_parts(graph, random.Random(7)) == segment_parts(graph, random.Random(7))
    cuts = segment_cuts(graph.num_ops, random.Random(1))
    assert len(cuts) == 9 and len(segments_of(graph.num_ops, cuts)) == 10
    assert segment_cuts(3, random.Random(0)) == [1, 2]


def test_random_convex_groups() -> None:
    graph = build("googlenet")
    model = make_cost_model("lbdf", graph, 1)
    rng = random.Random(0)
    sizes = []
    for _ in range(40):
        size = rng.randint(1, 30)
        group = random_convex_group(graph, rng, size)
        assert check_group(model, group, 10**12).structural
        assert group.bit_count() <= size
        sizes.append(group.bit_count())
    assert max(sizes) >= 20  # growth does reach large groups on a branchy net
    again = random.Random(0)
    assert random_convex_group(graph, again, again.randint(1, 30)) == \
        random_convex_group(graph, random.Random(0), random.Random(0).randint(1, 30))


def test_random_cut_halves() -> None:
    graph = build("googlenet")
    model = make_cost_model("lbdf", graph, 1)
    preds = graph_masks(graph).pred_mask
    rng = random.Random(3)
    found = 0
    for _ in range(40):
        group = random_convex_group(graph, rng, rng.randint(2, 25))
        cut = random_cut(graph, group, rng)
        if cut is None:
            continue
        found += 1
        upper, lower = cut
        assert upper and lower and upper | lower == group and not upper & lower
        assert all(preds[v] & lower == 0 for v in mask_ops(upper))  # nothing flows back up
        assert check_group(model, upper, 10**12).structural
        assert check_group(model, lower, 10**12).structural
    assert found >= 30
    assert random_cut(graph, 1 << 5, rng) is None


def test_residual_block_cuts_by_hand() -> None:
    """c1 -> c2 -> add (x, a network input, also read by the add): the only cuts are
    {c1} | {c2, add} and {c1, c2} | {add}."""
    graph = residual_block()
    rng = random.Random(0)
    cuts = {random_cut(graph, 0b111, rng) for _ in range(30)}
    assert cuts == {(0b001, 0b110), (0b011, 0b100)}
