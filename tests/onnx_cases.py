"""Hand-built ONNX models (onnx.helper) for the importer tests: one per normalisation rule."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Dims = Sequence[int | str | None]


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[tuple[str, Dims]],
    outputs: Sequence[str | tuple[str, Dims]],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "case",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(d)) for n, d in inputs],
        [_out(o) for o in outputs],
        initializer=[numpy_helper.from_array(v, k) for k, v in (inits or {}).items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _out(o: str | tuple[str, Dims]) -> onnx.ValueInfoProto:
    """An output with its rank (dims unknown unless given): the checker needs a shape."""
    name, dims = (o, [None] * 4) if isinstance(o, str) else o
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def save(m: onnx.ModelProto, folder: Path, name: str) -> Path:
    path = folder / f"{name}.onnx"
    onnx.save(m, str(path))
    return path


def conv(name: str, x: str, w: str, out: str, b: str | None = None, **attrs: object) -> onnx.NodeProto:
    return helper.make_node("Conv", [x, w] + ([b] if b else []), [out], name=name, **attrs)


def bn_inits(prefix: str, c: int) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": (np.abs(rand(c, seed=i)) + 0.5) for i, k in
            enumerate(("scale", "bias", "mean", "var"))}


def bn(name: str, x: str, out: str, prefix: str) -> onnx.NodeProto:
    return helper.make_node("BatchNormalization", [x] + [f"{prefix}.{k}" for k in
                            ("scale", "bias", "mean", "var")], [out], name=name)


def conv_bn_relu(bias: bool) -> onnx.ModelProto:
    """x 3x8x8 -> conv 3x3 3->4 pad 1 -> BN -> Relu."""
    inits = {"w": rand(4, 3, 3, 3), **bn_inits("bn", 4)}
    if bias:
        inits["b"] = rand(4)
    nodes = [conv("conv", "x", "w", "c", "b" if bias else None, pads=[1, 1, 1, 1]),
             bn("bn", "c", "n", "bn"), helper.make_node("Relu", ["n"], ["y"], name="relu")]
    return model(nodes, [("x", [1, 3, 8, 8])], ["y"], inits)


def bn_two_readers() -> onnx.ModelProto:
    """conv -> (BN, Add): the conv output has two readers, so BN stays an op (2C params)."""
    inits = {"w": rand(4, 3, 1, 1), **bn_inits("bn", 4)}
    nodes = [conv("conv", "x", "w", "c"), bn("bn", "c", "n", "bn"),
             helper.make_node("Add", ["n", "c"], ["y"], name="add")]
    return model(nodes, [("x", [1, 3, 8, 8])], ["y"], inits)


def flatten_head() -> onnx.ModelProto:
    """conv 8x4x4 -> Reshape(shape computed by Shape/Gather/Unsqueeze/Concat) -> Flatten -> Gemm."""
    inits = {"w": rand(8, 3, 3, 3), "fc.w": rand(10, 128), "fc.b": rand(10), "idx": ints(0),
             "minus1": ints(-1)}
    nodes = [
        conv("conv", "x", "w", "c", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["shp"], name="shape"),
        helper.make_node("Gather", ["shp", "idx"], ["n"], name="gather", axis=0),
        helper.make_node("Constant", [], ["m1"], name="const",
                         value=numpy_helper.from_array(ints(-1))),
        helper.make_node("Concat", ["n", "m1"], ["newshape"], name="cat_shape", axis=0),
        helper.make_node("Reshape", ["c", "newshape"], ["r"], name="reshape"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
    ]
    return model(nodes, [("x", [1, 3, 4, 4])], [("y", [1, None])], inits)


def unnamed_silu() -> onnx.ModelProto:
    """Unnamed Conv, Sigmoid, Mul (a SiLU): names Conv_0, Sigmoid_1, Mul_2; no fusion."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Sigmoid", ["c"], ["s"]),
             helper.make_node("Mul", ["c", "s"], ["y"])]
    return model(nodes, [("x", [1, 2, 5, 5])], ["y"], {"w": rand(2, 2, 1, 1)})


def spatial_ops() -> onnx.ModelProto:
    """Dilated strided conv, asymmetric pads, depthwise, ConvTranspose, pools, Pad, Resize."""
    inits = {
        "w_dil": rand(4, 3, 3, 3), "w_asym": rand(4, 4, 3, 3), "w_dw": rand(4, 1, 3, 3),
        "w_ct": rand(4, 2, 4, 4), "pads": ints(0, 0, 1, 1, 0, 0, 1, 1),
        "scales": np.array([1, 1, 2, 2], dtype=np.float32), "roi": np.zeros(0, np.float32),
    }
    nodes = [
        conv("dil", "x", "w_dil", "a", pads=[2, 2, 2, 2], dilations=[2, 2], strides=[2, 2]),
        conv("asym", "a", "w_asym", "b", pads=[0, 0, 1, 1]),
        conv("dw", "b", "w_dw", "c", pads=[1, 1, 1, 1], group=4),
        helper.make_node("ConvTranspose", ["c", "w_ct"], ["d"], name="up", strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["d"], ["e"], name="pool", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Pad", ["e", "pads"], ["f"], name="pad", mode="constant"),
        helper.make_node("Resize", ["f", "roi", "scales"], ["g"], name="resize", mode="linear"),
        helper.make_node("AveragePool", ["g"], ["y"], name="avg", kernel_shape=[2, 2],
                         strides=[2, 2]),
    ]
    return model(nodes, [("x", [1, 3, 16, 16])], ["y"], inits)


def heads() -> onnx.ModelProto:
    """Clip bounds, GAP + Gemm, ReduceMean (opset 18 axes input), MatMul + Add, Softmax, LRN."""
    inits = {
        "w": rand(6, 3, 1, 1), "lo": np.array(0, np.float32), "hi": np.array(6, np.float32),
        "axes_hw": ints(2, 3), "axes_c": ints(1), "fc.w": rand(5, 6), "fc.b": rand(5),
        "mm.w": rand(96, 7), "mm.b": rand(7),
    }
    nodes = [
        conv("conv", "x", "w", "c"),
        helper.make_node("LRN", ["c"], ["l"], name="lrn", size=3),
        helper.make_node("Clip", ["l", "lo", "hi"], ["r6"], name="relu6"),
        helper.make_node("GlobalAveragePool", ["r6"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["gf"], name="gap_flat"),
        helper.make_node("Gemm", ["gf", "fc.w", "fc.b"], ["y1"], name="fc", transB=1),
        helper.make_node("ReduceMean", ["r6", "axes_hw"], ["rm"], name="mean_hw", keepdims=1),
        helper.make_node("ReduceMean", ["r6", "axes_c"], ["rc"], name="mean_c", keepdims=1),
        helper.make_node("Add", ["rm", "rc"], ["rs"], name="add"),
        helper.make_node("Flatten", ["rs"], ["rf"], name="flat"),
        helper.make_node("MatMul", ["rf", "mm.w"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "mm.b"], ["mb"], name="mm_bias"),
        helper.make_node("Softmax", ["mb"], ["y2"], name="softmax", axis=1),
    ]
    return model(nodes, [("x", [1, 3, 4, 4])], [("y1", [1, None]), ("y2", [1, None])], inits, opset=18)


def upsample_opset9() -> onnx.ModelProto:
    nodes = [helper.make_node("Upsample", ["x", "sc"], ["y"], name="up", mode="nearest")]
    return model(nodes, [("x", [1, 2, 3, 3])], ["y"],
                 {"sc": np.array([1, 1, 2, 2], np.float32)}, opset=9)


def relu_net(dims: Dims) -> onnx.ModelProto:
    """x -> conv 1x1 3->2 -> Relu, with the given input dims (symbolic allowed)."""
    nodes = [conv("conv", "x", "w", "c"), helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return model(nodes, [("x", dims)], ["y"], {"w": rand(2, 3, 1, 1)})


def unsupported_ops() -> onnx.ModelProto:
    """CumSum and TopK: ONNX ops the importer does not know."""
    nodes = [
        helper.make_node("CumSum", ["x", "ax"], ["t"], name="cum"),
        helper.make_node("Relu", ["t"], ["r"], name="relu"),
        helper.make_node("TopK", ["r", "k"], ["v", "i"], name="topk", axis=3),
    ]
    return model(nodes, [("x", [1, 2, 4, 4])], ["v"], {"k": ints(2), "ax": ints(1)[0:1].reshape(())})


def cycle() -> onnx.ModelProto:
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
             helper.make_node("Relu", ["a"], ["b"], name="n2")]
    return model(nodes, [("x", [1, 2, 4, 4])], ["b"])


def split_two_outputs() -> onnx.ModelProto:
    nodes = [helper.make_node("MaxPool", ["x"], ["p", "idx"], name="pool", kernel_shape=[2, 2]),
             helper.make_node("Relu", ["p"], ["y"], name="relu")]
    m = model(nodes, [("x", [1, 2, 4, 4])], ["y"])
    m.graph.output.append(helper.make_tensor_value_info("idx", TensorProto.INT64, [None] * 4))
    return m


def undefined_input() -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", ["nowhere"], ["y"], name="relu")]
    return model(nodes, [("x", [1, 2, 4, 4])], ["y"])


def data_slice() -> onnx.ModelProto:
    """Rows 1, 3 of a 2x6x6 map (starts 1, ends 5, step 2 on H): 2x2x6, s = 2."""
    inits = {"st": ints(1), "en": ints(5), "ax": ints(2), "sp": ints(2)}
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="crop")]
    return model(nodes, [("x", [1, 2, 6, 6])], ["y"], inits)


def squeeze_chain(opset: int) -> onnx.ModelProto:
    """conv -> Unsqueeze(0) -> Squeeze(0) -> Identity -> Dropout -> Relu (axes as inputs, 13+)."""
    nodes = [
        conv("conv", "x", "w", "c"),
        helper.make_node("Unsqueeze", ["c", "ax"], ["u"], name="unsq"),
        helper.make_node("Squeeze", ["u", "ax"], ["q"], name="sq"),
        helper.make_node("Identity", ["q"], ["i"], name="ident"),
        helper.make_node("Dropout", ["i"], ["d"], name="drop"),
        helper.make_node("Relu", ["d"], ["y"], name="relu"),
    ]
    return model(nodes, [("x", [1, 3, 4, 4])], ["y"], {"w": rand(2, 3, 1, 1), "ax": ints(0)}, opset)


def passthrough() -> onnx.ModelProto:
    return model([helper.make_node("Identity", ["x"], ["y"], name="id")], [("x", [1, 2, 4, 4])], ["y"])


def norms() -> onnx.ModelProto:
    """GroupNormalization (2 groups) -> LayerNormalization over W -> LayerNormalization over C, H, W."""
    inits = {"gs": rand(4), "gb": rand(4), "ws": rand(3), "cs": rand(4, 3, 3), "cb": rand(4, 3, 3)}
    nodes = [
        helper.make_node("GroupNormalization", ["x", "gs", "gb"], ["g"], name="gn", num_groups=2),
        helper.make_node("LayerNormalization", ["g", "ws"], ["l"], name="ln_w", axis=-1),
        helper.make_node("LayerNormalization", ["l", "cs", "cb"], ["y"], name="ln_chw", axis=1),
    ]
    return model(nodes, [("x", [1, 4, 3, 3])], ["y"], inits, opset=21)  # GroupNormalization-21
