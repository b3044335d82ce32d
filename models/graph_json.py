"""The graph as JSON (docs/graph-json.md, models/schemas/graph.schema.json).

``read_graph_json(write_graph_json(g))`` equals ``g`` exactly: tensors are listed in id order
and ops in graph order, so the ids come back the same. Tensors and ops refer to each other by
name. ``totals`` is derived (a reader ignores it); the file records the fuseplan version.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import FusePlanError
from .fileio import read_json, write_json_atomic
from .graph import AttrValue, Graph, GraphBuilder

FORMAT = "fuseplan-graph"
SCHEMA_VERSION = 1


def _attr_to_json(value: AttrValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attr_from_json(value: Any, where: str) -> AttrValue:
    if isinstance(value, list):
        if not all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
            raise FusePlanError(f"{where}: an attribute list must hold numbers or strings")
        return tuple(value)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value
    raise FusePlanError(f"{where}: an attribute must be a number, a string or a list of them")


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    from fuseplan import __version__

    tname = [t.name for t in graph.tensors]
    largest = max(graph.tensors, key=lambda t: (t.elements, -t.id))
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "name": graph.name,
        "source": graph.source,
        "inputs": [tname[t] for t in graph.inputs],
        "outputs": [tname[t] for t in graph.outputs],
        "tensors": [
            {"name": t.name, "shape": [t.c, t.h, t.w],
             "producer": None if t.producer is None else graph.ops[t.producer].name}
            for t in graph.tensors
        ],
        "nodes": [
            {
                "name": op.name,
                "kind": op.kind,
                "inputs": [tname[t] for t in op.inputs],
                "output": tname[op.output],
                "shape": list(graph.tensors[op.output].shape),
                "params": op.params,
                "param_shapes": [list(s) for s in op.param_shapes],
                "k": op.k,
                "s": str(op.s),
                "is_global": op.is_global,
                "attrs": {key: _attr_to_json(v) for key, v in op.attrs},
                "absorbed": list(op.absorbed),
                **({"barrier": True} if op.barrier else {}),
            }
            for op in graph.ops
        ],
        "totals": {
            "ops": graph.num_ops,
            "tensors": len(graph.tensors),
            "params": graph.total_params,
            "largest_tensor": largest.name,
            "largest_tensor_elements": largest.elements,
            "feature_map_elements": sum(t.elements for t in graph.tensors),
        },
    }


def write_graph_json(graph: Graph, path: str | Path) -> None:
    """Writes the graph JSON atomically."""
    write_json_atomic(path, graph_to_dict(graph))


def read_graph_json(path: str | Path) -> Graph:
    data = read_json(path, "graph JSON")
    return graph_from_dict(data, str(path))


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise FusePlanError(f"{where} lacks the field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise FusePlanError(f"{where}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _shape(value: Any, where: str) -> tuple[int, int, int]:
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise FusePlanError(f"{where}: 'shape' must be [C, H, W] integers")
    return (value[0], value[1], value[2])


def graph_from_dict(data: Any, where: str = "graph JSON") -> Graph:
    """The graph a dict from :func:`graph_to_dict` describes; a clear error for a bad one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FusePlanError(f"{where} is not a fuseplan graph JSON (no \"format\": \"{FORMAT}\")")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise FusePlanError(
            f"{where} has schema_version {data.get('schema_version')!r}; this fuseplan reads {SCHEMA_VERSION}"
        )
    nodes = {(_need(n, "name", str, f"{where}: node {i}")): n
             for i, n in enumerate(_need(data, "nodes", list, where))}
    b = GraphBuilder(_need(data, "name", str, where), source=str(data.get("source", "")))
    tid: dict[str, int] = {}
    for i, t in enumerate(_need(data, "tensors", list, where)):
        tw = f"{where}: tensor {i}"
        name = _need(t, "name", str, tw)
        shape = _shape(_need(t, "shape", list, tw), tw)
        producer = t.get("producer") if isinstance(t, dict) else None
        if producer is None:
            tid[name] = b.input(name, *shape)
            continue
        if producer not in nodes:
            raise FusePlanError(f"{tw} ({name!r}) names an unknown producer {producer!r}")
        tid[name] = _add_op(b, nodes[producer], tid, f"{where}: node {producer!r}")
        if tid[name] != i or _shape(nodes[producer].get("shape"), tw) != shape:
            raise FusePlanError(f"{tw} ({name!r}) does not match node {producer!r}")
    for name in _need(data, "outputs", list, where):
        if name not in tid:
            raise FusePlanError(f"{where}: output {name!r} is not a tensor")
        b.output(tid[name])
    listed_inputs = _need(data, "inputs", list, where)
    graph = b.build()
    if [graph.tensors[t].name for t in graph.inputs] != listed_inputs:
        raise FusePlanError(f"{where}: 'inputs' does not list the tensors without producer, in order")
    if graph.num_ops != len(nodes):
        raise FusePlanError(f"{where}: some nodes produce no listed tensor (or two nodes share a name)")
    return graph


def _add_op(b: GraphBuilder, node: dict[str, Any], tid: dict[str, int], where: str) -> int:
    inputs = []
    for x in _need(node, "inputs", list, where):
        if x not in tid:
            raise FusePlanError(f"{where} reads {x!r}, which is not listed before it")
        inputs.append(tid[x])
    try:
        s = Fraction(_need(node, "s", str, where))
    except (ValueError, ZeroDivisionError):
        raise FusePlanError(f"{where}: 's' must be a fraction such as \"1\" or \"1/2\"") from None
    attrs = _need(node, "attrs", dict, where)
    return b.op(
        _need(node, "name", str, where),
        _need(node, "kind", str, where),
        inputs,
        _shape(node.get("shape"), where),
        params=_need(node, "params", int, where),
        k=_need(node, "k", int, where),
        s=s,
        is_global=_need(node, "is_global", bool, where),
        attrs=[(key, _attr_from_json(v, f"{where} attr {key!r}")) for key, v in attrs.items()],
        param_shapes=_param_shapes(_need(node, "param_shapes", list, where), where),
        absorbed=_need(node, "absorbed", list, where),
        out_name=_need(node, "output", str, where),
        barrier=_barrier(node, where),
    )


def _barrier(node: dict[str, Any], where: str) -> bool:
    """The optional ``barrier`` field (written only when true)."""
    value = node.get("barrier", False)
    if not isinstance(value, bool):
        raise FusePlanError(f"{where}: 'barrier' must be true or false")
    return value


def _param_shapes(value: list[Any], where: str) -> list[tuple[int, ...]]:
    ok = all(isinstance(p, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in p)
             for p in value)
    if not ok:
        raise FusePlanError(f"{where}: 'param_shapes' must be a list of integer lists")
    return [tuple(p) for p in value]
