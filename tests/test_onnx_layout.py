"""Import rules for layouts and multi-node patterns, on hand-built ONNX models with answers
worked out by hand: channels-last Transpose pairs, channel shuffle, Split and Gather on
channels, GELU from either exporter, other Transposes, and barriers (--unsupported barrier)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

import onnx_cases as cases
import onnx_layout_cases as lc
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph, Op
from fuseplan.models.onnx_export import export_onnx
from fuseplan.models.onnx_import import import_onnx


def _imp(tmp_path: Path, m, name: str = "case", **kw) -> Graph:
    return import_onnx(cases.save(m, tmp_path, name), **kw)


def _op(g: Graph, name: str) -> Op:
    return g.ops[g.op_id(name)]


def _shape(g: Graph, op: Op) -> tuple[int, int, int]:
    return g.tensors[op.output].shape


def _round_trip(g: Graph, tmp_path: Path) -> Graph:
    export_onnx(g, tmp_path / "rt.onnx")
    return import_onnx(tmp_path / "rt.onnx")


# ----- channels-last Transpose pairs -----
def test_channels_last_block_folds_to_channels_first_ops(tmp_path: Path) -> None:
    g = _imp(tmp_path, lc.convnext_block())
    rows = [(op.name, op.kind, _shape(g, op), op.params, op.k, op.is_global,
             op.attr("channels_last")) for op in g.ops]
    assert rows == [
        ("ln", "LayerNormalization", (4, 5, 6), 2 * 4, 1, False, 1),  # per position: 2C
        ("fc1", "MatMul", (8, 5, 6), 4 * 8 + 8, 1, False, 1),  # C*C' + the folded bias Add
        ("gelu/Erf", "Gelu", (8, 5, 6), 0, 1, False, 1),
        ("fc2", "MatMul", (4, 5, 6), 8 * 4 + 4, 1, False, 1),
        ("scale", "Mul", (4, 5, 6), 4, 1, False, 1),  # per-channel constant (4,)
        ("relu", "Relu", (4, 5, 6), 0, 1, False, 1),
        ("residual", "Add", (4, 5, 6), 0, 1, False, None),
    ]
    assert _op(g, "fc1").param_shapes == ((4, 8), (8,)) and _op(g, "fc1").absorbed == ("fc1_bias",)
    assert _op(g, "ln").absorbed == ("to_nhwc",)
    assert _op(g, "residual").absorbed == ("to_nchw",)  # the first op reading what it passed on
    assert [g.tensors[t].name for t in _op(g, "residual").inputs] == ["r", "x"]
    assert "Transpose" not in {op.kind for op in g.ops}
    assert _round_trip(g, tmp_path) == g


def test_both_gelu_forms_in_a_channels_last_block_give_the_same_kinds(tmp_path: Path) -> None:
    erf = _imp(tmp_path, lc.convnext_block(gelu_op=False), "erf")
    op20 = _imp(tmp_path, lc.convnext_block(gelu_op=True), "op20")
    assert [op.kind for op in erf.ops] == [op.kind for op in op20.ops]
    assert [(_shape(op20, op), op.params) for op in op20.ops] == \
        [(_shape(erf, op), op.params) for op in erf.ops]
    assert _round_trip(op20, tmp_path) == op20


def test_closing_transpose_that_ends_the_graph_goes_to_its_op(tmp_path: Path) -> None:
    g = _imp(tmp_path, lc.layer_norm_2d_at_end())
    assert [op.name for op in g.ops] == ["conv", "ln"]
    ln = _op(g, "ln")
    assert ln.absorbed == ("to_nhwc", "to_nchw") and _shape(g, ln) == (6, 4, 4)
    assert [g.ops[g.tensors[t].producer].name for t in g.outputs] == ["ln"]
    assert _round_trip(g, tmp_path) == g


def test_transposes_that_move_h_or_w_are_global(tmp_path: Path) -> None:
    # Softmax over the last axis is not in the per-position list: the pair stays. x is 2x5x6;
    # NHWC (1, 5, 6, 2) is seen as C = 5, H = 6, W = 2.
    g = _imp(tmp_path, lc.transposes_not_folded())
    rows = [(op.name, op.kind, _shape(g, op), op.k, op.s, op.is_global) for op in g.ops]
    assert rows == [
        ("to_nhwc", "Transpose", (5, 6, 2), 5, Fraction(5, 6), True),  # k = H_in = 5
        ("softmax", "Softmax", (5, 6, 2), 1, 1, False),
        ("to_nchw", "Transpose", (2, 5, 6), 6, Fraction(6, 5), True),
        ("swap_hw", "Transpose", (2, 6, 5), 5, Fraction(5, 6), True),
    ]


# ----- channel shuffle -----
@pytest.mark.parametrize("groups", [2, 3])
def test_channel_shuffle_is_one_op(tmp_path: Path, groups: int) -> None:
    g = _imp(tmp_path, lc.channel_shuffle(groups))
    assert [op.kind for op in g.ops] == ["ChannelShuffle", "Relu"]
    sh = _op(g, "shuffle")
    assert (_shape(g, sh), sh.params, sh.k, sh.s, sh.is_global) == ((6, 4, 4), 0, 1, 1, False)
    assert sh.attr("groups") == groups and sh.absorbed == ("reshape", "reshape_1")
    assert _op(g, "relu").inputs == (sh.output,)
    assert _round_trip(g, tmp_path) == g


# ----- Split and Gather on channels -----
def test_split_along_channels_is_one_slice_per_output(tmp_path: Path) -> None:
    g = _imp(tmp_path, lc.split_channels(17))
    rows = [(op.name, op.kind, _shape(g, op), dict(op.attrs)) for op in g.ops]
    assert rows[:2] == [
        ("split:0", "Slice", (2, 4, 4), {"axes": (1,), "ends": (2,), "starts": (0,)}),
        ("split:1", "Slice", (4, 4, 4), {"axes": (1,), "ends": (6,), "starts": (2,)}),
    ]
    assert [g.tensors[t].name for t in _op(g, "sigmoid").inputs] == ["b"]
    assert _shape(g, _op(g, "concat")) == (6, 4, 4)
    assert _round_trip(g, tmp_path) == g


def test_split_into_equal_parts_with_an_unused_output(tmp_path: Path) -> None:
    g = _imp(tmp_path, lc.split_channels(18))  # num_outputs = 3: 2 channels each
    slices = [(op.name, _shape(g, op), op.attr("starts"), op.attr("ends")) for op in g.ops
              if op.kind == "Slice"]
    assert slices == [("split:0", (2, 4, 4), (0,), (2,)), ("split:2", (2, 4, 4), (4,), (6,))]
    assert _shape(g, _op(g, "concat")) == (4, 4, 4)


@pytest.mark.parametrize("indices, attrs", [
    ([1, 3, 5], {"axes": (1,), "ends": (7,), "starts": (1,), "steps": (2,)}),
    ([2, 3], {"axes": (1,), "ends": (4,), "starts": (2,)}),
    ([5, 3, 1], {"axes": (1,), "ends": (-7,), "starts": (5,), "steps": (-2,)}),
])
def test_gather_of_evenly_spaced_channels_is_a_slice(tmp_path: Path, indices, attrs) -> None:
    g = _imp(tmp_path, lc.gather_channels(indices))
    op = _op(g, "gather")
    assert (op.kind, dict(op.attrs), _shape(g, op), op.k) == ("Slice", attrs, (len(indices), 4, 4), 1)
    assert _round_trip(g, tmp_path) == g


@pytest.mark.parametrize("indices", [[0, 2, 3], 2])
def test_other_gathers_stay_unsupported(tmp_path: Path, indices) -> None:
    with pytest.raises(FusePlanError, match=r"1 unsupported op\(s\): Gather 'gather'"):
        _imp(tmp_path, lc.gather_channels(indices))


# ----- GELU -----
def test_gelu_from_either_exporter_is_one_gelu_op(tmp_path: Path) -> None:
    erf = _imp(tmp_path, lc.conv_gelu(gelu_op=False), "erf")
    op20 = _imp(tmp_path, lc.conv_gelu(gelu_op=True), "op20")
    assert [op.kind for op in erf.ops] == [op.kind for op in op20.ops] == ["Conv", "Gelu", "Relu"]
    gelu = _op(erf, "gelu/Erf")
    assert gelu.absorbed == ("gelu/Div", "gelu/Add", "gelu/Mul", "gelu/Mul_1")
    assert gelu.inputs == (_op(erf, "conv").output,) and _shape(erf, gelu) == (4, 6, 6)
    assert _op(erf, "relu").inputs == (gelu.output,)
    assert _round_trip(erf, tmp_path) == erf


# ----- barriers -----
def test_unknown_op_without_the_flag_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError) as err:
        _imp(tmp_path, lc.custom_op())
    msg = str(err.value)
    assert "1 unsupported op(s): MyOp 'mine'" in msg and "--unsupported barrier" in msg
    assert "\n" not in msg


def test_unknown_op_becomes_a_barrier(tmp_path: Path) -> None:
    g = _imp(tmp_path, lc.custom_op(), unsupported="barrier")
    assert [(op.name, op.kind, op.barrier) for op in g.ops] == [
        ("conv1", "Conv", False), ("mine", "MyOp", True), ("conv2", "Conv", False),
        ("relu", "Relu", False)]
    mine = _op(g, "mine")
    # its output shape comes from the file's value_info: 4x4x8 (H 8 -> 4: s = 2)
    assert (_shape(g, mine), mine.params, mine.param_shapes, mine.s) == ((4, 4, 8), 16, ((16,),), 2)
    assert _shape(g, _op(g, "conv2")) == (2, 4, 8)


def test_barrier_without_a_known_output_shape_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match=r"MyOp 'mine' \(a barrier\).*value_info for 'm'"):
        _imp(tmp_path, lc.custom_op(value_info=False), unsupported="barrier")


def test_barrier_survives_graph_json_and_is_not_folded_into(tmp_path: Path) -> None:
    from fuseplan.models.graph_json import read_graph_json, write_graph_json
    from fuseplan.models.transforms import fold_activations

    g = _imp(tmp_path, lc.custom_op(), unsupported="barrier")
    write_graph_json(g, tmp_path / "g.json")
    back = read_graph_json(tmp_path / "g.json")
    assert back == g and _op(back, "mine").barrier
    folded = fold_activations(g)
    assert _op(folded, "mine").barrier and _op(folded, "conv2").absorbed == ("relu",)
    with pytest.raises(FusePlanError, match="barrier.*cannot be written as ONNX"):
        export_onnx(g, tmp_path / "b.onnx")


def test_unknown_unsupported_mode(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="--unsupported 'skip' is not a mode"):
        _imp(tmp_path, lc.custom_op(), unsupported="skip")


def test_gather_of_every_element_in_order_is_shape_only(tmp_path: Path) -> None:
    g = _imp(tmp_path, lc.identity_gather())
    assert [op.name for op in g.ops] == ["pool", "relu"]
    relu = _op(g, "relu")
    assert relu.absorbed == ("reshape", "as_strided") and _shape(g, relu) == (4, 1, 1)
    assert relu.inputs == (_op(g, "pool").output,)
