"""Every exact method equals a brute-force oracle on random DAGs of up to 9 ops, under the
toy model and both real schemes, at several buffers; every returned plan passes the
validator."""

from __future__ import annotations

import pytest

from brute_force import ToyModel, brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.validate import check_plan
from fuseplan.solver.exact import cpsat_flow, cpsat_partition, ideals, milp
from fuseplan.solver.problem import Limits, make_problem

BUFFERS = (700, 1_500, 3_000, 8_000)


def _model(scheme: str, graph):
    return ToyModel(graph) if scheme == "toy" else make_cost_model(scheme, graph, 1)


@pytest.mark.parametrize("scheme", ["toy", "lbdf", "brr"])
@pytest.mark.parametrize("seed", range(8))
def test_ideals_equals_brute_force(scheme: str, seed: int) -> None:
    graph = random_dag(7 + seed % 3, seed)
    model = _model(scheme, graph)
    for buffer in BUFFERS:
        expected, _ = brute_force_optimum(graph, model, buffer)
        result = ideals.solve(make_problem(graph, model, buffer), Limits())
        assert result.status == "OPTIMAL"
        assert result.objective_bytes == expected, (scheme, seed, buffer)
        assert result.bound_bytes == expected and result.gap == 0.0
        if scheme != "toy":
            check_plan(result.plan, graph, model)


@pytest.mark.parametrize("method", [cpsat_flow, cpsat_partition, milp], ids=lambda m: m.__name__)
@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_solvers_equal_brute_force(method, scheme: str) -> None:
    for seed in (11, 12, 13):
        graph = random_dag(8, seed, fan_in=3)
        model = _model(scheme, graph)
        for buffer in (1_500, 8_000):
            expected, _ = brute_force_optimum(graph, model, buffer)
            result = method.solve(make_problem(graph, model, buffer), Limits())
            assert result.status == "OPTIMAL"
            assert result.objective_bytes == expected, (seed, buffer)
            check_plan(result.plan, graph, model)


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
