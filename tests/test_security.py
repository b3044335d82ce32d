"""Untrusted files: ONNX external data stays in the model's folder, absurd sizes are refused
before anything is allocated, huge or deeply nested JSON and aliased YAML are refused with a
clear error, and nothing in an input file is executed. Every test crafts its file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fuseplan.models import fileio
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph_json import read_graph_json
from fuseplan.models.hardware import load_hardware
from fuseplan.models.onnx_import import import_onnx
from fuseplan.models.onnx_load import MAX_TENSOR_BYTES
from fuseplan.models.plan_io import read_plan_json

from onnx_cases import conv, model, rand

W_SHAPE = (8, 3, 3, 3)  # 864 bytes of float32


def _conv_model() -> onnx.ModelProto:
    """x 1x3x8x8 -> Conv 3x3 (weight W) -> y."""
    return model([conv("c", "x", "W", "y", pads=[1, 1, 1, 1])], [("x", [1, 3, 8, 8])],
                 [("y", [1, 8, 8, 8])], {"W": rand(*W_SHAPE)})


def _external(folder: Path, location: str, *, length: int | None = None, offset: int = 0,
              dims: tuple[int, ...] = W_SHAPE) -> Path:
    """The conv model with W's data said to be at ``location`` (written as given)."""
    m = _conv_model()
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    del w.float_data[:]
    del w.dims[:]
    w.dims.extend(dims)
    w.data_location = TensorProto.EXTERNAL
    entries = {"location": location, "offset": str(offset)}
    if length is not None:
        entries["length"] = str(length)
    for key, value in entries.items():
        e = w.external_data.add()
        e.key, e.value = key, value
    path = folder / "m.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def _weights_file(path: Path) -> None:
    path.write_bytes(rand(*W_SHAPE).tobytes())


# ----- ONNX external data -----

def test_external_data_inside_the_folder_loads(tmp_path: Path) -> None:
    _weights_file(tmp_path / "w.bin")
    graph = import_onnx(_external(tmp_path, "w.bin", length=864))
    assert [op.kind for op in graph.ops] == ["Conv"] and graph.ops[0].params == 216
    (tmp_path / "sub").mkdir()
    _weights_file(tmp_path / "sub" / "w.bin")
    assert import_onnx(_external(tmp_path, "sub/w.bin")).ops[0].params == 216


def test_external_data_onnx_save_round_trip(tmp_path: Path) -> None:
    """What onnx.save writes with save_as_external_data loads as before."""
    path = tmp_path / "m.onnx"
    onnx.save(_conv_model(), str(path), save_as_external_data=True, location="m.data",
              size_threshold=0)
    assert (tmp_path / "m.data").stat().st_size == 864
    assert import_onnx(path).ops[0].params == 216


@pytest.mark.parametrize("location", ["../secret.bin", "sub/../../secret.bin", "..\\secret.bin"])
def test_external_data_path_traversal_is_refused(tmp_path: Path, location: str) -> None:
    _weights_file(tmp_path / "secret.bin")  # a real file of the right size outside the folder
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    with pytest.raises(FusePlanError, match=r"outside the model's folder|relative path inside"):
        import_onnx(_external(folder, location, length=864))


def test_external_data_absolute_path_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    _weights_file(secret)
    folder = tmp_path / "model"
    folder.mkdir()
    for location in (str(secret), "/etc/passwd", "C:\\Windows\\w.bin", "c:w.bin"):
        with pytest.raises(FusePlanError, match="must be a relative path inside the model's folder"):
            import_onnx(_external(folder, location))


def test_external_data_symlinks_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _weights_file(outside / "w.bin")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").symlink_to(outside / "w.bin")  # a file link
    with pytest.raises(FusePlanError, match="is a symlink, which is not followed"):
        import_onnx(_external(folder, "w.bin", length=864))
    (folder / "d").symlink_to(outside, target_is_directory=True)  # a folder link on the way
    with pytest.raises(FusePlanError, match="is a symlink, which is not followed"):
        import_onnx(_external(folder, "d/w.bin", length=864))


def test_external_data_beyond_the_file_or_of_the_wrong_length(tmp_path: Path) -> None:
    _weights_file(tmp_path / "w.bin")
    with pytest.raises(FusePlanError, match="beyond the end of that file"):
        import_onnx(_external(tmp_path, "w.bin", offset=800, length=864))
    with pytest.raises(FusePlanError, match="does not match its shape"):
        import_onnx(_external(tmp_path, "w.bin", length=100))
    with pytest.raises(FusePlanError, match="no such file"):
        import_onnx(_external(tmp_path, "missing.bin"))


def test_absurd_external_tensor_is_refused_before_reading(tmp_path: Path) -> None:
    """dims of 2^40 float32 elements over a small file: refused from the dims alone."""
    _weights_file(tmp_path / "w.bin")
    with pytest.raises(FusePlanError, match=r"initializer 'W' has shape .* more than the 4 GiB"):
        import_onnx(_external(tmp_path, "w.bin", dims=(2**20, 2**20)))
    assert MAX_TENSOR_BYTES == 4 * 2**30


def test_absurd_embedded_tensor_is_refused(tmp_path: Path) -> None:
    m = _conv_model()
    big = TensorProto(name="big", data_type=TensorProto.FLOAT, dims=[2**16, 2**16, 2**4],
                      raw_data=b"")
    m.graph.initializer.append(big)
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    with pytest.raises(FusePlanError, match=r"initializer 'big' has shape .* more than the 4 GiB"):
        import_onnx(path)


def test_tensor_data_shorter_than_its_shape_is_corrupt(tmp_path: Path) -> None:
    m = _conv_model()
    m.graph.initializer[0].raw_data = m.graph.initializer[0].raw_data[:100]
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    with pytest.raises(FusePlanError, match=r"initializer 'W' holds 100 bytes .* corrupt"):
        import_onnx(path)


def test_a_constant_that_would_be_huge_is_refused_before_folding(tmp_path: Path) -> None:
    """ConstantOfShape of 10^8 x 3 x 8 x 8 (77 GB of float32): the folder would allocate it."""
    shape = numpy_helper.from_array(np.array([10**8, 3, 8, 8], dtype=np.int64), "shape")
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"], name="make_big"),
             helper.make_node("Add", ["x", "big"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
                              initializer=[shape])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    with pytest.raises(FusePlanError, match=r"node 'make_big' \(ConstantOfShape\) would make a constant"):
        import_onnx(path)


# ----- JSON and YAML -----

def test_huge_json_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    with open(path, "wb") as fh:  # sparse: no disk used, nothing worth reading
        fh.write(b"{")
        fh.truncate(fileio.MAX_JSON_BYTES + 1)
    with pytest.raises(FusePlanError, match=r"graph JSON .* is larger than .* MiB"):
        read_graph_json(path)
    with pytest.raises(FusePlanError, match=r"plan file .* is larger than .* MiB"):
        read_plan_json(path)


@pytest.mark.parametrize("depth", [fileio.MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_refused(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"groups": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(FusePlanError, match=f"nested deeper than {fileio.MAX_JSON_DEPTH} levels"):
        read_plan_json(path)
    with pytest.raises(FusePlanError, match=f"nested deeper than {fileio.MAX_JSON_DEPTH} levels"):
        read_graph_json(path)


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    """A 'billion laughs' hardware file: each level repeats the last nine times; the error
    message would print 9^9 items."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("buffer: *a9")
    path = tmp_path / "hw.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FusePlanError, match="uses YAML anchors or aliases"):
        load_hardware(path)


def test_yaml_tags_do_not_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "hw.yaml"
    path.write_text(f'buffer: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(FusePlanError, match="not valid YAML"):
        load_hardware(path)
    assert not marker.exists()


def test_json_files_are_data_only(tmp_path: Path) -> None:
    """A graph JSON naming Python in every string field is read as text, never run."""
    marker = tmp_path / "ran"
    code = f"__import__('os').system('touch {marker}')"
    path = tmp_path / "g.json"
    path.write_text(json.dumps({
        "format": "fuseplan-graph", "schema_version": 1, "name": code, "source": code,
        "inputs": ["x"], "outputs": ["y"],
        "tensors": [{"name": "x", "shape": [3, 8, 8], "producer": None},
                    {"name": "y", "shape": [3, 8, 8], "producer": code}],
        "nodes": [{"name": code, "kind": code, "inputs": ["x"], "output": "y",
                   "shape": [3, 8, 8], "params": 0, "param_shapes": [], "k": 1, "s": "1",
                   "is_global": False, "attrs": {"a": code}, "absorbed": []}],
    }))
    try:
        read_graph_json(path)
    except FusePlanError:
        pass
    assert not marker.exists()
