"""``predict_validity``: P(valid) of many candidate groups at once, from a shipped checkpoint.

The model was trained on weakly connected convex groups of 1-120 ops (the groups the searches
propose); its probability says whether such a group fits the buffer. Use ``check_group`` for
the exact verdict; this is the learned stand-in that the explainers differentiate.
torch is imported on the first call, not when this module is imported.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.group import mask_ops

from .batching import GroupBank
from .checkpoint import load_checkpoint, shipped_checkpoint
from .features import OpTable, op_table

if TYPE_CHECKING:  # pragma: no cover
    from .gnn import ValidityGNN

Group = int | Sequence[str]

_MODELS: dict[tuple[str, str, float], tuple[ValidityGNN, dict[str, Any]]] = {}
_TABLES: dict[tuple[int, int], tuple[weakref.ref[Graph], OpTable]] = {}


def load_predictor(scheme: str = "lbdf",
                   checkpoint: str | Path | None = None) -> tuple[ValidityGNN, dict[str, Any]]:
    """The model and record for ``scheme``: the shipped checkpoint, or ``checkpoint`` (cached
    per file and modification time)."""
    path = Path(checkpoint) if checkpoint is not None else shipped_checkpoint(scheme)
    json_path = path.with_suffix(".json") if path.suffix in (".pt", ".json") else \
        path.with_name(path.name + ".json")
    try:
        stamp = json_path.stat().st_mtime
    except OSError:
        stamp = -1.0
    key = (str(json_path), scheme.strip().lower(), stamp)
    if key not in _MODELS:
        _MODELS[key] = load_checkpoint(json_path, scheme)
    return _MODELS[key]


def cached_op_table(graph: Graph, bpe: int) -> OpTable:
    """``op_table(graph, bpe)``, kept while the graph lives (keyed by identity, dropped when
    the graph is collected)."""
    key = (id(graph), bpe)
    hit = _TABLES.get(key)
    if hit is not None and hit[0]() is graph:
        return hit[1]
    table = op_table(graph, bpe)
    _TABLES[key] = (weakref.ref(graph, lambda _ref, k=key: _TABLES.pop(k, None)), table)
    return table


def _op_ids(graph: Graph, group: Group) -> list[int]:
    if isinstance(group, (int, np.integer)):
        mask = int(group)
        if mask <= 0 or mask >> graph.num_ops:
            raise FusePlanError(f"group mask {mask:#x} is empty or names ops beyond "
                                f"{graph.num_ops - 1} of {graph.name!r}")
        return mask_ops(mask)
    if isinstance(group, str) or not all(isinstance(v, str) for v in group):
        raise FusePlanError("a group is a list of op names or a bitmask (int)")
    if not group:
        raise FusePlanError("a group needs at least one op")
    return graph.op_ids(group)


def predict_validity(graph: Graph, groups: Sequence[Group], buffer_bytes: int | Sequence[int],
                     scheme: str = "lbdf", bytes_per_element: int = 1,
                     checkpoint: str | Path | None = None,
                     batch_size: int = 2048) -> np.ndarray:
    """P(valid) per group of ``graph`` at ``buffer_bytes`` (one size, or one per group).

    ``groups`` holds op-name lists or bitmasks; the result is a float array, one entry per
    group, in order. ``checkpoint`` overrides the shipped checkpoint of ``scheme``."""
    from .training import predict_bank

    model, _ = load_predictor(scheme, checkpoint)
    ops = [_op_ids(graph, g) for g in groups]
    if not ops:
        return np.zeros(0, dtype=np.float64)
    try:
        buffers = np.broadcast_to(np.asarray(buffer_bytes, dtype=np.int64), (len(ops),))
    except (ValueError, TypeError):
        raise FusePlanError("buffer_bytes must be one size or one size per group") from None
    table = cached_op_table(graph, bytes_per_element)
    bank = GroupBank.from_groups([table], [0] * len(ops), ops, [bytes_per_element] * len(ops))
    return predict_bank(model, bank, np.arange(len(ops)), buffers, batch_size)
