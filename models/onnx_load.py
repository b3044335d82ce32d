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
import math
import re
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
    init_names = {t.name for t in model.graph.initializer}
    data_inputs = tuple(i.name for i in model.graph.input if i.name not in init_names)
    constants = _initializer_values(p, model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    metadata = {m.key: m.value for m in model.metadata_props}
    sorted_model = _sorted_light(model, [nodes[i] for i in order])
    del model, nodes  # the weights' data now live in `constants` only: free the file's copy
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
        metadata=metadata,
    )


def _initializer_values(p: Path, model: onnx.ModelProto) -> dict[str, np.ndarray]:
    values: dict[str, np.ndarray] = {}
    for t in model.graph.initializer:
        try:
            values[t.name] = numpy_helper.to_array(t)
        except Exception as err:
            raise FusePlanError(
                f"{str(p)!r}: initializer {t.name!r} cannot be read: {_first_line(err)}"
            ) from None
    return values


def _read(p: Path) -> onnx.ModelProto:
    if not p.exists():
        raise FusePlanError(f"ONNX file {str(p)!r} does not exist")
    if not p.is_file():
        raise FusePlanError(f"{str(p)!r} is not a file (expected an .onnx model)")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as err:  # protobuf DecodeError, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FusePlanError(
            f"{str(p)!r} is not a readable ONNX model (not ONNX, or truncated): {first}"
        ) from None
    _check_tensors(p, model)  # sizes and external-data locations, before any data is read
    try:
        onnx.external_data_helper.load_external_data_for_model(model, str(p.parent))
    except Exception as err:  # a data file changed or vanished since the check
        raise FusePlanError(
            f"{str(p)!r}: cannot read its external data: {_first_line(err)}"
        ) from None
    if model.ir_version == 0 or not model.graph.node:
        raise FusePlanError(
            f"{str(p)!r} is not an ONNX model (no IR version or no nodes): export it with "
            "torch.onnx.export or another ONNX exporter"
        )
    return model


# No tensor of a CNN comes near this; a larger one is refused before it is read or made.
MAX_TENSOR_BYTES = 4 * 2**30


def _all_tensors(model: onnx.ModelProto) -> list[tuple[str, TensorProto]]:
    """Every tensor stored in the model, with where it is: initializers (dense and sparse)
    and node attributes, in the graph, its subgraphs and its functions."""
    found: list[tuple[str, TensorProto]] = []

    def visit(graph: onnx.GraphProto | onnx.FunctionProto, where: str) -> None:
        if isinstance(graph, onnx.GraphProto):
            found.extend((f"initializer {t.name!r}", t) for t in graph.initializer)
            for sparse in graph.sparse_initializer:
                found.append((f"sparse initializer {sparse.values.name!r}", sparse.values))
                found.append((f"sparse initializer {sparse.values.name!r}", sparse.indices))
        for node in graph.node:
            at = f"attribute of node {node.name or node.op_type!r}{where}"
            for a in node.attribute:
                if a.HasField("t"):
                    found.append((at, a.t))
                found.extend((at, t) for t in a.tensors)
                if a.HasField("g"):
                    visit(a.g, where)
                for g in a.graphs:
                    visit(g, where)

    visit(model.graph, "")
    for f in model.functions:
        visit(f, f" in function {f.name!r}")
    return found


def _element_bytes(t: TensorProto) -> int:
    try:
        return max(1, helper.tensor_dtype_to_np_dtype(t.data_type).itemsize)
    except Exception:  # an unknown or string type: one byte per element as the floor
        return 1


# Types of fewer than 8 bits, packed in raw_data: bits per element.
_PACKED_BITS = {getattr(TensorProto, n): bits for n, bits in (
    ("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2),
    ("FLOAT6E2M3", 6), ("FLOAT6E3M2", 6)) if hasattr(TensorProto, n)}


def _raw_bytes(t: TensorProto, elements: int) -> int:
    """The length of ``raw_data`` a tensor of this many elements has."""
    bits = _PACKED_BITS.get(t.data_type)
    return elements * _element_bytes(t) if bits is None else -(-elements * bits // 8)


def _check_tensors(p: Path, model: onnx.ModelProto) -> None:
    """Refuses, before anything is read or allocated: a tensor larger than
    :data:`MAX_TENSOR_BYTES`, raw data that does not match the tensor's shape, and external
    data anywhere but in a regular file inside the model's folder (no absolute path, no
    ``..``, no symlink) or beyond that file's end."""
    base = p.resolve().parent
    for where, t in _all_tensors(model):
        if any(d < 0 for d in t.dims):
            raise FusePlanError(f"{str(p)!r}: {where} has a negative dim {list(t.dims)}")
        elements = math.prod(int(d) for d in t.dims)
        size = elements * _element_bytes(t)
        if size > MAX_TENSOR_BYTES:
            raise FusePlanError(
                f"{str(p)!r}: {where} has shape {list(t.dims)} ({size:,} bytes), more than the "
                f"{MAX_TENSOR_BYTES // 2**30} GiB fuseplan accepts for one tensor: the file is "
                "corrupt or not a CNN"
            )
        if t.data_location == TensorProto.EXTERNAL:
            _check_external(p, base, where, t, size)
        elif (t.HasField("raw_data") and t.data_type != TensorProto.STRING
              and len(t.raw_data) != _raw_bytes(t, elements)):
            raise FusePlanError(
                f"{str(p)!r}: {where} holds {len(t.raw_data):,} bytes of data for shape "
                f"{list(t.dims)} ({size:,} bytes): the file is corrupt"
            )


_DRIVE = re.compile(r"^[A-Za-z]:")  # a Windows drive (C:\x, C:x); other colons are names


def _check_external(p: Path, base: Path, where: str, t: TensorProto, size: int) -> None:
    info = {e.key: e.value for e in t.external_data}
    location = info.get("location", "")
    refuse = f"{str(p)!r}: {where} keeps its data in {location!r}"
    rel = Path(location)
    if not location or rel.is_absolute() or location.startswith(("/", "\\")) or _DRIVE.match(location):
        raise FusePlanError(
            f"{refuse}: external data must be a relative path inside the model's folder"
        )
    if any(part == ".." for part in rel.parts) or "\\" in location:
        raise FusePlanError(f"{refuse}, outside the model's folder: '..' is not allowed")
    target = base / rel
    step = base
    for part in rel.parts:  # no symlink on the way: the data must really be in the folder
        step = step / part
        if step.is_symlink():
            raise FusePlanError(f"{refuse}: {str(step)!r} is a symlink, which is not followed")
    if not target.is_file():
        raise FusePlanError(f"{refuse}: no such file in the model's folder {str(base)!r}")
    file_size = target.stat().st_size
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise FusePlanError(f"{refuse}: its offset or length is not a number") from None
    if length is not None and length != size and t.data_type != TensorProto.STRING:
        raise FusePlanError(
            f"{refuse}: length {length:,} bytes does not match its shape {list(t.dims)} "
            f"({size:,} bytes): the file is corrupt"
        )
    need = length if length is not None else size
    if offset < 0 or offset + need > file_size:
        raise FusePlanError(
            f"{refuse}: bytes {offset:,}..{offset + need:,} lie beyond the end of that file "
            f"({file_size:,} bytes): the data file is truncated or not this model's"
        )


_LIGHT_LIMIT = 4096  # initializers with more elements are weights: only their shapes matter


def _sorted_light(model: onnx.ModelProto, nodes: Sequence[onnx.NodeProto]) -> onnx.ModelProto:
    """The model with ``nodes`` (sorted) and its large initializers turned into graph inputs
    of the same type and shape, built without copying the weights' data.

    The checker and shape inference serialize the whole model; for VGG-16's 138 M weights
    that costs ~20 s, and a copy of the model with its data costs another 528 MB. Large
    initializers are weights, never shape constants, so checking the model without their
    data checks the same graph (their values are read once, into ``constants``).
    """
    light = onnx.ModelProto()
    _copy_fields(model, light, skip={"graph"})
    _copy_fields(model.graph, light.graph, skip={"node", "initializer"})
    light.graph.node.extend(nodes)
    big = [t for t in model.graph.initializer if math.prod(t.dims) > _LIGHT_LIMIT]
    big_names = {t.name for t in big}
    light.graph.initializer.extend(t for t in model.graph.initializer if t.name not in big_names)
    listed = {i.name for i in light.graph.input}
    light.graph.input.extend(
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
        for t in big if t.name not in listed
    )
    return light


def _copy_fields(src, dst, skip: set[str]) -> None:  # protobuf messages of one type
    for desc, value in src.ListFields():
        if desc.name in skip:
            continue
        repeated = getattr(desc, "is_repeated", None)  # protobuf >= 5; label before
        if repeated is None:
            repeated = desc.label == desc.LABEL_REPEATED
        if repeated:
            getattr(dst, desc.name).extend(value)
        elif desc.type == desc.TYPE_MESSAGE:
            getattr(dst, desc.name).CopyFrom(value)
        else:
            setattr(dst, desc.name, value)


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
        if not _fold_size_known(p, node, dims):
            continue  # its inputs fold first; the next round's inference knows its size
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


# Ops whose output can be far larger than their inputs: folded only once their size is known.
_SIZE_MAKING = {"ConstantOfShape", "Expand", "Tile", "Range", "Resize", "Upsample", "Pad",
                "EyeLike", "OneHot"}


def _fold_size_known(p: Path, node: onnx.NodeProto, dims: dict[str, Dims]) -> bool:
    """False while a size-making node's output size is unknown; a one-line error when a
    constant would be larger than :data:`MAX_TENSOR_BYTES` (refused before it is made)."""
    for out in node.output:
        shape = dims.get(out) if out else ()
        if shape is None or any(d is None for d in shape):
            if node.op_type in _SIZE_MAKING:
                return False
            continue
        size = math.prod(int(d) for d in shape) * 4  # type: ignore[arg-type]
        if size > MAX_TENSOR_BYTES:
            raise FusePlanError(
                f"{str(p)!r}: node {node.name or node.op_type!r} ({node.op_type}) would make a "
                f"constant of shape {list(shape)} ({size:,} bytes as float32), more than the "
                f"{MAX_TENSOR_BYTES // 2**30} GiB fuseplan accepts: the file is corrupt or not a CNN"
            )
    return True


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
