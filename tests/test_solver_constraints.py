"""User constraints, unfusable ops, the 2-cycle trap, time limits and contradictions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from brute_force import ToyModel, brute_force_optimum, random_dag, two_cycle_graph
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import as_mask, mask_ops
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import GraphBuilder
from fuseplan.models.validate import check_plan
from fuseplan.solver.api import METHODS as REGISTRY
from fuseplan.solver.api import method_function, solve_net
from fuseplan.solver.exact import ideals
from fuseplan.solver.problem import Limits, make_problem


def registered_methods() -> dict[str, Callable[..., object]]:
    """Every registered method's solve function, once each (aliases such as ``exact`` for
    ``auto`` run once): a newly registered method is tested here unasked. The constraints
    bind every method; the optimum is asserted only of exact ones."""
    found: dict[str, Callable[..., object]] = {}
    for name in REGISTRY:
        solve = method_function(name)
        if solve not in found.values():
            found[name] = solve
    return found


METHODS = list(registered_methods().values())
IDS = list(registered_methods())
EXACT = {solve for name, solve in registered_methods().items()
         if REGISTRY[name].kind == "exact"}


def optimal_if_exact(method, result, expected: int) -> None:
    """Exact methods find the optimum; any method's plan costs at least that much."""
    if method in EXACT:
        assert result.status == "OPTIMAL" and result.objective_bytes == expected
    else:
        assert result.objective_bytes >= expected


def worked_example(with_relu: bool = False):
    """docs/cost-models.md's worked example: x (64x56x56) -> c1 -> c2 -> add(c2, x)."""
    gb = GraphBuilder("worked")
    x = gb.input("x", 64, 56, 56)
    t1 = gb.op("c1", "Conv", [x], (64, 56, 56), params=36_928, k=3)
    if with_relu:
        t1 = gb.op("r1", "Relu", [t1], (64, 56, 56))
    t2 = gb.op("c2", "Conv", [t1], (64, 56, 56), params=36_928, k=3)
    gb.output(gb.op("add", "Add", [t2, x], (64, 56, 56)))
    return gb.build()


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_worked_example_known_optimum(method) -> None:
    """Hand-checked from the doc's numbers (LBDF, int8). At 128 KB the whole block fits
    (F_beta 106,112 B): F_D = W 73,856 + S(x) 200,704 + S(out) 200,704 = 475,264 B. At
    100 KB it does not; {c1,c2}+{add} = (73,856 + 2 * 200,704) + 3 * 200,704 = 1,077,376 B,
    tied with {c1}+{c2,add}; all alone costs 1,478,784 B."""
    graph = worked_example()
    model = make_cost_model("lbdf", graph, 1)
    big = method(make_problem(graph, model, 128 * 1024), Limits())
    optimal_if_exact(method, big, 475_264)
    small = method(make_problem(graph, model, 100 * 1024), Limits())
    optimal_if_exact(method, small, 1_077_376)
    check_plan(big.plan, graph, model)
    check_plan(small.plan, graph, model)


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_two_cycle_plan_is_never_returned(method) -> None:
    """A = {a1, a2} and B = {b2, b1} are each connected and convex but feed each other.
    At this buffer two-op groups fit and three-op ones do not, and A + B would be cheaper
    than the true optimum: the solvers must still refuse it."""
    graph = two_cycle_graph()
    model = ToyModel(graph)
    ids = {op.name: op.id for op in graph.ops}
    a = as_mask([ids["a1"], ids["a2"]])
    b = as_mask([ids["b1"], ids["b2"]])
    buffer = 270  # two-op groups need at most 264 B, three-op groups at least 272 B
    assert model.buffer_bytes(a) < buffer and model.buffer_bytes(a | b) >= buffer
    cyclic_cost = model.dram_bytes(a, buffer) + model.dram_bytes(b, buffer)
    expected, _ = brute_force_optimum(graph, model, buffer)
    assert cyclic_cost < expected  # the trap is tempting
    result = method(make_problem(graph, model, buffer), Limits())
    optimal_if_exact(method, result, expected)
    assert set(result.groups) != {a, b}
    check_plan(result.plan, graph, model)


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_pins_forbids_and_group_size_match_brute_force(method) -> None:
    graph = random_dag(8, 8)
    model = make_cost_model("lbdf", graph, 1)
    buffer = 1_500
    free, free_blocks = brute_force_optimum(graph, model, buffer)
    # pin two ops the free optimum keeps apart, forbid a pair it puts together
    together = next((u, v) for blk in free_blocks if len(blk) > 1 for u in blk for v in blk if u < v)
    forbids = [together]
    for apart in ((u, v) for u in range(8) for v in range(u + 1, 8)):
        if any(apart[0] in blk and apart[1] in blk for blk in free_blocks):
            continue
        expected, _ = brute_force_optimum(graph, model, buffer, pins=[set(apart)],
                                          forbids=forbids, max_ops=4)
        if expected is not None:
            break
    names = [op.name for op in graph.ops]
    pins = {frozenset(apart)}
    assert expected is not None and expected > free
    problem = make_problem(graph, model, buffer,
                           pins=[[names[v] for v in pin] for pin in pins],
                           forbids=[[names[u], names[v]] for u, v in forbids], max_group_ops=4)
    result = method(problem, Limits())
    optimal_if_exact(method, result, expected)
    group_of = {v: i for i, g in enumerate(result.groups) for v in mask_ops(g)}
    assert group_of[apart[0]] == group_of[apart[1]]
    assert group_of[together[0]] != group_of[together[1]]
    assert max(g.bit_count() for g in result.groups) <= 4
    check_plan(result.plan, graph, model)


def test_unfusable_op_is_a_fixed_singleton() -> None:
    """A conv whose weights alone exceed the buffer stays alone, priced unfused; the rest
    still fuses around it, and every method agrees with the oracle."""
    gb = GraphBuilder("heavy")
    x = gb.input("x", 8, 8, 8)
    t = gb.op("light1", "Conv", [x], (8, 8, 8), params=64, k=3)
    t = gb.op("heavy", "Conv", [t], (8, 8, 8), params=50_000, k=3)
    t2 = gb.op("light2", "Conv", [t], (8, 8, 8), params=64, k=3)
    gb.output(gb.op("light3", "Relu", [t2], (8, 8, 8)))
    graph = gb.build()
    model = make_cost_model("lbdf", graph, 1)
    buffer = 4_096
    expected, _ = brute_force_optimum(graph, model, buffer)
    for method in METHODS:
        problem = make_problem(graph, model, buffer)
        assert problem.unfusable == 1 << graph.op_id("heavy")
        result = method(problem, Limits())
        optimal_if_exact(method, result, expected)
        heavy = [g for g in result.plan.groups if not g.fusible]
        assert [g.ops for g in heavy] == [(graph.op_id("heavy"),)]
        if method in EXACT:
            assert any(len(g.ops) == 2 for g in result.plan.groups)  # light2 + light3 fused
        check_plan(result.plan, graph, model)


@pytest.mark.parametrize("pins,forbids,message", [
    (["light1,heavy"], [], "does not fit"),
    (["light1,light3"], [], "must also hold"),
    (["light2,light3"], ["light2|light3"], "contradict"),
    (["nosuchop,light3"], [], "no op named"),
])
def test_contradictions_are_clear_errors(pins, forbids, message) -> None:
    gb = GraphBuilder("heavy")
    x = gb.input("x", 8, 8, 8)
    t = gb.op("light1", "Conv", [x], (8, 8, 8), params=64, k=3)
    t = gb.op("heavy", "Conv", [t], (8, 8, 8), params=50_000, k=3)
    t2 = gb.op("light2", "Conv", [t], (8, 8, 8), params=64, k=3)
    gb.output(gb.op("light3", "Relu", [t2], (8, 8, 8)))
    with pytest.raises(FusePlanError, match=message):
        solve_net(gb.build(), buffer_bytes=4_096, pins=pins, forbids=forbids)


def test_pin_too_big_and_cyclic_pins_are_errors() -> None:
    graph = two_cycle_graph()
    with pytest.raises(FusePlanError, match="needs at least"):
        solve_net(graph, buffer_bytes=150, pins=["a1,a2"])
    # each pin fits (200 B) but all four ops do not (208 B): the pinned groups form the
    # 2-cycle, so no plan satisfies both
    for method in ("ideals", "cpsat-partition", "milp"):
        with pytest.raises(FusePlanError, match="no valid plan"):
            solve_net(graph, buffer_bytes=205, pins=["a1,a2", "b1,b2"], method=method)


@pytest.mark.parametrize("method", ["ideals", "cpsat-partition", "cpsat-flow"])
def test_time_limit_returns_a_valid_feasible_plan(method: str) -> None:
    """resnet50 at 2 MB needs well over 10 ms to enumerate its candidates: a 10 ms limit
    cuts it short, and the answer is a valid plan marked FEASIBLE, never OPTIMAL."""
    result = solve_net("resnet50", buffer_bytes=2048 * 1024, method=method, time_limit_s=0.01)
    assert result.status == "FEASIBLE" and result.plan is not None
    assert result.details["candidates_complete"] is False
    assert result.gap is None or result.gap > 0
    graph = result.plan.provenance.graph_name
    assert graph == "resnet50"
    from fuseplan.models.zoo import build

    check_plan(result.plan, build("resnet50"), make_cost_model("lbdf", build("resnet50"), 1))


def test_smaller_buffer_plan_is_valid_at_the_full_buffer() -> None:
    """The optimum at half the buffer, priced at the full buffer, is a valid plan there and
    no better than the full optimum (LBDF: a group's F_D does not depend on the buffer)."""
    from fuseplan.models.lattice import ideal_lattice
    from fuseplan.models.zoo import build
    from fuseplan.solver.progress import Deadline
    from fuseplan.solver.exact.warm_start import price_at, smaller_buffer_plans

    graph = build("resnet18")
    model = make_cost_model("lbdf", graph, 1)
    full = make_problem(graph, model, 512 * 1024)
    half = ideals.solve(make_problem(graph, model, 256 * 1024), Limits())
    lattice, _ = ideal_lattice(graph)
    cost, groups, small = smaller_buffer_plans(full, Limits(), Deadline(Limits()), lattice)
    assert small == 256 * 1024 and groups == list(half.groups)
    assert cost == price_at(full, groups)
    assert cost >= ideals.solve(full, Limits()).objective_bytes
    # the half-buffer plan has unfusable ops (fusible at 512 KB) that now count
    assert cost > half.objective_bytes


def test_time_limit_is_honoured_on_a_wide_net() -> None:
    """A width-8 net has too many candidates to list in 2 s: the set partition answers within
    about a second of the limit, FEASIBLE. CP-SAT's bound covers only the candidates found,
    so the gap quoted is against the whole-problem bound (A*'s estimate from the empty
    ideal), never against CP-SAT's."""
    import time

    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.solver.bounds import whole_problem_bound
    from fuseplan.solver.problem import make_problem

    start = time.perf_counter()
    result = solve_net("wide:ops=200,width=8,seed=0", buffer_bytes=128 * 1024, time_limit_s=2.0,
                       method="cpsat-partition")
    assert time.perf_counter() - start < 2.0 + 2.5  # load, unfusable ops, plan building
    assert result.method == "cpsat-partition" and result.status == "FEASIBLE"
    assert result.plan is not None and result.objective_bytes is not None
    assert result.details["candidates_complete"] is False
    graph = load_graph("wide:ops=200,width=8,seed=0")
    problem = make_problem(graph, make_cost_model("lbdf", graph), 128 * 1024)
    assert result.bound_bytes == whole_problem_bound(problem) <= result.objective_bytes
    assert result.gap is not None and 0 < result.gap < 1


def test_ideals_stopped_early_quotes_a_gap_against_the_whole_problem() -> None:
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.solver.bounds import whole_problem_bound
    from fuseplan.solver.problem import make_problem

    result = solve_net("googlenet", buffer_bytes=1024 * 1024, scheme="brr", method="ideals",
                       time_limit_s=1.0)
    assert result.status == "FEASIBLE" and result.details["candidates_complete"] is False
    graph = load_graph("googlenet")
    problem = make_problem(graph, make_cost_model("brr", graph), 1024 * 1024)
    assert result.bound_bytes == whole_problem_bound(problem) <= result.objective_bytes
    assert result.gap is not None and 0 < result.gap < 1
