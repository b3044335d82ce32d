"""A*'s compiled arcs (``solver/exact/astar_fast.py``, ``astar_kernel.py``) against the
Python loop they follow: the same optimum as brute force, and the same search (plan,
ideals expanded, sets listed) as ``compiled=False``, on random DAGs under both schemes,
with the user's constraints, on zoo nets, with a memo cleared at a tiny cap and a kernel
stopped every few sets; the ``h`` it returns equals :class:`Estimate`."""

from __future__ import annotations

import pytest

from brute_force import brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import mask_ops
from fuseplan.models.validate import check_plan
from fuseplan.models.zoo import build
from fuseplan.solver.bounds import Estimate
from fuseplan.solver.exact import astar, astar_fast
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.progress import Deadline

BUFFERS = (700, 1_500, 3_000, 8_000)


def _same_search(problem, expected: int | None = None) -> dict:
    """Solves ``problem`` in Python and compiled; asserts the same search; returns the
    compiled run's details."""
    slow = astar.solve(problem, Limits(), compiled=False)
    fast = astar.solve(problem, Limits(), compiled=True)
    assert fast.status == slow.status == "OPTIMAL"
    assert fast.objective_bytes == slow.objective_bytes
    if expected is not None:
        assert fast.objective_bytes == expected
    assert fast.groups == slow.groups
    for key in ("ideals_expanded", "ideals_reached", "sets_listed", "passes"):
        assert fast.details.get(key) == slow.details.get(key), key
    assert not slow.details.get("compiled")
    if fast.details.get("ideals_expanded"):
        assert fast.details["compiled"] is True
    check_plan(fast.plan, problem.graph, problem.model)
    return fast.details


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("seed", range(10))
def test_compiled_search_equals_python_and_brute_force(scheme: str, seed: int) -> None:
    graph = random_dag(7 + seed % 3, seed, fan_in=2 + seed % 2)
    model = make_cost_model(scheme, graph, 1)
    searched = 0
    for buffer in BUFFERS:
        expected, _ = brute_force_optimum(graph, model, buffer)
        details = _same_search(make_problem(graph, model, buffer), expected)
        searched += bool(details.get("ideals_expanded"))
    assert searched >= 1  # not every buffer ends at the plan of runs


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_compiled_search_with_pins_forbids_and_group_size(scheme: str) -> None:
    graph = random_dag(9, 4, fan_in=3)
    model = make_cost_model(scheme, graph, 1)
    names = [op.name for op in graph.ops]
    for buffer in (1_500, 3_000):
        expected, _ = brute_force_optimum(graph, model, buffer, pins=[{2, 4}],
                                          forbids=[(1, 5)], max_ops=3)
        problem = make_problem(graph, model, buffer, pins=[[names[2], names[4]]],
                               forbids=[[names[1], names[5]]], max_group_ops=3)
        if expected is None:
            continue
        _same_search(problem, expected)


@pytest.mark.parametrize(
    "net,kb,scheme",
    [("googlenet", 2048, "lbdf"), ("googlenet", 128, "lbdf"), ("googlenet", 4096, "brr"),
     ("squeezenet1_0", 256, "brr"), ("resnet18", 512, "brr")],
)
def test_compiled_search_equals_python_on_zoo_nets(net: str, kb: int, scheme: str) -> None:
    graph = build(net)
    model = make_cost_model(scheme, graph, 1)
    _same_search(make_problem(graph, model, kb * 1024))


def test_tiny_memo_and_short_calls_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memo cleared whenever it holds a few dozen groups, and a kernel that returns
    every 7 sets (then resumes from its arrays), list the same arcs."""
    graph = build("googlenet")
    model = make_cost_model("lbdf", graph, 1)
    problem = make_problem(graph, model, 2048 * 1024)
    reference = astar.solve(problem, Limits(), compiled=True)
    monkeypatch.setattr(astar_fast, "MEMO_START_SLOTS", 1 << 9)
    monkeypatch.setattr(astar_fast, "MEMO_MAX_SLOTS", 1 << 10)
    monkeypatch.setattr(astar_fast, "SETS_PER_CALL", 7)
    result = astar.solve(problem, Limits(), compiled=True)
    assert result.objective_bytes == reference.objective_bytes
    assert result.groups == reference.groups
    assert result.details["sets_listed"] == reference.details["sets_listed"]


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_kernel_estimate_equals_python(scheme: str) -> None:
    """``h`` the kernel returns for each arc's head equals a fresh ``Estimate``."""
    graph = build("googlenet")
    model = make_cost_model(scheme, graph, 1)
    problem = make_problem(graph, model, 1024 * 1024)
    estimate = Estimate(problem)
    kernel = astar_fast.kernel_arcs(problem, estimate)
    assert kernel is not None
    ideal = 0
    checked = 0
    for _ in range(6):  # along a chain of ideals: each step adds the first arc's group
        kernel.new_pass()  # g = 0 at each ideal: no head is known more cheaply
        arcs = kernel.arcs(ideal, 0, float("inf"), 0, lambda: False)
        assert arcs
        for group, cost, h in arcs:
            assert h == estimate(ideal | group), (ideal, group)
            assert cost == model.dram_bytes(group, problem.buffer_bytes)
            checked += 1
        ideal |= arcs[0][0]
    assert checked > 50


def test_compiled_search_stops_at_the_time_limit() -> None:
    """GoogLeNet LBDF at 1 MB needs more than 0.5 s: FEASIBLE, with a valid bound."""
    graph = build("googlenet")
    model = make_cost_model("lbdf", graph, 1)
    problem = make_problem(graph, model, 1024 * 1024)
    limits = Limits(time_limit_s=0.5)
    result = astar.solve(problem, limits, deadline=Deadline(limits), compiled=True)
    assert result.status == "FEASIBLE" and result.details["stopped"] == "time limit"
    assert result.details["compiled"] is True
    assert Estimate(problem)(0) <= result.bound_bytes <= 7_776_288 <= result.objective_bytes
    check_plan(result.plan, graph, model)


def test_kernel_arcs_do_not_apply_to_other_models() -> None:
    from brute_force import ToyModel

    graph = random_dag(8, 1)
    problem = make_problem(graph, ToyModel(graph), 1_500)
    assert astar_fast.kernel_arcs(problem, Estimate(problem)) is None
    result = astar.solve(problem, Limits(), compiled=True)
    assert result.status == "OPTIMAL" and not result.details.get("compiled")
    assert sorted(v for g in result.groups for v in mask_ops(g)) == list(range(8))


def test_lbdf_bounds_hold_f_beta_between_them() -> None:
    """The path-free bounds that settle most fits: lower <= F_beta <= upper on every subset
    of 8-op random DAGs and on groups of GoogLeNet (connected or not), equal when no read
    tensor can be delayed."""
    import numpy as np

    from fuseplan.models.cost.kernel_data import mask_words, model_kernel
    from fuseplan.solver.exact.astar_kernel import lbdf_bounds

    cases = [(random_dag(8, seed, fan_in=3), range(1, 256)) for seed in range(4)]
    googlenet = build("googlenet")
    cases.append((googlenet, [sum(1 << v for v in range(a, a + k)) for a in range(0, 120, 7)
                              for k in (2, 5, 9, 17)]))
    tight = 0
    for graph, masks in cases:
        model = make_cost_model("lbdf", graph, 1)
        _, data = model_kernel(model)
        n = graph.num_ops
        joins = mask_words(sum(1 << v for v in range(n) if data.arrays[12][v]), data.words)
        scratch = np.zeros((4, max(1, len(graph.tensors))), dtype=np.int64)
        for mask in masks:
            low, high = lbdf_bounds(data.arrays, mask_words(mask, data.words), scratch, joins)
            exact = model.buffer_bytes(mask)
            assert low <= exact <= high, (graph.name, mask)
            tight += low == high
    assert tight > 100
