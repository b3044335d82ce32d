"""ONNX export: a valid, runnable model whose import is the graph we started from."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
import pytest

import onnx_cases as cases
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.onnx_export import export_onnx
from fuseplan.models.onnx_import import import_onnx
from fuseplan.models.transforms import fold_activations

CASES = {
    "conv_bn_relu": lambda: cases.conv_bn_relu(False),
    "bn_two_readers": cases.bn_two_readers,
    "flatten_head": cases.flatten_head,
    "unnamed_silu": cases.unnamed_silu,
    "spatial_ops": cases.spatial_ops,
    "heads": cases.heads,
    "upsample_opset9": cases.upsample_opset9,
    "data_slice": cases.data_slice,
    "norms": cases.norms,
}


def _round_trip(g: Graph, tmp_path: Path, name: str = "rt") -> Graph:
    path = tmp_path / f"{name}.onnx"
    export_onnx(g, path)
    return import_onnx(path)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fold", [False, True])
def test_round_trip_of_imported_cases(tmp_path: Path, case: str, fold: bool) -> None:
    g = import_onnx(cases.save(CASES[case](), tmp_path, case))
    if fold:
        g = fold_activations(g)
    assert _round_trip(g, tmp_path) == g


def _built_graph() -> Graph:
    """A graph made with GraphBuilder (as the zoo does): Gemm on a 4x4 map with no Flatten."""
    b = GraphBuilder("built")
    x = b.input("x", 3, 8, 8)
    c = b.op("conv", "Conv", [x], (4, 4, 4), params=4 * 27 + 4, k=3, s=2,
             attrs=[("kernel_shape", (3, 3)), ("pads", (1, 1, 1, 1)), ("strides", (2, 2))],
             param_shapes=[(4, 3, 3, 3), (4,)], absorbed=["bn"])
    r = b.op("relu", "Relu", [c], (4, 4, 4))
    a = b.op("add", "Add", [r, c], (4, 4, 4))
    f = b.op("fc", "Gemm", [a], (5, 1, 1), params=5 * 64 + 5, k=4, s=4, is_global=True,
             attrs=[("transB", 1)], param_shapes=[(5, 64), (5,)])
    b.output(b.op("bias", "Add", [f], (5, 1, 1), params=5, param_shapes=[(5,)]))
    return b.build()


def test_round_trip_of_a_built_graph_and_model_runs(tmp_path: Path) -> None:
    g = _built_graph()
    path = tmp_path / "built.onnx"
    export_onnx(g, path)
    assert import_onnx(path) == g
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17
    # helper Reshapes for the Gemm's flattened input and 2-D output are marked, not absorbed
    helpers = [n for n in model.graph.node if n.op_type == "Reshape"]
    assert len(helpers) == 1 and helpers[0].doc_string.startswith("fuseplan-export")
    from onnx.reference import ReferenceEvaluator

    (y,) = ReferenceEvaluator(model).run(None, {"x": np.ones((1, 3, 8, 8), np.float32)})
    assert y.shape == (1, 5)


def test_weights_follow_the_seed(tmp_path: Path) -> None:
    g = _built_graph()
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        export_onnx(g, tmp_path / f"{name}.onnx", seed=seed)
    raw = {n: (tmp_path / f"{n}.onnx").read_bytes() for n in "abc"}
    assert raw["a"] == raw["b"] and raw["a"] != raw["c"]
    weights = {t.name: t for t in onnx.load(str(tmp_path / "a.onnx")).graph.initializer}
    assert tuple(weights["conv::param0"].dims) == (4, 3, 3, 3)
    assert weights["conv::param1"].dims == [4]


def test_streamed_weights_are_the_seeded_values_in_one_message(tmp_path: Path) -> None:
    """The weights are appended to the file one tensor at a time in protobuf's wire format;
    read back, the model is one message whose initializers are the seed's values, in order."""
    from onnx import numpy_helper

    g = _built_graph()
    path = tmp_path / "w.onnx"
    export_onnx(g, path, seed=3)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert sum(t.name == "conv::param0" for t in model.graph.initializer) == 1
    rng = np.random.default_rng(3)
    weights = [t for t in model.graph.initializer if t.name in ("conv::param0", "conv::param1")]
    assert [t.name for t in weights] == ["conv::param0", "conv::param1"]
    for t in weights:
        expected = rng.standard_normal(tuple(t.dims), dtype=np.float32)
        assert np.array_equal(numpy_helper.to_array(t), expected)


def test_attrs_that_contradict_shapes_are_refused(tmp_path: Path) -> None:
    b = GraphBuilder("bad")
    x = b.input("x", 3, 8, 8)
    b.output(b.op("conv", "Conv", [x], (4, 8, 8), params=108, k=3, s=1,
                  attrs=[("kernel_shape", (3, 3))], param_shapes=[(4, 3, 3, 3)]))  # no pads: 6x6
    with pytest.raises(FusePlanError, match=r"op 'conv' \(Conv\) written as ONNX gives shape \(4, 6, 6\)"):
        export_onnx(b.build(), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


def test_resize_and_conv_transpose_round_trip_keep_fractional_s(tmp_path: Path) -> None:
    g = import_onnx(cases.save(cases.spatial_ops(), tmp_path, "sp"))
    back = _round_trip(g, tmp_path)
    assert [op.s for op in back.ops if op.s < 1] == [Fraction(1, 2), Fraction(1, 2)]
