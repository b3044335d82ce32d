"""Plan JSON (round trip, schema, malformed files) and the groups CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import jsonschema
import pytest
from plan_graphs import ToyModel, diamond

from fuseplan.models.errors import FusePlanError
from fuseplan.models.plan import Plan, SolveInfo
from fuseplan.models.plan_build import build_plan, make_provenance
from fuseplan.models.plan_io import (
    SCHEMA_PATH,
    groups_csv_text,
    plan_from_dict,
    plan_to_dict,
    read_plan_json,
    write_groups_csv,
    write_plan_json,
)

P, Q, R, S, G = (1 << i for i in range(5))
SCHEMA = json.loads(SCHEMA_PATH.read_text())


def _plan(buffer: int = 4096) -> tuple[Plan, ToyModel]:
    graph = diamond()
    model = ToyModel(graph)
    solve = SolveInfo(
        solver="test", status="OPTIMAL", wall_time_s=0.25, bound_bytes=10_000, gap=0.0822,
        details={"ideals": 7, "curve": [[0.1, 10_896]]},
    )
    plan = build_plan(
        model, [P | R | S, Q, G], buffer, solve=solve,
        provenance=make_provenance(diamond(), seed=3, command="fuseplan test"),
    )
    return plan, model


def test_round_trip_is_exact() -> None:
    plan, model = _plan()
    data = plan_to_dict(plan, model.graph)
    assert plan_from_dict(json.loads(json.dumps(data)), model.graph) == plan


def test_field_names_and_values() -> None:
    plan, model = _plan()
    data = plan_to_dict(plan, model.graph)
    assert data["schema_version"] == 2 and data["pruning"] is None
    assert data["graph"] == {
        "name": "diamond", "hash": model.graph.fingerprint(), "source": "diamond", "ops": 5,
    }
    assert (data["scheme"], data["buffer_bytes"], data["bytes_per_element"]) == ("toy", 4096, 1)
    assert data["groups"][1] == {
        "ops": ["p", "r", "s"], "fusible": True, "buffer_bytes": 1_096, "dram_bytes": 6_728,
        "input_bytes": 4_096, "weight_bytes": 584, "output_bytes": 2_048,
    }
    assert data["groups"][2]["fusible"] is False
    assert data["totals"] == {
        "fusible_dram_bytes": 10_896, "all_dram_bytes": 1_012_954,
        "lower_bound_bytes": 1_002_714, "upper_bound_bytes": 1_021_146,
    }
    assert data["solve"]["bound_bytes"] == 10_000 and data["solve"]["status"] == "OPTIMAL"
    assert data["provenance"]["command"] == "fuseplan test" and data["provenance"]["seed"] == 3


def test_written_plan_matches_the_schema(tmp_path: Path) -> None:
    plan, model = _plan()
    path = tmp_path / "plan.json"
    write_plan_json(plan, model.graph, model, path)
    data = read_plan_json(path)
    jsonschema.validate(data, SCHEMA)
    assert plan_from_dict(data, model.graph) == plan


def test_tiling_fields_for_a_tiled_group_match_the_schema() -> None:
    plan, model = _plan()
    tiled = dataclasses.replace(
        plan.groups[0].cost, tiles=4, weights="streamed", tiling_buffer_bytes=300
    )
    groups = (dataclasses.replace(plan.groups[0], cost=tiled),) + plan.groups[1:]
    plan = dataclasses.replace(plan, groups=groups)
    data = plan_to_dict(plan, model.graph)
    assert data["groups"][0]["tiles"] == 4 and data["groups"][0]["weights"] == "streamed"
    assert data["groups"][0]["tiling_buffer_bytes"] == 300
    assert "tiles" not in data["groups"][1]
    jsonschema.validate(data, SCHEMA)
    assert plan_from_dict(data, model.graph) == plan


def test_schema_rejects_what_plan_from_dict_rejects() -> None:
    plan, model = _plan()
    data = plan_to_dict(plan, model.graph)
    data["groups"][0]["dram_bytes"] = "4168"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
    with pytest.raises(FusePlanError, match=r"plan group 0: field 'dram_bytes' = '4168' must be an integer"):
        plan_from_dict(data, model.graph)


def test_an_infinite_gap_is_written_as_null() -> None:
    plan, model = _plan()
    plan = dataclasses.replace(plan, solve=dataclasses.replace(plan.solve, gap=float("inf")))
    data = plan_to_dict(plan, model.graph)
    assert data["solve"]["gap"] is None
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("groups"), "plan: field 'groups' is missing"),
        (lambda d: d.update(schema_version=3), "schema_version 3, this fuseplan reads 1 and 2"),
        (lambda d: d.pop("pruning"), "plan: field 'pruning' is missing"),
        (lambda d: d.update(pruning={"mode": "aggressive", "proven": True}),
         "plan pruning: field 'proven' must be false"),
        (lambda d: d.update(pruning={"mode": "wild", "proven": False}), "mode 'wild' must be"),
        (lambda d: d.update(pruning={"mode": "aggressive", "proven": False}),
         "a plan pruned without proof cannot be OPTIMAL"),
        (lambda d: d.update(schema_version=1, pruning=None), "not part of schema_version 1"),
        (lambda d: d.update(buffer_bytes=True), "field 'buffer_bytes' = True must be an integer"),
        (lambda d: d["groups"][0].update(ops=[]), "plan group 0: 'ops' must be a non-empty list"),
        (lambda d: d["groups"][1].update(ops=["p", "zz"]), "plan group 1: op\\(s\\) 'zz' are not in graph"),
        (lambda d: d["groups"][1].pop("fusible"), "plan group 1: field 'fusible' is missing"),
        (lambda d: d["groups"][1].update(weights="half"), "weights 'half' must be resident or streamed"),
        (lambda d: d["totals"].pop("all_dram_bytes"), "plan totals: field 'all_dram_bytes' is missing"),
        (lambda d: d["solve"].update(status="GREAT"), "status 'GREAT' is not one of"),
        (lambda d: d.update(provenance=[]), "plan: field 'provenance' = \\[\\] must be an object"),
    ],
)
def test_malformed_plans_name_the_field(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    plan, model = _plan()
    data = plan_to_dict(plan, model.graph)
    edit(data)
    with pytest.raises(FusePlanError, match=message):
        plan_from_dict(data, model.graph)


def test_write_refuses_an_invalid_plan(tmp_path: Path) -> None:
    plan, model = _plan()
    bad = dataclasses.replace(plan, totals=dataclasses.replace(plan.totals, all_dram_bytes=1))
    path = tmp_path / "plan.json"
    with pytest.raises(FusePlanError, match="plan fails 1 check"):
        write_plan_json(bad, model.graph, model, path)
    assert not path.exists()


def test_read_plan_json_errors(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="does not exist"):
        read_plan_json(tmp_path / "none.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(FusePlanError, match="holds a JSON list, not a plan object"):
        read_plan_json(tmp_path / "list.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(FusePlanError, match="not valid JSON"):
        read_plan_json(tmp_path / "bad.json")


def test_groups_csv(tmp_path: Path) -> None:
    plan, model = _plan()
    path = tmp_path / "groups.csv"
    write_groups_csv(plan, model.graph, path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert path.read_text() == groups_csv_text(plan, model.graph)
    assert [r["ops"] for r in rows] == ["q", "p;r;s", "g"]
    assert [r["fusible"] for r in rows] == ["yes", "yes", "no"]
    assert rows[1] == {
        "group": "1", "first_op": "p", "num_ops": "3", "fusible": "yes",
        "buffer_bytes": "1096", "dram_bytes": "6728", "input_bytes": "4096",
        "weight_bytes": "584", "output_bytes": "2048", "tiles": "", "weights": "",
        "tiling_buffer_bytes": "", "ops": "p;r;s",
    }
    assert sum(int(r["dram_bytes"]) for r in rows) == 1_012_954


PRUNING = {"mode": "aggressive", "explainer": "cost", "rule": "test", "pairs": 4,
           "hulls_explained": 2, "kept_by_incumbent": 0, "complete": True, "seconds": 0.01,
           "proven": False}


def _pruned_plan() -> tuple[Plan, ToyModel]:
    plan, model = _plan()
    solve = dataclasses.replace(plan.solve, status="FEASIBLE",
                                details={**plan.solve.details, "pruning": PRUNING})
    return dataclasses.replace(plan, solve=solve), model


def test_pruning_is_a_top_level_field_that_round_trips(tmp_path: Path) -> None:
    """In memory the record lives in ``solve.details``; the file has it at the top (version
    2), validated by the schema, and reads back to the same plan."""
    plan, model = _pruned_plan()
    path = tmp_path / "plan.json"
    write_plan_json(plan, model.graph, model, path)
    data = read_plan_json(path)
    assert data["schema_version"] == 2 and data["pruning"] == PRUNING
    assert "pruning" not in data["solve"]["details"]
    jsonschema.validate(data, SCHEMA)
    assert plan_from_dict(data, model.graph) == plan


def _version_1(data: dict) -> dict:
    """The same plan as version 1 wrote it: no top-level pruning; a pruned hybrid plan of
    version 1 kept its record in solve.details."""
    old = {key: value for key, value in data.items() if key != "pruning"}
    old["schema_version"] = 1
    if data["pruning"] is not None:
        old["solve"] = {**data["solve"],
                        "details": {**data["solve"]["details"], "pruning": data["pruning"]}}
    return old


@pytest.mark.parametrize("make", [_plan, _pruned_plan], ids=["plain", "pruned"])
def test_version_1_plans_still_load(make) -> None:  # type: ignore[no-untyped-def]
    plan, model = make()
    old = _version_1(plan_to_dict(plan, model.graph))
    jsonschema.validate(old, SCHEMA)
    assert plan_from_dict(old, model.graph) == plan
    assert plan_to_dict(plan_from_dict(old, model.graph), model.graph)["schema_version"] == 2


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("pruning"),  # version 2 needs it
        lambda d: d.update(pruning={"mode": "aggressive", "proven": True}),
        lambda d: d.update(pruning={"mode": "aggressive", "proven": False}),  # and OPTIMAL
        lambda d: d.update(schema_version=1),  # version 1 has no such field
        lambda d: d.update(schema_version=3),
    ],
)
def test_schema_rejects_bad_pruning(edit) -> None:  # type: ignore[no-untyped-def]
    plan, model = _plan()
    data = plan_to_dict(plan, model.graph)
    jsonschema.validate(data, SCHEMA)
    edit(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
