"""Our graph -> a valid ONNX model (opset 17; 18-21 only when an op or an attribute needs a
later opset, as in exports at opset 18) with random weights of the recorded shapes.

``import_onnx(export_onnx(g))`` gives back ``g`` exactly (names, kinds, order, shapes, params,
k, s, attrs, absorbed). How:

* every tensor becomes the ONNX value of the same name, written at the rank its producer
  naturally gives (4 for maps, 2 after Gemm, ...); where an op needs another rank (Gemm reads
  a flattened map, a Conv reads a 4-D map) a Reshape is inserted, marked with
  ``doc_string = EXPORT_HELPER`` so that the importer removes it without recording it;
* parameters are random float32 initializers of the shapes in ``Op.param_shapes`` (BatchNorm:
  scale, shift, mean, variance of C each); settings the importer read from constant inputs
  (Clip ``min``/``max``, Pad ``pads``/``value``, ReduceSum ``axes``, Resize output size)
  become constant inputs again;
* each name in ``Op.absorbed`` becomes an Identity node of that name in front of the op, which
  the importer removes and records in the op's ``absorbed`` again;
* the graph's name is stored in the model's metadata (``fuseplan.graph_name``).

The model is checked with onnx.checker and shape inference; a tensor whose inferred shape
differs from ours raises :class:`FusePlanError` naming the op.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import FusePlanError
from .graph import Graph, Op, Tensor
from .onnx_import import CHANNELS_LAST, EXPORT_HELPER, GRAPH_NAME_KEY, to_chw
from .onnx_load import infer_dims
from .onnx_ops import ELEMENTWISE, REDUCE

OPSETS = (17, 18, 19, 20, 21)  # 17 unless an op or attribute needs a later opset
_SPATIAL = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"})
_AS_INPUTS = {"Clip": ("min", "max"), "Pad": ("pads", "value"), "ReduceSum": ("axes",),
              "Slice": ("starts", "ends", "axes", "steps")}
_AXES_AS_INPUT_FROM = 18  # opset from which every Reduce* op takes axes as an input
_NOT_ONNX = {CHANNELS_LAST, "groups"}  # our attrs: written as the layout, not as attributes


def _as_inputs(kind: str, opset: int) -> tuple[str, ...]:
    if kind in REDUCE and opset >= _AXES_AS_INPUT_FROM:
        return ("axes",)
    return _AS_INPUTS.get(kind, ())


def choose_opset(graph: Graph) -> int:
    """The first opset of OPSETS whose schemas know every attribute the graph's ops carry."""
    for opset in OPSETS:
        ok = True
        for op in graph.ops:
            try:
                schema = onnx.defs.get_schema("Transpose" if op.kind == "ChannelShuffle" else op.kind,
                                              opset)
            except onnx.defs.SchemaError:
                ok = False
                break
            if schema.deprecated:
                ok = False
                break
            keys = {k for k, _ in op.attrs} - set(_as_inputs(op.kind, opset)) - _NOT_ONNX
            if op.kind == "ChannelShuffle":
                keys, schema = set(), onnx.defs.get_schema("Transpose", opset)
            if not keys <= set(schema.attributes):
                ok = False
                break
        if ok:
            return opset
    return OPSETS[0]


def export_onnx(graph: Graph, path: str | Path, *, seed: int = 0) -> None:
    writer = _Writer(graph)
    skeleton = writer.model(weights=None)
    try:  # on the weight-free skeleton (weights as inputs): fast even for VGG's 138 M weights
        onnx.checker.check_model(skeleton)
        dims = infer_dims(Path(graph.name), skeleton)
    except Exception as err:
        text = str(err).split(": ONNX shape inference failed: ")[-1]
        first = (text.strip().splitlines() or [type(err).__name__])[0]
        raise FusePlanError(f"graph {graph.name!r} cannot be written as ONNX: {first}") from None
    _check_shapes(graph, dims, writer.nchw_name)
    model = writer.model(weights=True)
    _write_model_atomic(Path(path), model, writer.weight_values(np.random.default_rng(seed)))


def _write_model_atomic(
    target: Path, model: onnx.ModelProto, initializers: Iterable[tuple[str, np.ndarray]]
) -> None:
    """Writes ``model`` with ``initializers`` appended to its graph, one tensor at a time (a
    temporary file renamed into place: never half-written)."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FusePlanError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(model.SerializeToString())
            for name, value in initializers:
                _append_initializer(fh, name, value)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_GRAPH = onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number
_INITIALIZER = onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number
_RAW_DATA = TensorProto.DESCRIPTOR.fields_by_name["raw_data"].number


def _append_initializer(fh: BinaryIO, name: str, value: np.ndarray) -> None:
    """Appends ``value`` to a serialised model as one more ``graph.initializer``, in
    protobuf's wire format: the bytes of a ModelProto holding only that initializer, which a
    parser merges into the model read so far (a singular message field seen twice is merged,
    a repeated one appended). The weights' bytes are written from the array itself, so VGG-16's
    411 MB fc6 is never copied into a message and then into a string."""
    data = np.ascontiguousarray(value, dtype="<f4")
    head = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=data.shape).SerializeToString()
    raw = _key(_RAW_DATA) + _varint(data.nbytes)
    tensor = len(head) + len(raw) + data.nbytes
    initializer = _key(_INITIALIZER) + _varint(tensor)
    fh.write(_key(_GRAPH) + _varint(len(initializer) + tensor) + initializer + head + raw)
    fh.write(memoryview(data).cast("B"))


def _key(field: int) -> bytes:
    return _varint(field << 3 | 2)  # wire type 2: length-delimited


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _check_shapes(graph: Graph, dims: dict[str, tuple[int | None, ...]], nchw: dict[int, str]) -> None:
    for op in graph.ops:
        t = graph.tensors[op.output]
        got = to_chw(dims.get(nchw.get(t.id, t.name), (None,)), f"exported op {op.name!r}")
        if got != t.shape:
            raise FusePlanError(
                f"graph {graph.name!r}: op {op.name!r} ({op.kind}) written as ONNX gives shape {got}, "
                f"not {t.shape}: its attrs do not describe its shapes"
            )


def _dims(t: Tensor, rank: int) -> list[int]:
    if rank == 4:
        return [1, t.c, t.h, t.w]
    if rank == 3:
        return [1, t.c, t.h * t.w]
    return [1, t.elements]


class _Writer:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.weights: list[tuple[str, tuple[int, ...], bool]] = []  # name, shape, positive
        self.rank: dict[int, int] = {t: 4 for t in graph.inputs}
        self.reshaped: dict[tuple[int, int], str] = {}
        self.nchw_name: dict[int, str] = {}  # channels-last op output -> its NCHW value
        self.opset = choose_opset(graph)

    # ----- values -----
    def _const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def _at_rank(self, t: int, rank: int) -> str:
        """The name of tensor ``t`` as a value of the given rank (a helper Reshape if needed)."""
        tensor = self.g.tensors[t]
        if t in self.nchw_name:  # a channels-last op's output: readers read it transposed back
            if rank == 4:
                return self.nchw_name[t]
        elif self.rank[t] == rank:
            return tensor.name
        key = (t, rank)
        if key not in self.reshaped:
            out = f"{tensor.name}::rank{rank}"
            shape = self._const(f"{out}::shape", np.array(_dims(tensor, rank), dtype=np.int64))
            source = self.nchw_name.get(t, tensor.name)
            node = helper.make_node("Reshape", [source, shape], [out],
                                    name=f"fuseplan_layout::{out}")
            node.doc_string = EXPORT_HELPER
            self.nodes.append(node)
            self.reshaped[key] = out
        return self.reshaped[key]

    def _absorbed_chain(self, op: Op, value: str) -> str:
        for name in op.absorbed:
            out = f"{name}::absorbed_output"
            self.nodes.append(helper.make_node("Identity", [value], [out], name=name))
            value = out
        return value

    def _weight(self, name: str, shape: tuple[int, ...], positive: bool = False) -> str:
        self.weights.append((name, shape, positive))
        return name

    def _params(self, op: Op) -> list[str]:
        return [self._weight(f"{op.name}::param{i}", shape) for i, shape in enumerate(op.param_shapes)]

    # ----- ranks -----
    def _input_rank(self, op: Op) -> int:
        t0 = self.g.tensors[op.inputs[0]]
        current = self.rank[op.inputs[0]]
        if op.kind in _SPATIAL:
            kernel = op.attr("kernel_shape") or op.param_shapes[0][2:]
            return 2 + len(kernel)
        if op.kind == "Pad":
            return len(op.attr("pads")) // 2
        if op.kind == "Gemm" or (op.kind == "MatMul" and self._flat_matmul(op, t0)):
            return 2
        if op.kind in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "LRN", "Resize",
                       "BatchNormalization", "InstanceNormalization"):
            return current if current >= 3 else 4
        return current

    @staticmethod
    def _flat_matmul(op: Op, t0: Tensor) -> bool:
        return len(op.param_shapes) == 1 and len(op.param_shapes[0]) == 2 and \
            op.param_shapes[0][0] == t0.elements

    def _broadcast_rank(self, op: Op) -> int:
        """A rank at which the data inputs and parameters broadcast to the op's output shape."""
        ranks = {self.rank[t] for t in op.inputs}
        out = self.g.tensors[op.output]
        for r in ([ranks.pop()] if len(ranks) == 1 else []) + [4, 3, 2]:
            shapes = [_dims(self.g.tensors[t], r) for t in op.inputs] + [list(s) for s in op.param_shapes]
            try:
                if list(np.broadcast_shapes(*[tuple(s) for s in shapes])) == _dims(out, r):
                    return r
            except ValueError:
                continue
        return 4

    def _output_rank(self, op: Op, in_rank: int) -> int:
        if op.kind == "Gemm":
            return 2
        if op.kind in REDUCE and op.attr("keepdims", 1) == 0:
            axes = op.attr("axes")
            return in_rank - (len(axes) if axes else in_rank)
        if op.kind in ELEMENTWISE or op.kind == "MatMul":
            return max([in_rank] + [len(s) for s in op.param_shapes])
        return in_rank

    # ----- nodes -----
    def _helper(self, kind: str, inputs: list[str], out: str, **attrs: Any) -> str:
        node = helper.make_node(kind, inputs, [out], name=f"fuseplan_layout::{out}", **attrs)
        node.doc_string = EXPORT_HELPER
        self.nodes.append(node)
        return out

    def _shuffle_node(self, op: Op) -> None:
        """ChannelShuffle: Reshape (1, g, C/g, H, W), Transpose (the op), Reshape back."""
        x = self._absorbed_chain(op, self._at_rank(op.inputs[0], 4))
        c, h, w = self.g.tensors[op.output].shape
        g = int(op.attr("groups"))
        out = self.g.tensors[op.output].name
        split = self._const(f"{out}::grouped", np.array([1, g, c // g, h, w], dtype=np.int64))
        back = self._const(f"{out}::shape", np.array([1, c, h, w], dtype=np.int64))
        y = self._helper("Reshape", [x, split], f"{out}::grouped_in")
        self.nodes.append(helper.make_node("Transpose", [y], [f"{out}::shuffled"], name=op.name,
                                           perm=[0, 2, 1, 3, 4]))
        self._helper("Reshape", [f"{out}::shuffled", back], out)
        self.rank[op.output] = 4

    def _channels_last_node(self, op: Op) -> None:
        """An op folded from a channels-last pair: Transpose to NHWC, the op (a MatMul's bias
        as an Add), Transpose back; the Transposes and the Add are layout helpers."""
        x = self._absorbed_chain(op, self._at_rank(op.inputs[0], 4))
        out = self.g.tensors[op.output].name
        data = [self._helper("Transpose", [x], f"{out}::nhwc_in", perm=[0, 2, 3, 1])]
        for t in op.inputs[1:]:
            data.append(self._helper("Transpose", [self._at_rank(t, 4)],
                                     f"{out}::nhwc_in{len(data)}", perm=[0, 2, 3, 1]))
        params = self._params(op)
        attrs = {k: v for k, v in op.attrs if k != CHANNELS_LAST}
        y = out
        if op.kind == "MatMul" and len(params) == 2:
            self.nodes.append(helper.make_node("MatMul", data + params[:1], [out], name=op.name))
            y = self._helper("Add", [out, params[1]], f"{out}::biased")
        else:
            self.nodes.append(helper.make_node(op.kind, data + params, [out], name=op.name, **attrs))
        self.nchw_name[op.output] = self._helper("Transpose", [y], f"{out}::nchw", perm=[0, 3, 1, 2])
        self.rank[op.output] = 4

    def _op_node(self, op: Op) -> None:
        if op.barrier:
            raise FusePlanError(
                f"graph {self.g.name!r}: op {op.name!r} is a barrier ({op.kind}, an op fuseplan does "
                "not know): it cannot be written as ONNX"
            )
        if op.kind == "ChannelShuffle":
            return self._shuffle_node(op)
        if op.attr(CHANNELS_LAST):
            return self._channels_last_node(op)
        if op.kind in ELEMENTWISE:
            rank = self._broadcast_rank(op)
        elif op.kind == "Concat" and len({self.rank[t] for t in op.inputs}) > 1:
            rank = 4
        else:
            rank = self._input_rank(op)
        data = [self._at_rank(t, rank) for t in op.inputs]
        data[0] = self._absorbed_chain(op, data[0])
        attrs: dict[str, Any] = dict(op.attrs)
        extra = self._setting_inputs(op, attrs)
        if op.kind == "BatchNormalization":
            c = op.param_shapes[0][0]
            inputs = data + [self._weight(f"{op.name}::{k}", (c,), positive=k == "var")
                             for k in ("scale", "bias", "mean", "var")]
        else:
            inputs = data + extra + self._params(op)
        out = self.g.tensors[op.output].name
        self.nodes.append(helper.make_node(op.kind, inputs, [out], name=op.name,
                                           **{k: v for k, v in attrs.items() if v != ()}))
        self.rank[op.output] = self._output_rank(op, rank)

    def _setting_inputs(self, op: Op, attrs: dict[str, Any]) -> list[str]:
        """Settings the importer reads from constant inputs, written as such inputs again."""
        if op.kind == "Resize":
            out = self.g.tensors[op.output]
            rank = self._input_rank(op)
            sizes = self._const(f"{op.name}::sizes", np.array(_dims(out, rank), dtype=np.int64))
            return ["", "", sizes]
        keys = _as_inputs(op.kind, self.opset)
        values = [attrs.pop(k, None) for k in keys]
        names: list[str] = []
        for key, value in zip(keys, values):
            if value is None:
                names.append("")
            elif key in ("pads", "axes", "starts", "ends", "steps"):
                names.append(self._const(f"{op.name}::{key}", np.array(value, dtype=np.int64)))
            else:
                names.append(self._const(f"{op.name}::{key}", np.array(value, dtype=np.float32)))
        while names and names[-1] == "":
            names.pop()
        return names

    def model(self, weights: bool) -> onnx.ModelProto:
        """The model without its random weights: with ``weights=False`` a skeleton whose
        weights are graph inputs (for the checker and shape inference), with ``weights=True``
        the model that :meth:`weight_values` are appended to as initializers."""
        g = self.g
        if not self.nodes:
            for op in g.ops:
                self._op_node(op)
        inputs = [helper.make_tensor_value_info(g.tensors[t].name, TensorProto.FLOAT,
                                                _dims(g.tensors[t], 4)) for t in g.inputs]
        outputs = [helper.make_tensor_value_info(  # the skeleton leaves them to inference
            self.nchw_name.get(t, g.tensors[t].name), TensorProto.FLOAT,
            _dims(g.tensors[t], self.rank[t]) if weights else [None] * self.rank[t])
            for t in g.outputs]
        if not weights:
            inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(shape))
                       for n, shape, _ in self.weights]
        graph = helper.make_graph(self.nodes, g.name, inputs, outputs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="fuseplan")
        model.ir_version = 8
        helper.set_model_props(model, {GRAPH_NAME_KEY: g.name})
        return model

    def weight_values(self, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
        """The random float32 weights, in the order the skeleton lists them (positive ones,
        such as BatchNorm's variance, at least 0.5)."""
        for name, shape, positive in self.weights:
            value = rng.standard_normal(shape, dtype=np.float32)
            yield name, np.abs(value) + 0.5 if positive else value
