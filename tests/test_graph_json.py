"""Graph JSON: exact round trip, the documented schema, clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import onnx_cases as cases
from fuseplan import __version__
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.graph_json import graph_to_dict, read_graph_json, write_graph_json
from fuseplan.models.load import load_graph
from fuseplan.models.onnx_import import import_onnx
from fuseplan.models.transforms import fold_activations

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "models" / "schemas" / "graph.schema.json"


def _heads(tmp_path: Path) -> Graph:
    return import_onnx(cases.save(cases.heads(), tmp_path, "heads"))


def _graphs(tmp_path: Path) -> list[Graph]:
    out = [_heads(tmp_path), import_onnx(cases.save(cases.spatial_ops(), tmp_path, "sp"))]
    out.append(fold_activations(import_onnx(cases.save(cases.conv_bn_relu(False), tmp_path, "cbr"))))
    out.append(load_graph("cells:cells=3,seed=0"))
    return out


def test_round_trip_is_exact(tmp_path: Path) -> None:
    for i, g in enumerate(_graphs(tmp_path)):
        path = tmp_path / f"g{i}.json"
        write_graph_json(g, path)
        back = read_graph_json(path)
        assert back == g and back.fingerprint() == g.fingerprint()
        assert load_graph(str(path)) == g  # NET_OR_FILE accepts the JSON


def test_node_fields_by_hand(tmp_path: Path) -> None:
    d = graph_to_dict(import_onnx(cases.save(cases.conv_bn_relu(False), tmp_path, "cbr")))
    assert d["format"] == "fuseplan-graph" and d["schema_version"] == 1
    assert d["tool_version"] == __version__
    assert d["inputs"] == ["x"] and d["outputs"] == ["y"]
    assert d["tensors"][0] == {"name": "x", "shape": [3, 8, 8], "producer": None}
    assert d["nodes"][0] == {
        "name": "conv", "kind": "Conv", "inputs": ["x"], "output": "c", "shape": [4, 8, 8],
        "params": 112, "param_shapes": [[4, 3, 3, 3], [4]], "k": 3, "s": "1",
        "is_global": False, "attrs": {"pads": [1, 1, 1, 1]}, "absorbed": ["bn"],
    }
    # 3*8*8 + 4*8*8 (conv) + 4*8*8 (relu) = 192 + 256 + 256
    assert d["totals"] == {"ops": 2, "tensors": 3, "params": 112, "largest_tensor": "c",
                           "largest_tensor_elements": 256, "feature_map_elements": 704}


def test_fractional_s_is_a_fraction_string(tmp_path: Path) -> None:
    d = graph_to_dict(import_onnx(cases.save(cases.spatial_ops(), tmp_path, "sp")))
    assert {n["name"]: n["s"] for n in d["nodes"]}["up"] == "1/2"


def _validate(data: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    try:
        import jsonschema
    except ImportError:  # hand check of what the schema requires
        assert set(schema["required"]) <= set(data)
        node_required = set(schema["$defs"]["node"]["required"])
        assert all(node_required <= set(n) for n in data["nodes"])
        return
    jsonschema.validate(data, schema)


def test_written_files_match_the_schema(tmp_path: Path) -> None:
    for i, g in enumerate(_graphs(tmp_path)):
        path = tmp_path / f"g{i}.json"
        write_graph_json(g, path)
        _validate(json.loads(path.read_text()))


def test_schema_rejects_a_bad_file(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = graph_to_dict(_heads(tmp_path))
    data["nodes"][0]["k"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format="other"), "not a fuseplan graph JSON"),
        (lambda d: d.update(schema_version=9), "schema_version 9"),
        (lambda d: d["nodes"][1].pop("kind"), "lacks the field 'kind'"),
        (lambda d: d["nodes"][1].update(k="3"), "field 'k' has the wrong type"),
        (lambda d: d["nodes"][1].update(s="x"), "'s' must be a fraction"),
        (lambda d: d["nodes"][1].update(inputs=["nowhere"]), "reads 'nowhere'"),
        (lambda d: d["tensors"][1].update(producer="ghost"), "unknown producer 'ghost'"),
        (lambda d: d["tensors"][1].update(shape=[1, 2]), "'shape' must be"),
        (lambda d: d.update(outputs=["nothing"]), "output 'nothing' is not a tensor"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path: Path, edit, message: str) -> None:
    data = graph_to_dict(_heads(tmp_path))
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(FusePlanError, match=message) as err:
        read_graph_json(path)
    assert "\n" not in str(err.value)


def test_not_json_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(FusePlanError, match="not valid JSON"):
        read_graph_json(path)
    with pytest.raises(FusePlanError, match="does not exist"):
        read_graph_json(tmp_path / "none.json")
    with pytest.raises(FusePlanError, match="does not exist"):
        write_graph_json(_heads(tmp_path), tmp_path / "no" / "dir.json")
