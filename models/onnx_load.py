"""Reading an ONNX file into a checked, shape-inferred, constant-folded form.

Steps, each with a one-line :class:`FusePlanError` when it fails: load the file (missing, not
ONNX, truncated), name the unnamed nodes (``<op_type>_<position in the file>``), sort the nodes
topologically (a cycle is reported with its nodes), run the onnx checker, apply a static
``input_shape`` if given, infer shapes (``data_prop=True``), evaluate the constant subgraphs
(``Constant``, ``Shape``/``Size`` of a static tensor, and every node whose inputs are all
constant) with ``onnx.reference.ReferenceEvaluator``, then infer shapes again with the folded
values as initializers. Nothing here decides what an op means: that is ``onnx_ops``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

from .errors import FusePlanError
from .onnx_ops import SAME_SHAPE

Dims = tuple[int | None, ...]

# Ops never folded even when their inputs are constant (their value is not a constant).
_NOT_FOLDABLE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                 "Multinomial", "Bernoulli"}


@dataclass(frozen=True)
class LoadedModel:
    """An ONNX graph ready to be read op by op.

    ``nodes`` are topologically sorted; ``names[i]`` is node i's (unique) name and
    ``positions[i]`` its position in the file. ``folded`` holds the indices of the nodes whose
    outputs are constants; ``constants`` the values of the initializers and folded outputs;
    ``dims`` the inferred ONNX shape of every value (None for an unknown dim).
    """

    path: Path
    name: str
    opset: int
    nodes: tuple[onnx.NodeProto, ...]
    names: tuple[str, ...]
    positions: tuple[int, ...]
    folded: frozenset[int]
    constants: dict[str, np.ndarray]
    dims: dict[str, Dims]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    metadata: dict[str, str]


def load_onnx(path: str | Path, input_shape: Sequence[int] | None = None) -> LoadedModel:
    p = Path(path)
    model = _read(p)
    nodes = list(model.graph.node)
    names = _node_names(nodes)
    order = _topological_order(p, nodes, names)
    sorted_model = onnx.ModelProto()
    sorted_model.CopyFrom(model)
    del sorted_model.graph.node[:]
    sorted_model.graph.node.extend(nodes[i] for i in order)
    init_names = {t.name for t in sorted_model.graph.initializer}
    data_inputs = tuple(i.name for i in sorted_model.graph.input if i.name not in init_names)
    constants = {t.name: numpy_helper.to_array(t) for t in sorted_model.graph.initializer}
    sorted_model = _light(sorted_model)
    _check(p, sorted_model)
    if input_shape is not None:
        _set_input_shape(p, sorted_model, data_inputs, tuple(input_shape))
    dims = infer_dims(p, sorted_model)
    _check_inputs(p, data_inputs, dims)
    s_nodes = tuple(sorted_model.graph.node)
    folded: list[int] = []
    while True:  # a folded Pad or Reshape size can make a later Shape node static: fold again
        new = _fold_constants(p, sorted_model, s_nodes, dims, constants, set(folded))
        if not new:
            break
        folded += new
        dims = infer_dims(p, _without_folded(sorted_model, s_nodes, folded, constants))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return LoadedModel(
        path=p,
        name=p.stem,
        opset=opset,
        nodes=s_nodes,
        names=tuple(names[i] for i in order),
        positions=tuple(order),
        folded=frozenset(folded),
        constants=constants,
        dims=dims,
        inputs=data_inputs,
        outputs=tuple(o.name for o in sorted_model.graph.output),
        metadata={m.key: m.value for m in model.metadata_props},
    )


def _read(p: Path) -> onnx.ModelProto:
    if not p.exists():
        raise FusePlanError(f"ONNX file {str(p)!r} does not exist")
    if not p.is_file():
        raise FusePlanError(f"{str(p)!r} is not a file (expected an .onnx model)")
    try:
        model = onnx.load(str(p))
    except Exception as err:  # protobuf DecodeError, external-data OSError, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FusePlanError(
            f"{str(p)!r} is not a readable ONNX model (not ONNX, or truncated): {first}"
        ) from None
    if model.ir_version == 0 or not model.graph.node:
        raise FusePlanError(
            f"{str(p)!r} is not an ONNX model (no IR version or no nodes): export it with "
            "torch.onnx.export or another ONNX exporter"
        )
    return model


_LIGHT_LIMIT = 4096  # initializers with more elements are weights: only their shapes matter


def _light(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its large initializers turned into graph inputs of the same type/shape.

    The checker and shape inference serialize the whole model; for VGG-16's 138 M weights
    that costs ~20 s. Large initializers are weights, never shape constants, so checking the
    model without their data checks the same graph (the loaded values are used as they are).
    """
    big = [t for t in model.graph.initializer if np.prod(t.dims, dtype=np.int64) > _LIGHT_LIMIT]
    if not big:
        return model
    light = onnx.ModelProto()
    light.CopyFrom(model)
    del light.graph.initializer[:]
    big_names = {t.name for t in big}
    light.graph.initializer.extend(t for t in model.graph.initializer if t.name not in big_names)
    listed = {i.name for i in light.graph.input}
    light.graph.input.extend(
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
        for t in big if t.name not in listed
    )
    return light


def _node_names(nodes: Sequence[onnx.NodeProto]) -> list[str]:
    """Each node's name; unnamed ones get ``<op_type>_<position>``, repeats get ``_<position>``."""
    names: list[str] = []
    seen: set[str] = set()
    for pos, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{pos}"
        if name in seen:
            name = f"{name}_{pos}"
        seen.add(name)
        names.append(name)
    return names


def _topological_order(p: Path, nodes: Sequence[onnx.NodeProto], names: Sequence[str]) -> list[int]:
    """Node positions in a topological order (file order where possible); a clear cycle error."""
    producer: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for out in node.output:
            if out:
                producer[out] = i
    deps: list[set[int]] = []
    users: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        d = {producer[x] for x in node.input if x in producer}
        deps.append(d)
        for j in d:
            users[j].append(i)
    missing = [len(d) for d in deps]
    ready = [i for i, m in enumerate(missing) if m == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            missing[u] -= 1
            if missing[u] == 0:
                heapq.heappush(ready, u)
    if len(order) < len(nodes):
        stuck = sorted(set(range(len(nodes))) - set(order))
        shown = ", ".join(repr(names[i]) for i in stuck[:8])
        more = f" and {len(stuck) - 8} more" if len(stuck) > 8 else ""
        raise FusePlanError(
            f"{str(p)!r}: the graph has a cycle through nodes {shown}{more}; a CNN graph must be acyclic"
        )
    return order


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _check(p: Path, model: onnx.ModelProto) -> None:
    try:
        onnx.checker.check_model(model)
    except Exception as err:
        raise FusePlanError(f"{str(p)!r} fails the ONNX checker: {_first_line(err)}") from None


def _set_input_shape(
    p: Path, model: onnx.ModelProto, data_inputs: Sequence[str], shape: tuple[int, ...]
) -> None:
    if len(data_inputs) != 1:
        raise FusePlanError(
            f"--input-shape applies to a model with one input; {str(p)!r} has "
            f"{len(data_inputs)} ({', '.join(data_inputs)})"
        )
    vi = next(i for i in model.graph.input if i.name == data_inputs[0])
    tshape = vi.type.tensor_type.shape
    if len(tshape.dim) and len(tshape.dim) != len(shape):
        raise FusePlanError(
            f"--input-shape {'x'.join(map(str, shape))} has {len(shape)} dims but input "
            f"{vi.name!r} of {str(p)!r} has {len(tshape.dim)}"
        )
    file_dims = ["?" if not d.HasField("dim_value") else str(d.dim_value) for d in tshape.dim]
    wrong = [i for i, d in enumerate(tshape.dim)
             if i > 0 and d.HasField("dim_value") and d.dim_value != shape[i]]
    if wrong:  # the batch may be set to 1; any other static dim is what the weights expect
        i = wrong[0]
        fix = "x".join(["1"] + [file_dims[j] if file_dims[j] != "?" else str(shape[j])
                                for j in range(1, len(shape))])
        raise FusePlanError(
            f"--input-shape {'x'.join(map(str, shape))} contradicts input {vi.name!r} of "
            f"{str(p)!r}, whose dim {i} is {file_dims[i]} (shape {'x'.join(file_dims)}): "
            f"static dims need no --input-shape; if you need it, pass --input-shape {fix}"
        )
    del tshape.dim[:]
    for d in shape:
        tshape.dim.add().dim_value = int(d)
    # Shapes stored for the old input size would contradict the new one: infer them afresh.
    del model.graph.value_info[:]
    for out in model.graph.output:
        out.type.tensor_type.ClearField("shape")


def _infer(p: Path, model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        return shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as err:
        raise FusePlanError(f"{str(p)!r}: ONNX shape inference failed: {_first_line(err)}") from None


def infer_dims(p: Path, model: onnx.ModelProto) -> dict[str, Dims]:
    """Inferred dims of every value. onnx has no shape inference for some function ops
    (GroupNormalization-21); an op that keeps its input's shape gets it, and inference reruns."""
    inferred = _infer(p, model)
    dims = _value_dims(inferred)
    while True:
        gaps = [n for n in inferred.graph.node if n.op_type in SAME_SHAPE and n.input
                and _known(dims.get(n.input[0])) and not _known(dims.get(n.output[0]))]
        if not gaps:
            return dims
        for n in gaps:
            vi = inferred.graph.value_info.add()
            vi.name = n.output[0]
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
            for d in dims[n.input[0]]:
                vi.type.tensor_type.shape.dim.add().dim_value = int(d)  # type: ignore[arg-type]
        inferred = _infer(p, inferred)
        dims = _value_dims(inferred)


def _known(dims: Dims | None) -> bool:
    return dims is not None and all(d is not None for d in dims)


def _value_dims(model: onnx.ModelProto) -> dict[str, Dims]:
    dims: dict[str, Dims] = {}
    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        dims[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
    for t in g.initializer:
        dims[t.name] = tuple(int(d) for d in t.dims)
    return dims


def _suggested_shape(shape: Dims) -> str:
    fill = [1] + [224] * (len(shape) - 1)
    return "x".join(str(d if d is not None and i > 0 else fill[i]) for i, d in enumerate(shape))


def _check_inputs(p: Path, inputs: Sequence[str], dims: dict[str, Dims]) -> None:
    for name in inputs:
        shape = dims.get(name)
        if shape is None or any(d is None or d < 1 for d in shape):
            shown = "?" if shape is None else "x".join("?" if d is None else str(d) for d in shape)
            example = "1x3x224x224" if not shape else _suggested_shape(shape)
            raise FusePlanError(
                f"input {name!r} of {str(p)!r} has symbolic or unknown dims ({shown}): pass a static "
                f"shape, e.g. --input-shape {example}"
            )
        if len(shape) >= 2 and shape[0] != 1:
            raise FusePlanError(
                f"input {name!r} of {str(p)!r} has batch {shape[0]}: fuseplan plans batch 1; pass "
                f"--input-shape {'x'.join(['1'] + [str(d) for d in shape[1:]])}"
            )


def _fold_constants(
    p: Path,
    model: onnx.ModelProto,
    nodes: Sequence[onnx.NodeProto],
    dims: dict[str, Dims],
    constants: dict[str, np.ndarray],
    done: set[int],
) -> list[int]:
    """Indices of the constant nodes not in ``done``; their values are added to ``constants``."""
    const_names = set(constants)
    folded: list[int] = []
    to_run: list[onnx.NodeProto] = []
    for i, node in enumerate(nodes):
        if i in done:
            continue
        static = _static_shape_node(node, dims)
        inputs = [x for x in node.input if x]
        if static is not None:
            node = helper.make_node("Constant", [], [node.output[0]],
                                    value=numpy_helper.from_array(static))
        elif not (node.op_type == "Constant" or (
            inputs and node.op_type not in _NOT_FOLDABLE and all(x in const_names for x in inputs)
        )):
            continue
        folded.append(i)
        to_run.append(node)
        const_names.update(x for x in node.output if x)
    if not folded:
        return folded
    outputs = [x for n in to_run for x in n.output if x]
    used = {x for n in to_run for x in n.input if x}
    graph = helper.make_graph(
        to_run, "constants", [], [helper.make_empty_tensor_value_info(x) for x in outputs],
        initializer=[numpy_helper.from_array(constants[x], x) for x in sorted(used) if x in constants],
    )
    sub = helper.make_model(graph, opset_imports=list(model.opset_import))
    try:
        from onnx.reference import ReferenceEvaluator

        values = ReferenceEvaluator(sub).run(None, {})
    except Exception as err:
        raise FusePlanError(
            f"{str(p)!r}: cannot evaluate its constant subgraph: {_first_line(err)}"
        ) from None
    for name, value in zip(outputs, values):
        constants[name] = np.asarray(value)
    return folded


def _static_shape_node(node: onnx.NodeProto, dims: dict[str, Dims]) -> np.ndarray | None:
    """The value of a Shape or Size node whose input shape is fully known, else None."""
    if node.op_type not in ("Shape", "Size") or not node.input:
        return None
    shape = dims.get(node.input[0])
    if shape is None or any(d is None for d in shape):
        return None
    full = [int(d) for d in shape]  # type: ignore[arg-type]
    if node.op_type == "Size":
        return np.array(int(np.prod(full)), dtype=np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    start, end = int(attrs.get("start", 0)), attrs.get("end")
    return np.array(full[start:] if end is None else full[start:int(end)], dtype=np.int64)


def _without_folded(
    model: onnx.ModelProto,
    nodes: Sequence[onnx.NodeProto],
    folded: Sequence[int],
    constants: dict[str, np.ndarray],
) -> onnx.ModelProto:
    """The model with its constant nodes replaced by initializers (for a second inference)."""
    gone = set(folded)
    kept = [n for i, n in enumerate(nodes) if i not in gone]
    needed = {x for n in kept for x in n.input if x} | {o.name for o in model.graph.output}
    existing = {t.name for t in model.graph.initializer}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    for i in folded:
        for name in nodes[i].output:
            if name and name in needed and name not in existing:
                out.graph.initializer.append(numpy_helper.from_array(constants[name], name))
    return out
