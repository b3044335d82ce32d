"""The searches on zoo nets: budgets honoured exactly, and (slow) every search with the fast
repairs on two small zoo nets, each plan re-validated and never below the proven optimum
(the full grid is ``benchmarks/search_zoo.py``)."""

from __future__ import annotations

import pytest

from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import check_group
from fuseplan.models.validate import validate_plan
from fuseplan.models.zoo import build
from fuseplan.solver.api import solve_problem
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.search.run import SearchSettings

KB = 1024


@pytest.mark.parametrize("evaluations", [10, 50])
def test_nsga2_stops_at_its_evaluation_budget(evaluations: int) -> None:
    """NSGA-II scored its whole first population (40) even when the budget was 10, and a
    whole generation past a budget that is not a multiple of 40 (found by the zoo run)."""
    graph = build("mobilenet_v3_small")
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 128 * KB)
    settings = SearchSettings(evaluations=evaluations, reference_time_s=0)
    result = solve_problem(problem, Limits(seed=3), "nsga2:random", settings)
    assert result.details["evaluations"] == evaluations
    assert result.plan is not None
    assert validate_plan(result.plan, graph, problem.model) == []


def _bench():
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module("search_zoo")


def test_zoo_checker_catches_a_wrong_total_and_an_invalid_group() -> None:
    """The benchmark's own plan checks are not vacuous: a total off by one byte and a plan
    that puts every op in one group (too big for 128 KB) are both reported."""
    import dataclasses

    from fuseplan.models.plan_build import build_plan

    bench = _bench()
    graph = build("vgg16")
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 128 * KB)
    result = solve_problem(problem, Limits(seed=0), "greedy",
                           SearchSettings(reference_time_s=0))
    assert bench.plan_problems(result, problem) == []
    off = dataclasses.replace(result, objective_bytes=result.objective_bytes + 1)
    assert any("objective" in p for p in bench.plan_problems(off, problem))
    whole = (1 << graph.num_ops) - 1
    assert not check_group(problem.model, whole, 128 * KB).valid
    plan = build_plan(problem.model, [whole], 128 * KB, solve=result.plan.solve,
                      provenance=result.plan.provenance)
    lumped = dataclasses.replace(result, groups=(whole,), plan=plan)
    assert any("invalid" in p for p in bench.plan_problems(lumped, problem))


@pytest.mark.slow
def test_every_search_with_fast_repairs_on_two_small_zoo_nets(tmp_path) -> None:
    """benchmarks/search_zoo.py on VGG-16 and ResNet-18 (both schemes, 128 KB): greedy, and
    rs, ls, nsga2 with cost, random and rgexplainer repair, 10 evaluations each; every plan
    re-validated, never below auto's proven optimum, same seed twice gives the same plan."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "zoo"
    run = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "search_zoo.py"), "--nets", "vgg16,resnet18",
         "--repairs", "cost,random,rgexplainer", "--time-limit", "20",
         "--repeat", "rs=resnet18,ls=vgg16,nsga2=vgg16", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=root)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "zoo.jsonl").read_text().splitlines()]
    assert all(r["problems"] == [] for r in rows)
    runs = [r for r in rows if r["kind"] == "run"]
    assert len(runs) == 2 * 2 * (1 + 3 * 3)
    assert {r["status"] for r in runs} <= {"FEASIBLE", "OPTIMAL"}
    for r in runs:  # auto proves both nets' optimum at once: every run is checked against it
        assert r["optimum_bytes"] is not None and r["objective_bytes"] >= r["optimum_bytes"]
        assert r["search"] == "greedy" or r["evaluations"] == 10
    assert sum(r["proposals"] for r in runs) > 0  # the buffer leaves groups to repair
    repeats = [r for r in rows if r["kind"] == "repeat"]
    assert len(repeats) == 9 and all(r["same"] for r in repeats)
    assert "failures: 0" in run.stdout


def test_case_2_keeps_the_upper_half_first() -> None:
    """When the valid half of Algorithm 1's case 2 is the lower one, the repaired upper half
    still comes first: the groups stay in the execution order ``encoding.py`` documents
    (the valid half used to be listed first whichever it was)."""
    from test_search import splitter_for

    splitter, _ = splitter_for(5, 25, {
        0b11111: [(0b00111, 0b11000)],
        0b00111: [(0b00001, 0b00110)],
    })
    result = splitter.repair(0b11111)
    assert result.groups == (0b00001, 0b00110, 0b11000)
    assert result.dram_bytes == 100 + 107 + 121
