"""The cuts of a group and the cut rule (explain/cuts.py, explain/cut_rule.py), checked against
a brute-force oracle on hand-built blocks: residual, inception, squeeze-excite, two-group cycle."""

from __future__ import annotations

import random
import time

import pytest

from cost_graphs import se_block
from explain_graphs import brute_force_cuts, inception_stem, residual_stem
from plan_graphs import ToyModel, two_cycle

from fuseplan.models.cost import make_cost_model
from fuseplan.models.errors import FusePlanError
from fuseplan.models.generators import build_generated
from fuseplan.models.group import check_group, components_in, graph_masks
from fuseplan.explain.cut_rule import choose_cut, rank_edges, top_cuts
from fuseplan.explain.cuts import cut_space, group_edges

BLOCKS = [residual_stem, inception_stem, se_block, two_cycle]


def whole(graph) -> int:
    return (1 << graph.num_ops) - 1


def crossing_pairs(space, cut) -> frozenset[tuple[int, int]]:
    return frozenset((space.edges[i].producer, space.edges[i].consumer) for i in cut.crossing)


@pytest.mark.parametrize("build", BLOCKS, ids=lambda b: b.__name__)
def test_exact_space_is_every_valid_cut(build):
    graph = build()
    model = make_cost_model("lbdf", graph)
    space = cut_space(graph, whole(graph))
    assert space.exact
    oracle = brute_force_cuts(model, whole(graph))
    assert {c.first: crossing_pairs(space, c) for c in space.cuts} == oracle
    for cut in space.cuts:
        assert cut.first | cut.second == whole(graph) and cut.first & cut.second == 0
        assert check_group(model, cut.first, 1).structural
        assert check_group(model, cut.second, 1).structural


def test_edges_carry_the_producers_tensor():
    graph = residual_stem()
    edges = group_edges(graph, whole(graph))
    assert [(e.producer, e.consumer) for e in edges] == [(0, 1), (1, 2), (2, 3), (0, 4), (3, 4)]
    assert all(e.tensor == graph.ops[e.producer].output for e in edges)
    assert edges[3].names(graph) == ("stem", "add", graph.tensors[graph.ops[0].output].name)


def test_residual_cut_extends_along_the_skip():
    """No single edge of a residual block separates it: every cut crosses the skip stem -> add,
    and cutting c1 -> relu takes the skip with it."""
    graph = residual_stem()
    space = cut_space(graph, whole(graph))
    skip = space.edge_index(0, 4)
    assert all(skip in c.crossing for c in space.cuts)
    scores = [0.0] * len(space.edges)
    scores[space.edge_index(1, 2)] = 1.0
    cut = choose_cut(space, scores)
    assert cut is not None and cut.first == 0b00011
    assert crossing_pairs(space, cut) == {(1, 2), (0, 4)}


def test_inception_ties_go_to_the_smaller_larger_half():
    """Every cut through b3a -> b3b crosses one edge per branch (4 edges), so with only that
    edge scored they all tie on the mean: without a model the smallest first mask wins
    ({stem, b3a}); with one, the cut whose larger half needs the least buffer."""
    graph = inception_stem()
    model = make_cost_model("lbdf", graph)
    space = cut_space(graph, whole(graph))
    edge = space.edge_index(4, 5)
    scores = [0.0] * len(space.edges)
    scores[edge] = 1.0
    options = space.through(edge)
    assert len(options) > 1 and all(len(c.crossing) == 4 for c in options)
    assert choose_cut(space, scores).first == 0b10001
    least = min(max(model.buffer_bytes(c.first), model.buffer_bytes(c.second)) for c in options)
    cut = choose_cut(space, scores, model)
    assert edge in cut.crossing
    assert max(model.buffer_bytes(cut.first), model.buffer_bytes(cut.second)) == least


def test_se_block_cut_keeps_the_multiply_fed():
    graph = se_block()
    space = cut_space(graph, whole(graph))
    scores = [0.0] * len(space.edges)
    scores[space.edge_index(3, 4)] = 1.0  # relu -> fc2, inside the excite branch
    cut = choose_cut(space, scores)
    assert cut is not None
    # the branch c1 -> mul bypasses relu -> fc2: the cut crosses it too
    assert crossing_pairs(space, cut) == {(3, 4), (0, 6)}


def test_two_group_cycle_is_never_produced():
    """{a1, a2} | {b2, b1} is a partition into connected convex groups that feed each other;
    no scoring may produce it, nor any cut with an edge from the second half to the first."""
    graph = two_cycle()
    group = whole(graph)
    space = cut_space(graph, group)
    preds = graph_masks(graph).pred_mask
    a = (1 << graph.op_id("a1")) | (1 << graph.op_id("a2"))
    cycle_edges = {space.edge_index(graph.op_id("a1"), graph.op_id("b1")),
                   space.edge_index(graph.op_id("b2"), graph.op_id("a2"))}
    rng = random.Random(0)
    for trial in range(200):
        scores = [rng.random() for _ in space.edges]
        if trial == 0:  # the scores that would favour the cycle's two crossing edges
            scores = [1.0 if i in cycle_edges else 0.0 for i in range(len(space.edges))]
        for cut in top_cuts(space, scores, 3):
            assert cut.first not in (a, group & ~a)
            for v in range(graph.num_ops):
                if cut.second >> v & 1:
                    continue
                assert preds[v] & cut.second == 0  # nothing in A reads from G - A
    assert {c.first for c in space.cuts}.isdisjoint({a, group & ~a})


def test_rule_moves_on_when_an_edge_gives_no_new_cut():
    """residual_stem: stem -> c1 and the skip stem -> add both lead to the cut {stem}; the
    second distinct cut comes from the next edge, c1 -> relu; -inf scores are never ranked."""
    graph = residual_stem()
    space = cut_space(graph, whole(graph))
    scores = [float("-inf")] * len(space.edges)
    scores[space.edge_index(0, 1)] = 3.0
    scores[space.edge_index(0, 4)] = 2.9
    scores[space.edge_index(1, 2)] = 1.0
    cuts = top_cuts(space, scores, 3)
    assert [c.first for c in cuts] == [0b00001, 0b00011]


def test_ranking_and_top_k_are_distinct_and_in_rank_order():
    graph = inception_stem()
    space = cut_space(graph, whole(graph))
    scores = [float(i % 4) for i in range(len(space.edges))]
    ranked = rank_edges(scores)
    assert [scores[i] for i in ranked] == sorted(scores, reverse=True)
    cuts = top_cuts(space, scores, 3)
    assert len(cuts) == 3 and len({c.first for c in cuts}) == 3
    first_edges = [min(ranked.index(i) for i in c.crossing) for c in cuts]
    assert first_edges == sorted(first_edges)
    assert rank_edges([1.0, float("-inf"), 2.0]) == [2, 0]


def test_one_op_group_has_no_cut_and_bad_groups_are_errors():
    graph = residual_stem()
    assert cut_space(graph, 1 << 2).cuts == ()
    with pytest.raises(FusePlanError, match="not weakly connected"):
        cut_space(graph, 0b00101)  # stem and relu
    with pytest.raises(FusePlanError, match="not convex"):
        cut_space(graph, 0b10001)  # stem and add, skipping the branch
    with pytest.raises(FusePlanError, match="edge score"):
        top_cuts(cut_space(graph, whole(graph)), [1.0], 1)


@pytest.mark.parametrize("build", BLOCKS, ids=lambda b: b.__name__)
def test_capped_space_holds_only_valid_cuts(build):
    graph = build()
    model = make_cost_model("lbdf", graph)
    oracle = brute_force_cuts(model, whole(graph))
    capped = cut_space(graph, whole(graph), max_ideals=1)
    assert not capped.exact
    assert capped.cuts and all(oracle[c.first] == crossing_pairs(capped, c) for c in capped.cuts)


def test_large_group_is_fast():
    """A ~120-op wide group, beyond the exact cap: the capped space is listed quickly."""
    graph = build_generated("wide:ops=120,width=6,seed=0")
    nbr = graph_masks(graph).nbr_mask
    group = max(components_in(whole(graph), nbr), key=int.bit_count)
    start = time.perf_counter()
    space = cut_space(graph, group)
    assert time.perf_counter() - start < 10.0
    assert space.cuts
    model = ToyModel(graph)
    for cut in space.cuts[:50]:
        assert check_group(model, cut.first, 1).structural
        assert check_group(model, cut.second, 1).structural
