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
from dataclasses import dataclass, field

from fuseplan.models.group import adds_convexly

from .problem import Problem
from .progress import Deadline


@dataclass(frozen=True)
class CandidateSet:
    """The candidate groups (masks) and their fusible F_D (0 for unfusable singletons).

    ``before[i]`` / ``after[i]`` are the ops outside group i that must run before / after
    it (its strict ancestors / descendants). Singletons come first, so even a set cut short
    by the time limit holds a plan (every op alone) unless pins forbid it. ``complete`` is
    False when the deadline cut enumeration short. ``evaluated`` counts the sets the cost
    model was asked about.
    """

    masks: tuple[int, ...]
    costs: tuple[int, ...]
    before: tuple[int, ...]
    after: tuple[int, ...]
    complete: bool
    evaluated: int
    seconds: float

    def __len__(self) -> int:
        return len(self.masks)


@dataclass
class _Found:
    masks: list[int] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)
    before: list[int] = field(default_factory=list)
    after: list[int] = field(default_factory=list)
    evaluated: int = 0
    complete: bool = True

    def add(self, mask: int, cost: int, anc: int, desc: int) -> None:
        self.masks.append(mask)
        self.costs.append(cost)
        self.before.append(anc & ~mask)
        self.after.append(desc & ~mask)

    def extend(self, other: _Found) -> None:
        self.masks += other.masks
        self.costs += other.costs
        self.before += other.before
        self.after += other.after
        self.evaluated += other.evaluated
        self.complete = self.complete and other.complete


def enumerate_candidates(
    problem: Problem, deadline: Deadline | None = None, *, prune: bool = True, workers: int = 1
) -> CandidateSet:
    """All candidate groups of ``problem``; with ``workers`` > 1, grown in that many forked
    processes (each takes every k-th seed op; a group belongs to its lowest op, so the
    shares are disjoint).

    ``prune=False`` grows past sets that cannot fit (only for tests that check the pruning:
    it is exponential unless ``max_group_ops`` is small).
    """
    start = time.perf_counter()
    found = _Found()
    seeds = []
    for v in range(problem.num_ops):
        bit = 1 << v
        anc, desc = problem.ancestors[v], problem.descendants[v]
        if problem.unfusable & bit:
            if problem.group_allowed(bit):
                found.add(bit, 0, anc, desc)
            continue
        seeds.append(v)
        found.evaluated += 1
        if problem.group_allowed(bit):
            cost = problem.model.dram_bytes(bit, problem.buffer_bytes)
            if cost is not None:
                found.add(bit, int(cost), anc, desc)
    end = None if deadline is None else deadline.end
    stop = None if deadline is None else deadline.limits.stop
    if workers > 1 and len(seeds) >= 2 * workers and problem.num_ops >= PARALLEL_MIN_OPS:
        found.extend(_grow_parallel(problem, seeds, workers, prune, end, stop))
    else:
        found.extend(_grow(problem, seeds, prune, end, stop, deadline))
    return CandidateSet(
        masks=tuple(found.masks),
        costs=tuple(found.costs),
        before=tuple(found.before),
        after=tuple(found.after),
        complete=found.complete,
        evaluated=found.evaluated,
        seconds=time.perf_counter() - start,
    )


PARALLEL_MIN_OPS = 60
# about 250 B a candidate (mask, cost, before, after): stop before memory runs out; the set
# is then incomplete, as if the time limit had struck
MAX_CANDIDATES = 6_000_000
_FORKED: dict[str, object] = {}


def _grow_parallel(
    problem: Problem, seeds: list[int], workers: int, prune: bool, end: float | None, stop
) -> _Found:
    """The same groups in the same order as one process would find them (merged by seed)."""
    import multiprocessing

    # workers stop a second early: sending their groups back takes time too
    _FORKED.update(problem=problem, prune=prune, end=None if end is None else end - 1.0, stop=stop)
    shares = [seeds[k::workers] for k in range(workers)]
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_grow_share, shares)
    finally:
        _FORKED.clear()
    by_seed = {v: part for share in parts for v, part in share}
    found = _Found()
    for v in seeds:
        if v in by_seed:
            found.extend(by_seed[v])
        else:
            found.complete = False  # a worker stopped before this seed
    return found


def _grow_share(seeds: list[int]) -> list[tuple[int, _Found]]:
    problem, prune, end, stop = (_FORKED[k] for k in ("problem", "prune", "end", "stop"))
    out = []
    for v in seeds:
        part = _grow(problem, [v], prune, end, stop)
        out.append((v, part))
        if not part.complete:
            break
    return out


def _grow(
    problem: Problem, seeds: list[int], prune: bool, end: float | None, stop,
    deadline: Deadline | None = None,
) -> _Found:
    """Every candidate of two or more ops whose lowest op is one of ``seeds``: growth from
    the seed through ops of higher id only (a connected convex group always has a source
    or sink, other than its lowest op, whose removal keeps it connected and convex)."""
    model = problem.model
    beta = problem.buffer_bytes
    anc, desc = problem.ancestors, problem.descendants
    nbr = problem.neighbours
    forbid = problem.forbid_masks
    blocked = problem.unfusable
    max_ops = problem.max_group_ops
    constrained = bool(problem.pins or problem.forbids or max_ops is not None)
    found = _Found()
    steps = 0
    for v in seeds:
        higher = ~((2 << v) - 1) & ~blocked
        seen: set[int] = set()
        too_big: set[int] = set()  # sets whose lower bound reached the buffer
        stack = [(1 << v, anc[v], desc[v], nbr[v], forbid[v], 0)]
        while stack:
            group, group_anc, group_desc, group_nbr, group_forbid, last = stack.pop()
            steps += 1
            if steps % 512 == 0:
                if (end is not None and time.perf_counter() >= end) or (
                    stop is not None and stop.is_set()
                ) or len(found.masks) > MAX_CANDIDATES:
                    found.complete = False
                    return found
                if deadline is not None and steps % 16384 == 0:
                    deadline.report("enumerating candidates")
            if max_ops is not None and group.bit_count() >= max_ops:
                continue
            grow = group_nbr & higher & ~group & ~group_forbid
            while grow:
                low = grow & -grow
                grow ^= low
                new = group | low
                if new in seen:
                    continue
                seen.add(new)
                if prune and (new ^ last) in too_big:
                    too_big.add(new)  # holds a sibling that cannot fit: neither can it
                    continue
                x = low.bit_length() - 1
                if not adds_convexly(x, new, group_anc, group_desc, anc, desc):
                    continue  # not convex: a path leaves the group and comes back
                found.evaluated += 1
                if prune and model.buffer_lower_bound(new) >= beta:
                    too_big.add(new)
                    continue
                new_anc, new_desc = group_anc | anc[x], group_desc | desc[x]
                stack.append(
                    (new, new_anc, new_desc, group_nbr | nbr[x], group_forbid | forbid[x], low)
                )
                if constrained and not problem.group_allowed(new):
                    continue
                cost = model.dram_bytes(new, beta)
                if cost is not None:
                    found.add(new, int(cost), new_anc, new_desc)
    return found


def chain_plan(problem: Problem, cands: CandidateSet) -> tuple[int | None, list[int]]:
    """A quick valid plan (the hint for CP-SAT and CBC): the best plan whose groups are
    runs of consecutive ops in the graph's topological order (every prefix of that order
    is an ideal, so this is the shortest path over a chain of n + 1 ideals).
    Returns (fusible cost, candidate indices), or (None, []) when no such plan exists."""
    by_mask = {}
    for i, mask in enumerate(cands.masks):
        run = mask >> ((mask & -mask).bit_length() - 1)
        if run & (run + 1) == 0:  # consecutive op ids only
            by_mask[mask] = i
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
