"""Recursive splitting of invalid groups: the paper's Algorithm 1, made exact.

Given an invalid group G and a *cut proposer* (a repair strategy: it ranks G's edges and turns
the ranking into cuts, ``explain/``), take its first ``max_cuts`` (3) distinct cuts (A, G - A),
A closed under predecessors inside G, both halves weakly connected, and:

1. if some cut leaves both halves valid, keep the one with the smallest DRAM;
2. otherwise, if some cut leaves one half valid, keep the cut whose valid half is largest
   (most ops; on a tie, the smallest DRAM) and recurse on the other half;
3. otherwise recurse on both halves of every cut and keep the cheapest total.

"Valid" is :func:`~fuseplan.models.group.check_group`'s verdict plus the user's constraints
(``Problem.group_allowed``), re-checked for every half: under BRR a smaller group can need
more buffer. A single op is the floor: one that does not fit is an unfusable singleton (0 in
the fusible total), so splitting always ends in a plan of valid groups. A cut that would
separate the ops of a ``--pin`` is never taken. When the proposer has no cut for a group (or
only cuts that split a pin), a source of the group is peeled off instead, which is always a
cut (the rest is closed under successors, so convex; its parts are repaired one by one).
Past the search's deadline (without pins) no more cuts are proposed: an invalid group left
is split greedily (runs of its ops in topological order, each grown while valid), so a
search on thousands of ops keeps its time budget.
Results are memoised by group (bitmask) for the whole search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fuseplan.models.group import check_group, components_in, mask_ops

from ..problem import Problem
from ..progress import Deadline

Cut = tuple[int, int]  # (A, G - A): A closed under predecessors inside G
CutProposer = Callable[[int], Sequence[Cut]]  # group mask -> its cuts, best first
MAX_CUTS = 3


class OutOfTime(Exception):
    """A cut proposal stopped at the search's deadline (see ``proposers.make_proposer``)."""


@dataclass(frozen=True, slots=True)
class Split:
    """A repaired group: its fusible DRAM total and the valid groups it became."""

    dram_bytes: int
    groups: tuple[int, ...]


class ValidGroupPrices:
    """Per group, memoised: its fusible F_D when it is a valid, allowed group, else None.
    Unfusable singletons cost 0 (they are left out of the fusible total)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.constrained = bool(problem.pins or problem.forbids or problem.max_group_ops)
        self.memo: dict[int, int | None] = {}

    def price(self, group: int) -> int | None:
        if group in self.memo:
            return self.memo[group]
        problem = self.problem
        if group & (group - 1) == 0 and group & problem.unfusable:
            value: int | None = 0
        elif self.constrained and not problem.group_allowed(group):
            value = None
        elif not check_group(problem.model, group, problem.buffer_bytes).valid:
            value = None
        else:
            value = problem.model.dram_bytes(group, problem.buffer_bytes)
        self.memo[group] = value
        return value


class RecursiveSplitter:
    """Algorithm 1 over one problem, with one proposer, memoised across calls."""

    def __init__(self, problem: Problem, propose: CutProposer, *,
                 prices: ValidGroupPrices | None = None, max_cuts: int = MAX_CUTS,
                 deadline: Deadline | None = None) -> None:
        self.problem = problem
        self.propose = propose
        self.deadline = deadline  # past it, no more proposals (see _repair)
        self.prices = prices or ValidGroupPrices(problem)
        self.max_cuts = max_cuts
        self.memo: dict[int, Split] = {}
        self.nbr = problem.neighbours
        self.preds = problem.preds
        self.proposals = 0  # proposer calls (one per distinct invalid group met)

    def repair(self, group: int) -> Split:
        """The plan Algorithm 1 reaches for ``group`` (valid groups come back whole)."""
        hit = self.memo.get(group)
        if hit is None:
            hit = self._repair(group)
            self.memo[group] = hit
        return hit

    def _repair(self, group: int) -> Split:
        price = self.prices.price(group)
        if price is not None:
            return Split(price, (group,))
        if group & (group - 1) == 0:  # one op, fits but not allowed alone: the user's pins
            return Split(self.problem.model.dram_bytes(group, self.problem.buffer_bytes) or 0,
                         (group,))
        parts = components_in(group, self.nbr)
        if len(parts) > 1:
            return _join([self.repair(p) for p in parts])
        if self.deadline is not None and self.deadline.expired() and not self.problem.pins:
            # Out of time: one proposal on a group of hundreds of ops can take seconds, so
            # the rest is repaired greedily, and the search returns within its budget.
            return self._greedy(group)
        try:
            cuts = self._cuts(group)
        except OutOfTime:  # the deadline passed during the proposal
            return self._greedy(group)
        halves = [(a, b, self.prices.price(a), self.prices.price(b)) for a, b in cuts]
        both = [(pa + pb, a, b) for a, b, pa, pb in halves if pa is not None and pb is not None]
        if both:
            cost, a, b = min(both, key=lambda t: t[0])
            return Split(cost, (a, b))
        one = []
        for a, b, pa, pb in halves:
            for valid, price_valid, other, upper in ((a, pa, b, True), (b, pb, a, False)):
                if price_valid is not None:
                    one.append((-valid.bit_count(), price_valid, valid, other, upper))
        if one:
            _, price_valid, valid, other, upper = min(one, key=lambda t: (t[0], t[1]))
            kept, rest = Split(price_valid, (valid,)), self.repair(other)
            return _join([kept, rest] if upper else [rest, kept])  # upper half first
        return min((_join([self.repair(a), self.repair(b)]) for a, b, _, _ in halves),
                   key=lambda s: s.dram_bytes)

    def _cuts(self, group: int) -> list[Cut]:
        """The proposer's first ``max_cuts`` distinct cuts that keep every pin whole, or a
        source peeled off when there is none."""
        self.proposals += 1
        out: list[Cut] = []
        for a, b in self.propose(group):
            if (a, b) in out or self._splits_pin(a, b):
                continue
            out.append((a, b))
            if len(out) == self.max_cuts:
                break
        if not out:
            source = next(v for v in mask_ops(group) if self.preds[v] & group == 0)
            out.append((1 << source, group & ~(1 << source)))
        return out

    def _greedy(self, group: int) -> Split:
        """``group``'s ops in topological order, each run grown while it stays valid (a few
        group checks per op, no proposals). ``group`` is convex, so every path between two
        of its ops stays inside it: the runs are convex and their order has no cycle."""
        splits: list[Split] = []
        current, current_price = 0, 0
        for v in mask_ops(group):
            bit = 1 << v
            if current:
                grown = self.prices.price(current | bit)
                if grown is not None:
                    current, current_price = current | bit, grown
                    continue
                splits.append(Split(current_price, (current,)))
            single = self.repair(bit)  # a valid op, or an unfusable singleton (0)
            current, current_price = bit, single.dram_bytes
        splits.append(Split(current_price, (current,)))
        return _join(splits)

    def _splits_pin(self, a: int, b: int) -> bool:
        return any(pin & a and pin & b for pin in self.problem.pins)


def _join(splits: Sequence[Split]) -> Split:
    return Split(sum(s.dram_bytes for s in splits), tuple(g for s in splits for g in s.groups))
