"""The LP bound (``solver/lp_bound.py``): never above the optimum (brute force on random DAGs
of up to 8 ops, the exact ``ideals`` solver on larger ones and a zoo net), equal to an
independent LP solve over every candidate (scipy's HiGHS) when it claims the LP optimum,
and the Lagrangian bound valid for arbitrary duals (what makes an early stop safe)."""

from __future__ import annotations

import math
import random
from functools import cache

import numpy as np
import pytest
from scipy.optimize import linprog

from brute_force import ToyModel, brute_force_optimum, pinned_instance, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import load_graph
from fuseplan.solver.candidates import enumerate_candidates
from fuseplan.solver.exact import ideals
from fuseplan.solver.lp_bound import lp_lower_bound
from fuseplan.solver.lp_bound_columns import incidence, lagrangian_bound
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.progress import Deadline

BUFFERS = (700, 1_500, 3_000, 8_000)


def _model(scheme: str, graph):
    return ToyModel(graph) if scheme == "toy" else make_cost_model(scheme, graph, 1)


@cache
def _small(scheme: str, seed: int, buffer: int):
    graph = random_dag(7 + seed % 2, seed, fan_in=3)
    model = _model(scheme, graph)
    optimum, _ = brute_force_optimum(graph, model, buffer)
    return make_problem(graph, model, buffer), optimum


def _lp_optimum(problem) -> float:
    """The LP relaxation over every candidate, solved directly (no column generation)."""
    cands = enumerate_candidates(problem)
    inc = incidence(cands.masks, cands.costs, problem.num_ops)
    res = linprog(inc.costs, A_eq=inc.by_op.T.tocsr(), b_eq=np.ones(problem.num_ops),
                  bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("scheme", ["toy", "lbdf", "brr"])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("buffer", BUFFERS)
def test_bound_is_below_the_brute_force_optimum(scheme: str, seed: int, buffer: int) -> None:
    problem, optimum = _small(scheme, seed, buffer)
    found = lp_lower_bound(problem)
    assert found.proven and found.candidates_complete
    assert 0 <= found.value <= optimum, (scheme, seed, buffer)
    lp = _lp_optimum(problem)
    # the LP optimum, rounded up with the relative safety margin of 1e-6 at most
    assert found.value <= math.ceil(lp) and found.value >= math.ceil(lp * (1 - 2e-6)) - 1


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("seed", range(4))
def test_bound_is_below_the_exact_optimum_on_larger_dags(scheme: str, seed: int) -> None:
    graph = random_dag(18, 100 + seed, fan_in=3)
    model = _model(scheme, graph)
    for buffer in (1_500, 4_000):
        problem = make_problem(graph, model, buffer)
        exact = ideals.solve(problem, Limits())
        assert exact.status == "OPTIMAL"
        found = lp_lower_bound(problem)
        assert found.proven
        assert found.value <= exact.objective_bytes, (scheme, seed, buffer)
        assert found.value >= math.ceil(_lp_optimum(problem) * (1 - 2e-6)) - 1


@pytest.mark.parametrize("scheme", ["toy", "lbdf", "brr"])
@pytest.mark.parametrize("seed", range(4))
def test_lagrangian_bound_is_valid_for_any_duals(scheme: str, seed: int) -> None:
    """Random duals, far from optimal, of either sign: still at most the optimum."""
    problem, optimum = _small(scheme, seed, 3_000)
    cands = enumerate_candidates(problem)
    inc = incidence(cands.masks, cands.costs, problem.num_ops)
    rng = random.Random(seed)
    top = float(max(cands.costs))
    artificial = np.full(problem.num_ops, 10 * top)
    for _ in range(50):
        duals = np.array([rng.uniform(-0.5, 1.5) * top for _ in range(problem.num_ops)])
        assert lagrangian_bound(inc, duals, artificial) <= optimum + 1e-6


def test_a_stop_before_enumeration_ends_is_still_a_bound() -> None:
    graph = random_dag(18, 7, fan_in=3)
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 4_000)
    optimum = ideals.solve(problem, Limits()).objective_bytes
    found = lp_lower_bound(problem, Deadline(Limits(time_limit_s=1e-9)))
    assert not found.proven and not found.candidates_complete
    assert 0 <= found.value <= optimum


def test_an_early_stop_in_column_generation_is_still_a_bound() -> None:
    """Candidates given complete, deadline already passed: one master LP, its Lagrangian
    bound, not proven, at most the optimum."""
    graph = random_dag(18, 3, fan_in=3)
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 4_000)
    cands = enumerate_candidates(problem)
    exact = ideals.solve(problem, Limits())
    found = lp_lower_bound(problem, Deadline(Limits(time_limit_s=1e-9)), cands=cands)
    assert found.value <= exact.objective_bytes
    assert not found.proven or found.value <= exact.objective_bytes


def test_zoo_net_bound_meets_the_proven_optimum() -> None:
    """GoogLeNet, LBDF, 128 KB: auto proves 7,317,664 B (benchmarks/results/exact_zoo.md);
    the LP bound is at most that and, measured, 0.15 % below it (7,306,681 B)."""
    graph = load_graph("googlenet")
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 128 * 1024)
    found = lp_lower_bound(problem)
    assert found.proven
    assert found.value <= 7_317_664
    assert found.value >= 0.998 * 7_317_664


def _cut_after(cands, first: int):
    """``cands`` as an enumeration stopped while growing seed ``first``: every group of
    two or more ops whose lowest op is ``first`` or more is dropped."""
    import dataclasses

    keep = [i for i, m in enumerate(cands.masks)
            if m.bit_count() == 1 or (m & -m).bit_length() - 1 < first]
    return dataclasses.replace(
        cands, masks=tuple(cands.masks[i] for i in keep), costs=tuple(cands.costs[i] for i in keep),
        before=tuple(cands.before[i] for i in keep), after=tuple(cands.after[i] for i in keep),
        complete=False)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("seed", range(4))
def test_partial_enumeration_bound_is_valid_and_grows_with_the_seeds_done(
        scheme: str, seed: int) -> None:
    graph = random_dag(18, 200 + seed, fan_in=3)
    problem = make_problem(graph, _model(scheme, graph), 4_000)
    optimum = ideals.solve(problem, Limits()).objective_bytes
    full = enumerate_candidates(problem)
    complete = lp_lower_bound(problem, cands=full).value
    values = []
    for first in (0, 4, 9, 14):
        found = lp_lower_bound(problem, cands=_cut_after(full, first))
        assert not found.proven and not found.candidates_complete
        assert found.value <= optimum, (scheme, seed, first)
        values.append(found.value)
    # more seeds done, more groups priced exactly: never weaker (up to the rounding margin)
    assert all(a <= b + 2 for a, b in zip(values, values[1:] + [complete])), values


def test_lagrangian_bound_by_hand() -> None:
    """Ops a, b; columns {a}: 3, {b}: 3, {a, b}: 4; the LP optimum is 4 (x_ab = 1).
    pi = (2, 2): rc = 1, 1, 0, each op's least rc/|S| is 0: L = 4. pi = (3, 3): rc_ab = -2,
    shares -1 each: L = 6 - 2 = 4. pi = (5, 0): op a's least share is rc_a = -2, op b's
    rc_ab / 2 = -0.5: L = 5 - 2.5 = 2.5."""
    inc = incidence([0b01, 0b10, 0b11], [3, 3, 4], 2)
    artificial = np.full(2, 100.0)
    assert lagrangian_bound(inc, np.array([2.0, 2.0]), artificial) == pytest.approx(4.0)
    assert lagrangian_bound(inc, np.array([3.0, 3.0]), artificial) == pytest.approx(4.0)
    assert lagrangian_bound(inc, np.array([5.0, 0.0]), artificial) == pytest.approx(2.5)
    assert lagrangian_bound(inc, np.array([0.0, 0.0]), artificial) == pytest.approx(4.0)


def test_constraints_only_raise_the_bound_and_it_stays_below_the_constrained_optimum() -> None:
    """A pin (its ops' singletons are no candidates: the artificial columns keep the master
    feasible), a forbidden pair and a group-size cap, as in test_solver_constraints: the
    bound is at most the constrained brute-force optimum and at least the free LP bound."""
    graph = random_dag(8, 8)
    model = make_cost_model("lbdf", graph, 1)
    buffer = 1_500
    apart, together, expected, free = pinned_instance(graph, model, buffer)
    assert expected > free
    names = [op.name for op in graph.ops]
    problem = make_problem(graph, model, buffer, pins=[[names[v] for v in apart]],
                           forbids=[[names[together[0]], names[together[1]]]], max_group_ops=4)
    found = lp_lower_bound(problem)
    assert found.proven
    free_bound = lp_lower_bound(make_problem(graph, model, buffer)).value
    assert free_bound <= found.value <= expected


@pytest.mark.parametrize("seed", range(3))
def test_the_memory_cap_relaxes_groups_and_stays_valid(seed: int, monkeypatch) -> None:
    """With the cap on op entries set low, the groups past it are relaxed to floors: not
    proven, still at most the optimum, at most the uncapped bound."""
    from fuseplan.solver import lp_bound

    graph = random_dag(18, 300 + seed, fan_in=3)
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 4_000)
    optimum = ideals.solve(problem, Limits()).objective_bytes
    cands = enumerate_candidates(problem)
    full = lp_lower_bound(problem, cands=cands)
    monkeypatch.setattr(lp_bound, "MAX_ENTRIES", sum(m.bit_count() for m in cands.masks) // 2)
    capped = lp_lower_bound(problem, cands=cands)
    assert full.proven and not capped.proven and capped.candidates_complete
    assert capped.first_relaxed < problem.num_ops
    assert capped.value <= full.value + 1 and capped.value <= optimum
