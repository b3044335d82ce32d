"""What the best-first search (``solver/exact/astar.py``) needs besides the search itself and
its estimate (``solver/bounds.py``): the group prices memoised by mask, and a quick first plan
(the upper bound)."""

from __future__ import annotations

from fuseplan.models.group import connected_in

from ..problem import Problem

INVALID = -1


class GroupPrices:
    """Per mask: whether ``buffer_lower_bound`` stays below the buffer, and the fusible F_D
    of a valid group (weakly connected, fits, allowed by the user) or ``INVALID``."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.beta = problem.buffer_bytes
        self.model = problem.model
        self.constrained = bool(problem.pins or problem.forbids) or problem.max_group_ops is not None
        self.below: dict[int, bool] = {}
        self.cost: dict[int, int] = {}
        self.evaluated = 0

    def under_buffer(self, mask: int) -> bool:
        """``buffer_lower_bound(mask) < beta``: False means no superset fits either."""
        ok = self.below.get(mask)
        if ok is None:
            ok = self.model.buffer_lower_bound(mask) < self.beta
            self.below[mask] = ok
        return ok

    def price(self, mask: int) -> int:
        """F_D of ``mask`` as a group, or INVALID (not connected, not allowed, no fit)."""
        cost = self.cost.get(mask)
        if cost is None:
            cost = self._price(mask)
            self.cost[mask] = cost
        return cost

    def _price(self, mask: int) -> int:
        if not connected_in(mask, self.problem.neighbours):
            return INVALID
        if self.constrained and not self.problem.group_allowed(mask):
            return INVALID
        self.evaluated += 1
        cost = self.model.dram_bytes(mask, self.beta)
        return INVALID if cost is None else int(cost)


def chain_upper_bound(problem: Problem, prices: GroupPrices) -> tuple[int | None, list[int]]:
    """The best plan whose groups are runs of consecutive op ids (a topological order, so
    every run is convex and every prefix an ideal): (fusible cost, group masks), or
    (None, []) when pins or forbids leave no such plan."""
    n = problem.num_ops
    unfusable = problem.unfusable
    inf = float("inf")
    dist: list[float] = [inf] * (n + 1)
    back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)
    dist[0] = 0
    for i in range(n):
        if dist[i] == inf:
            continue
        if unfusable >> i & 1:
            if dist[i] < dist[i + 1]:
                dist[i + 1], back[i + 1] = dist[i], (i, 1 << i)
            continue
        run = 0
        for j in range(i, n):
            if unfusable >> j & 1:
                break
            run |= 1 << j
            if not prices.under_buffer(run):
                break
            cost = prices.price(run)
            if cost != INVALID and dist[i] + cost < dist[j + 1]:
                dist[j + 1], back[j + 1] = dist[i] + cost, (i, run)
    if dist[n] == inf:
        return None, []
    groups = []
    j = n
    while j:
        i, run = back[j]
        groups.append(run)
        j = i
    return int(dist[n]), groups[::-1]
