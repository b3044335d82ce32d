"""The user's ONNX model annotated with a plan's fusion groups, optionally each group wrapped
as a model-local ONNX function (docs/export.md).

``annotate`` names the unnamed nodes as the importer does and writes the map of every node
(``plan_export_map``) into its ``metadata_props``; node ``metadata_props`` exist from ONNX IR
version 10 (IR_VERSION_2024_3_25 in onnx.proto: "metadata_props on multiple proto
definitions"), so a model of an older IR version is raised to 10. ``wrap_groups`` then
replaces each group's nodes by one call of a FunctionProto ``group_<g>`` of domain
:data:`FUNCTION_DOMAIN`: a function holds no initializers, so what a group reads (weights,
constants, other groups' values, model inputs) are its inputs, under their own names, and
what others read of it its outputs. Shape nodes a group reads are copied into its function;
constant nodes, and the nodes of no group, stay in the main graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import onnx
from onnx import helper

from .errors import FusePlanError
from .fileio import atomic_temp_path
from .plan_export_map import ExportMap, node_reads, topological_positions

NODE_METADATA_IR = 10
FUNCTION_DOMAIN = "fuseplan.groups"
FUNCTION_DOMAIN_VERSION = 1
KEY_GROUP = "fuseplan.group"
KEY_ROLE = "fuseplan.role"
KEY_OPS = "fuseplan.ops"
KEY_ORDER = "fuseplan.order"
CALL_ROLE = "group"
_LARGE = 2**31 - 2**20  # protobuf's 2 GB limit, less a margin: larger models keep their weights apart


def annotate(model: onnx.ModelProto, emap: ExportMap, model_props: dict[str, str]) -> int:
    """Names and annotates every node in place; returns the model's IR version before (it is
    raised to :data:`NODE_METADATA_IR` if lower)."""
    before = model.ir_version
    for node, entry in zip(model.graph.node, emap.nodes, strict=True):
        node.name = entry.name
        props = {KEY_ROLE: entry.role, KEY_ORDER: str(entry.order)}
        if entry.group is not None:
            props[KEY_GROUP] = str(entry.group)
        if entry.ops:
            props[KEY_OPS] = ";".join(entry.ops)
        _set_props(node.metadata_props, props)
    _set_props(model.metadata_props, model_props)
    model.ir_version = max(before, NODE_METADATA_IR)
    if not _in_topological_order(model.graph.node):  # ONNX requires it; the importer did not
        ordered = [_copy(model.graph.node[e.index]) for e in emap.in_order()]
        del model.graph.node[:]
        model.graph.node.extend(ordered)
    return before


def _in_topological_order(nodes: Sequence[onnx.NodeProto]) -> bool:
    position = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    return all(position.get(x, -1) < i for i, n in enumerate(nodes) for x in node_reads(n))


def _set_props(field: object, props: dict[str, str]) -> None:
    """Sets the keys in a repeated StringStringEntryProto (old values of those keys go)."""
    kept = [(p.key, p.value) for p in field if p.key not in props]  # type: ignore[attr-defined]
    del field[:]  # type: ignore[index]
    for key, value in kept + list(props.items()):
        entry = field.add()  # type: ignore[attr-defined]
        entry.key, entry.value = key, value


def wrap_groups(model: onnx.ModelProto, emap: ExportMap) -> None:
    """Replaces each group's nodes by a call of its local function (in place; ``annotate``
    first, so that the nodes are named)."""
    nodes = [_copy(n) for n in model.graph.node]  # the graph's own messages are replaced below
    order = {e.index: e.order for e in emap.nodes}
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    shape_nodes = {e.index for e in emap.nodes if e.role == "shape"}

    def shape_closure(values: Iterable[str]) -> set[int]:
        found: set[int] = set()
        todo = [producer[x] for x in values if producer.get(x) in shape_nodes]
        while todo:
            i = todo.pop()
            if i not in found:
                found.add(i)
                todo += [producer[x] for x in node_reads(nodes[i]) if producer.get(x) in shape_nodes]
        return found

    bodies = []
    for members in emap.groups:
        reads = [x for i in members for x in node_reads(nodes[i])]
        bodies.append(sorted(set(members) | shape_closure(reads), key=order.__getitem__))
    cloned = set().union(*(set(b) for b in bodies)) - {i for m in emap.groups for i in m}
    dead = [e.index for e in emap.nodes if e.role == "dead"]
    outputs = [o.name for o in model.graph.output]
    main_shape = shape_nodes - cloned
    main_shape |= shape_closure([x for i in dead + sorted(main_shape) for x in node_reads(nodes[i])]
                                + outputs)
    constants = [e.index for e in emap.nodes if e.role == "constant"]
    main_nodes = constants + sorted(main_shape) + dead
    outside_reads = {x for i in main_nodes for x in node_reads(nodes[i])} | set(outputs)
    body_reads = [_free_reads(nodes, body) for body in bodies]
    functions, calls = [], []
    for g, (members, body) in enumerate(zip(emap.groups, bodies)):
        made = [o for i in members for o in nodes[i].output if o]
        wanted = outside_reads.union(*(r for h, r in enumerate(body_reads) if h != g))
        func = _function(model, g, [nodes[i] for i in body], list(body_reads[g]),
                         [o for o in made if o in wanted])
        functions.append(func)
        call = helper.make_node(func.name, list(func.input), list(func.output),
                                name=f"fuseplan_group_{g}", domain=FUNCTION_DOMAIN)
        _set_props(call.metadata_props, {KEY_ROLE: CALL_ROLE, KEY_GROUP: str(g)})
        calls.append(call)
    _replace_main_nodes(model, [nodes[i] for i in main_nodes],
                        [calls[g] for g in emap.group_order],
                        [emap.nodes[i].role for i in main_nodes])
    model.functions.extend(functions)
    if all(o.domain != FUNCTION_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(FUNCTION_DOMAIN, FUNCTION_DOMAIN_VERSION))


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    out = onnx.NodeProto()
    out.CopyFrom(node)
    return out


def _free_reads(nodes: Sequence[onnx.NodeProto], body: Sequence[int]) -> dict[str, None]:
    """What the body reads that it does not make, in first-use order."""
    made = {o for i in body for o in nodes[i].output if o}
    return dict.fromkeys(x for i in body for x in node_reads(nodes[i]) if x not in made)


def _function(
    model: onnx.ModelProto, g: int, body: list[onnx.NodeProto], inputs: list[str], outputs: list[str]
) -> onnx.FunctionProto:
    func = onnx.FunctionProto()
    func.name, func.domain = f"group_{g}", FUNCTION_DOMAIN
    func.input.extend(inputs)
    func.output.extend(outputs)
    func.node.extend(body)
    func.opset_import.extend(o for o in model.opset_import if o.domain != FUNCTION_DOMAIN)
    inner = {o for n in body for o in n.output if o} - set(outputs)
    func.value_info.extend(v for v in model.graph.value_info if v.name in inner)
    _set_props(func.metadata_props, {KEY_GROUP: str(g)})
    return func


def _replace_main_nodes(
    model: onnx.ModelProto, kept: list[onnx.NodeProto], calls: list[onnx.NodeProto], roles: list[str]
) -> None:
    """The main graph: constant and shape nodes as soon as they can run, the calls in the
    order given (the groups' execution order), dead nodes last; value_info only for values the main graph still has."""
    every = kept + calls
    last = len(every) + 1

    def key(i: int) -> tuple[int, int]:
        if i >= len(kept):
            return (i - len(kept), 0)
        return (last if roles[i] == "dead" else -1, i)

    positions = topological_positions(every, key)
    ordered = [every[i] for i in sorted(positions, key=positions.__getitem__)]
    del model.graph.node[:]
    model.graph.node.extend(ordered)
    present = {i.name for i in model.graph.input} | {t.name for t in model.graph.initializer}
    present |= {o for n in ordered for o in n.output if o}
    infos = [v for v in model.graph.value_info if v.name in present]
    del model.graph.value_info[:]
    model.graph.value_info.extend(infos)


def write_checked_model(model: onnx.ModelProto, path: Path) -> bool:
    """Writes the model atomically after ``onnx.checker.check_model(full_check=True)`` passed
    on the written file; returns whether the weights went to an external data file
    (``<name>.data``, for models over protobuf's 2 GB)."""
    external = model.ByteSize() > _LARGE
    with atomic_temp_path(path) as tmp:
        if external:
            onnx.save(model, tmp, save_as_external_data=True, location=f"{path.name}.data")
        else:
            onnx.save(model, tmp)
        try:
            onnx.checker.check_model(tmp, full_check=True)
        except Exception as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise FusePlanError(f"the exported model fails the ONNX checker: {first}") from None
    return external
