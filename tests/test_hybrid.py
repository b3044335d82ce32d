"""The hybrid (``solver/hybrid/``): its safe pruning and cut loop never change the optimum
(random small DAGs against brute force, both schemes, hand-over to auto turned off), every
cut it adds is a verified overflow set, the fallback fires when CP-SAT gets no time, the
edge model prices a plan as the cost model does, and every plan validates."""

from __future__ import annotations

from functools import cache

import pytest

from brute_force import brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import check_group
from fuseplan.models.validate import check_plan
from fuseplan.solver.api import solve_net
from fuseplan.solver.candidates import enumerate_candidates
from fuseplan.solver.exact import ideals
from fuseplan.solver.hybrid import edge_model
from fuseplan.solver.hybrid.edge_model import build_edge_model
from fuseplan.solver.hybrid.method import HybridSettings, solve
from fuseplan.solver.hybrid.separate import separate_pairs
from fuseplan.solver.hybrid.shrink import make_ranker, overflow_set, verified
from fuseplan.solver.problem import Limits, make_problem

BUFFERS = (700, 1_500, 3_000, 8_000)
NO_HANDOVER = HybridSettings(handover=False, warm_evaluations=20)
CASES = [(scheme, seed) for scheme in ("lbdf", "brr") for seed in range(6)]


@cache
def _instance(scheme: str, seed: int):
    graph = random_dag(7 + seed % 3, seed, fan_in=2)
    return graph, make_cost_model(scheme, graph, 1)


@cache
def _optimum(scheme: str, seed: int, buffer: int) -> int:
    graph, model = _instance(scheme, seed)
    return brute_force_optimum(graph, model, buffer)[0]


@pytest.mark.parametrize("separate", [True, False], ids=["pruned", "cuts-only"])
@pytest.mark.parametrize(("scheme", "seed"), CASES)
def test_cut_loop_keeps_the_optimum(scheme: str, seed: int, separate: bool) -> None:
    """With and without the must-separate pairs, the loop (overflow, join and price cuts)
    proves the brute-force optimum under both schemes; the bound is never above it."""
    graph, model = _instance(scheme, seed)
    settings = HybridSettings(handover=False, warm_evaluations=20, separate=separate)
    for buffer in BUFFERS:
        expected = _optimum(scheme, seed, buffer)
        result = solve(make_problem(graph, model, buffer), Limits(), settings=settings)
        where = (scheme, seed, buffer, result.details.get("why"))
        check_plan(result.plan, graph, model)
        assert result.status == "OPTIMAL" and result.objective_bytes == expected, where
        assert result.bound_bytes == expected, where


@pytest.mark.parametrize(("scheme", "seed"), CASES)
def test_separate_pairs_are_safe(scheme: str, seed: int) -> None:
    """No valid group holds a must-separate pair, and separating them all keeps the optimum."""
    graph, model = _instance(scheme, seed)
    for buffer in BUFFERS:
        problem = make_problem(graph, model, buffer)
        pairs = separate_pairs(problem)
        every = pairs.all_pairs(problem)
        assert pairs.complete and len(every) == pairs.total
        for mask in enumerate_candidates(problem).masks:
            assert not any(mask >> u & 1 and mask >> v & 1 for u, v in every), (seed, buffer)
        restricted = problem.with_separate(every)
        assert ideals.solve(restricted, Limits()).objective_bytes == _optimum(scheme, seed, buffer)


@pytest.mark.parametrize(("scheme", "seed"), CASES)
def test_every_cut_is_a_verified_overflow_set(scheme: str, seed: int, monkeypatch) -> None:
    """Every S' the loop adds is weakly connected, over the buffer by its lower bound, and
    inside no valid group; the cut counts and sizes are reported."""
    graph, model = _instance(scheme, seed)
    added: list[tuple[int, int]] = []
    original = edge_model.EdgeModel.add_overflow_cut

    def record(self, ops: int) -> None:
        added.append((self.problem.buffer_bytes, ops))
        original(self, ops)

    monkeypatch.setattr(edge_model.EdgeModel, "add_overflow_cut", record)
    for buffer in BUFFERS:
        problem = make_problem(graph, model, buffer)
        result = solve(problem, Limits(), settings=NO_HANDOVER)
        cuts = [ops for b, ops in added if b == buffer]
        assert result.details["overflow_cuts"] == len(cuts)
        valid = enumerate_candidates(problem).masks
        for ops in cuts:
            assert verified(problem, ops)
            assert not any(ops & ~mask == 0 for mask in valid), (seed, buffer, ops)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_overflow_set_shrinks_inside_the_group(scheme: str) -> None:
    graph, model = _instance(scheme, 3)
    problem = make_problem(graph, model, 1_500)
    rank = make_ranker(problem, "cost", 0)
    groups = enumerate_candidates(make_problem(graph, model, 10**9)).masks
    checked = 0
    for group in groups:
        if check_group(model, group, 1_500).valid or group & problem.unfusable:
            continue
        ops = overflow_set(problem, group, rank)
        if ops is None:  # BRR: F_beta over the buffer, its lower bound not
            assert model.buffer_lower_bound(group) < 1_500
            continue
        assert verified(problem, ops, group)
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_edge_model_prices_plans_like_the_cost_model(scheme: str) -> None:
    """The objective of a plan's values is its fusible F_D under LBDF, at most that under
    BRR (W + S(In) + S(Out))."""
    for seed in range(6):
        graph, model = _instance(scheme, seed)
        for buffer in BUFFERS:
            problem = make_problem(graph, model, buffer)
            _, blocks = brute_force_optimum(graph, model, buffer)
            groups = [sum(1 << v for v in block) for block in blocks]
            fd = sum(model.dram_bytes(g, buffer) or 0 for g in groups
                     if not g & problem.unfusable)
            built = build_edge_model(problem)
            if scheme == "lbdf":
                assert built.objective_of(groups) == fd
            else:
                assert built.objective_of(groups) <= fd


def test_fallback_fires_when_cpsat_gets_no_time() -> None:
    graph, model = _instance("lbdf", 2)
    problem = make_problem(graph, model, 1_500)
    for limits, settings in ((Limits(time_limit_s=1e-9), NO_HANDOVER),
                             (Limits(), HybridSettings(handover=False, use_cpsat=False))):
        result = solve(problem, limits, settings=settings)
        assert result.details["fallback"] is True
        assert result.details["rounds"] == 0
        assert result.status in ("FEASIBLE", "OPTIMAL")
        assert result.bound_bytes is not None and result.bound_bytes <= _optimum("lbdf", 2, 1_500)
        check_plan(result.plan, graph, model)


def test_easy_graphs_and_user_constraints_go_to_auto() -> None:
    result = solve_net("mobilenet_v2", buffer_bytes="128KB", method="hybrid")
    assert result.details["handed_over"] is True
    assert "handed over to auto" in result.details["why"]
    assert result.status == "OPTIMAL"
    check_plan(result.plan, result.graph, result.model)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_hybrid_plan_on_a_zoo_net_validates(scheme: str) -> None:
    """Without the hand-over, on a real net: the hint is accepted, the plan validates."""
    from fuseplan.models.load import load_graph

    graph = load_graph("mobilenet_v2")
    model = make_cost_model(scheme, graph, 1)
    problem = make_problem(graph, model, 128 * 1024)
    result = solve(problem, Limits(time_limit_s=10),
                   settings=HybridSettings(handover=False, warm_evaluations=20))
    check_plan(result.plan, graph, model)
    assert result.details["hints_accepted"] == result.details["hints_given"] >= 1
    auto = solve_net(graph, buffer_bytes=128 * 1024, scheme=scheme)
    assert result.objective_bytes >= auto.objective_bytes
    assert result.bound_bytes <= auto.objective_bytes
