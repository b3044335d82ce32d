"""Plan building: execution order, unfusable singletons, totals and bounds (hand-checked
numbers on the toy model of tests/plan_graphs.py: F_beta = W + one row of each tensor read,
F_D = W + S(In) + S(Out))."""

from __future__ import annotations

import re
import sys

import pytest
from plan_graphs import ToyModel, diamond, two_cycle

from fuseplan import __version__
from fuseplan.models.errors import FusePlanError
from fuseplan.models.plan import SolveInfo
from fuseplan.models.plan_build import (
    build_plan,
    make_provenance,
    no_fusion_plan,
    unfusable_ops,
)

SOLVE = SolveInfo(solver="test", status="FEASIBLE", wall_time_s=0.0)
P, Q, R, S, G = (1 << i for i in range(5))  # diamond's ops p, q, r, s, g


def _plan(groups: list[int], buffer: int = 4096):
    graph = diamond()
    model = ToyModel(graph)
    return build_plan(model, groups, buffer, solve=SOLVE, provenance=make_provenance(graph, seed=0))


@pytest.mark.parametrize(
    "groups",
    [[P | R | S, Q, G], [G, Q, P | R | S], [Q, G, P | R | S], [G, P | R | S, Q]],
)
def test_groups_in_execution_order_whatever_the_input_order(groups: list[int]) -> None:
    plan = _plan(groups)
    # q (op 1) feeds r in {p, r, s}: it must run first although p (op 0) has the lowest id.
    assert [g.ops for g in plan.groups] == [(1,), (0, 2, 3), (4,)]


def test_ready_groups_run_lowest_op_first() -> None:
    plan = _plan([S, R, Q, P, G])
    assert [g.ops for g in plan.groups] == [(0,), (1,), (2,), (3,), (4,)]


def test_costs_and_totals_by_hand() -> None:
    plan = _plan([P | R | S, Q, G])
    q, prs, g = plan.groups
    # {q}: W 72, In x 2,048, Out 2,048; F_beta 72 + 128 (one row of x).
    assert (q.fusible, q.cost.dram_bytes, q.cost.buffer_bytes) == (True, 4_168, 200)
    # {p, r, s}: W 584; In = x, q's output (2 x 2,048); Out = s's output (read by g);
    # F_beta = 584 + rows of x, p's, q's and r's outputs (4 x 128).
    assert (prs.cost.input_bytes, prs.cost.weight_bytes, prs.cost.output_bytes) == (4_096, 584, 2_048)
    assert (prs.cost.dram_bytes, prs.cost.buffer_bytes, prs.fusible) == (6_728, 1_096, True)
    # g needs 1,000,000 + 128 B >= 4 KB even alone: unfusable, priced unfused.
    assert g.fusible is False and g.cost.fits is False
    assert (g.cost.weight_bytes, g.cost.input_bytes, g.cost.output_bytes) == (1_000_000, 2_048, 10)
    assert g.cost.dram_bytes == 1_002_058 and g.cost.buffer_bytes == 1_000_128
    totals = plan.totals
    assert totals.fusible_dram_bytes == 4_168 + 6_728
    assert totals.all_dram_bytes == 4_168 + 6_728 + 1_002_058
    # every weight once (1,000,656) + input x (2,048) + output (10)
    assert totals.lower_bound_bytes == 1_002_714
    # every op alone: 4,680 + 4,168 + 4,096 + 6,144 + 1,002,058
    assert totals.upper_bound_bytes == 1_021_146
    assert plan.scheme == "toy" and plan.buffer_bytes == 4096 and plan.bytes_per_element == 1


def test_unfusable_ops_is_strict() -> None:
    model = ToyModel(diamond())
    assert unfusable_ops(model, 4096) == [4]
    assert unfusable_ops(model, 1_000_128) == [4]  # F_beta == buffer does not fit
    assert unfusable_ops(model, 1_000_129) == []
    assert unfusable_ops(model, 200) == [0, 1, 3, 4]  # p 712, q 200, s 256 B; r needs 128


def test_a_fitting_singleton_is_fusible() -> None:
    plan = _plan([P | R | S, Q, G], buffer=2_000_000)
    assert all(g.fusible for g in plan.groups)
    assert plan.groups[2].cost.dram_bytes == 1_002_058
    assert plan.totals.fusible_dram_bytes == plan.totals.all_dram_bytes == 1_012_954


def test_no_fusion_plan() -> None:
    graph = diamond()
    plan = no_fusion_plan(ToyModel(graph), 4096, make_provenance(graph, seed=None))
    assert [g.ops for g in plan.groups] == [(0,), (1,), (2,), (3,), (4,)]
    assert [g.fusible for g in plan.groups] == [True, True, True, True, False]
    assert plan.totals.all_dram_bytes == plan.totals.upper_bound_bytes == 1_021_146
    assert plan.totals.fusible_dram_bytes == 19_088
    assert plan.solve.solver == "no-fusion" and plan.solve.status == "FEASIBLE"


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([P | R | S, Q], r"1 op\(s\) in no group, e\.g\. g"),
        ([P | R | S, Q | R, G], r"op\(s\) r are in two groups"),
        ([P | R | S, Q, G, 0], "group 3 is empty"),
        ([P | R | S, Q, G | (1 << 5)], "beyond the graph's 5 ops"),
    ],
)
def test_not_a_partition(groups: list[int], message: str) -> None:
    with pytest.raises(FusePlanError, match=message):
        _plan(groups)


def test_cyclic_groups_cannot_be_ordered() -> None:
    graph = two_cycle()
    a1, b2, a2, b1 = (graph.op_id(n) for n in ("a1", "b2", "a2", "b1"))
    with pytest.raises(FusePlanError, match="cycle"):
        build_plan(
            ToyModel(graph),
            [1 << a1 | 1 << a2, 1 << b2 | 1 << b1],
            1 << 20,
            solve=SOLVE,
            provenance=make_provenance(graph, seed=0),
        )


def test_provenance(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = diamond()
    monkeypatch.setattr(sys, "argv", ["/usr/bin/fuseplan", "solve", "my net.onnx", "--buffer", "1MB"])
    prov = make_provenance(graph, seed=7)
    assert prov.command == "fuseplan solve 'my net.onnx' --buffer 1MB"
    assert (prov.seed, prov.tool_version, prov.graph_name) == (7, __version__, "diamond")
    assert re.fullmatch(r"[0-9a-f]{16}", prov.graph_hash)
    assert prov.graph_hash != make_provenance(two_cycle(), seed=7).graph_hash
    assert make_provenance(graph, seed=None, command="x y").command == "x y"
    monkeypatch.setattr(sys, "argv", ["/x/fuseplan/__main__.py", "validate", "p.json"])
    assert make_provenance(graph, seed=None).command == "fuseplan validate p.json"
