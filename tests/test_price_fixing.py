"""Price and branch (``solver/exact/price_fixing.py``): on random DAGs of 7-8 ops, both
schemes, it returns the brute-force optimum, proven; its LP bound never exceeds the optimum;
and a column fixed out (``f_T`` above the incumbent) belongs to no optimal plan, checked
against every optimal plan the brute force lists. On 18-op DAGs it meets the exact
``ideals`` solver."""

from __future__ import annotations

from functools import cache

import pytest

from brute_force import _Checker, random_dag, set_partitions
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import as_mask
from fuseplan.solver.candidates import enumerate_candidates
from fuseplan.solver.exact import ideals, price_fixing
from fuseplan.solver.exact.price_fixing import (InvalidIncumbent, fixing_values,
                                                incumbent_cost, kept_columns, price_and_fix)
from fuseplan.solver.lp_bound import lp_with_duals
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.progress import Deadline

CASES = [(scheme, seed, buffer) for scheme in ("lbdf", "brr") for seed in range(5)
         for buffer in (1_500, 3_000, 8_000)]


@cache
def _instance(scheme: str, seed: int, buffer: int):
    """(problem, optimum, every optimal plan as a set of group masks)."""
    graph = random_dag(7 + seed % 2, seed, fan_in=3)
    model = make_cost_model(scheme, graph, 1)
    checker = _Checker(graph, model, buffer, (), (), None)
    best, plans = None, []
    for blocks in set_partitions(list(range(graph.num_ops))):
        total = checker.plan_cost(blocks)
        if total is None or (best is not None and total > best):
            continue
        masks = frozenset(as_mask(b) for b in blocks)
        if best is None or total < best:
            best, plans = total, [masks]
        else:
            plans.append(masks)
    return make_problem(graph, model, buffer), best, plans


def _singletons(problem) -> list[int]:
    return [1 << v for v in range(problem.num_ops)]


@pytest.mark.parametrize("scheme,seed,buffer", CASES)
def test_price_and_fix_returns_the_brute_force_optimum(scheme: str, seed: int,
                                                       buffer: int) -> None:
    problem, optimum, _ = _instance(scheme, seed, buffer)
    cands = enumerate_candidates(problem)
    found = price_and_fix(problem, cands, _singletons(problem), Deadline(Limits()))
    assert found.lp_bound <= optimum
    assert found.bound <= optimum
    assert found.status == "OPTIMAL" and found.cost == optimum, found.why
    assert incumbent_cost(problem, found.plan) == optimum


@pytest.mark.parametrize("scheme,seed,buffer", CASES)
def test_a_column_fixed_out_is_in_no_optimal_plan(scheme: str, seed: int, buffer: int) -> None:
    """With the optimum itself as the incumbent (the tightest fixing): every group of every
    optimal plan is kept; with the every-op-alone plan, the kept set holds them too."""
    problem, optimum, plans = _instance(scheme, seed, buffer)
    cands = enumerate_candidates(problem)
    lp = lp_with_duals(problem, cands=cands)
    assert lp.bound.proven and lp.bound.value <= optimum
    values = fixing_values(lp)
    index = {mask: i for i, mask in enumerate(cands.masks)}
    for upper in (optimum, incumbent_cost(problem, _singletons(problem))):
        kept = {cands.masks[i] for i in kept_columns(problem, cands, values, upper)}
        for plan in plans:
            assert plan <= kept, (upper, sorted(plan - kept))
        # and f_T bounds every optimal plan through T from below
        for plan in plans:
            for mask in plan:
                assert values[index[mask]] <= optimum * (1 + 1e-9) + 1e-6


@pytest.mark.parametrize("first_gap", [0.0, 10.0])
@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_both_thresholds_end_at_the_optimum(monkeypatch, first_gap: float, scheme: str) -> None:
    """A first threshold at the LP bound itself (usually too low: a second round) or above
    the incumbent (one round over every column the incumbent allows)."""
    monkeypatch.setattr(price_fixing, "FIRST_GAP", first_gap)
    for seed in range(5):
        problem, optimum, _ = _instance(scheme, seed, 3_000)
        found = price_and_fix(problem, enumerate_candidates(problem), _singletons(problem),
                              Deadline(Limits()))
        assert (found.status, found.cost) == ("OPTIMAL", optimum), found.why


def _larger(scheme: str, seed: int, buffer: int):
    """An 18-op random DAG and the optimum ``ideals`` proves for it."""
    graph = random_dag(18, 100 + seed, fan_in=3)
    problem = make_problem(graph, make_cost_model(scheme, graph, 1), buffer)
    exact = ideals.solve(problem, Limits())
    assert exact.status == "OPTIMAL"
    return problem, exact.objective_bytes


@pytest.mark.parametrize("buffer", [1_500, 4_000])
@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("seed", range(3))
def test_price_and_fix_meets_the_exact_solver_on_larger_dags(scheme: str, seed: int,
                                                             buffer: int) -> None:
    problem, optimum = _larger(scheme, seed, buffer)
    found = price_and_fix(problem, enumerate_candidates(problem), _singletons(problem),
                          Deadline(Limits()))
    assert found.lp_bound <= optimum
    assert (found.status, found.cost) == ("OPTIMAL", optimum), found.why


def test_no_time_keeps_the_incumbent_and_a_valid_bound() -> None:
    problem, optimum, _ = _instance("lbdf", 1, 3_000)
    cands = enumerate_candidates(problem)
    start = _singletons(problem)
    found = price_and_fix(problem, cands, start, Deadline(Limits(time_limit_s=1e-9)))
    assert found.cost <= incumbent_cost(problem, start)
    assert found.bound <= optimum
    assert incumbent_cost(problem, found.plan) == found.cost


def test_an_invalid_incumbent_is_refused() -> None:
    problem, _, _ = _instance("lbdf", 0, 3_000)
    cands = enumerate_candidates(problem)
    with pytest.raises(InvalidIncumbent):
        price_and_fix(problem, cands, _singletons(problem)[1:], Deadline(Limits()))
    with pytest.raises(InvalidIncumbent):  # overlapping groups
        price_and_fix(problem, cands, [problem.all_ops, 1], Deadline(Limits()))
    pair = next(1 << u | 1 << v for u in range(problem.num_ops)
                for v in range(u + 1, problem.num_ops) if not problem.neighbours[u] >> v & 1)
    rest = [1 << v for v in range(problem.num_ops) if not pair >> v & 1]
    with pytest.raises(InvalidIncumbent):  # two ops with no edge: not weakly connected
        price_and_fix(problem, cands, [pair, *rest], Deadline(Limits()))
    with pytest.raises(ValueError):
        incomplete = enumerate_candidates(problem, Deadline(Limits(time_limit_s=1e-9)))
        if incomplete.complete:
            pytest.skip("enumeration finished before its deadline")
        price_and_fix(problem, incomplete, _singletons(problem), Deadline(Limits()))


def test_the_hybrid_prices_and_fixes_a_complete_list_of_a_many_ideal_graph(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Six parallel chains (4,098 ideals) with auto's ideal cap lowered below that: the
    probe lists every group, price and branch proves the optimum (the ideals solver's), and
    the answer says so; with price fixing's CP-SAT given no columns to keep (MAX_KEPT 0)
    the plan stays the hybrid's, FEASIBLE or proven by its own loop, never below the LP."""
    from test_hybrid_prune import _six_branches

    from fuseplan.models.validate import check_plan
    from fuseplan.solver.exact import auto
    from fuseplan.solver.hybrid import method
    from fuseplan.solver.hybrid.method import HybridSettings, solve

    graph = _six_branches()
    problem = make_problem(graph, make_cost_model("brr", graph, 1), 1_000)
    settings = HybridSettings(warm_evaluations=1)  # its plan 6,768 B, the optimum 6,688 B
    optimum = ideals.solve(problem, Limits()).objective_bytes
    monkeypatch.setattr(auto, "AUTO_IDEAL_CAP", 1_000)
    monkeypatch.setattr(method, "PROBE_AFTER_SHARE", 0.0)
    result = solve(problem, Limits(time_limit_s=30), settings=settings)
    priced = result.details["price_fixing"]
    assert result.details["handover_probe"]["ideals"] == "more than 1,000"
    assert "handed_over" not in result.details
    assert (result.status, result.objective_bytes) == ("OPTIMAL", optimum)
    assert priced["status"] == "OPTIMAL" and priced["lp_bound"] <= optimum
    assert priced["cpsat"] and priced["incumbent"] > optimum
    assert 0 < priced["kept"] < priced["candidates"]
    assert "price and branch, OPTIMAL" in result.details["why"]
    check_plan(result.plan, graph, problem.model)

    monkeypatch.setattr(price_fixing, "MAX_KEPT", 0)
    capped = solve(problem, Limits(time_limit_s=3), settings=settings)
    said = capped.details["price_fixing"]
    assert said["cpsat"] is False and "CP-SAT not run" in said["why"]
    assert said["lp_bound"] <= capped.bound_bytes <= optimum <= capped.objective_bytes
    check_plan(capped.plan, graph, problem.model)


def test_the_hybrid_skips_price_and_fix_without_a_valid_plan(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Before any plan (its best is empty), the hybrid notes why instead of failing."""
    from test_hybrid_prune import _six_branches

    from fuseplan.solver.hybrid import method

    graph = _six_branches()
    problem = make_problem(graph, make_cost_model("brr", graph, 1), 1_000)
    hybrid = method._Hybrid(problem, Limits(time_limit_s=5), Deadline(Limits(time_limit_s=5)),
                            method.HybridSettings(warm_evaluations=1))
    assert hybrid._price_and_fix(enumerate_candidates(problem)) is False
    assert "does not cover every op" in hybrid.details["price_fixing"]["not_run"]
