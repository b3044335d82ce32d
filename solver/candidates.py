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

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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

    def group_masks(self, indices: list[int]) -> list[int]:
        """The masks of the candidates at ``indices``."""
        return [self.masks[g] for g in indices]


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
    found, seeds = singletons(problem)
    end = None if deadline is None else deadline.end
    stop = None if deadline is None else deadline.limits.stop
    with _no_cyclic_gc():
        if workers > 1 and len(seeds) >= 2 * workers and problem.num_ops >= PARALLEL_MIN_OPS:
            found.extend(
                _grow_parallel(problem, seeds, workers, prune, end, stop, len(found.masks))
            )
        else:
            watch = _Watch(end, stop)
            watch.count(len(found.masks))
            found.extend(_grow(problem, seeds, prune, watch, deadline))
    return CandidateSet(
        masks=tuple(found.masks),
        costs=tuple(found.costs),
        before=tuple(found.before),
        after=tuple(found.after),
        complete=found.complete,
        evaluated=found.evaluated,
        seconds=time.perf_counter() - start,
    )


def singletons(problem: Problem) -> tuple[_Found, list[int]]:
    """The one-op candidates (unfusable ops at cost 0, then every op that fits alone) and the
    seed ops growth starts from (every op that is not unfusable)."""
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
    return found, seeds


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Growth without the cyclic garbage collector: growth makes no cycles (ints, tuples,
    the model's cached records), but the collector's full passes walk every record the
    model caches (BRR: 14 % of googlenet's enumeration at 256 KB). Reference counting
    still frees everything; the collector is back on (if it was) when growth ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


PARALLEL_MIN_OPS = 60
# about 250 B a candidate (mask, cost, before, after): stop before memory runs out, counting
# the candidates of every worker; the set is then incomplete, as if the time limit had struck
MAX_CANDIDATES = 6_000_000
# growth steps between two looks at the clock, the stop and the cap: a step may cost a
# millisecond at large buffers (the model prices big groups), and a look costs a microsecond
CHECK_EVERY = 128
_FORKED: dict[str, object] = {}


class _Watch:
    """What growth polls every ``CHECK_EVERY`` steps: the clock, the stop event, and the
    number of candidates found by all processes together (the memory cap). In forked
    workers ``flag`` (set by the parent when its stop event is set) and ``counter`` live in
    shared memory; the workers' copy of a ``threading.Event`` would never see the parent set
    it."""

    def __init__(self, end: float | None, stop, flag=None, counter=None,
                 cap: int | None = None) -> None:
        self.cap = cap  # None: MAX_CANDIDATES (read when polled)
        self.end = end
        self.stop = stop
        self.flag = flag
        self.counter = counter
        self.total = 0  # candidates found, when no counter is shared
        self.lock = threading.Lock()  # threads growing side by side share ``total``

    def count(self, new: int) -> int:
        """Adds ``new`` candidates to the count; returns the count over every process."""
        if self.counter is None:
            with self.lock:
                self.total += new
                return self.total
        with self.counter.get_lock():
            self.counter.value += new
            return self.counter.value

    def should_stop(self, new: int) -> bool:
        """Counts ``new`` candidates; True once the cap, the time limit or a stop is reached."""
        if self.count(new) > (MAX_CANDIDATES if self.cap is None else self.cap):
            return True
        if self.end is not None and time.perf_counter() >= self.end:
            return True
        if self.stop is not None and self.stop.is_set():
            return True
        return self.flag is not None and self.flag.value != 0


def _grow_parallel(
    problem: Problem, seeds: list[int], workers: int, prune: bool, end: float | None, stop,
    found_before: int,
) -> _Found:
    """The same groups in the same order as one process would find them (merged by seed).

    The parent waits in short steps and passes its stop event on to the workers through a
    shared flag; the workers ignore Ctrl-C (the parent's handler sets that event, and a
    second Ctrl-C ends the pool from the parent)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    flag = ctx.RawValue("b", 0)
    counter = ctx.Value("q", found_before)
    # workers stop a second early: sending their groups back takes time too
    watch = _Watch(None if end is None else end - 1.0, stop, flag, counter)
    _FORKED.update(problem=problem, prune=prune, watch=watch)
    shares = [seeds[k::workers] for k in range(workers)]
    try:
        with ctx.Pool(workers, initializer=_ignore_interrupt) as pool:
            pending = pool.map_async(_grow_share, shares)
            while not pending.ready():
                pending.wait(0.05)
                if stop is not None and stop.is_set():
                    flag.value = 1
            parts = pending.get()
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


def _ignore_interrupt() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _grow_share(seeds: list[int]) -> list[tuple[int, _Found]]:
    problem, prune, watch = (_FORKED[k] for k in ("problem", "prune", "watch"))
    out = []
    for v in seeds:
        if watch.should_stop(0):
            break  # the parent marks the seeds left out as missing
        part = _grow(problem, [v], prune, watch)
        out.append((v, part))
        if not part.complete:
            break
    return out


# CPU seconds of Python growth (over every enumeration of the process) before growth goes
# to the compiled kernel (solver/candidates_kernel.py). Importing numba and loading the
# compiled code costs about 1 s CPU and 140 MB: a problem that Python enumerates sooner
# (every zoo net the README times under 2 s) never pays it, a larger one pays at most about
# this much more than with the kernel from the start. Measured at load 8-10: 0.5 s made
# efficientnet_b1 BRR 2 MB 2.1 s CPU (1.1 s in Python); handing over once the seeds left
# looked dearer than 1 s at the pace so far misjudged googlenet LBDF 128 KB (2.0 s, 0.8 s).
PYTHON_SECONDS = 1.0
USE_KERNEL = True  # False: Python growth only (the reference the tests compare against)
_KERNEL_MODULE = "fuseplan.solver.candidates_grow_kernel"  # loaded: no Python growth first
_python_seconds = 0.0  # Python growth so far in this process


def _grow(
    problem: Problem, seeds: list[int], prune: bool, watch: _Watch,
    deadline: Deadline | None = None,
) -> _Found:
    """Every candidate of two or more ops whose lowest op is one of ``seeds``: growth from
    the seed through ops of higher id only (a connected convex group always has a source
    or sink, other than its lowest op, whose removal keeps it connected and convex).
    ``watch`` counts what is found, against the cap shared by every worker.

    Seeds grow in Python until the process has spent :data:`PYTHON_SECONDS` in Python
    growth; the seed then under way starts again in the compiled kernel, which grows every
    seed left (same groups, same order). Without a kernel (another cost model, numba
    missing) Python grows all."""
    global _python_seconds
    found = _Found()
    hand_over = None  # process time at which Python growth stops (None: never)
    start = time.process_time()
    if prune and USE_KERNEL:
        spent = PYTHON_SECONDS if _KERNEL_MODULE in sys.modules else _python_seconds
        hand_over = start + max(0.0, PYTHON_SECONDS - spent)
    for i, v in enumerate(seeds):
        part = _grow_python(problem, [v], prune, watch, deadline, hand_over)
        if part is None:  # past the budget: this seed and the rest in the kernel
            _python_seconds += time.process_time() - start
            from .candidates_kernel import kernel_grower

            kernel = kernel_grower(problem, prune)
            if kernel is None:
                part = _grow_python(problem, seeds[i:], prune, watch, deadline)
                assert part is not None
                found.extend(part)
                return found
            for u in seeds[i:]:
                if watch.should_stop(0):
                    found.complete = False
                    return found
                grown = kernel.grow(u, watch, deadline)
                found.extend(grown)
                if not grown.complete:
                    return found
            return found
        found.extend(part)
        if not part.complete:
            break
    _python_seconds += time.process_time() - start
    return found


def _grow_python(
    problem: Problem, seeds: list[int], prune: bool, watch: _Watch,
    deadline: Deadline | None = None, hand_over: float | None = None,
) -> _Found | None:
    """The growth of :func:`_grow` in Python; None once the process time passes
    ``hand_over`` (what it had counted against the cap is taken back)."""
    model = problem.model
    lower_bound = model.buffer_lower_bound
    price = model.dram_bytes
    beta = problem.buffer_bytes
    anc, desc = problem.ancestors, problem.descendants
    nbr = problem.neighbours
    forbid = problem.forbid_masks
    blocked = problem.unfusable
    max_ops = problem.max_group_ops
    constrained = bool(problem.pins or problem.forbids or max_ops is not None)
    found = _Found()
    # the hot loop appends to these directly (what _Found.add does, without the call)
    add_mask, add_cost = found.masks.append, found.costs.append
    add_before, add_after = found.before.append, found.after.append
    steps = counted = evaluated = 0
    for v in seeds:
        higher = ~((2 << v) - 1) & ~blocked
        seen: set[int] = set()
        too_big: set[int] = set()  # sets whose lower bound reached the buffer
        stack = [(1 << v, anc[v], desc[v], nbr[v], forbid[v], 0)]
        while stack:
            group, group_anc, group_desc, group_nbr, group_forbid, last = stack.pop()
            steps += 1
            if steps % CHECK_EVERY == 1:  # the first step too: the deadline may have passed
                if hand_over is not None and time.process_time() >= hand_over:
                    watch.count(-counted)
                    return None
                new, counted = len(found.masks) - counted, len(found.masks)
                if watch.should_stop(new):
                    found.complete = False
                    found.evaluated += evaluated
                    return found
                if deadline is not None and steps % 16384 == 1:
                    deadline.report("enumerating candidates", done=len(found.masks),
                                    unit="candidate groups found")
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
                # adds_convexly (models/group.py), inlined: no path from the group to x or
                # from x to the group leaves the new group
                if desc[x] & group_anc & ~new or anc[x] & group_desc & ~new:
                    continue  # not convex: a path leaves the group and comes back
                evaluated += 1
                if prune and lower_bound(new) >= beta:
                    too_big.add(new)
                    continue
                new_anc, new_desc = group_anc | anc[x], group_desc | desc[x]
                stack.append(
                    (new, new_anc, new_desc, group_nbr | nbr[x], group_forbid | forbid[x], low)
                )
                if constrained and not problem.group_allowed(new):
                    continue
                cost = price(new, beta)
                if cost is not None:
                    add_mask(new)
                    add_cost(int(cost))
                    add_before(new_anc & ~new)
                    add_after(new_desc & ~new)
    found.evaluated += evaluated
    watch.count(len(found.masks) - counted)
    return found


def chain_plan(problem: Problem, cands: CandidateSet) -> tuple[int | None, list[int]]:
    """A quick valid plan (the hint for CP-SAT and CBC): the best plan whose groups are
    candidates made of consecutive ops in the graph's topological order (:func:`best_chain`).
    Returns (fusible cost, candidate indices), or (None, []) when no such plan exists."""
    by_mask = {}
    for i, mask in enumerate(cands.masks):
        run = mask >> ((mask & -mask).bit_length() - 1)
        if run & (run + 1) == 0:  # consecutive op ids only
            by_mask[mask] = i
    longest = max((m.bit_count() for m in cands.masks), default=1)

    def price(run: int) -> int | None:
        g = by_mask.get(run)
        return None if g is None else cands.costs[g]

    cost, runs = best_chain(problem.num_ops, price, lambda run: run.bit_count() <= longest)
    return cost, [by_mask[run] for run in runs]


def best_chain(
    num_ops: int, price: Callable[[int], int | None], grows: Callable[[int], bool]
) -> tuple[int | None, list[int]]:
    """The best plan whose groups are runs of consecutive op ids, a topological order: every
    run is convex and every prefix an ideal, so it is the shortest path over the n + 1
    prefixes. ``price(run)`` is the run's fusible cost as a group, None when it is none;
    ``grows(run)`` is False when neither the run nor a longer one from the same start can
    be a group (the path stops extending it). Returns (fusible cost, run masks in order),
    or (None, []) when no such plan exists. One DP for ``chain_plan`` (runs among the
    candidates) and A*'s first plan (``astar_prices.chain_upper_bound``)."""
    inf = float("inf")
    dist: list[float] = [inf] * (num_ops + 1)
    last = [0] * (num_ops + 1)  # the last run of the best path to each prefix
    dist[0] = 0
    for i in range(num_ops):
        if dist[i] == inf:
            continue
        run = 0
        for j in range(i, num_ops):
            run |= 1 << j
            if not grows(run):
                break
            cost = price(run)
            if cost is not None and dist[i] + cost < dist[j + 1]:
                dist[j + 1], last[j + 1] = dist[i] + cost, run
    if dist[num_ops] == inf:
        return None, []
    runs = []
    j = num_ops
    while j:
        runs.append(last[j])
        j -= last[j].bit_count()
    return int(dist[num_ops]), runs[::-1]
