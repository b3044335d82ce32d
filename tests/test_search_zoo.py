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
