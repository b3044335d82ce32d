"""Node features of a candidate fusion group: the one function that training and inference share.

A group becomes a small graph: one node per op of the group, one edge per producer-consumer
pair inside it (producer -> consumer, local ids in op order). Every node carries
:data:`NUM_FEATURES` numbers, in this order (version :data:`FEATURE_VERSION`):

- ``kind``: one-hot over :data:`VOCAB` (ONNX op types after our import's normalisation, plus
  the kinds the import is gaining for ConvNeXt / ShuffleNet and ``Barrier`` for an op the
  importer does not know; anything else is ``other``), then ``grouped`` (1 for a grouped or
  depthwise conv);
- ``shape``: log2(1 + x) / 10 of the first input's C, H, W and of the output's C, H, W;
- ``kernel, stride``: log2 k / 4 and log2 s / 4 (s < 1 for an upsample);
- ``weights``: log2(1 + weight bytes) / 24;
- ``context`` (depends on the group): 1 when the op's output is read by an op outside the
  group or is a network output; 1 when the op reads a tensor made outside the group;
- ``buffer``: log2(buffer bytes) / 24 and log2(bytes per element);
- ``ratios`` (bytes over the buffer, clipped at 4): the op's weight bytes; the rows held of
  the tensors it owns (each tensor the group reads, k rows of it with k the largest kernel
  height among its readers in the group, counted once: at its producer when the producer is
  in the group, else at its first reader); one row of its output. Sum pooling adds these up
  over the group, which is what a buffer rule does; log features alone would make the sum a
  product. Skip delays and tilings are left for the network to learn from the wiring.

Bytes are the op's element counts times the bytes per element. Change anything here and bump
:data:`FEATURE_VERSION`: checkpoints record it and refuse to load under another one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.group import graph_masks

FEATURE_VERSION = 1

VOCAB: tuple[str, ...] = (
    "Conv", "Gemm", "MatMul", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Gelu",
    "Add", "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean",
    "Resize", "BatchNormalization", "LayerNormalization", "ChannelShuffle", "Transpose",
    "Slice", "Pad", "Softmax", "Barrier", "other",
)
_KIND_INDEX = {k: i for i, k in enumerate(VOCAB)}

# column layout
N_KIND = len(VOCAB)
COL_GROUPED = N_KIND
COL_SHAPE = N_KIND + 1  # six columns: in C, H, W, out C, H, W
COL_K = COL_SHAPE + 6
COL_S = COL_K + 1
COL_WEIGHT = COL_S + 1
COL_OUT_OUTSIDE = COL_WEIGHT + 1
COL_IN_OUTSIDE = COL_OUT_OUTSIDE + 1
COL_BUFFER = COL_IN_OUTSIDE + 1
COL_BPE = COL_BUFFER + 1
COL_RATIO = COL_BPE + 1  # three columns: weights, input rows, output row
NUM_FEATURES = COL_RATIO + 3
RATIO_CLIP = 4.0

STATIC_COLS = slice(0, COL_OUT_OUTSIDE)


def kind_index(kind: str) -> int:
    """The one-hot position of an op kind (``other`` for a kind outside :data:`VOCAB`)."""
    return _KIND_INDEX.get(kind, _KIND_INDEX["other"])


@dataclass(frozen=True)
class OpTable:
    """Per-op arrays of one graph at one bytes-per-element, built once and reused for every
    group of it: ``static`` [num_ops, COL_OUT_OUTSIDE] features, the byte amounts the ratio
    columns divide by the buffer, and the graph's edges as two index arrays."""

    static: np.ndarray
    weight_bytes: np.ndarray
    op_inputs: tuple[tuple[tuple[int, int], ...], ...]  # per op: (tensor id, rows k) read
    t_producer: tuple[int, ...]  # per tensor: producing op id, -1 for a network input
    t_row_bytes: tuple[int, ...]  # per tensor: bytes of one row (C * W * b)
    out_row_bytes: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    succ_mask: tuple[int, ...]
    pred_mask: tuple[int, ...]
    reads_net_input: tuple[bool, ...]
    writes_net_output: tuple[bool, ...]


def _log(x: float, scale: float) -> float:
    return math.log2(1.0 + x) / scale


def op_table(graph: Graph, bytes_per_element: int) -> OpTable:
    """The per-op feature table of ``graph`` at ``bytes_per_element``."""
    if bytes_per_element not in (1, 2, 4):
        raise FusePlanError(f"bytes per element must be 1, 2 or 4 (got {bytes_per_element})")
    b = bytes_per_element
    n = graph.num_ops
    static = np.zeros((n, COL_OUT_OUTSIDE), dtype=np.float32)
    weight = np.zeros(n, dtype=np.float64)
    op_inputs = []
    out_row = np.zeros(n, dtype=np.float64)
    outputs = set(graph.outputs)
    for op in graph.ops:
        v = op.id
        static[v, kind_index(op.kind)] = 1.0
        static[v, COL_GROUPED] = float(op.kind == "Conv" and int(op.attr("group", 1) or 1) > 1)
        first = graph.tensors[op.inputs[0]] if op.inputs else graph.tensors[op.output]
        out = graph.tensors[op.output]
        for j, x in enumerate((first.c, first.h, first.w, out.c, out.h, out.w)):
            static[v, COL_SHAPE + j] = _log(x, 10.0)
        static[v, COL_K] = math.log2(max(1, op.k)) / 4.0
        static[v, COL_S] = math.log2(float(op.s)) / 4.0 if op.s > 0 else 0.0
        static[v, COL_WEIGHT] = _log(op.params * b, 24.0)
        weight[v] = op.params * b
        reads = []
        for t in dict.fromkeys(op.inputs):
            tensor = graph.tensors[t]
            reads.append((t, tensor.h if op.is_global else max(1, min(op.k, tensor.h))))
        op_inputs.append(tuple(reads))
        out_row[v] = out.row_elements * b
    edges = graph.edges()
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    masks = graph_masks(graph)
    reads_input = tuple(
        any(graph.tensors[t].producer is None for t in op.inputs) for op in graph.ops
    )
    writes_output = tuple(op.output in outputs for op in graph.ops)
    producers = tuple(-1 if t.producer is None else t.producer for t in graph.tensors)
    row_bytes = tuple(t.row_elements * b for t in graph.tensors)
    return OpTable(static, weight, tuple(op_inputs), producers, row_bytes, out_row, src, dst,
                   masks.succ_mask, masks.pred_mask, reads_input, writes_output)


def held_rows_bytes(table: OpTable, ids: Sequence[int]) -> np.ndarray:
    """Per op of the group (``ids`` ascending), the bytes of the rows it owns (see the module
    docstring): every tensor read once, at its largest in-group kernel height."""
    pos = {v: i for i, v in enumerate(ids)}
    rows: dict[int, tuple[int, int]] = {}  # tensor -> (rows, owner position)
    for i, v in enumerate(ids):
        for t, k in table.op_inputs[v]:
            held = rows.get(t)
            owner = pos.get(table.t_producer[t], held[1] if held else i)
            rows[t] = (max(k, held[0] if held else 0), owner)
    out = np.zeros(len(ids), dtype=np.float64)
    for t, (k, owner) in rows.items():
        out[owner] += k * table.t_row_bytes[t]
    return out


@dataclass(frozen=True)
class GroupGraph:
    """One group as the GNN sees it, without the buffer columns: ``x`` [n, NUM_FEATURES]
    (buffer and ratio columns zero), ``edge_index`` [2, e] local ids, and the per-node byte
    amounts the ratio columns divide by the buffer."""

    ops: np.ndarray
    x: np.ndarray
    edge_index: np.ndarray
    ratio_bytes: np.ndarray  # [n, 3]


def group_graph(table: OpTable, ops: Sequence[int]) -> GroupGraph:
    """The group of op ids ``ops`` (any order; nodes come out in ascending op id)."""
    ids = np.unique(np.asarray(ops, dtype=np.int64))
    if ids.size == 0:
        raise FusePlanError("a group needs at least one op")
    n_ops = table.static.shape[0]
    if ids[0] < 0 or ids[-1] >= n_ops:
        raise FusePlanError(f"group has op ids outside 0..{n_ops - 1}")
    mask = 0
    for v in ids.tolist():
        mask |= 1 << v
    x = np.zeros((ids.size, NUM_FEATURES), dtype=np.float32)
    x[:, STATIC_COLS] = table.static[ids]
    for i, v in enumerate(ids.tolist()):
        x[i, COL_OUT_OUTSIDE] = float(bool(table.succ_mask[v] & ~mask) or table.writes_net_output[v])
        x[i, COL_IN_OUTSIDE] = float(bool(table.pred_mask[v] & ~mask) or table.reads_net_input[v])
    inside = np.zeros(n_ops, dtype=bool)
    inside[ids] = True
    local = np.cumsum(inside) - 1
    keep = inside[table.edge_src] & inside[table.edge_dst]
    edge_index = np.stack([local[table.edge_src[keep]], local[table.edge_dst[keep]]])
    ratio = np.stack([table.weight_bytes[ids], held_rows_bytes(table, ids.tolist()),
                      table.out_row_bytes[ids]], axis=1)
    return GroupGraph(ids, x, edge_index.astype(np.int64), ratio)


def with_buffer(x: np.ndarray, ratio_bytes: np.ndarray, buffer_bytes: np.ndarray,
                bytes_per_element: np.ndarray) -> np.ndarray:
    """Fills the buffer and ratio columns of stacked node rows ``x`` in place and returns it;
    ``buffer_bytes`` and ``bytes_per_element`` are per node (one value per row)."""
    beta = np.asarray(buffer_bytes, dtype=np.float64)
    if np.any(beta <= 0):
        raise FusePlanError("buffer sizes must be positive")
    x[:, COL_BUFFER] = np.log2(beta) / 24.0
    x[:, COL_BPE] = np.log2(np.asarray(bytes_per_element, dtype=np.float64))
    x[:, COL_RATIO:COL_RATIO + 3] = np.minimum(ratio_bytes / beta[:, None], RATIO_CLIP)
    return x
