"""The paper's plan encoding and its evaluation.

A plan is ``K - 1`` sorted cut positions in the graph's topological order (op ids; K = 10
segments by default). Evaluating it:

1. segment ``i`` holds ops ``cuts[i-1] .. cuts[i] - 1``;
2. each segment splits into its weakly connected parts (convex: a segment of a topological
   order is convex, and so is each part of it);
3. each part that is not a valid group is repaired by recursive splitting
   (:mod:`.splitting`).

One *evaluation* is one plan scored this way, repairs included. The groups of a plan are in
an execution order (segments in order, every cut's upper half before its lower half), so
every plan the searches return is acyclic. A cut position that falls strictly inside the op
range of a ``--pin`` is skipped (the pin's ops stay in one segment).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from fuseplan.models.group import components_in
from fuseplan.models.group_sampling import segment_cuts, segments_of

from ..problem import Problem
from .splitting import RecursiveSplitter


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One scored plan: fusible DRAM, its groups, and how many parts needed a repair."""

    cuts: tuple[int, ...]
    dram_bytes: int
    groups: tuple[int, ...]
    repairs: int


class PlanEvaluator:
    """Scores cut-position plans with one splitter; counts evaluations."""

    def __init__(self, problem: Problem, splitter: RecursiveSplitter, segments: int) -> None:
        self.problem = problem
        self.splitter = splitter
        self.segments = segments
        self.num_ops = problem.num_ops
        self.evaluations = 0
        self.blocked = _pin_interiors(problem)
        self.memo: dict[tuple[int, ...], Evaluated] = {}
        # per segment mask: its fusible DRAM, groups and parts repaired
        self.segments_memo: dict[int, tuple[int, tuple[int, ...], int]] = {}

    @property
    def positions(self) -> int:
        """How many cut positions there are (1 .. num_ops - 1)."""
        return max(0, self.num_ops - 1)

    def random_cuts(self, rng: random.Random) -> tuple[int, ...]:
        return tuple(segment_cuts(self.num_ops, rng, self.segments))

    def evaluate(self, cuts: Sequence[int]) -> Evaluated:
        """Scores a plan (positions are sorted and de-duplicated first). Counts as one
        evaluation even when the same plan was scored before (its repairs are memoised)."""
        key = tuple(sorted({c for c in cuts if 0 < c < self.num_ops}))
        self.evaluations += 1
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        used = [c for c in key if c not in self.blocked]
        nbr = self.problem.neighbours
        dram = 0
        repairs = 0
        groups: list[int] = []
        prices = self.splitter.prices
        for segment in segments_of(self.num_ops, used):
            scored = self.segments_memo.get(segment)
            if scored is None:  # segments repeat across plans (a move changes two)
                part_dram, part_groups, part_repairs = 0, [], 0
                for part in components_in(segment, nbr):
                    if prices.price(part) is None:
                        part_repairs += 1
                    split = self.splitter.repair(part)
                    part_dram += split.dram_bytes
                    part_groups.extend(split.groups)
                scored = (part_dram, tuple(part_groups), part_repairs)
                self.segments_memo[segment] = scored
            dram += scored[0]
            groups.extend(scored[1])
            repairs += scored[2]
        out = Evaluated(key, dram, tuple(groups), repairs)
        self.memo[key] = out
        return out


def _pin_interiors(problem: Problem) -> frozenset[int]:
    """Cut positions that would split a pin's op range."""
    blocked: set[int] = set()
    for pin in problem.pins:
        lo = (pin & -pin).bit_length() - 1
        hi = pin.bit_length() - 1
        blocked.update(range(lo + 1, hi + 1))
    return frozenset(blocked)
