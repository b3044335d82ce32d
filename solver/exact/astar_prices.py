"""What the best-first search (``solver/exact/astar.py``) needs besides the search itself and
its estimate (``solver/bounds.py``): the group prices memoised by mask, and a quick first plan
(the upper bound)."""

from __future__ import annotations

from collections.abc import Callable

from fuseplan.models.group import connected_in

from ..candidates import best_chain
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


def chain_upper_bound(
    problem: Problem, prices: GroupPrices, should_stop: Callable[[], bool] | None = None
) -> tuple[int | None, list[int]]:
    """The best plan whose groups are runs of consecutive op ids (``candidates.best_chain``),
    priced here: (fusible cost, group masks), or (None, []) when pins or forbids leave no
    such plan. An unfusable op is a run of its own, at no fusible cost. Once
    ``should_stop()`` (the deadline) says so, runs of two or more ops are no longer priced:
    the plan is the best over the runs priced so far and single ops."""
    unfusable = problem.unfusable

    def grows(run: int) -> bool:
        if run & unfusable:
            return run.bit_count() == 1
        if should_stop is not None and run.bit_count() > 1 and should_stop():
            return False
        return prices.under_buffer(run)

    def price(run: int) -> int | None:
        if run & unfusable:
            return 0
        cost = prices.price(run)
        return None if cost == INVALID else cost

    return best_chain(problem.num_ops, price, grows)
