"""Every registered method against a brute-force oracle on random DAGs of up to 9 ops, under
the toy model and both real schemes, at several buffers. The method list is the registry's
(``solver/api.METHODS``, each module once): an exact method must return OPTIMAL at the
oracle's optimum; a heuristic one a plan that is valid and costs at least the optimum. Every
plan of a real scheme passes the validator."""

from __future__ import annotations

from functools import cache

import pytest

from brute_force import ToyModel, brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.validate import check_plan
from fuseplan.solver.api import METHODS, method_function
from fuseplan.solver.exact import ideals
from fuseplan.solver.problem import Limits, make_problem

BUFFERS = (700, 1_500, 3_000, 8_000)


def _registered() -> list[str]:
    """One name per method function (``exact`` is ``auto`` again)."""
    names, functions = [], set()
    for name in METHODS:
        solve = method_function(name)
        if solve not in functions:
            functions.add(solve)
            names.append(name)
    return names


def _model(scheme: str, graph):
    return ToyModel(graph) if scheme == "toy" else make_cost_model(scheme, graph, 1)


@cache
def _instance(scheme: str, n_ops: int, seed: int, fan_in: int):
    graph = random_dag(n_ops, seed, fan_in=fan_in)
    return graph, _model(scheme, graph)


@cache
def _optimum(scheme: str, n_ops: int, seed: int, fan_in: int, buffer: int) -> int:
    graph, model = _instance(scheme, n_ops, seed, fan_in)
    expected, _ = brute_force_optimum(graph, model, buffer)
    return expected


def _check(name: str, scheme: str, n_ops: int, seed: int, fan_in: int, buffer: int,
           solve=None) -> None:
    graph, model = _instance(scheme, n_ops, seed, fan_in)
    expected = _optimum(scheme, n_ops, seed, fan_in, buffer)
    problem = make_problem(graph, model, buffer)
    if solve is None and METHODS[name].kind == "heuristic":
        # validity and cost >= optimum are what is checked here, not search quality: a
        # small budget and no reference solve keep the many instances quick
        from fuseplan.solver.search.run import SearchSettings

        quick = SearchSettings(evaluations=150, reference_time_s=0)
        result = method_function(name)(problem, Limits(), search=quick)
    else:
        result = (solve or method_function(name))(problem, Limits())
    where = (name, scheme, seed, buffer)
    assert result.plan is not None, where
    if scheme != "toy":
        check_plan(result.plan, graph, model)
    if solve is not _singletons and METHODS[name].kind == "exact":
        assert result.status == "OPTIMAL", where
        assert result.objective_bytes == expected, where
        assert result.bound_bytes == expected and result.gap == 0.0, where
    else:
        assert result.status in ("FEASIBLE", "OPTIMAL"), where
        assert result.objective_bytes >= expected, where
        assert result.status == "FEASIBLE" or result.objective_bytes == expected, where


@pytest.mark.parametrize("scheme", ["toy", "lbdf", "brr"])
@pytest.mark.parametrize("seed", range(8))
def test_ideals_equals_brute_force(scheme: str, seed: int) -> None:
    """The most instances, on the method the others are compared with."""
    for buffer in BUFFERS:
        _check("ideals", scheme, 7 + seed % 3, seed, 2, buffer)


@pytest.mark.parametrize("scheme", ["toy", "lbdf", "brr"])
@pytest.mark.parametrize("name", _registered())
def test_registered_methods_against_brute_force(name: str, scheme: str) -> None:
    for seed in (11, 12, 13):
        for buffer in (1_500, 8_000):
            _check(name, scheme, 8, seed, 3, buffer)
    for seed in (0, 4):  # 7 and 8 ops at the smallest buffers, where some ops are unfusable
        for buffer in BUFFERS[:2]:
            _check(name, scheme, 7 + seed % 3, seed, 2, buffer)


def _singletons(problem, limits, *, deadline=None):
    """A heuristic as simple as can be: every op alone."""
    from fuseplan.solver.progress import Deadline
    from fuseplan.solver.result import finish

    groups = [1 << v for v in range(problem.num_ops)]
    cost = sum(problem.model.dram_bytes(g, problem.buffer_bytes) for g in groups
               if not g & problem.unfusable)
    return finish(problem, limits, deadline or Deadline(limits), method="singletons",
                  status="FEASIBLE", groups=groups, objective=cost, bound=None, details={})


def test_the_heuristic_check_runs_on_a_plan_of_singletons() -> None:
    """The heuristic branch of the check, on a stand-in until the searches register."""
    for scheme in ("toy", "lbdf"):
        _check("singletons", scheme, 8, 11, 3, 1_500, solve=_singletons)


def test_some_oracle_instances_fuse_and_some_ops_are_unfusable() -> None:
    """The oracle instances are not trivial: optimal plans fuse ops, and at the smallest
    buffer some op does not fit alone."""
    fused = unfusable = 0
    for seed in range(8):
        graph = random_dag(7 + seed % 3, seed)
        model = make_cost_model("lbdf", graph, 1)
        for buffer in BUFFERS:
            problem = make_problem(graph, model, buffer)
            unfusable += problem.unfusable != 0
            result = ideals.solve(problem, Limits())
            fused += len(result.groups) < graph.num_ops
    assert fused >= 10 and unfusable >= 3
