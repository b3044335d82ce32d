"""Must-separate pairs, the hybrid's safe pruning.

Ops ``u`` and ``v`` can never share a group when even the smallest convex set holding both
cannot fit: ``buffer_lower_bound(hull({u, v})) >= beta``. For ``u`` an ancestor of ``v`` the
hull (every op on a path from ``u`` to ``v``) is weakly connected, and every group holding
both contains it, so the pair is safe to separate under any scheme whose lower bound never
drops when an op joins a connected group (LBDF: F_beta itself; BRR: its own bound).

Only such comparable pairs are listed. They are inherited along paths: if (u, v) must be
separated and ``v`` reaches ``w``, then hull(u, v) lies inside hull(u, w), so (u, w) must be
separated too, without asking the cost model. :func:`separate_pairs` therefore walks each
op's descendants in topological order and prices a hull only when no predecessor of ``v``
on the way from ``u`` is separated from ``u`` already. It returns the *minimal* pairs (no
predecessor of ``v`` inside hull(u, v) separated from ``u``), which imply all the others in
an ordered model (s[u] < s[v] <= s[w]), and counts all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fuseplan.models.group import mask_ops

from ..problem import Problem
from ..progress import Deadline


@dataclass(frozen=True)
class SeparatePairs:
    """``minimal``: pairs (u, v), u an ancestor of v, that must be in different groups and
    are not implied by another pair; ``total``: every comparable pair that must be separated
    (minimal or inherited); ``priced``: hulls the cost model was asked about; ``complete``:
    False when the deadline stopped the walk (the pairs found are still safe)."""

    minimal: tuple[tuple[int, int], ...]
    total: int
    priced: int
    complete: bool
    seconds: float

    def all_pairs(self, problem: Problem) -> list[tuple[int, int]]:
        """Every separated pair (inherited ones included): for enumeration's forbids."""
        minimal_of: dict[int, int] = {}
        for u, v in self.minimal:
            minimal_of[u] = minimal_of.get(u, 0) | 1 << v
        pairs = []
        for u, heads in minimal_of.items():
            reach = heads
            for v in mask_ops(heads):
                reach |= problem.descendants[v]
            pairs.extend((u, w) for w in mask_ops(reach))
        return pairs


def separate_pairs(problem: Problem, deadline: Deadline | None = None, *,
                   share: float = 1.0) -> SeparatePairs:
    """The must-separate pairs of ``problem`` (module docstring). Unfusable ops are left
    out: they are singletons anyway. ``share`` < 1 lists the pairs whose hull's bound
    reaches that share of the buffer instead: not proven, the aggressive pruning's rule."""
    started = time.perf_counter()
    model, beta = problem.model, int(problem.buffer_bytes * share)
    anc, desc, preds = problem.ancestors, problem.descendants, problem.preds
    fusible = problem.all_ops & ~problem.unfusable
    minimal: list[tuple[int, int]] = []
    total = priced = 0
    complete = True
    for u in mask_ops(fusible):
        if deadline is not None and deadline.expired():
            complete = False
            break
        separated = 0  # descendants of u already known to be separated from u
        for v in mask_ops(desc[u]):
            if preds[v] & separated:
                separated |= 1 << v  # inherited: hull(u, p) lies inside hull(u, v)
                total += 1
                continue
            if not fusible >> v & 1:
                continue  # unfusable: a singleton already
            hull = (desc[u] & anc[v]) | 1 << u | 1 << v
            priced += 1
            if model.buffer_lower_bound(hull) >= beta:
                separated |= 1 << v
                minimal.append((u, v))
                total += 1
    return SeparatePairs(minimal=tuple(minimal), total=total, priced=priced,
                         complete=complete, seconds=time.perf_counter() - started)
