"""A plan file names exactly how to load its graph again (``graph.load``), and
``fuseplan validate`` replays that, then checks the hash (no guessing)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import onnx_cases as cases
import pytest

from fuseplan.models.cost import make_cost_model
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph_json import write_graph_json
from fuseplan.models.load import GraphLoad, graph_load_of, load_graph
from fuseplan.models.plan_build import make_provenance, no_fusion_plan, with_graph_load
from fuseplan.models.plan_io import SCHEMA_PATH, plan_from_dict, plan_to_dict, write_plan_json
from fuseplan.solver.cli import main

SCHEMA = json.loads(SCHEMA_PATH.read_text())
KB = 1024


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- Graph.source reloads
def test_zoo_prefix_is_accepted_and_is_the_source() -> None:
    plain, prefixed = load_graph("mobilenet_v1"), load_graph("zoo:mobilenet_v1")
    assert plain.source == prefixed.source == "zoo:mobilenet_v1"
    assert plain.fingerprint() == prefixed.fingerprint()


def test_zoo_prefix_typo_still_suggests_the_name() -> None:
    with pytest.raises(FusePlanError, match="did you mean mobilenet_v2"):
        load_graph("zoo:mobilenet_v22")


def test_generated_source_is_the_canonical_spec() -> None:
    graph = load_graph("wide:width=4, seed=3, ops=100")
    assert graph.source == "wide:ops=100,width=4,seed=3"
    assert load_graph(graph.source).fingerprint() == graph.fingerprint()


def test_onnx_source_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases.save(cases.conv_bn_relu(False), tmp_path, "cbr")
    monkeypatch.chdir(tmp_path)
    graph = load_graph("cbr.onnx")
    assert graph.source == str(tmp_path / "cbr.onnx")
    monkeypatch.chdir("/")
    assert load_graph(graph.source).fingerprint() == graph.fingerprint()


def test_a_directly_imported_graph_records_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fuseplan.models.onnx_import import import_onnx

    cases.save(cases.conv_bn_relu(False), tmp_path, "cbr")
    monkeypatch.chdir(tmp_path)
    graph = import_onnx("cbr.onnx")
    assert graph_load_of(graph).spec == str(tmp_path / "cbr.onnx")


def test_graph_json_source_is_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_graph_json(load_graph("mobilenet_v1", fold_activations=True), tmp_path / "g.json")
    monkeypatch.chdir(tmp_path)
    graph = load_graph("g.json")
    assert graph.source == str(tmp_path / "g.json")
    assert graph.fingerprint() == load_graph("mobilenet_v1", fold_activations=True).fingerprint()
    with pytest.raises(FusePlanError, match="--input-shape applies to ONNX files only"):
        load_graph("g.json", input_shape=(1, 3, 224, 224))


def test_graph_load_replays_the_options() -> None:
    folded = load_graph("mobilenet_v1", fold_activations=True)
    record = graph_load_of(folded, fold_activations=True)
    assert record == GraphLoad("zoo:mobilenet_v1", True, None)
    assert record.describe() == "zoo:mobilenet_v1 --fold-activations"
    assert record.load().fingerprint() == folded.fingerprint()
    assert GraphLoad("a.onnx", False, (1, 3, 8, 8)).describe() == "a.onnx --input-shape 1x3x8x8"


# ---------------------------------------------------------------- graph.load in the file
def _plan_file(tmp_path: Path, spec: str = "mobilenet_v1", fold: bool = False,
               record: bool = True) -> tuple[Path, dict]:
    graph = load_graph(spec, fold_activations=fold)
    model = make_cost_model("lbdf", graph, 1)
    load = graph_load_of(graph, fold_activations=fold) if record else None
    plan = no_fusion_plan(model, 256 * KB, make_provenance(graph, seed=None, load=load))
    path = tmp_path / "plan.json"
    write_plan_json(plan, graph, model, path)
    return path, json.loads(path.read_text())


def test_plan_file_records_the_load_and_reads_it_back(tmp_path: Path) -> None:
    path, data = _plan_file(tmp_path, fold=True)
    assert data["graph"]["load"] == {
        "spec": "zoo:mobilenet_v1", "fold_activations": True, "input_shape": None,
    }
    jsonschema.validate(data, SCHEMA)
    graph = load_graph("mobilenet_v1", fold_activations=True)
    plan = plan_from_dict(data, graph)
    assert plan.provenance.load == GraphLoad("zoo:mobilenet_v1", True, None)
    assert plan_to_dict(plan, graph) == data


def test_a_plan_without_load_writes_none_and_with_graph_load_adds_it() -> None:
    graph = load_graph("mobilenet_v1")
    model = make_cost_model("lbdf", graph, 1)
    plan = no_fusion_plan(model, 256 * KB, make_provenance(graph, seed=None))
    assert "load" not in plan_to_dict(plan, graph)["graph"]
    shaped = with_graph_load(plan, GraphLoad("/x/net.onnx", False, (1, 3, 224, 224)))
    data = plan_to_dict(shaped, graph)
    assert data["graph"]["load"]["input_shape"] == [1, 3, 224, 224]
    jsonschema.validate(data, SCHEMA)
    assert shaped.groups == plan.groups


@pytest.mark.parametrize(
    ("load", "message"),
    [
        ({"fold_activations": False, "input_shape": None}, "plan graph.load: field 'spec' is missing"),
        ({"spec": "", "fold_activations": False, "input_shape": None}, "field 'spec' is empty"),
        ({"spec": "x", "fold_activations": "yes", "input_shape": None}, "'fold_activations' = 'yes' must be true or false"),
        ({"spec": "x", "fold_activations": False, "input_shape": [1, 0]}, "'input_shape' = [1, 0] must be null or a list of positive"),
    ],
)
def test_malformed_load_is_named(tmp_path: Path, load: dict, message: str) -> None:
    _, data = _plan_file(tmp_path)
    data["graph"]["load"] = load
    with pytest.raises(FusePlanError, match="^plan graph.load") as err:
        plan_from_dict(data, load_graph("mobilenet_v1"))
    assert message in str(err.value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


# ---------------------------------------------------------------- validate replays it
def test_validate_replays_a_folded_load(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, _ = _plan_file(tmp_path, fold=True)
    code, out, err = _run(capsys, "validate", str(path))
    assert (code, err) == (0, "") and out.startswith(f"OK: {path}: ")


def test_validate_replays_an_onnx_load_from_another_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases.save(cases.conv_bn_relu(False), tmp_path, "cbr")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "cost", "cbr.onnx", "--buffer", "64KB", "--fold-activations", "--json")
    assert code == 0
    data = json.loads(out)["plan"]
    assert data["graph"]["load"] == {
        "spec": str(tmp_path / "cbr.onnx"), "fold_activations": True, "input_shape": None,
    }
    (tmp_path / "plan.json").write_text(json.dumps(data))
    monkeypatch.chdir("/")
    code, out, err = _run(capsys, "validate", str(tmp_path / "plan.json"))
    assert (code, err) == (0, "")


def test_validate_replays_a_generated_net(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, data = _plan_file(tmp_path, spec="cells:cells=3,seed=2")
    assert data["graph"]["load"]["spec"] == "cells:cell=darts,cells=3,seed=2"
    assert _run(capsys, "validate", str(path))[0] == 0


def test_a_changed_hash_is_an_error_naming_both(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, data = _plan_file(tmp_path)
    right = data["graph"]["hash"]
    data["graph"]["hash"] = "0123456789abcdef"
    path.write_text(json.dumps(data))
    code, out, err = _run(capsys, "validate", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "is for graph hash '0123456789abcdef'" in err
    assert f"reloading 'zoo:mobilenet_v1' gives 'mobilenet_v1' with hash '{right}'" in err


def test_an_old_file_is_not_retried_folded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """No graph.load: graph.source with this command's flags, and no guessing."""
    path, data = _plan_file(tmp_path, fold=True, record=False)
    assert "load" not in data["graph"]
    data["provenance"]["command"] = "fuseplan solve mobilenet_v1 --fold-activations"
    path.write_text(json.dumps(data))
    code, _, err = _run(capsys, "validate", str(path))
    assert code == 2 and "reloading 'zoo:mobilenet_v1' gives" in err
    assert err.endswith("(it was made by `fuseplan solve mobilenet_v1 --fold-activations`)\n")
    code, _, err = _run(capsys, "validate", str(path), "--fold-activations")
    assert (code, err) == (0, "")


def test_flags_conflict_with_a_recorded_load(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, _ = _plan_file(tmp_path)
    code, _, err = _run(capsys, "validate", str(path), "--fold-activations")
    assert code == 2 and err.count("\n") == 1
    assert "records how its graph was loaded ('zoo:mobilenet_v1')" in err
    code, _, _ = _run(capsys, "validate", str(path), "--graph", "mobilenet_v1")
    assert code == 0


def test_an_unloadable_recorded_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, data = _plan_file(tmp_path)
    data["graph"]["load"]["spec"] = str(tmp_path / "gone.onnx")
    path.write_text(json.dumps(data))
    code, _, err = _run(capsys, "validate", str(path))
    assert code == 2 and err.count("\n") == 1
    assert f"cannot reload the plan's graph '{tmp_path / 'gone.onnx'}'" in err
