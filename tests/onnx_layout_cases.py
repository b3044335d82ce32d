"""Hand-built ONNX models (onnx.helper) for the layout rules: channels-last Transpose pairs,
channel shuffle, Split and Gather on channels, GELU, other Transposes, barriers."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper

from onnx_cases import ints, model, rand

T_IN = dict(perm=[0, 2, 3, 1])  # NCHW -> NHWC
T_OUT = dict(perm=[0, 3, 1, 2])  # NHWC -> NCHW


def scalar(v: float) -> np.ndarray:
    return np.array(v, dtype=np.float32)


def erf_gelu(x: str, out: str, p: str) -> list[onnx.NodeProto]:
    """x * 0.5 * (1 + erf(x / sqrt 2)) as the legacy exporter writes it (constants ``p.*``)."""
    return [
        helper.make_node("Div", [x, f"{p}.sqrt2"], [f"{p}.d"], name=f"{p}/Div"),
        helper.make_node("Erf", [f"{p}.d"], [f"{p}.e"], name=f"{p}/Erf"),
        helper.make_node("Add", [f"{p}.e", f"{p}.one"], [f"{p}.a"], name=f"{p}/Add"),
        helper.make_node("Mul", [x, f"{p}.a"], [f"{p}.m"], name=f"{p}/Mul"),
        helper.make_node("Mul", [f"{p}.m", f"{p}.half"], [out], name=f"{p}/Mul_1"),
    ]


def erf_gelu_inits(p: str) -> dict[str, np.ndarray]:
    return {f"{p}.sqrt2": scalar(math.sqrt(2)), f"{p}.one": scalar(1.0), f"{p}.half": scalar(0.5)}


def convnext_block(gelu_op: bool = False) -> onnx.ModelProto:
    """x 4x5x6 -> Transpose to NHWC -> LayerNorm(last axis) -> MatMul 4x8 + Add bias 8 -> GELU
    -> MatMul 8x4 + Add bias 4 -> Mul by a per-channel scale (4,) -> Relu -> Transpose back
    -> Add x (residual). ``gelu_op``: the opset-20 Gelu op instead of the Erf form."""
    inits = {"ln.s": rand(4), "ln.b": rand(4, seed=1), "w1": rand(4, 8), "b1": rand(8),
             "w2": rand(8, 4), "b2": rand(4, seed=2), "g": rand(4, seed=3)}
    gelu = [helper.make_node("Gelu", ["h1"], ["g1"], name="gelu")] if gelu_op else \
        erf_gelu("h1", "g1", "gelu")
    if not gelu_op:
        inits.update(erf_gelu_inits("gelu"))
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], name="to_nhwc", **T_IN),
        helper.make_node("LayerNormalization", ["t", "ln.s", "ln.b"], ["n"], name="ln", axis=-1,
                         epsilon=1e-6),
        helper.make_node("MatMul", ["n", "w1"], ["m1"], name="fc1"),
        helper.make_node("Add", ["b1", "m1"], ["h1"], name="fc1_bias"),
        *gelu,
        helper.make_node("MatMul", ["g1", "w2"], ["m2"], name="fc2"),
        helper.make_node("Add", ["m2", "b2"], ["h2"], name="fc2_bias"),
        helper.make_node("Mul", ["h2", "g"], ["s"], name="scale"),
        helper.make_node("Relu", ["s"], ["r"], name="relu"),
        helper.make_node("Transpose", ["r"], ["back"], name="to_nchw", **T_OUT),
        helper.make_node("Add", ["back", "x"], ["y"], name="residual"),
    ]
    return model(nodes, [("x", [1, 4, 5, 6])], ["y"], inits, opset=20 if gelu_op else 17)


def layer_norm_2d_at_end() -> onnx.ModelProto:
    """conv -> Transpose -> LayerNorm -> Transpose (the graph's output): the closing Transpose
    ends the graph and goes to the LayerNorm."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Transpose", ["c"], ["t"], name="to_nhwc", **T_IN),
        helper.make_node("LayerNormalization", ["t", "s", "b"], ["n"], name="ln", axis=-1),
        helper.make_node("Transpose", ["n"], ["y"], name="to_nchw", **T_OUT),
    ]
    return model(nodes, [("x", [1, 3, 4, 4])], ["y"],
                 {"w": rand(6, 3, 1, 1), "s": rand(6), "b": rand(6)})


def transposes_not_folded() -> onnx.ModelProto:
    """Transpose to NHWC -> Softmax over the last axis (not in the per-position list) ->
    Transpose back; and a Transpose that swaps H and W; and a Transpose that moves no H or W
    (rank 2, after a flattening Reshape)."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], name="to_nhwc", **T_IN),
        helper.make_node("Softmax", ["t"], ["s"], name="softmax", axis=-1),
        helper.make_node("Transpose", ["s"], ["b"], name="to_nchw", **T_OUT),
        helper.make_node("Transpose", ["b"], ["y"], name="swap_hw", perm=[0, 1, 3, 2]),
    ]
    return model(nodes, [("x", [1, 2, 5, 6])], ["y"])


def channel_shuffle(groups: int = 3) -> onnx.ModelProto:
    """x 6x4x4 -> Reshape (1, g, 6/g, 4, 4) -> Transpose (0, 2, 1, 3, 4) -> Reshape (1, 6, 4, 4)
    -> Relu."""
    nodes = [
        helper.make_node("Reshape", ["x", "grouped"], ["r"], name="reshape"),
        helper.make_node("Transpose", ["r"], ["t"], name="shuffle", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "flat"], ["s"], name="reshape_1"),
        helper.make_node("Relu", ["s"], ["y"], name="relu"),
    ]
    inits = {"grouped": ints(1, groups, 6 // groups, 4, 4), "flat": ints(1, 6, 4, 4)}
    return model(nodes, [("x", [1, 6, 4, 4])], ["y"], inits)


def split_channels(opset: int = 17) -> onnx.ModelProto:
    """x 6x4x4 -> Split on channels into (2, 4) (opset 17, sizes as an input) or into 3 equal
    parts of which 2 are used (opset 18, num_outputs) -> Relu / Sigmoid -> Concat."""
    if opset >= 18:
        split = helper.make_node("Split", ["x"], ["a", "unused", "b"], name="split", axis=1,
                                 num_outputs=3)
        inits = {}
    else:
        split = helper.make_node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1)
        inits = {"sizes": ints(2, 4)}
    nodes = [split,
             helper.make_node("Relu", ["a"], ["ra"], name="relu"),
             helper.make_node("Sigmoid", ["b"], ["sb"], name="sigmoid"),
             helper.make_node("Concat", ["ra", "sb"], ["y"], name="concat", axis=1)]
    return model(nodes, [("x", [1, 6, 4, 4])], ["y"], inits, opset)


def gather_channels(indices: list[int] | int) -> onnx.ModelProto:
    """x 6x4x4 -> Gather(indices, axis 1) -> Relu."""
    idx = np.array(indices, dtype=np.int64)
    nodes = [helper.make_node("Gather", ["x", "idx"], ["g"], name="gather", axis=1),
             helper.make_node("Relu", ["g"], ["y"], name="relu")]
    rank = 4 if idx.ndim else 3
    return model(nodes, [("x", [1, 6, 4, 4])], [("y", [None] * rank)], {"idx": idx})


def conv_gelu(gelu_op: bool) -> onnx.ModelProto:
    """conv 3->4 -> GELU (the opset-20 op, or the Erf form at opset 17) -> Relu."""
    inits = {"w": rand(4, 3, 3, 3)}
    if gelu_op:
        gelu = [helper.make_node("Gelu", ["c"], ["g"], name="gelu")]
    else:
        gelu = erf_gelu("c", "g", "gelu")
        inits.update(erf_gelu_inits("gelu"))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]), *gelu,
             helper.make_node("Relu", ["g"], ["y"], name="relu")]
    return model(nodes, [("x", [1, 3, 6, 6])], ["y"], inits, opset=20 if gelu_op else 17)


def custom_op(value_info: bool = True) -> onnx.ModelProto:
    """conv 3->4 on 8x8 -> com.example MyOp (4x8x8 -> 4x4x8, its shape only in value_info)
    -> conv 4->2 -> Relu."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("MyOp", ["c", "table"], ["m"], name="mine", domain="com.example"),
        helper.make_node("Conv", ["m", "w2"], ["d"], name="conv2"),
        helper.make_node("Relu", ["d"], ["y"], name="relu"),
    ]
    m = model(nodes, [("x", [1, 3, 8, 8])], ["y"],
              {"w1": rand(4, 3, 3, 3), "w2": rand(2, 4, 1, 1), "table": rand(16)})
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    if value_info:
        m.graph.value_info.append(helper.make_tensor_value_info("m", TensorProto.FLOAT, [1, 4, 4, 8]))
    return m


def identity_gather() -> onnx.ModelProto:
    """GAP 4x3x3 -> Reshape (4,) -> Gather(indices 0..3 shaped (1, 4, 1, 1), axis 0) -> Relu:
    torch's as_strided after a pooling, as the default exporter writes it."""
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"], name="pool"),
             helper.make_node("Reshape", ["p", "flat"], ["f"], name="reshape"),
             helper.make_node("Gather", ["f", "idx"], ["g"], name="as_strided", axis=0),
             helper.make_node("Relu", ["g"], ["y"], name="relu")]
    inits = {"flat": ints(4), "idx": np.arange(4, dtype=np.int64).reshape(1, 4, 1, 1)}
    return model(nodes, [("x", [1, 4, 3, 3])], ["y"], inits)
