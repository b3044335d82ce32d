"""The validator catches each rule on hand-made bad plans (toy model, tests/plan_graphs.py)."""

from __future__ import annotations

import dataclasses

import pytest
from plan_graphs import ToyModel, diamond, two_cycle

from fuseplan.models.cost.base import GroupCost
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.plan import Plan, PlanGroup, SolveInfo
from fuseplan.models.plan_build import build_plan, make_provenance
from fuseplan.models.plan_io import plan_to_dict
from fuseplan.models.validate import check_plan, validate_plan

P, Q, R, S, G = (1 << i for i in range(5))
SOLVE = SolveInfo(solver="test", status="FEASIBLE", wall_time_s=0.0)


def _good(buffer: int = 4096) -> tuple[Plan, Graph, ToyModel]:
    graph = diamond()
    model = ToyModel(graph)
    plan = build_plan(model, [P | R | S, Q, G], buffer, solve=SOLVE, provenance=make_provenance(graph, seed=0))
    return plan, graph, model


def _manual(graph: Graph, model: ToyModel, groups: list[tuple[int, ...]], buffer: int = 4096) -> Plan:
    """A plan with these groups in this order and freshly priced groups, bypassing
    build_plan's own checks, so that only the rule under test breaks."""
    good, _, _ = _good(buffer)
    priced = []
    for ops in groups:
        mask = sum(1 << v for v in ops)
        fits = len(ops) > 1 or model.buffer_bytes(mask) < buffer
        priced.append(PlanGroup(ops=ops, fusible=fits, cost=model.group_cost(mask, buffer)))
    return dataclasses.replace(good, groups=tuple(priced))


def _failures_with(failures: list[str], *fragments: str) -> list[str]:
    return [f for f in failures if all(x in f for x in fragments)]


def test_a_good_plan_passes() -> None:
    plan, graph, model = _good()
    assert validate_plan(plan, graph, model) == []
    assert validate_plan(plan_to_dict(plan, graph), graph, model) == []
    check_plan(plan, graph, model)  # no error


def test_two_cycle_is_rejected_as_cyclic() -> None:
    graph = two_cycle()
    model = ToyModel(graph)
    a1, b2, a2, b1 = (graph.op_id(n) for n in ("a1", "b2", "a2", "b1"))
    group_a, group_b = (a1, a2), (b2, b1)
    plan = Plan(
        scheme="toy", buffer_bytes=1 << 20, bytes_per_element=1,
        groups=tuple(
            PlanGroup(ops=tuple(sorted(g)), fusible=True, cost=model.group_cost(g, 1 << 20))
            for g in (group_a, group_b)
        ),
        totals=_good()[0].totals,
        solve=SOLVE,
        provenance=make_provenance(graph, seed=0),
    )
    failures = validate_plan(plan, graph, model)
    cyclic = _failures_with(failures, "acyclic", "cycle", "'a1'", "'b2'")
    assert len(cyclic) == 1
    # each group on its own is fine: connected and convex
    assert not _failures_with(failures, "connected") and not _failures_with(failures, "convex")


def test_missing_and_doubled_ops() -> None:
    plan, graph, model = _good()
    missing = dataclasses.replace(plan, groups=plan.groups[:2])
    assert _failures_with(validate_plan(missing, graph, model), "partition", "1 op(s) in no group", "g")
    doubled = _manual(graph, model, [(1,), (0, 2, 3), (3, 4)])
    failures = validate_plan(doubled, graph, model)
    assert _failures_with(failures, "group 2 (first op 's')", "partition", "'s' is also in group 1")


def test_ops_out_of_order_inside_a_group() -> None:
    plan, graph, model = _good()
    swapped = dataclasses.replace(plan.groups[1], ops=(2, 0, 3))
    plan = dataclasses.replace(plan, groups=(plan.groups[0], swapped, plan.groups[2]))
    assert _failures_with(validate_plan(plan, graph, model), "group 1 (first op 'r')", "op order")


def test_not_connected() -> None:
    _, graph, model = _good()
    # p and q both read x but no edge joins them
    plan = _manual(graph, model, [(0, 1), (2,), (3,), (4,)])
    failures = validate_plan(plan, graph, model)
    assert _failures_with(failures, "group 0 (first op 'p')", "connected")
    assert not _failures_with(failures, "convex")


def test_not_convex() -> None:
    _, graph, model = _good()
    # q -> r -> s leaves {p, q, s} through r and comes back
    plan = _manual(graph, model, [(0, 1, 3), (2,), (4,)])
    failures = validate_plan(plan, graph, model)
    assert _failures_with(failures, "group 0 (first op 'p')", "convex")
    assert _failures_with(failures, "acyclic", "cycle")


def test_groups_listed_out_of_execution_order() -> None:
    _, graph, model = _good()
    plan = _manual(graph, model, [(0, 2, 3), (1,), (4,)])
    failures = validate_plan(plan, graph, model)
    assert _failures_with(failures, "group 0 (first op 'p')", "acyclic", "listed before group 1 (first op 'q')")


def test_a_fusible_group_that_does_not_fit() -> None:
    _, graph, model = _good(buffer=1_000)
    # {p, r, s} needs 1,096 B >= 1,000 B
    plan = build_plan(model, [P | R | S, Q, G], 1_000, solve=SOLVE, provenance=make_provenance(graph, seed=0))
    failures = validate_plan(plan, graph, model)
    assert failures == ["group 1 (first op 'p'): fits: F_beta 1,096 B >= buffer 1,000 B"]


def test_unfusable_marking() -> None:
    plan, graph, model = _good()
    g_fusible = dataclasses.replace(plan.groups[2], fusible=True)
    bad = dataclasses.replace(plan, groups=plan.groups[:2] + (g_fusible,))
    assert _failures_with(validate_plan(bad, graph, model), "group 2 (first op 'g')", "unfusable", "marked fusible")
    q_unfusable = dataclasses.replace(plan.groups[0], fusible=False)
    bad = dataclasses.replace(plan, groups=(q_unfusable,) + plan.groups[1:])
    assert _failures_with(validate_plan(bad, graph, model), "group 0 (first op 'q')", "marked unfusable but fits")
    prs_unfusable = dataclasses.replace(plan.groups[1], fusible=False)
    bad = dataclasses.replace(plan, groups=(plan.groups[0], prs_unfusable, plan.groups[2]))
    assert _failures_with(validate_plan(bad, graph, model), "group 1 (first op 'p')", "must be a single op")


def test_stored_numbers_must_match() -> None:
    plan, graph, model = _good()
    cost: GroupCost = dataclasses.replace(plan.groups[1].cost, dram_bytes=6_000, input_bytes=3_368)
    bad = dataclasses.replace(
        plan, groups=(plan.groups[0], dataclasses.replace(plan.groups[1], cost=cost), plan.groups[2])
    )
    failures = validate_plan(bad, graph, model)
    assert failures == [
        "group 1 (first op 'p'): numbers: dram_bytes 6000 != fresh 6728, input_bytes 3368 != fresh 4096"
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("fusible_dram_bytes", 1, "totals: fusible_dram_bytes 1 != fresh 10,896"),
        ("all_dram_bytes", 2, "totals: all_dram_bytes 2 != fresh 1,012,954"),
        ("lower_bound_bytes", 3, "totals: lower_bound_bytes 3 != fresh 1,002,714"),
        ("upper_bound_bytes", 4, "totals: upper_bound_bytes 4 != fresh 1,021,146"),
    ],
)
def test_totals_and_bounds(field: str, value: int, expected: str) -> None:
    plan, graph, model = _good()
    bad = dataclasses.replace(plan, totals=dataclasses.replace(plan.totals, **{field: value}))
    assert validate_plan(bad, graph, model) == [expected]


def test_graph_hash_scheme_and_bytes_per_element() -> None:
    plan, graph, model = _good()
    bad = dataclasses.replace(plan, provenance=dataclasses.replace(plan.provenance, graph_hash="0" * 16))
    assert _failures_with(validate_plan(bad, graph, model), "graph", "'0000000000000000'")
    data = plan_to_dict(plan, graph)
    data["graph"]["hash"] = "f" * 16
    assert _failures_with(validate_plan(data, graph, model), "graph", "file's graph hash", "'ffffffffffffffff'")
    bad = dataclasses.replace(plan, scheme="lbdf")
    assert _failures_with(validate_plan(bad, graph, model), "scheme 'lbdf'", "'toy'")
    bad = dataclasses.replace(plan, bytes_per_element=2)
    assert _failures_with(validate_plan(bad, graph, model), "bytes_per_element 2")


def test_solver_bound_and_gap() -> None:
    plan, graph, model = _good()
    bad = dataclasses.replace(plan, solve=dataclasses.replace(SOLVE, bound_bytes=10_897, gap=-0.1))
    assert validate_plan(bad, graph, model) == [
        "solve: bound_bytes 10,897 exceeds the plan's fusible total 10,896 (a lower bound cannot)",
        "solve: gap -0.1 is not in [0, 1]",
    ]
    ok = dataclasses.replace(plan, solve=dataclasses.replace(SOLVE, bound_bytes=10_896, gap=0.0))
    assert validate_plan(ok, graph, model) == []


def test_a_malformed_dict_is_one_failure() -> None:
    plan, graph, model = _good()
    data = plan_to_dict(plan, graph)
    data["groups"][0]["ops"] = ["nope"]
    failures = validate_plan(data, graph, model)
    assert len(failures) == 1 and failures[0].startswith("file: plan group 0: op(s) 'nope'")


def test_check_plan_is_one_line_with_the_count() -> None:
    plan, graph, model = _good()
    totals = dataclasses.replace(plan.totals, fusible_dram_bytes=1, all_dram_bytes=2, lower_bound_bytes=3, upper_bound_bytes=4)
    with pytest.raises(FusePlanError) as err:
        check_plan(dataclasses.replace(plan, totals=totals), graph, model)
    message = str(err.value)
    assert message.startswith("plan fails 4 check(s): totals: fusible_dram_bytes 1")
    assert message.endswith("(and 1 more)") and "\n" not in message


class _Discount(ToyModel):
    """The toy model, except that {p, r, s} needs only 300 B (a model whose F_beta can drop
    when ops join, as BRR's can)."""

    def buffer_bytes(self, group: int) -> int:
        return 300 if group == P | R | S else super().buffer_bytes(group)


def test_an_op_that_does_not_fit_alone_must_be_its_own_group() -> None:
    graph = diamond()
    model = _Discount(graph)
    # at 700 B, p alone needs 712 B: unfusable, although {p, r, s} would fit
    plan = build_plan(model, [P | R | S, Q, G], 700, solve=SOLVE, provenance=make_provenance(graph, seed=0))
    assert validate_plan(plan, graph, model) == [
        "group 1 (first op 'p'): unfusable: op(s) 'p' do not fit the buffer alone and must "
        "each be a group of their own"
    ]
    ok = build_plan(model, [P, R | S, Q, G], 700, solve=SOLVE, provenance=make_provenance(graph, seed=0))
    assert validate_plan(ok, graph, model) == []
