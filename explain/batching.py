"""Stacking groups into one disjoint-union batch, as numpy arrays (no torch here).

A :class:`GroupBank` holds every instance's node rows and local edges, built once through
``features.py``; :meth:`GroupBank.batch` stacks any list of (instance, buffer) pairs into
``x``, ``edge_index`` and ``batch`` arrays ready for ``torch.from_numpy``. Training and
``predict_validity`` both go through it, so both see the same features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fuseplan.models.graph import Graph

from .features import OpTable, group_graph, op_table, with_buffer


@dataclass(frozen=True)
class Batch:
    x: np.ndarray  # [nodes, NUM_FEATURES] float32
    edge_index: np.ndarray  # [2, edges] int64
    batch: np.ndarray  # [nodes] int64: the sample each node belongs to
    size: int  # samples


class GroupBank:
    """Node rows of many groups, concatenated: group i is rows ``off[i]:off[i+1]``."""

    def __init__(self, xs: Sequence[np.ndarray], edges: Sequence[np.ndarray],
                 ratios: Sequence[np.ndarray], bpe: Sequence[int]) -> None:
        sizes = np.array([x.shape[0] for x in xs], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.x = np.concatenate(xs).astype(np.float32)
        self.ratio = np.concatenate(ratios)
        self.node_bpe = np.repeat(np.asarray(bpe, dtype=np.float64), sizes)
        e_sizes = np.array([e.shape[1] for e in edges], dtype=np.int64)
        self.e_offsets = np.concatenate([[0], np.cumsum(e_sizes)])
        self.edges = np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), np.int64)

    @classmethod
    def from_groups(cls, tables: Sequence[OpTable], table_of: Sequence[int],
                    groups: Sequence[Sequence[int]], bpe: Sequence[int]) -> "GroupBank":
        """Group i is op ids ``groups[i]`` of table ``tables[table_of[i]]``."""
        graphs = [group_graph(tables[t], ops) for t, ops in zip(table_of, groups)]
        return cls([g.x for g in graphs], [g.edge_index for g in graphs],
                   [g.ratio_bytes for g in graphs], bpe)

    def batch(self, groups: np.ndarray, buffers: np.ndarray) -> Batch:
        """Samples (group index, buffer bytes) stacked into one batch."""
        groups = np.asarray(groups, dtype=np.int64)
        lo, hi = self.offsets[groups], self.offsets[groups + 1]
        sizes = hi - lo
        rows = _ranges(lo, sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        elo, ehi = self.e_offsets[groups], self.e_offsets[groups + 1]
        e_sizes = ehi - elo
        cols = _ranges(elo, e_sizes)
        shift = np.repeat(starts, e_sizes)
        edge_index = self.edges[:, cols] + shift[None, :]
        node_buffer = np.repeat(np.asarray(buffers, dtype=np.float64), sizes)
        x = with_buffer(self.x[rows].copy(), self.ratio[rows], node_buffer, self.node_bpe[rows])
        batch = np.repeat(np.arange(groups.size, dtype=np.int64), sizes)
        return Batch(x, edge_index.astype(np.int64), batch, int(groups.size))


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + n)`` for every (s, n), vectorised."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    base = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return base + np.arange(total, dtype=np.int64)


def bank_for_graph(graph: Graph, groups: Sequence[Sequence[int]], bpe: int) -> GroupBank:
    """The bank of ``groups`` (op id lists) of one graph at one bytes-per-element."""
    return GroupBank.from_groups([op_table(graph, bpe)], [0] * len(groups), groups,
                                 [bpe] * len(groups))
