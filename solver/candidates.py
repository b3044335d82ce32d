"""Enumerating the candidate groups: weakly connected, convex, fitting, allowed by the user.

Every such group can be grown from one op by adding one neighbouring op at a time while
staying connected and convex (a connected convex set of two or more ops always has a source
or sink that is not a cut vertex: drop it and the rest stays connected and convex). So a
depth-first growth over neighbours, with a seen-set of masks, reaches each group once.
Convexity of ``G + x`` is two bitset tests: no descendant of ``x`` is an ancestor of ``G``
outside ``G`` (and the mirror). Growth stops at a set whose ``buffer_lower_bound`` reaches
the buffer: that bound never drops when an op is added, so no superset fits either (for
LBDF the bound is F_beta itself; BRR's F_beta can drop, its bound cannot). A forbidden pair
or ``max_group_ops`` stops growth too; pins only filter (a partial pin may still grow whole).

Unfusable ops are never grown into; each is a fixed singleton candidate of cost 0 (its own
traffic is a constant of every plan, counted in the all-ops total only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fuseplan.models.cost.base import mask_ops

from .problem import Problem
from .progress import Deadline


@dataclass(frozen=True)
class CandidateSet:
    """The candidate groups (masks) and their fusible F_D (0 for unfusable singletons).

    Singletons come first, so even a set cut short by the time limit holds a plan (every op
    alone) unless pins forbid it. ``complete`` is False when the deadline cut enumeration
    short. ``evaluated`` counts the sets the cost model was asked about.
    """

    masks: tuple[int, ...]
    costs: tuple[int, ...]
    complete: bool
    evaluated: int
    seconds: float

    def __len__(self) -> int:
        return len(self.masks)


def neighbour_masks(problem: Problem) -> list[int]:
    return [p | s for p, s in zip(problem.preds, problem.succs)]


def enumerate_candidates(
    problem: Problem, deadline: Deadline | None = None, *, prune: bool = True
) -> CandidateSet:
    """All candidate groups of ``problem``.

    ``prune=False`` grows past sets that cannot fit (only for tests that check the pruning:
    it is exponential unless ``max_group_ops`` is small).
    """
    start = time.perf_counter()
    model = problem.model
    beta = problem.buffer_bytes
    anc, desc = problem.ancestors, problem.descendants
    nbr = neighbour_masks(problem)
    forbid = problem.forbid_masks
    blocked = problem.unfusable
    max_ops = problem.max_group_ops
    masks: list[int] = []
    costs: list[int] = []
    seen: set[int] = set()
    stack: list[tuple[int, int, int, int, int]] = []
    evaluated = 0

    def keep(group: int) -> None:
        if problem.group_allowed(group):
            cost = model.dram_bytes(group, beta)
            if cost is not None:
                masks.append(group)
                costs.append(int(cost))

    for v in range(problem.num_ops):
        bit = 1 << v
        seen.add(bit)
        if blocked & bit:
            if problem.group_allowed(bit):
                masks.append(bit)
                costs.append(0)
            continue
        stack.append((bit, anc[v], desc[v], nbr[v], forbid[v]))
        evaluated += 1
        keep(bit)
    stack.reverse()
    complete = True
    steps = 0
    while stack:
        group, group_anc, group_desc, group_nbr, group_forbid = stack.pop()
        steps += 1
        if deadline is not None and steps % 512 == 0:
            if deadline.expired():
                complete = False
                break
            if steps % 16384 == 0:
                deadline.report("enumerating candidates")
        if max_ops is not None and group.bit_count() >= max_ops:
            continue
        grow = group_nbr & ~group & ~blocked & ~group_forbid
        while grow:
            low = grow & -grow
            grow ^= low
            new = group | low
            if new in seen:
                continue
            seen.add(new)
            x = low.bit_length() - 1
            if desc[x] & group_anc & ~new or anc[x] & group_desc & ~new:
                continue  # not convex: a path leaves the group and comes back
            evaluated += 1
            if prune and model.buffer_lower_bound(new) >= beta:
                continue
            stack.append(
                (new, group_anc | anc[x], group_desc | desc[x], group_nbr | nbr[x],
                 group_forbid | forbid[x])
            )
            keep(new)
    return CandidateSet(
        masks=tuple(masks),
        costs=tuple(costs),
        complete=complete,
        evaluated=evaluated,
        seconds=time.perf_counter() - start,
    )


def group_frontier(problem: Problem, group: int) -> tuple[int, int]:
    """``(before, after)``: the ops outside ``group`` that must precede it (its strict
    ancestors) and those that must follow it (its strict descendants)."""
    before = after = 0
    for v in mask_ops(group):
        before |= problem.ancestors[v]
        after |= problem.descendants[v]
    return before & ~group, after & ~group


def chain_plan(problem: Problem, cands: CandidateSet) -> tuple[int | None, list[int]]:
    """A quick valid plan (the hint for CP-SAT and CBC): the best plan whose groups are
    runs of consecutive ops in the graph's topological order (every prefix of that order
    is an ideal, so this is the shortest path over a chain of n + 1 ideals).
    Returns (fusible cost, candidate indices), or (None, []) when no such plan exists."""
    by_mask = {mask: i for i, mask in enumerate(cands.masks)}
    longest = max((m.bit_count() for m in cands.masks), default=1)
    n = problem.num_ops
    inf = float("inf")
    dist: list[float] = [inf] * (n + 1)
    back = [(-1, -1)] * (n + 1)
    dist[0] = 0
    for i in range(n):
        if dist[i] == inf:
            continue
        run = 0
        for j in range(i, min(n, i + longest)):
            run |= 1 << j
            g = by_mask.get(run)
            if g is not None and dist[i] + cands.costs[g] < dist[j + 1]:
                dist[j + 1] = dist[i] + cands.costs[g]
                back[j + 1] = (i, g)
    if dist[n] == inf:
        return None, []
    chosen = []
    j = n
    while j:
        i, g = back[j]
        chosen.append(g)
        j = i
    return int(dist[n]), chosen[::-1]
