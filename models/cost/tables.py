"""Per-graph data the cost models and group checks read millions of times, computed once.

:func:`tables_for` returns the :class:`GraphTables` of a graph (cached per graph object, by
identity, dropped when the graph is garbage-collected). Everything is flat tuples of ints
indexed by op id or tensor id, and bitmasks (bit i = op i, or tensor i), so a group's sets
are a few ORs and ANDs.

Path weights are exact integers: with ``L`` the least common multiple of every tensor height,
``q[x] = L // H(x)``, and a path P from t through ops o_i reading x_i has
``h(P) = H(t) * g(P) / L`` where ``g(P) = sum (k(o_i) - 1) * q[x_i]`` is an integer that does
not depend on the path's source. Rounding up is then ``ceil(H(t) * g / L)``, exact.
"""

from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass

from ..graph import Graph
from ..group import ancestor_masks, descendant_masks, pred_masks, succ_masks


@dataclass(frozen=True, slots=True)
class OpRecord:
    """What an op contributes to any group it is in (bytes at the model's b = 1 unit:
    multiply by bytes per element; see :class:`ScaledOp`)."""

    weight: int  # parameter count
    out: int  # output tensor id
    inputs: tuple[tuple[int, int], ...]  # distinct (tensor id, kernel height k on it)
    in_tmask: int  # bitmask of the input tensors
    out_readers: int  # op mask of the ops reading the output
    out_is_net_output: bool


@dataclass(frozen=True)
class GraphTables:
    """Flat per-op and per-tensor arrays of one graph (element counts, not bytes)."""

    num_ops: int
    lcm_h: int  # L, the lcm of every tensor height
    ops: tuple[OpRecord, ...]
    t_h: tuple[int, ...]  # H per tensor
    t_row: tuple[int, ...]  # C * W elements per tensor row
    t_q: tuple[int, ...]  # L // H per tensor
    t_readers: tuple[int, ...]  # op mask of readers per tensor
    t_net_output: tuple[bool, ...]
    pred_mask: tuple[int, ...]
    succ_mask: tuple[int, ...]
    nbr_mask: tuple[int, ...]
    desc_mask: tuple[int, ...]  # strict descendants per op
    anc_mask: tuple[int, ...]  # strict ancestors per op
    join_ops: int  # mask of ops with two or more distinct data inputs


def build_tables(graph: Graph) -> GraphTables:
    tensors = graph.tensors
    t_h = tuple(t.h for t in tensors)
    lcm_h = 1
    for h in set(t_h):
        lcm_h = math.lcm(lcm_h, h)
    net_out = [False] * len(tensors)
    for t in graph.outputs:
        net_out[t] = True
    t_readers = []
    for readers in graph.consumers:
        m = 0
        for v in readers:
            m |= 1 << v
        t_readers.append(m)
    ops = []
    for op in graph.ops:
        inputs: dict[int, int] = {}
        for x in op.inputs:
            k = tensors[x].h if op.is_global else op.k
            inputs[x] = max(k, inputs.get(x, 1))
        in_tmask = 0
        for x in inputs:
            in_tmask |= 1 << x
        ops.append(
            OpRecord(
                weight=op.params,
                out=op.output,
                inputs=tuple(inputs.items()),
                in_tmask=in_tmask,
                out_readers=t_readers[op.output],
                out_is_net_output=net_out[op.output],
            )
        )
    pred = pred_masks(graph)
    succ = succ_masks(graph)
    anc = ancestor_masks(pred)
    desc = descendant_masks(succ)
    join_ops = 0
    for op in graph.ops:
        if len(set(op.inputs)) >= 2:
            join_ops |= 1 << op.id
    return GraphTables(
        num_ops=graph.num_ops,
        lcm_h=lcm_h,
        ops=tuple(ops),
        t_h=t_h,
        t_row=tuple(t.row_elements for t in tensors),
        t_q=tuple(lcm_h // h for h in t_h),
        t_readers=tuple(t_readers),
        t_net_output=tuple(net_out),
        pred_mask=tuple(pred),
        succ_mask=tuple(succ),
        nbr_mask=tuple(p | s for p, s in zip(pred, succ)),
        desc_mask=tuple(desc),
        anc_mask=tuple(anc),
        join_ops=join_ops,
    )


_CACHE: dict[int, tuple[weakref.ref[Graph], GraphTables]] = {}


def tables_for(graph: Graph) -> GraphTables:
    """The tables of ``graph``, built on first use and kept while the graph lives."""
    key = id(graph)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is graph:
        return hit[1]
    tables = build_tables(graph)
    _CACHE[key] = (weakref.ref(graph, functools.partial(_forget, key)), tables)
    return tables


def _forget(key: int, ref: weakref.ref[Graph]) -> None:
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is ref:
        del _CACHE[key]


# ----- chunk tables: a group's sums and unions in a few lookups -----
#
# Ops are split in chunks of 8 consecutive ids; for every chunk and every byte value b the
# table holds the combined value of the ops whose bits are set in b. A connected group has
# nearby ids (ops are in a topological order), so it spans two or three chunks: its sum or
# union is two or three lookups instead of one step per op. Several sums share one table by
# packing (value_1 << shift | value_0), several unions by placing masks side by side.

CHUNK_BITS = 8


def chunk_table(values: list[int], combine: str) -> tuple[tuple[int, ...], ...]:
    """Per chunk of 8 op ids, the ``combine`` ("sum", "or" or "max") of ``values`` over every
    subset (indexed by the subset's byte)."""
    tables = []
    size = 1 << CHUNK_BITS
    for start in range(0, len(values), CHUNK_BITS):
        row = [0] * size
        for b in range(1, size):
            rest = b & (b - 1)
            i = start + (b & -b).bit_length() - 1
            v = values[i] if i < len(values) else 0
            if combine == "sum":
                row[b] = row[rest] + v
            elif combine == "or":
                row[b] = row[rest] | v
            else:
                row[b] = max(row[rest], v)
        tables.append(tuple(row))
    return tuple(tables)
