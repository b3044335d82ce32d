"""``--prune aggressive`` (``solver/hybrid/aggressive.py``): the pairs are the edges the
explainer's first cut of each must-separate hull crosses, except those the incumbent keeps
together; aggressive plans validate, never claim OPTIMAL, quote only the whole-problem bound,
and carry the ``pruning`` record into the plan file (schema version 2). Also the hand-over
probe: a graph auto lists the candidate groups of quickly goes to auto's shortest path."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from brute_force import brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.graph import GraphBuilder
from fuseplan.models.plan_io import SCHEMA_PATH, plan_from_dict, read_plan_json
from fuseplan.models.validate import check_plan
from fuseplan.solver.api import solve_net
from fuseplan.solver.cli import main
from fuseplan.solver.hybrid.aggressive import aggressive_pairs
from fuseplan.solver.hybrid.method import HybridSettings, solve
from fuseplan.solver.problem import Limits, make_problem

BUFFERS = (700, 1_500, 3_000, 8_000)
AGGRESSIVE = HybridSettings(handover=False, warm_evaluations=20, prune="aggressive")
CASES = [(scheme, seed) for scheme in ("lbdf", "brr") for seed in range(4)]


@cache
def _instance(scheme: str, seed: int):
    graph = random_dag(7 + seed % 3, seed, fan_in=2)
    return graph, make_cost_model(scheme, graph, 1)


def _chain():
    """a -> b -> c -> d, one tensor each."""
    gb = GraphBuilder("chain4")
    t = gb.input("x", 4, 8, 8)
    for name in "abcd":
        t = gb.op(name, "Conv", [t], (4, 8, 8), params=16, k=3)
    gb.output(t)
    return gb.build()


def test_pairs_are_the_edges_the_first_cut_crosses() -> None:
    """Hand-checked on a chain: the hull of (a, d) is the chain; a proposer cutting it into
    {a, b} | {c, d} says b and c must be apart; an incumbent holding {b, c} vetoes that."""
    graph = _chain()
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 10**9)
    a, b, c, d = (graph.op_id(name) for name in "abcd")
    asked: list[int] = []

    def propose(group: int) -> list[tuple[int, int]]:
        asked.append(group)
        return [(1 << a | 1 << b, 1 << c | 1 << d), (1 << a, 1 << b | 1 << c | 1 << d)]

    found = aggressive_pairs(problem, [(a, d)], propose, [1 << a, 1 << b, 1 << c, 1 << d],
                             None, None)
    assert asked == [0b1111 << min(a, b, c, d)] and found.hulls == 1
    assert found.pairs == ((b, c),) and found.kept_by_incumbent == 0 and found.complete
    kept = aggressive_pairs(problem, [(a, d)], propose, [1 << a, 1 << b | 1 << c, 1 << d],
                            None, None)
    assert kept.pairs == () and kept.kept_by_incumbent == 1
    stopped = aggressive_pairs(problem, [(a, d)], propose, [], None, 0.0)
    assert stopped.pairs == () and not stopped.complete and stopped.hulls == 0


@pytest.mark.parametrize(("scheme", "seed"), CASES)
def test_aggressive_plans_validate_and_never_claim_optimal(scheme: str, seed: int) -> None:
    graph, model = _instance(scheme, seed)
    for buffer in BUFFERS:
        optimum = brute_force_optimum(graph, model, buffer)[0]
        result = solve(make_problem(graph, model, buffer), Limits(), settings=AGGRESSIVE)
        where = (scheme, seed, buffer)
        check_plan(result.plan, graph, model)
        assert result.status == "FEASIBLE" and result.plan.solve.status == "FEASIBLE", where
        pruning = result.details["pruning"]
        assert pruning["mode"] == "aggressive" and pruning["proven"] is False, where
        assert pruning["explainer"] == "cost"
        assert result.objective_bytes >= optimum, where
        # the bound quoted is the whole-problem one only (never the pruned master's)
        assert result.bound_bytes == min(result.details["whole_problem_bound"],
                                         result.objective_bytes) <= optimum, where


def test_safe_pruning_has_no_pruning_record() -> None:
    graph, model = _instance("lbdf", 1)
    result = solve(make_problem(graph, model, 1_500), Limits(),
                   settings=HybridSettings(handover=False, warm_evaluations=20))
    assert "pruning" not in result.details and result.status == "OPTIMAL"


def test_aggressive_plan_file_carries_pruning(tmp_path: Path) -> None:
    graph, model = _instance("lbdf", 2)
    result = solve_net(graph, buffer_bytes=1_500, method="hybrid", hybrid=AGGRESSIVE)
    path = tmp_path / "plan.json"
    result.save(path)
    data = read_plan_json(path)
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["schema_version"] == 2 and data["solve"]["status"] == "FEASIBLE"
    assert data["pruning"] == result.details["pruning"]
    assert "pruning" not in data["solve"]["details"]
    assert plan_from_dict(data, graph) == result.plan


def test_cli_prune_flag(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """--prune reaches the hybrid (an easy net: handed over, so nothing pruned and OPTIMAL);
    with another method it is a one-line error."""
    out = tmp_path / "plan.json"
    assert main(["solve", "mobilenet_v2", "--buffer", "128KB", "--method", "hybrid",
                 "--prune", "aggressive", "--quiet", "--out", str(out)]) == 0
    data = read_plan_json(out)
    assert data["pruning"] is None and data["solve"]["status"] == "OPTIMAL"
    assert "handed over to auto" in data["solve"]["details"]["why"]
    assert main(["solve", "mobilenet_v2", "--buffer", "128KB", "--prune", "aggressive"]) == 2
    assert "--prune applies to --method hybrid only" in capsys.readouterr().err


def _six_branches():
    """A source, six parallel chains of three ops, a sink: 4^6 + 2 = 4,098 ideals, more than
    auto's few-ideals threshold, and few candidate groups at a small buffer."""
    gb = GraphBuilder("branches6")
    x = gb.op("src", "Conv", [gb.input("x", 4, 8, 8)], (4, 8, 8), params=16, k=1)
    ends = []
    for b in range(6):
        t = x
        for i in range(3):
            t = gb.op(f"b{b}_{i}", "Conv", [t], (4, 8, 8), params=16, k=3)
        ends.append(t)
    gb.output(gb.op("sink", "Add", ends, (4, 8, 8), params=0, k=1))
    return gb.build()


def test_probe_hands_over_when_auto_lists_the_candidates_fast(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fuseplan.solver.exact import ideals
    from fuseplan.solver.hybrid import method

    graph = _six_branches()
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 1_500)
    optimum = ideals.solve(problem, Limits()).objective_bytes
    settings = HybridSettings(warm_evaluations=20)
    # the probe right after the first plans (the master would prove this graph before it)
    monkeypatch.setattr(method, "PROBE_AFTER_SHARE", 0.0)
    handed = solve(problem, Limits(time_limit_s=30), settings=settings)
    probe = handed.details["handover_probe"]
    assert handed.details["handed_over"] is True and probe["complete"] is True
    assert probe["ideals"] == 4_098 and probe["candidates"] <= method.PROBE_CANDIDATES
    assert probe["compiled_rows"] is True  # 4,098 ideals: grown as auto's path grows them
    assert "candidate groups listed" in handed.details["why"] and "probed after" in (
        handed.details["why"])
    assert "candidate groups listed" in handed.plan.solve.details["why"]  # in the file too
    assert handed.status == "OPTIMAL" and handed.objective_bytes == optimum
    check_plan(handed.plan, graph, problem.model)

    kept = solve(problem, Limits(time_limit_s=30), settings=HybridSettings(
        warm_evaluations=20, probe_s=0))
    assert "handed_over" not in kept.details and "handover_probe" not in kept.details
    # the cap on a list of Python ints (compiled rows have their own, candidate_rows.rows_cap)
    monkeypatch.setattr(ideals, "USE_COMPILED", False)
    monkeypatch.setattr(method, "PROBE_CANDIDATES", probe["candidates"] - 1)
    over = solve(problem, Limits(time_limit_s=30), settings=settings)
    assert over.details["handover_probe"]["compiled_rows"] is False
    assert "handed_over" not in over.details and over.details["handover_probe"]["complete"]
    assert over.details["why"].startswith("hybrid: edge model")


def test_why_says_pruned_aggressively() -> None:
    graph, model = _instance("brr", 1)
    result = solve(make_problem(graph, model, 3_000), Limits(), settings=AGGRESSIVE)
    assert "pruned aggressively" in result.details["why"] and "never OPTIMAL" in (
        result.details["why"])
    no_model = solve(make_problem(graph, model, 3_000), Limits(), settings=HybridSettings(
        handover=False, warm_evaluations=20, prune="aggressive", use_cpsat=False))
    assert no_model.details["pruning"]["pairs"] == 0 and no_model.status == "FEASIBLE"
    assert "pruned aggressively: 0 unproven pair(s)" in no_model.details["why"]


def test_probe_runs_astar_where_auto_would() -> None:
    """Large buffer on a few-ideals graph: the plan of consecutive runs is within 10 % of
    A*'s estimate, so auto runs A* (not the walk over every group), and the probe does too."""
    from fuseplan.solver.exact import ideals

    graph = _six_branches()
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 3_000)
    optimum = ideals.solve(problem, Limits()).objective_bytes
    handed = solve(problem, Limits(time_limit_s=30), settings=HybridSettings(warm_evaluations=20))
    probe = handed.details["handover_probe"]
    assert handed.details["handed_over"] is True
    assert probe["method"] == "astar" and probe["status"] == "OPTIMAL"
    assert "handed over to auto's A*" in handed.details["why"]
    assert handed.status == "OPTIMAL" and handed.objective_bytes == optimum
    check_plan(handed.plan, graph, problem.model)


def test_astar_probe_cut_short_leaves_the_hybrid_its_time(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fuseplan.solver.exact import astar

    graph = _six_branches()
    problem = make_problem(graph, make_cost_model("brr", graph, 1), 2_500)
    # runs 2,672 B, A*'s estimate 816 B: "near" only with a wider rule, and far from proven
    monkeypatch.setattr(astar, "PASSES_WITHIN", 3.0)
    result = solve(problem, Limits(time_limit_s=2), settings=HybridSettings(
        warm_evaluations=20, probe_s=1e-9))
    probe = result.details["handover_probe"]
    assert probe["method"] == "astar" and probe["status"] != "OPTIMAL"
    assert "handed_over" not in result.details and "candidates" not in probe  # no listing
    assert result.status in ("OPTIMAL", "FEASIBLE") and result.plan is not None
    check_plan(result.plan, graph, problem.model)
