"""What one ONNX node becomes: kind, data inputs, parameters, k, s, attrs (docs/cost-models.md).

A rule per op type reads the node through :class:`NodeIO` (constants, inferred shapes, the
(C, H, W) of the tensors it reads after shape-only ops are removed) and returns an
:class:`OpSpec`. Parameters are the elements of the float constants of rank >= 1 that feed the
op other than its data inputs, except shape- or scale-like inputs (:data:`SHAPE_LIKE_INPUTS`).
``attrs`` are the node's own attributes as the file has them, plus the settings some op types
take from constant inputs (Clip ``min``/``max``, Pad ``pads``/``value``, Reduce* ``axes``), so
that ``onnx_export`` can write the op back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import onnx
from onnx import helper

from .errors import FusePlanError
from .graph import AttrValue

# Ops removed from the graph; their consumers read their data input instead.
SHAPE_ONLY = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})

UNARY = frozenset({
    "Relu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Celu",
    "Softplus", "Softsign", "Gelu", "Mish", "Swish", "ThresholdedRelu", "Erf", "Exp", "Log",
    "Abs", "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Clip", "PRelu",
})
ACTIVATIONS = frozenset({
    "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh", "Elu", "Selu",
    "Celu", "Softplus", "Softsign", "Gelu", "Mish", "Swish", "ThresholdedRelu", "PRelu",
})
ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean"})
WINDOWED = frozenset({"Conv", "MaxPool", "AveragePool", "LpPool"})
GLOBAL_POOLS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})
REDUCE = frozenset({"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL2", "ReduceL1",
                    "ReduceProd", "ReduceLogSumExp", "ReduceSumSquare"})
SOFTMAX = frozenset({"Softmax", "LogSoftmax", "Hardmax"})
OTHER = frozenset({"ConvTranspose", "Gemm", "MatMul", "Concat", "Resize", "Upsample", "Pad",
                   "LRN", "BatchNormalization", "InstanceNormalization", "GroupNormalization",
                   "LayerNormalization", "Slice"})
# Ops whose output has their first input's shape (used where onnx infers no shape).
SAME_SHAPE = UNARY | frozenset({"BatchNormalization", "InstanceNormalization",
                                "GroupNormalization", "LayerNormalization", "LRN"})
SUPPORTED = UNARY | ELEMENTWISE | WINDOWED | GLOBAL_POOLS | REDUCE | SOFTMAX | OTHER

# Input positions that are settings, never parameters.
SHAPE_LIKE_INPUTS: dict[str, frozenset[int]] = {
    "Resize": frozenset({1, 2, 3}), "Upsample": frozenset({1}), "Pad": frozenset({1, 2, 3}),
    "Clip": frozenset({1, 2}), "Slice": frozenset({1, 2, 3, 4}),
    **{r: frozenset({1}) for r in REDUCE},
}


@dataclass(frozen=True)
class OpSpec:
    """One node as an op of the graph (before BatchNormalization folding)."""

    kind: str
    data_inputs: tuple[str, ...]
    k: int = 1
    s: Fraction = Fraction(1)
    is_global: bool = False
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    params: int = 0
    param_shapes: tuple[tuple[int, ...], ...] = ()
    barrier: bool = False  # an op the importer does not know (--unsupported barrier)


@dataclass(frozen=True)
class NodeIO:
    """What a rule may ask about a node: constants, ONNX dims, the (C, H, W) it reads."""

    node: onnx.NodeProto
    name: str
    opset: int
    constants: dict[str, np.ndarray]
    dims_of: Callable[[str], tuple[int, ...]]
    chw_of: Callable[[str], tuple[int, int, int]]

    def is_const(self, value: str) -> bool:
        return value in self.constants

    def input(self, i: int) -> str:
        return self.node.input[i] if i < len(self.node.input) else ""

    def const_input(self, i: int) -> np.ndarray | None:
        name = self.input(i)
        return self.constants[name] if name and name in self.constants else None

    def data_inputs(self) -> tuple[str, ...]:
        return tuple(x for x in self.node.input if x and x not in self.constants)

    def where(self) -> str:
        return f"node {self.name!r} ({self.node.op_type})"


def node_attrs(node: onnx.NodeProto) -> dict[str, AttrValue]:
    """The node's attributes as plain values (ints, floats, strings and tuples of them)."""
    out: dict[str, AttrValue] = {}
    for a in node.attribute:
        value: Any = helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, list):
            if not all(isinstance(v, (int, float, bytes)) for v in value):
                continue
            value = tuple(v.decode() if isinstance(v, bytes) else v for v in value)
        elif not isinstance(value, (int, float, str)):
            continue  # tensors, graphs: not needed to describe the op
        out[a.name] = value
    return out


def collect_params(io: NodeIO, skip: frozenset[int] = frozenset()) -> tuple[int, tuple[tuple[int, ...], ...]]:
    """Elements and shapes of the float constants of rank >= 1 feeding the node, minus ``skip``."""
    shapes = []
    for i, name in enumerate(io.node.input):
        if not name or name not in io.constants or i in skip:
            continue
        arr = io.constants[name]
        if arr.dtype.kind == "f" and arr.ndim >= 1 and arr.size > 0:
            shapes.append(tuple(int(d) for d in arr.shape))
    return sum(math.prod(s) for s in shapes), tuple(shapes)


def op_spec(io: NodeIO) -> OpSpec:
    """The rule for the node's op type (the caller checked it is in SUPPORTED)."""
    t = io.node.op_type
    if not io.data_inputs():
        raise FusePlanError(f"{io.where()} reads no data tensor (only constants)")
    for rule_set, rule in _RULES:
        if t in rule_set:
            return rule(io)
    return _pointwise(io)


def _base(io: NodeIO, attrs: dict[str, AttrValue] | None = None, **kw: Any) -> OpSpec:
    params, shapes = collect_params(io, SHAPE_LIKE_INPUTS.get(io.node.op_type, frozenset()))
    return OpSpec(io.node.op_type, io.data_inputs(),
                  attrs=node_attrs(io.node) if attrs is None else attrs,
                  params=params, param_shapes=shapes, **kw)


def _pointwise(io: NodeIO) -> OpSpec:
    return _base(io)


def _spatial_rank(io: NodeIO) -> int:
    rank = len(io.dims_of(io.data_inputs()[0]))
    if rank not in (3, 4):
        raise FusePlanError(
            f"{io.where()} works on a rank-{rank} tensor: fuseplan handles 1-D and 2-D maps "
            "((N,C,L) and (N,C,H,W))"
        )
    return rank


def _resolve_auto_pad(io: NodeIO, attrs: dict[str, AttrValue], kernel: tuple[int, ...]) -> None:
    """Replaces SAME_UPPER / SAME_LOWER / VALID by the explicit ``pads`` they mean."""
    mode = attrs.pop("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        return
    n = len(kernel)
    if mode == "VALID":
        attrs["pads"] = (0,) * (2 * n)
        return
    in_sp = io.dims_of(io.data_inputs()[0])[2:]
    strides = tuple(attrs.get("strides", (1,) * n))  # type: ignore[arg-type]
    dil = tuple(attrs.get("dilations", (1,) * n))  # type: ignore[arg-type]
    begin, end = [], []
    for i in range(n):
        out = -(-int(in_sp[i]) // strides[i])
        total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - int(in_sp[i]))
        small, big = total // 2, total - total // 2
        begin.append(small if mode == "SAME_UPPER" else big)
        end.append(big if mode == "SAME_UPPER" else small)
    attrs["pads"] = tuple(begin + end)


def _windowed(io: NodeIO) -> OpSpec:
    """Conv, MaxPool, AveragePool, LpPool: k = d*(kh-1)+1, s = stride along H."""
    _spatial_rank(io)
    attrs = node_attrs(io.node)
    kernel = attrs.get("kernel_shape")
    if kernel is None:
        weight = io.const_input(1)
        if weight is None:
            raise FusePlanError(f"{io.where()} has a weight that is not a constant")
        kernel = tuple(int(d) for d in weight.shape[2:])
    kernel = tuple(kernel)  # type: ignore[arg-type]
    _resolve_auto_pad(io, attrs, kernel)  # type: ignore[arg-type]
    dil = tuple(attrs.get("dilations", (1,) * len(kernel)))  # type: ignore[arg-type]
    strides = tuple(attrs.get("strides", (1,) * len(kernel)))  # type: ignore[arg-type]
    if io.node.op_type == "Conv" and len(io.data_inputs()) != 1:
        raise FusePlanError(f"{io.where()} has a weight that is not a constant")
    k = int(dil[0]) * (int(kernel[0]) - 1) + 1
    return _base(io, attrs, k=k, s=Fraction(int(strides[0])))


def _conv_transpose(io: NodeIO) -> OpSpec:
    """ConvTranspose: k = ceil(kernel / stride), s = 1 / stride."""
    _spatial_rank(io)
    attrs = node_attrs(io.node)
    weight = io.const_input(1)
    if weight is None or len(io.data_inputs()) != 1:
        raise FusePlanError(f"{io.where()} has a weight that is not a constant")
    kernel = tuple(attrs.get("kernel_shape", tuple(int(d) for d in weight.shape[2:])))  # type: ignore[arg-type]
    dil = tuple(attrs.get("dilations", (1,) * len(kernel)))  # type: ignore[arg-type]
    stride = int(tuple(attrs.get("strides", (1,) * len(kernel)))[0])  # type: ignore[arg-type]
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "") or "output_shape" in attrs:
        raise FusePlanError(
            f"{io.where()} uses auto_pad or output_shape: export it with explicit pads"
        )
    attrs.pop("auto_pad", None)
    extent = int(dil[0]) * (int(kernel[0]) - 1) + 1
    return _base(io, attrs, k=-(-extent // stride), s=Fraction(1, stride))


def _global(io: NodeIO, attrs: dict[str, AttrValue] | None = None) -> OpSpec:
    """An op that needs its whole input: k = H_in, s = H_in / H_out."""
    _, h, _ = io.chw_of(io.data_inputs()[0])
    out = io.dims_of(io.node.output[0])
    h_out = int(out[2]) if len(out) >= 3 else 1
    return _base(io, attrs, k=h, s=Fraction(h, h_out), is_global=True)


def _global_pool(io: NodeIO) -> OpSpec:
    return _global(io)


def _normalization(io: NodeIO) -> OpSpec:
    """InstanceNormalization / GroupNormalization: statistics over the whole map (global);
    LayerNormalization: global when its axes [axis, rank) include H."""
    attrs = node_attrs(io.node)
    rank = len(io.dims_of(io.data_inputs()[0]))
    if io.node.op_type == "LayerNormalization":
        axis = int(attrs.get("axis", -1)) % rank  # type: ignore[arg-type]
        if not (rank >= 3 and axis <= 2):
            return _base(io, attrs)
    return _global(io, attrs)


def _matmul_like(io: NodeIO) -> OpSpec:
    """Gemm / MatMul: on a flattened map with H > 1 they need the whole input (k = H)."""
    x = io.data_inputs()[0]
    c, h, w = io.chw_of(x)
    flattened = len(io.dims_of(x)) == 2
    if flattened and h > 1:
        return _global(io)
    return _base(io)


def _resize(io: NodeIO) -> OpSpec:
    """Resize / Upsample by f: k = 1 nearest, 2 linear, 4 cubic; s = H_in / H_out = 1/f."""
    x = io.data_inputs()[0]
    if len(io.data_inputs()) != 1:
        raise FusePlanError(f"{io.where()} takes its scales or sizes from a data tensor, not a constant")
    _, h_in, _ = io.chw_of(x)
    out = io.dims_of(io.node.output[0])
    h_out = out[2] if len(out) >= 3 else 1
    attrs = node_attrs(io.node)
    mode = str(attrs.get("mode", "nearest"))
    k = {"nearest": 1, "linear": 2, "bilinear": 2, "cubic": 4}.get(mode, 2)
    spec = _base(io, attrs, k=k, s=Fraction(h_in, int(h_out)))
    return OpSpec("Resize", spec.data_inputs, spec.k, spec.s, False, spec.attrs)


def _int_tuple(arr: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(arr).reshape(-1))


def _pad(io: NodeIO) -> OpSpec:
    attrs = node_attrs(io.node)
    if io.opset >= 11:
        pads = io.const_input(1)
        if pads is None:
            raise FusePlanError(f"{io.where()} takes its pads from a data tensor, not a constant")
        rank = len(io.dims_of(io.data_inputs()[0]))
        values = _int_tuple(pads)
        axes_arr = io.const_input(3)
        if axes_arr is not None:
            full = [0] * (2 * rank)
            axes = [a % rank for a in _int_tuple(axes_arr)]
            for j, a in enumerate(axes):
                full[a], full[a + rank] = values[j], values[j + len(axes)]
            values = tuple(full)
        attrs["pads"] = values
        value = io.const_input(2)
        if value is not None and value.size:
            attrs["value"] = float(np.asarray(value).reshape(-1)[0])
    return _base(io, attrs)


def _clip(io: NodeIO) -> OpSpec:
    attrs = node_attrs(io.node)
    for pos, key in ((1, "min"), (2, "max")):
        value = io.const_input(pos)
        if value is not None:
            attrs[key] = float(np.asarray(value).reshape(-1)[0])
        elif io.input(pos):
            raise FusePlanError(f"{io.where()} takes its {key} from a data tensor, not a constant")
    return _base(io, attrs)


def _reduce(io: NodeIO) -> OpSpec:
    """Reduce*: global (k = H) when the H axis is reduced."""
    attrs = node_attrs(io.node)
    x = io.data_inputs()[0]
    rank = len(io.dims_of(x))
    axes_arr = io.const_input(1)
    if axes_arr is not None:
        attrs["axes"] = _int_tuple(axes_arr)
    elif io.input(1):
        raise FusePlanError(f"{io.where()} takes its axes from a data tensor, not a constant")
    axes = attrs.get("axes")
    if axes is None or len(axes) == 0:  # type: ignore[arg-type]
        reduced = set() if attrs.get("noop_with_empty_axes", 0) else set(range(rank))
    else:
        reduced = {int(a) % rank for a in axes}  # type: ignore[union-attr]
    if rank >= 3 and 2 in reduced:
        return _global(io, attrs)
    return _base(io, attrs)


def _slice(io: NodeIO) -> OpSpec:
    """A crop of a data tensor (constant starts/ends/axes/steps): k = 1, s = the step along H."""
    attrs = node_attrs(io.node)
    if io.opset >= 10:
        for pos, key in ((1, "starts"), (2, "ends"), (3, "axes"), (4, "steps")):
            value = io.const_input(pos)
            if value is not None:
                attrs[key] = _int_tuple(value)
            elif io.input(pos):
                raise FusePlanError(f"{io.where()} takes its {key} from a data tensor, not a constant")
    rank = len(io.dims_of(io.data_inputs()[0]))
    starts = attrs.get("starts", ())
    axes = attrs.get("axes", tuple(range(len(starts))))  # type: ignore[arg-type]
    steps = attrs.get("steps", (1,) * len(starts))  # type: ignore[arg-type]
    step_h = [int(st) for a, st in zip(axes, steps) if int(a) % rank == 2]  # type: ignore[arg-type]
    return _base(io, attrs, s=Fraction(abs(step_h[0])) if step_h else Fraction(1))


def _softmax(io: NodeIO) -> OpSpec:
    """Softmax over H (or, before opset 13, over a flattened range that holds H) is global."""
    attrs = node_attrs(io.node)
    x = io.data_inputs()[0]
    rank = len(io.dims_of(x))
    axis = int(attrs.get("axis", -1 if io.opset >= 13 else 1)) % rank  # type: ignore[arg-type]
    spans_h = axis == 2 if io.opset >= 13 else axis <= 2
    if rank >= 3 and spans_h:
        return _global(io, attrs)
    return _base(io, attrs)


def _batch_norm(io: NodeIO) -> OpSpec:
    """An unfolded BatchNormalization: elementwise, 2*C parameters (scale and shift)."""
    c = io.chw_of(io.data_inputs()[0])[0]
    if len(io.data_inputs()) != 1:
        raise FusePlanError(f"{io.where()} has statistics that are not constants")
    attrs = {k: v for k, v in node_attrs(io.node).items() if k == "epsilon"}
    return OpSpec("BatchNormalization", io.data_inputs(), attrs=attrs, params=2 * c,
                  param_shapes=((c,), (c,)))


_RULES: list[tuple[frozenset[str], Callable[[NodeIO], OpSpec]]] = [
    (WINDOWED, _windowed),
    (frozenset({"ConvTranspose"}), _conv_transpose),
    (GLOBAL_POOLS, _global_pool),
    (frozenset({"Gemm", "MatMul"}), _matmul_like),
    (frozenset({"Resize", "Upsample"}), _resize),
    (frozenset({"Pad"}), _pad),
    (frozenset({"Clip"}), _clip),
    (REDUCE, _reduce),
    (SOFTMAX, _softmax),
    (frozenset({"BatchNormalization"}), _batch_norm),
    (frozenset({"Slice"}), _slice),
    (frozenset({"InstanceNormalization", "GroupNormalization", "LayerNormalization"}), _normalization),
]
