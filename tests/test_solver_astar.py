"""Method ``astar`` (best-first search over ideals): equal to the brute-force oracle on
random DAGs and to ``ideals`` on zoo nets, the user's constraints, the 2-cycle trap, the
admissible estimate, and an honest answer when the time runs out."""

from __future__ import annotations

import pytest

from brute_force import ToyModel, brute_force_optimum, random_dag, two_cycle_graph
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import as_mask, mask_ops
from fuseplan.models.lattice import enumerate_ideals
from fuseplan.models.validate import check_plan
from fuseplan.models.zoo import build
from fuseplan.solver.exact import astar, ideals
from fuseplan.solver.api import solve_net
from fuseplan.solver.bounds import Estimate
from fuseplan.solver.problem import Limits, make_problem

BUFFERS = (700, 1_500, 3_000, 8_000)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("seed", range(8))
def test_astar_equals_brute_force(scheme: str, seed: int) -> None:
    graph = random_dag(7 + seed % 3, seed, fan_in=2 + seed % 2)
    model = make_cost_model(scheme, graph, 1)
    for buffer in BUFFERS:
        expected, _ = brute_force_optimum(graph, model, buffer)
        result = astar.solve(make_problem(graph, model, buffer), Limits())
        assert result.status == "OPTIMAL"
        assert result.objective_bytes == expected, (scheme, seed, buffer)
        assert result.bound_bytes == expected and result.gap == 0.0
        check_plan(result.plan, graph, model)


def test_worked_example_known_optimum() -> None:
    """docs/cost-models.md (LBDF, int8): at 128 KB the block {c1, c2, add} fits, F_D =
    73,856 + 200,704 + 200,704 = 475,264 B; at 100 KB the best is two groups, 1,077,376 B."""
    from fuseplan.models.graph import GraphBuilder

    gb = GraphBuilder("worked")
    x = gb.input("x", 64, 56, 56)
    t1 = gb.op("c1", "Conv", [x], (64, 56, 56), params=36_928, k=3)
    t2 = gb.op("c2", "Conv", [t1], (64, 56, 56), params=36_928, k=3)
    gb.output(gb.op("add", "Add", [t2, x], (64, 56, 56)))
    graph = gb.build()
    model = make_cost_model("lbdf", graph, 1)
    big = astar.solve(make_problem(graph, model, 128 * 1024), Limits())
    assert big.objective_bytes == 475_264 and len(big.groups) == 1
    small = astar.solve(make_problem(graph, model, 100 * 1024), Limits())
    assert small.objective_bytes == 1_077_376 and small.status == "OPTIMAL"


def test_two_cycle_plan_is_never_returned() -> None:
    """A = {a1, a2} and B = {b1, b2} feed each other; together they would beat the optimum."""
    graph = two_cycle_graph()
    model = ToyModel(graph)
    ids = {op.name: op.id for op in graph.ops}
    a, b = as_mask([ids["a1"], ids["a2"]]), as_mask([ids["b1"], ids["b2"]])
    buffer = 270
    expected, _ = brute_force_optimum(graph, model, buffer)
    assert model.dram_bytes(a, buffer) + model.dram_bytes(b, buffer) < expected
    result = astar.solve(make_problem(graph, model, buffer), Limits())
    assert result.status == "OPTIMAL" and result.objective_bytes == expected
    assert set(result.groups) != {a, b}


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_pins_forbids_and_group_size_match_brute_force(scheme: str) -> None:
    graph = random_dag(8, 8)
    model = make_cost_model(scheme, graph, 1)
    buffer = 1_500
    free, free_blocks = brute_force_optimum(graph, model, buffer)
    together = next((u, v) for blk in free_blocks if len(blk) > 1 for u in blk for v in blk if u < v)
    expected = None
    for apart in ((u, v) for u in range(8) for v in range(u + 1, 8)):
        if any(apart[0] in blk and apart[1] in blk for blk in free_blocks):
            continue
        expected, _ = brute_force_optimum(graph, model, buffer, pins=[set(apart)],
                                          forbids=[together], max_ops=4)
        if expected is not None:
            break
    assert expected is not None and expected > free
    names = [op.name for op in graph.ops]
    problem = make_problem(graph, model, buffer, pins=[[names[v] for v in apart]],
                           forbids=[[names[together[0]], names[together[1]]]], max_group_ops=4)
    result = astar.solve(problem, Limits())
    assert result.objective_bytes == expected and result.status == "OPTIMAL"
    group_of = {v: i for i, g in enumerate(result.groups) for v in mask_ops(g)}
    assert group_of[apart[0]] == group_of[apart[1]]
    assert group_of[together[0]] != group_of[together[1]]
    assert max(g.bit_count() for g in result.groups) <= 4
    check_plan(result.plan, graph, model)


@pytest.mark.parametrize(
    "net,kb,scheme",
    [("resnet18", 512, "lbdf"), ("resnet18", 512, "brr"), ("mobilenet_v2", 1024, "lbdf"),
     ("mobilenet_v2", 256, "brr"), ("googlenet", 128, "lbdf"), ("squeezenet1_0", 256, "brr")],
)
def test_astar_equals_ideals_on_zoo_nets(net: str, kb: int, scheme: str) -> None:
    graph = build(net)
    model = make_cost_model(scheme, graph, 1)
    problem = make_problem(graph, model, kb * 1024)
    expected = ideals.solve(problem, Limits())
    result = astar.solve(problem, Limits())
    assert result.status == expected.status == "OPTIMAL"
    assert result.objective_bytes == expected.objective_bytes
    check_plan(result.plan, graph, model)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_estimate_never_exceeds_the_cost_to_go(scheme: str) -> None:
    """h(I) <= the optimal fusible cost of the ops outside I, for every ideal I: solved
    exactly as the same search started from I (the estimate is what makes A* exact)."""
    graph = random_dag(9, 3, fan_in=3)
    model = make_cost_model(scheme, graph, 1)
    problem = make_problem(graph, model, 1_500)
    h = Estimate(problem)
    full = problem.all_ops
    ideal_list, _ = enumerate_ideals(graph)
    # cost-to-go by a plain backward shortest path over ideal differences
    to_go = {full: 0}
    from fuseplan.solver.exact.astar_prices import INVALID, GroupPrices

    prices = GroupPrices(problem)
    for ideal in sorted(ideal_list, key=lambda m: -m.bit_count()):
        if ideal == full:
            continue
        best = None
        for later in ideal_list:
            if later & ideal != ideal or later == ideal or later not in to_go:
                continue
            group = later & ~ideal
            if group & problem.unfusable:
                cost = 0 if group.bit_count() == 1 else INVALID
            else:
                cost = prices.price(group)
            if cost != INVALID and (best is None or cost + to_go[later] < best):
                best = cost + to_go[later]
        if best is not None:
            to_go[ideal] = best
    checked = 0
    for ideal, cost in to_go.items():
        assert h(ideal) <= cost, (ideal, h(ideal), cost)
        checked += 1
    assert checked > 20 and h(0) > 0


def test_time_limit_returns_a_feasible_plan_with_a_valid_bound() -> None:
    """GoogLeNet at 1 MB takes far longer than 0.3 s: the answer is the plan in hand,
    FEASIBLE, with a bound between h(empty ideal) and the optimum 7,776,288 B (proven by
    ``ideals`` and ``astar`` alike, see benchmarks/bench_astar.py)."""
    result = solve_net("googlenet", buffer_bytes=1024 * 1024, method="astar", time_limit_s=0.3)
    assert result.status == "FEASIBLE" and result.plan is not None
    assert result.details["stopped"] == "time limit"
    assert result.bound_bytes is not None and result.bound_bytes <= 7_776_288
    assert result.objective_bytes >= 7_776_288 and result.gap is not None and result.gap > 0
    graph = build("googlenet")
    model = make_cost_model("lbdf", graph, 1)
    assert result.bound_bytes >= Estimate(make_problem(graph, model, 1024 * 1024))(0)
    check_plan(result.plan, graph, model)


def test_pins_that_feed_each_other_have_no_plan() -> None:
    """Each pin fits (200 B) but the pinned groups form the 2-cycle: no valid plan."""
    from fuseplan.models.errors import FusePlanError

    with pytest.raises(FusePlanError, match="no valid plan"):
        solve_net(two_cycle_graph(), buffer_bytes=205, pins=["a1,a2", "b1,b2"], method="astar")


def _diamond_net():
    """x (8x8x8) -> a (1x1 conv 8->8, W 64) -> b1, b2 (1x1 convs 8->1) -> c = concat (2x8x8)
    -> e (1x1 conv 2->8, W 200) -> output. Spine: a, c, e."""
    from fuseplan.models.graph import GraphBuilder

    gb = GraphBuilder("diamond")
    x = gb.input("x", 8, 8, 8)
    a = gb.op("a", "Conv", [x], (8, 8, 8), params=64)
    b1 = gb.op("b1", "Conv", [a], (1, 8, 8), params=8)
    b2 = gb.op("b2", "Conv", [a], (1, 8, 8), params=8)
    c = gb.op("c", "Concat", [b1, b2], (2, 8, 8))
    gb.output(gb.op("e", "Conv", [c], (8, 8, 8), params=200))
    return gb.build()


def test_spine_cuts_are_hand_checked() -> None:
    """Between a and c every path crosses a's output (S = 512 B) or both branch outputs
    (64 B each): the cheapest cut is the branches, written and read again: 2 * (64 + 64) =
    256 B. Between c and e: c's output, 2 * 128 = 256 B. At a buffer where no two spine ops
    fit one group both cuts are forced (512 B on top of the base estimate); at a buffer where
    everything fits none is."""
    graph = _diamond_net()
    model = make_cost_model("lbdf", graph, 1)
    names = {op.name: op.id for op in graph.ops}
    singles = max(model.buffer_bytes(1 << v) for v in range(graph.num_ops))
    hulls = [as_mask([names[v] for v in ("a", "b1", "b2", "c")]), as_mask([names["c"], names["e"]])]
    assert singles < min(model.buffer_lower_bound(h) for h in hulls)
    tight = Estimate(make_problem(graph, model, singles + 1))
    assert [graph.ops[v].name for v in tight.spine.spine] == ["a", "c", "e"]
    assert tight.spine.cut == [256, 256]
    assert tight.spine.reach == [0, 1, 2]
    assert tight(0) - tight.base(0) == 512
    roomy = Estimate(make_problem(graph, model, 1 << 20))
    assert roomy(0) == roomy.base(0)
    for buffer in (singles + 1, 1 << 20):
        expected, _ = brute_force_optimum(graph, model, buffer)
        assert astar.solve(make_problem(graph, model, buffer), Limits()).objective_bytes == expected
