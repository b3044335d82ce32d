"""build_plan, the validator and the plan files with the real LBDF and BRR models on the
worked example of docs/cost-models.md (x = 64x56x56, c1, c2 3x3 convs 64->64, add(c2, x);
int8; S = 200,704 B, one row 3,584 B, W = 36,928 B per conv)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from cost_graphs import residual_block

from fuseplan.models.cost import make_cost_model
from fuseplan.models.plan import SolveInfo
from fuseplan.models.plan_build import build_plan, make_provenance, no_fusion_plan
from fuseplan.models.plan_io import SCHEMA_PATH, plan_from_dict, plan_to_dict, write_plan_json
from fuseplan.models.validate import validate_plan

SOLVE = SolveInfo(solver="test", status="FEASIBLE", wall_time_s=0.0)
KB = 1024
S_X = 200_704
W = 36_928
ALL = 0b111  # c1, c2, add


def _plan(scheme: str, buffer: int, groups: list[int]):  # type: ignore[no-untyped-def]
    graph = residual_block()
    model = make_cost_model(scheme, graph, 1)
    plan = build_plan(model, groups, buffer, solve=SOLVE, provenance=make_provenance(graph, seed=0))
    return plan, graph, model


def test_lbdf_worked_example() -> None:
    plan, graph, model = _plan("lbdf", 128 * KB, [ALL])
    (group,) = plan.groups
    assert group.cost.buffer_bytes == 2 * W + 9 * 3_584 == 106_112
    assert group.cost.dram_bytes == 2 * W + S_X + S_X == 475_264
    assert plan.totals.fusible_dram_bytes == plan.totals.all_dram_bytes == 475_264
    # one group holding everything is the lower bound itself
    assert plan.totals.lower_bound_bytes == 475_264
    # alone: c1 and c2 read and write one map each, the add reads two and writes one
    assert plan.totals.upper_bound_bytes == 2 * (W + 2 * S_X) + 3 * S_X == 1_478_784
    assert validate_plan(plan, graph, model) == []


@pytest.mark.parametrize(
    ("buffer", "tiles", "dram"), [(128 * KB, 28, 862_336), (256 * KB, 6, 546_944)]
)
def test_brr_worked_example(buffer: int, tiles: int, dram: int) -> None:
    plan, graph, model = _plan("brr", buffer, [ALL])
    cost = plan.groups[0].cost
    assert (cost.buffer_bytes, cost.dram_bytes, cost.tiles, cost.weights) == (72_768, dram, tiles, "resident")
    assert validate_plan(plan, graph, model) == []
    data = plan_to_dict(plan, graph)
    assert data["groups"][0]["tiles"] == tiles and data["groups"][0]["weights"] == "resident"
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert plan_from_dict(data, graph) == plan


def test_brr_unfusable_conv_at_50kb() -> None:
    graph = residual_block()
    model = make_cost_model("brr", graph, 1)
    plan = no_fusion_plan(model, 50 * KB, make_provenance(graph, seed=None))
    c1, c2, add = plan.groups
    # alone, a conv needs at least W + 3 rows of x + 1 output row = 51,264 B >= 51,200 B
    assert (c1.fusible, c2.fusible, add.fusible) == (False, False, True)
    assert c1.cost.dram_bytes == W + 2 * S_X == 438_336
    assert validate_plan(plan, graph, model) == []


def test_every_plan_of_the_example_validates_and_is_written(tmp_path: Path) -> None:
    for scheme in ("lbdf", "brr"):
        for groups in ([0b1, 0b10, 0b100], [0b11, 0b100], [0b1, 0b110], [ALL]):
            plan, graph, model = _plan(scheme, 256 * KB, groups)
            assert validate_plan(plan, graph, model) == [], (scheme, groups)
            write_plan_json(plan, graph, model, tmp_path / "p.json")
            assert validate_plan(json.loads((tmp_path / "p.json").read_text()), graph, model) == []
