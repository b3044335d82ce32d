"""The *form* of a group: what it is up to renaming, so that copies of one block count once.

Two groups have the same form when they have the same op kinds, shapes, kernels, strides,
parameter counts and wiring, wherever they sit (in one net or in two). :func:`group_form`
hashes a group by Weisfeiler-Lehman refinement over its producer -> consumer edges, run until
the colouring stops changing. Equal forms always get equal hashes; two different forms may in
rare cases share one (WL cannot tell some regular graphs apart), which only merges them on one
side of a split, never leaks a form across it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fuseplan.models.graph import Graph


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def op_label(graph: Graph, v: int) -> str:
    """What an op is, without its name or position."""
    op = graph.ops[v]
    shapes = tuple(graph.tensors[t].shape for t in op.inputs)
    return repr((op.kind, shapes, graph.tensors[op.output].shape, op.k, str(op.s),
                 op.is_global, op.params, op.attr("group", 1)))


def group_form(graph: Graph, ops: Sequence[int]) -> str:
    """A 16-hex-digit hash of the form of the group of op ids ``ops``."""
    ids = sorted(set(ops))
    inside = set(ids)
    preds = {v: [p for p in graph.preds[v] if p in inside] for v in ids}
    succs = {v: [s for s in graph.succs[v] if s in inside] for v in ids}
    colour = {v: _digest(op_label(graph, v)) for v in ids}
    classes = len(set(colour.values()))
    for _ in range(len(ids)):
        colour = {
            v: _digest(repr((colour[v], sorted(colour[p] for p in preds[v]),
                             sorted(colour[s] for s in succs[v]))))
            for v in ids
        }
        refined = len(set(colour.values()))
        if refined == classes:
            break
        classes = refined
    return _digest(repr(sorted(colour.values())))
