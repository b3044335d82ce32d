"""Candidate enumeration: pruning on the buffer lower bound loses nothing, every candidate
is connected, convex and fits, and the ideal lattice counts are right."""

from __future__ import annotations

import pytest

from brute_force import random_dag, two_cycle_graph
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import is_convex, is_weakly_connected
from fuseplan.models.lattice import count_ideals, ideal_lattice
from fuseplan.models.zoo import build
from fuseplan.solver.candidates import chain_plan, enumerate_candidates
from fuseplan.solver.problem import make_problem


@pytest.mark.parametrize("net", ["mobilenet_v2", "resnet50", "mobilenet_v1"])
@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
def test_pruned_enumeration_equals_unpruned(net: str, scheme: str) -> None:
    """Up to 5 ops per group, growing past every set that cannot fit finds the same
    candidates as stopping at the buffer lower bound (BRR's F_beta can drop as a group
    grows; its lower bound cannot)."""
    graph = build(net)
    model = make_cost_model(scheme, graph, 1)
    problem = make_problem(graph, model, 64 * 1024, max_group_ops=5)
    pruned = enumerate_candidates(problem)
    full = enumerate_candidates(problem, prune=False)
    assert set(pruned.masks) == set(full.masks)
    assert pruned.evaluated < full.evaluated  # the pruning did prune
    assert len(pruned.masks) > graph.num_ops  # and there are groups beyond singletons


def test_candidates_are_connected_convex_and_fit() -> None:
    graph = build("resnet18")
    model = make_cost_model("lbdf", graph, 1)
    problem = make_problem(graph, model, 512 * 1024)
    cands = enumerate_candidates(problem)
    assert len(set(cands.masks)) == len(cands.masks)
    for mask, cost in zip(cands.masks, cands.costs):
        assert is_weakly_connected(graph, mask) and is_convex(graph, mask)
        if not mask & problem.unfusable:
            assert model.buffer_bytes(mask) < problem.buffer_bytes
            assert cost == model.dram_bytes(mask, problem.buffer_bytes)


def test_ideal_counts() -> None:
    """A chain of n ops has n + 1 ideals; the 2-cycle graph (a1, b2 from x; b1, a2 each
    reading both) has {}, {a1}, {b2}, {a1,b2}, +b1, +a2, all: 7."""
    assert count_ideals(build("mobilenet_v1")) == (57, True)
    assert count_ideals(two_cycle_graph()) == (7, True)
    lattice, complete = ideal_lattice(two_cycle_graph())
    assert complete and len(lattice) == 7 and next(iter(lattice)) == 0
    assert count_ideals(two_cycle_graph(), cap=3) [1] is False


def test_chain_plan_is_valid_and_not_better_than_optimum() -> None:
    from fuseplan.solver.exact import ideals
    from fuseplan.solver.problem import Limits

    graph = build("resnet18")
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 256 * 1024)
    cands = enumerate_candidates(problem)
    cost, chosen = chain_plan(problem, cands)
    assert sum(cands.masks[g] for g in chosen) == problem.all_ops
    assert cost >= ideals.solve(problem, Limits()).objective_bytes


def test_parallel_enumeration_finds_the_same_groups_in_the_same_order() -> None:
    graph = build("resnet50")
    problem = make_problem(graph, make_cost_model("brr", graph, 1), 512 * 1024)
    one = enumerate_candidates(problem, workers=1)
    two = enumerate_candidates(problem, workers=2)
    assert one.complete and two.complete
    assert (one.masks, one.costs, one.before, one.after) == (two.masks, two.costs, two.before, two.after)
