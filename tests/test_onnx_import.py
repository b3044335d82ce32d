"""ONNX import on hand-built models: every normalisation rule and every user error.

Expected numbers are worked out by hand in the comments (shapes with the ONNX output-size
formulas, params as element counts of the weights).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

import onnx_cases as cases
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph, Op
from fuseplan.models.onnx_import import import_onnx


def _imp(tmp_path: Path, m, name: str = "case", **kw) -> Graph:
    return import_onnx(cases.save(m, tmp_path, name), **kw)


def _op(g: Graph, name: str) -> Op:
    return g.ops[g.op_id(name)]


def _reads(g: Graph, name: str) -> list[str]:
    return [g.tensors[t].name for t in _op(g, name).inputs]


def _shape(g: Graph, name: str) -> tuple[int, int, int]:
    return g.tensors[_op(g, name).output].shape


@pytest.mark.parametrize("bias", [False, True])
def test_batchnorm_folds_into_conv_and_conv_gains_bias(tmp_path: Path, bias: bool) -> None:
    g = _imp(tmp_path, cases.conv_bn_relu(bias))
    assert [op.name for op in g.ops] == ["conv", "relu"]
    conv = _op(g, "conv")
    # 4*3*3*3 weights + a bias of C_out = 4 (gained when the conv had none)
    assert conv.params == 112
    assert conv.param_shapes == ((4, 3, 3, 3), (4,))
    assert conv.absorbed == ("bn",)
    assert _reads(g, "relu") == ["c"]
    assert _shape(g, "conv") == (4, 8, 8)
    assert g.name == "case"


def test_batchnorm_that_cannot_fold_stays_with_2c_params(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.bn_two_readers())
    assert [op.kind for op in g.ops] == ["Conv", "BatchNormalization", "Add"]
    assert _op(g, "conv").params == 12  # 4*3*1*1, no bias
    assert _op(g, "bn").params == 8 and _op(g, "bn").param_shapes == ((4,), (4,))
    assert _reads(g, "add") == ["n", "c"]


def test_shape_ops_removed_and_recorded_gemm_on_map_is_global(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.flatten_head())
    assert [op.name for op in g.ops] == ["conv", "fc"]
    fc = _op(g, "fc")
    assert _reads(g, "fc") == ["c"]  # reads the 8x4x4 map directly
    assert (fc.k, fc.s, fc.is_global) == (4, Fraction(4), True)
    assert fc.params == 10 * 128 + 10
    assert fc.absorbed == ("shape", "gather", "const", "cat_shape", "reshape", "flatten")
    assert _shape(g, "fc") == (10, 1, 1)
    assert g.tensors[g.outputs[0]].name == "y"


def test_unnamed_nodes_and_no_pattern_fusion(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.unnamed_silu())
    assert [(op.name, op.kind) for op in g.ops] == [
        ("Conv_0", "Conv"), ("Sigmoid_1", "Sigmoid"), ("Mul_2", "Mul")]
    assert _reads(g, "Mul_2") == ["c", "s"]


def test_spatial_ops_k_s_shapes_params(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.spatial_ops())
    got = {op.name: (op.k, op.s, _shape(g, op.name), op.params) for op in g.ops}
    assert got == {
        # dilated 3x3, d=2: k = 2*(3-1)+1 = 5; H = (16+4-5)//2+1 = 8
        "dil": (5, Fraction(2), (4, 8, 8), 108),
        # pads (top 0, bottom 1): H = 8+0+1-3+1 = 7
        "asym": (3, Fraction(1), (4, 7, 7), 144),
        "dw": (3, Fraction(1), (4, 7, 7), 36),
        # ConvTranspose kernel 4 stride 2: k = ceil(4/2) = 2, s = 1/2; H = (7-1)*2+4-2 = 14
        "up": (2, Fraction(1, 2), (2, 14, 14), 128),
        "pool": (3, Fraction(2), (2, 7, 7), 0),
        "pad": (1, Fraction(1), (2, 9, 9), 0),
        "resize": (2, Fraction(1, 2), (2, 18, 18), 0),  # linear: k = 2
        "avg": (2, Fraction(2), (2, 9, 9), 0),
    }
    assert _op(g, "dw").attr("group") == 4
    assert _op(g, "pad").attr("pads") == (0, 0, 1, 1, 0, 0, 1, 1)
    assert not any(op.is_global for op in g.ops)


def test_heads_global_ops_clip_bounds_matmul_bias(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.heads())
    assert [op.name for op in g.ops] == [
        "conv", "lrn", "relu6", "gap", "fc", "mean_hw", "mean_c", "add", "mm", "mm_bias", "softmax"]
    glob = {op.name: (op.k, op.is_global) for op in g.ops if op.k > 1 or op.is_global}
    # GAP and the H-reducing ReduceMean read 4 rows; MatMul reads a flattened 6x4x4 map
    assert glob == {"gap": (4, True), "mean_hw": (4, True), "mm": (4, True)}
    assert _op(g, "fc").k == 1 and _op(g, "fc").absorbed == ("gap_flat",)  # GAP output has H = 1
    assert _op(g, "relu6").params == 0
    assert (_op(g, "relu6").attr("min"), _op(g, "relu6").attr("max")) == (0.0, 6.0)
    assert _op(g, "fc").params == 35 and _op(g, "mm").params == 96 * 7
    assert _op(g, "mm_bias").params == 7
    assert _shape(g, "mean_c") == (1, 4, 4) and _shape(g, "add") == (6, 4, 4)
    assert _shape(g, "softmax") == (7, 1, 1)
    assert [g.tensors[t].name for t in g.outputs] == ["y1", "y2"]


def test_upsample_becomes_resize(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.upsample_opset9())
    (op,) = g.ops
    assert (op.kind, op.k, op.s, _shape(g, "up")) == ("Resize", 1, Fraction(1, 2), (2, 6, 6))


def test_symbolic_dims_need_input_shape_which_then_works(tmp_path: Path) -> None:
    path = cases.save(cases.relu_net(["N", 3, "H", "W"]), tmp_path, "sym")
    with pytest.raises(FusePlanError, match=r"symbolic.*--input-shape 1x3x224x224"):
        import_onnx(path)
    g = import_onnx(path, input_shape=(1, 3, 6, 6))
    assert _shape(g, "relu") == (2, 6, 6)
    with pytest.raises(FusePlanError, match="batch 2"):
        import_onnx(path, input_shape=(2, 3, 6, 6))
    with pytest.raises(FusePlanError, match="has 3 dims"):
        import_onnx(path, input_shape=(3, 6, 6))


def test_input_shape_that_contradicts_a_static_dim_is_refused(tmp_path: Path) -> None:
    path = cases.save(cases.relu_net([1, 3, 8, 8]), tmp_path, "static")
    assert _shape(import_onnx(path), "conv") == (2, 8, 8)
    assert _shape(import_onnx(path, input_shape=(1, 3, 8, 8)), "conv") == (2, 8, 8)
    # the first conv takes 3 channels: 4 would price the wrong tensors
    with pytest.raises(FusePlanError, match=r"1x4x8x8 contradicts input 'x'.*dim 1 is 3 "
                                            r"\(shape 1x3x8x8\).*--input-shape 1x3x8x8"):
        import_onnx(path, input_shape=(1, 4, 8, 8))
    with pytest.raises(FusePlanError, match="dim 2 is 8"):
        import_onnx(path, input_shape=(1, 3, 5, 7))
    # a symbolic dim takes any size; only the static ones are checked
    mixed = cases.save(cases.relu_net([1, 3, "H", 8]), tmp_path, "mixed")
    assert _shape(import_onnx(mixed, input_shape=(1, 3, 5, 8)), "conv") == (2, 5, 8)
    with pytest.raises(FusePlanError, match="dim 3 is 8.*--input-shape 1x3x5x8"):
        import_onnx(mixed, input_shape=(1, 3, 5, 7))


def test_batch_not_one(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="batch 4.*--input-shape 1x3x8x8"):
        _imp(tmp_path, cases.relu_net([4, 3, 8, 8]))


def test_every_unsupported_op_is_listed(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError) as err:
        _imp(tmp_path, cases.unsupported_ops())
    msg = str(err.value)
    assert "2 unsupported op(s)" in msg and "CumSum 'cum'" in msg and "TopK 'topk'" in msg
    assert "--unsupported barrier" in msg and "\n" not in msg


def test_cycle(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match=r"cycle through nodes 'n1', 'n2'"):
        _imp(tmp_path, cases.cycle())


def test_second_output_in_use(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match=r"second output.*MaxPool 'pool' \(idx\)"):
        _imp(tmp_path, cases.split_two_outputs())


def test_checker_failure(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="fails the ONNX checker"):
        _imp(tmp_path, cases.undefined_input())


def test_missing_not_onnx_truncated(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="does not exist"):
        import_onnx(tmp_path / "nope.onnx")
    text = tmp_path / "text.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(FusePlanError, match="not"):
        import_onnx(text)
    good = cases.save(cases.flatten_head(), tmp_path, "good")
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FusePlanError, match="truncated"):
        import_onnx(cut)


def test_data_slice_is_an_op(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.data_slice())
    (op,) = g.ops
    assert (op.kind, op.k, op.s, _shape(g, "crop")) == ("Slice", 1, Fraction(2), (2, 2, 6))
    assert (op.attr("starts"), op.attr("ends"), op.attr("axes"), op.attr("steps")) == ((1,), (5,), (2,), (2,))


@pytest.mark.parametrize("opset", range(13, 21))
def test_opsets_13_to_20(tmp_path: Path, opset: int) -> None:
    g = _imp(tmp_path, cases.squeeze_chain(opset))
    assert [op.name for op in g.ops] == ["conv", "relu"]
    assert _reads(g, "relu") == ["c"]
    assert _op(g, "relu").absorbed == ("unsq", "sq", "ident", "drop")
    h = _imp(tmp_path, _with_opset(cases.flatten_head(), opset), "head")
    assert [op.name for op in h.ops] == ["conv", "fc"] and _op(h, "fc").k == 4


def _with_opset(m, opset: int):
    m.opset_import[0].version = opset
    return m


def test_output_that_no_op_computes(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="not computed by any op"):
        _imp(tmp_path, cases.passthrough())


def test_normalizations_over_the_map_are_global(tmp_path: Path) -> None:
    g = _imp(tmp_path, cases.norms())
    got = {op.name: (op.k, op.s, op.is_global, op.params) for op in g.ops}
    assert got == {
        "gn": (3, Fraction(1), True, 8),  # statistics over C/G x H x W: the whole 3-row map
        "ln_w": (1, Fraction(1), False, 3),  # over W only: one row at a time
        "ln_chw": (3, Fraction(1), True, 72),  # over C, H, W
    }
