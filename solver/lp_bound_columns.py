"""The candidate groups as a sparse incidence matrix, and the pricing and Lagrangian bound
over all of them, in numpy (the column-generation helpers of :mod:`.lp_bound`).

Row ``i`` of :class:`Incidence` is candidate ``i`` (its ops as ones), ``costs[i]`` its
fusible F_D, exactly as the set-partition models price it (``CandidateSet.costs``:
``dram_bytes`` of the group at the buffer; 0 for an unfusable op's fixed singleton).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

@dataclass(frozen=True)
class Incidence:
    """``by_op``: candidates x ops, CSC (float64 ones): column v lists the candidates that
    hold op v; ``masks`` the candidates themselves; ``costs`` and ``sizes`` (ops per
    candidate) as float64 arrays."""

    by_op: sparse.csc_matrix
    masks: tuple[int, ...] | list[int]
    costs: np.ndarray
    sizes: np.ndarray

    @property
    def num_ops(self) -> int:
        return int(self.by_op.shape[1])


def incidence(masks: tuple[int, ...] | list[int], costs: tuple[int, ...] | list[int] | list[float],
              num_ops: int) -> Incidence:
    """The incidence matrix of ``masks`` over ``num_ops`` ops, built per op: the masks as a
    byte matrix (one row each), then for op v the rows whose bit v is set (a vectorised scan
    per op, straight into CSC order)."""
    width = max(1, (num_ops + 7) // 8)
    raw = b"".join(m.to_bytes(width, "little") for m in masks)
    table = np.frombuffer(raw, dtype=np.uint8).reshape(len(masks), width)
    columns = [np.flatnonzero(table[:, v >> 3] & (1 << (v & 7))).astype(np.int32)
               for v in range(num_ops)]
    total = sum(len(c) for c in columns)
    indptr = np.zeros(num_ops + 1, dtype=np.int32 if total < 2**31 else np.int64)
    np.cumsum([len(c) for c in columns], out=indptr[1:])
    indices = np.concatenate(columns) if columns else np.zeros(0, np.int32)
    by_op = sparse.csc_matrix((np.ones(len(indices)), indices, indptr),
                              shape=(len(masks), num_ops))
    sizes = np.fromiter((m.bit_count() for m in masks), dtype=np.float64, count=len(masks))
    return Incidence(by_op=by_op, masks=masks, costs=np.asarray(costs, dtype=np.float64),
                     sizes=sizes)


def reduced_costs(inc: Incidence, duals: np.ndarray) -> np.ndarray:
    """``c_S - sum_{v in S} pi_v`` for every candidate S."""
    return inc.costs - inc.by_op @ duals


def per_op_minimum(inc: Incidence, values: np.ndarray) -> np.ndarray:
    """For every op v, the least ``values[S]`` over the candidates S holding v (+inf for an
    op no candidate holds)."""
    csc = inc.by_op
    out = np.full(inc.num_ops, np.inf)
    counts = np.diff(csc.indptr)
    held = counts > 0
    if held.any():
        picked = values[csc.indices]
        starts = csc.indptr[:-1][held]
        out[held] = np.minimum.reduceat(picked, starts)
    return out


def lagrangian_bound(inc: Incidence, duals: np.ndarray, extra_op_costs: np.ndarray) -> float:
    """A lower bound on every plan's fusible total, valid for ANY duals ``pi``:

        L(pi) = sum_v pi_v + sum_v min_{S holds v} rc_S / |S|

    with ``rc_S = c_S - pi(S)``, the minimum also over the artificial column ``{v}`` of cost
    ``extra_op_costs[v]``. For any plan x (x_S in {0, 1}, each op covered once; indeed any
    x >= 0 covering each op once, so L <= the LP optimum too):
    ``sum_S c_S x_S = pi(V) + sum_S rc_S x_S = pi(V) + sum_v sum_{S holds v} x_S rc_S/|S|
    >= pi(V) + sum_v min_{S holds v} rc_S/|S|`` since the x_S holding v sum to one. At an
    optimal dual (no negative reduced cost) every minimum is 0 and L is the LP optimum.
    -inf when some op is held by no column at all (then no plan exists)."""
    rc = reduced_costs(inc, duals)
    share = per_op_minimum(inc, rc / inc.sizes)
    share = np.minimum(share, extra_op_costs - duals)
    return float(duals.sum() + share.sum())


def most_negative(rc: np.ndarray, count: int, tolerance: float) -> np.ndarray:
    """Indices of up to ``count`` candidates of reduced cost below ``-tolerance``, the most
    negative first."""
    negative = np.flatnonzero(rc < -tolerance)
    if len(negative) > count:
        part = np.argpartition(rc[negative], count)[:count]
        negative = negative[part]
    return negative[np.argsort(rc[negative], kind="stable")]


def best_per_op(inc: Incidence, rc: np.ndarray, tolerance: float) -> np.ndarray:
    """For every op, the candidate holding it of least reduced cost, when that is below
    ``-tolerance`` (a column per op keeps every row's dual moving, not only the cheapest
    region's)."""
    csc = inc.by_op
    picked = rc[csc.indices]
    found = []
    for v in range(inc.num_ops):
        lo, hi = csc.indptr[v], csc.indptr[v + 1]
        if hi > lo:
            j = lo + int(np.argmin(picked[lo:hi]))
            if picked[j] < -tolerance:
                found.append(int(csc.indices[j]))
    return np.unique(np.asarray(found, dtype=np.int64))
