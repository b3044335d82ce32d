"""Barriers: ops the importer does not know (``--unsupported barrier``) are never fused.

docs/cost-models.md: a barrier is an unfusable singleton at every buffer size, priced by what
it reads and writes (W + S(In) + S(Out)). Every place that decides "unfusable" (the problem,
the plan builder, the validator, reports) asks the model whether an op fits alone,
``buffer_bytes(1 << v) >= beta``; :func:`with_barriers` makes the answer "no" for a barrier at
any buffer, so they all agree without a rule of their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ..graph import Graph
from ..group import as_mask
from .base import CostModel, GroupCost

# The F_beta of any group that holds a barrier: above every buffer (2^62 B = 4 EiB).
BARRIER_BYTES = 1 << 62


def barrier_mask(graph: Graph) -> int:
    mask = 0
    for op in graph.ops:
        if op.barrier:
            mask |= 1 << op.id
    return mask


class BarrierModel:
    """A cost model whose groups holding a barrier never fit; everything else is ``inner``'s."""

    def __init__(self, inner: CostModel, barriers: int) -> None:
        self.inner = inner
        self.barriers = barriers
        self.name = inner.name
        self.graph = inner.graph
        self.bytes_per_element = inner.bytes_per_element

    def buffer_bytes(self, group: int) -> int:
        return BARRIER_BYTES if group & self.barriers else self.inner.buffer_bytes(group)

    def buffer_lower_bound(self, group: int) -> int:
        return BARRIER_BYTES if group & self.barriers else self.inner.buffer_lower_bound(group)

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        return None if group & self.barriers else self.inner.dram_bytes(group, buffer_bytes)

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        ops = group if isinstance(group, int) else list(group)
        if not as_mask(ops) & self.barriers:
            return self.inner.group_cost(ops, buffer_bytes)
        # as for any group that does not fit: the traffic with an unbounded buffer
        unbounded = self.inner.group_cost(ops, BARRIER_BYTES)
        return dataclasses.replace(unbounded, buffer_bytes=BARRIER_BYTES, fits=False, tiles=None,
                                   weights=None, tiling_buffer_bytes=None)

    def __getattr__(self, name: str) -> Any:  # breakdowns, tilings, caches: the inner model's
        return getattr(self.inner, name)


def with_barriers(model: CostModel) -> CostModel:
    """``model`` itself when its graph has no barrier, else a :class:`BarrierModel` of it."""
    mask = barrier_mask(model.graph)
    return BarrierModel(model, mask) if mask else model
