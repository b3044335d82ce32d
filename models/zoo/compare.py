"""Op-for-op differences between two graphs (a zoo net and an imported export of it).

Compared per op, in order: name, kind, output shape, params, param_shapes, k, s, is_global,
attrs, absorbed, and its inputs (named by their producer op, or ``input:<C>x<H>x<W>`` for a
network input). Tensor names and the graph's name are not compared: the exporter names the
final output after an internal counter. In ``absorbed``, the unscoped ``Identity_<n>`` nodes are
left out: the exporter adds them when it deduplicates equal initializers (with freshly
initialised weights, most conv biases are equal zeros), an artifact of the weights, not of the
network.
"""

from __future__ import annotations

import re

from ..graph import Graph, Op

_FIELDS = ("kind", "params", "param_shapes", "k", "s", "is_global", "attrs")
_DEDUP_IDENTITY = re.compile(r"Identity_\d+")


def _absorbed(op: Op) -> tuple[str, ...]:
    return tuple(n for n in op.absorbed if not _DEDUP_IDENTITY.fullmatch(n))


def _sources(graph: Graph, op: Op) -> tuple[str, ...]:
    out = []
    for t in op.inputs:
        tensor = graph.tensors[t]
        if tensor.producer is None:
            out.append("input:" + "x".join(str(d) for d in tensor.shape))
        else:
            out.append(graph.ops[tensor.producer].name)
    return tuple(out)


def op_differences(expected: Graph, actual: Graph, a: Op, b: Op) -> list[str]:
    """What differs between op ``a`` of ``expected`` and op ``b`` of ``actual``."""
    where = f"op {a.id} {a.name!r}"
    if a.name != b.name:
        return [f"{where}: name {a.name!r} != {b.name!r} (kind {a.kind} / {b.kind})"]
    diffs = [
        f"{where}: {f} {getattr(a, f)!r} != {getattr(b, f)!r}"
        for f in _FIELDS
        if getattr(a, f) != getattr(b, f)
    ]
    if _absorbed(a) != _absorbed(b):
        diffs.append(f"{where}: absorbed {_absorbed(a)!r} != {_absorbed(b)!r}")
    sa, sb = expected.output_tensor(a).shape, actual.output_tensor(b).shape
    if sa != sb:
        diffs.append(f"{where}: output shape {sa} != {sb}")
    ia, ib = _sources(expected, a), _sources(actual, b)
    if ia != ib:
        diffs.append(f"{where}: inputs {ia} != {ib}")
    return diffs


def graph_differences(expected: Graph, actual: Graph, limit: int = 50) -> list[str]:
    """Every difference (up to ``limit`` lines), the first differing op first; [] if equal."""
    diffs: list[str] = []
    if expected.num_ops != actual.num_ops:
        diffs.append(f"op count {expected.num_ops} != {actual.num_ops}")
    for a, b in zip(expected.ops, actual.ops):
        diffs += op_differences(expected, actual, a, b)
        if len(diffs) >= limit:
            return diffs[:limit] + ["... (more differences not shown)"]
    outs_a = [_producer_name(expected, t) for t in expected.outputs]
    outs_b = [_producer_name(actual, t) for t in actual.outputs]
    if outs_a != outs_b:
        diffs.append(f"network outputs (producers) {outs_a} != {outs_b}")
    ins_a = [expected.tensors[t].shape for t in expected.inputs]
    ins_b = [actual.tensors[t].shape for t in actual.inputs]
    if ins_a != ins_b:
        diffs.append(f"network input shapes {ins_a} != {ins_b}")
    return diffs


def _producer_name(graph: Graph, t: int) -> str:
    p = graph.tensors[t].producer
    return "input" if p is None else graph.ops[p].name
