"""Exact method ``astar``: best-first search over ideals, arcs generated only when needed.

The same lattice as ``ideals`` (a plan is a chain of ideals, each group the difference of
two consecutive ones), searched from the empty ideal with A*: ``g(I)`` the cheapest fusible
cost found to reach ideal ``I``, ``h(I)`` the admissible estimate of ``solver/bounds.py`` (base
terms plus the cuts the buffer forces along the spine, ``solver/spine_cuts.py``). It need not be
consistent, so an ideal reached again more cheaply is reopened. An ideal is expanded only
when ``g + h`` is below every other open ideal's and below the pass limit (at most the cost
of a plan in hand: the best plan of runs of consecutive ops), so at large buffers most of
the lattice, and most of the candidate groups, are never looked at. The full ideal popped
first carries the optimum. When the plan in hand is close to ``h(empty)``, passes with lower
limits run first: a pass that empties proves the optimum is at least its limit.

Expanding ``I`` lists the sets ``G`` with ``I + G`` an ideal: ops are added in increasing id
(a topological order), each only once its predecessors are in ``I + G``, so each set comes
up once; a set whose ``buffer_lower_bound`` reaches the buffer is not grown (the bound never
drops when an op is added, for any set, connected or not), nor is any set holding an op
that could not join a smaller one, nor a set whose every continuation leads to a plan at
or above the limit (``Estimate.stranded``: outputs read by ops that can never join).
Intermediate sets may be disconnected (two branches joined later); the weakly connected
ones that fit and that the user allows are the arcs. Group prices are memoised by mask.

Arcs are listed in Python first; once that has cost ``PYTHON_SECONDS`` of CPU, the compiled
kernel (``astar_kernel.py``, driven by ``astar_fast.py``) lists them, the same sets in the
same order, with prices memoised across ideals. The Python loop stays the reference.

A time limit or Ctrl-C returns the plan in hand as FEASIBLE with the bound
``min g + h`` over the open ideals (every plan passes through one of them), or the limit
of the last pass that emptied if higher.
"""

from __future__ import annotations

import heapq
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fuseplan.models.group import mask_ops

from ..bounds import Estimate
from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult, finish
from .astar_prices import INVALID, GroupPrices, chain_upper_bound

if TYPE_CHECKING:
    from .astar_fast import KernelArcs

CHECK_EVERY = 256  # sets listed between two looks at the clock (a set may cost 0.3 ms)


class _OutOfTime(Exception):
    pass


# CPU seconds of arcs listed in Python before they go to the compiled kernel
# (astar_fast.py): loading numba and the compiled code costs about 1 s CPU, which small
# searches never pay (as candidates.PYTHON_SECONDS for growth).
PYTHON_SECONDS = 1.0
_KERNEL_MODULE = "fuseplan.solver.exact.astar_kernel"  # loaded: no Python arcs first


class _Search:
    def __init__(
        self, problem: Problem, deadline: Deadline, compiled: bool | None = None
    ) -> None:
        """``compiled``: True lists arcs in the compiled kernel from the start, False in
        Python only (the reference), None in Python for ``PYTHON_SECONDS`` of CPU, then
        in the kernel (when it applies: numba, the built-in LBDF or BRR model)."""
        self.compiled = compiled
        self.kernel: KernelArcs | None = None
        self.python_seconds = 0.0
        self.problem = problem
        self.deadline = deadline
        self.prices = GroupPrices(problem)
        self.estimate = Estimate(problem, deadline.expired)
        self.succs = problem.succs
        self.preds = problem.preds
        self.pred_ids = [mask_ops(p) for p in problem.preds]
        self.forbid = problem.forbid_masks
        self.blocked = problem.unfusable
        self.max_ops = problem.max_group_ops
        self.sets = 0
        self.expanded = 0
        self.reached = 0

    def frontier(self, ideal: int) -> int:
        """Ops outside ``ideal`` whose predecessors are all in it."""
        out = 0
        for v, p in enumerate(self.preds):
            if not ideal >> v & 1 and p & ~ideal == 0:
                out |= 1 << v
        return out

    def _kernel(self) -> KernelArcs | None:
        """The compiled arcs once they are due (see ``compiled``), else None."""
        if self.kernel is not None or self.compiled is False:
            return self.kernel
        if (self.compiled is None and self.python_seconds < PYTHON_SECONDS
                and _KERNEL_MODULE not in sys.modules):
            return None
        from .astar_fast import kernel_arcs

        self.kernel = kernel_arcs(self.problem, self.estimate)
        if self.kernel is None:
            self.compiled = False  # does not apply: Python from now on
        return self.kernel

    def new_pass(self) -> None:
        """A best-first pass starts: the kernel forgets its best costs per ideal."""
        if self.kernel is not None:
            self.kernel.new_pass()

    def arcs(
        self, ideal: int, g: int, limit: float, best: dict[int, int]
    ) -> list[tuple[int, int, int | None]]:
        """(group, fusible cost, h of ideal + group or None) for every group that may
        follow ``ideal`` (reached at cost ``g``) on a plan cheaper than ``limit`` and than
        the best known way to its head (the compiled kernel checks against its own table
        of this pass's arcs, which may let through some the caller drops, and gives h)."""
        kernel = self._kernel()
        if kernel is None:
            start = time.process_time()
            try:
                return self.python_arcs(ideal, g, limit, best)
            finally:
                self.python_seconds += time.process_time() - start
        out: list[tuple[int, int, int | None]] = []
        if self.blocked:
            out = [(1 << v, 0, None) for v in mask_ops(self.frontier(ideal) & self.blocked)]
        after = self.estimate.spine.after_next_group(ideal)
        sets = kernel.sets
        found = kernel.arcs(ideal, g, limit, after, self.deadline.expired)
        self.sets += kernel.sets - sets
        if found is None:
            raise _OutOfTime
        if self.prices.constrained:
            allowed = self.problem.group_allowed
            found = [arc for arc in found if allowed(arc[0])]
        out.extend(found)
        return out

    def python_arcs(
        self, ideal: int, g: int, limit: float, best: dict[int, int]
    ) -> list[tuple[int, int, int | None]]:
        """``arcs`` in Python: the reference the compiled kernel follows step for step."""
        frontier = self.frontier(ideal)
        out: list[tuple[int, int, int | None]] = [
            (1 << v, 0, None) for v in mask_ops(frontier & self.blocked)]
        prices, succs, preds, estimate = self.prices, self.succs, self.preds, self.estimate
        forbid, max_ops = self.forbid, self.max_ops
        # what groups may add to the base terms (the spine cuts past the next group stay)
        room = limit - g - estimate.base(ideal) - estimate.spine.after_next_group(ideal)
        free = frontier & ~self.blocked
        # (group, ops addable to ideal + group, ops that may still join, forbidden ops)
        # (group, ops addable to ideal + group, ops that may still join, forbidden ops,
        #  W + S(In) + S(Out) of the group, the tensors it reads, its ops whose output has
        #  a fusible reader outside it)
        stack = [(0, free, self.problem.all_ops & ~self.blocked, 0, 0, 0, 0)]
        grow_floor = estimate.grow_floor
        out_readers, preds_list = estimate.out_readers, self.pred_ids
        while stack:
            group, addable, allowed, banned, floor, read, open_ops = stack.pop()
            options = addable & allowed & ~banned
            children: list[tuple[int, int, int, int]] = []
            doomed = 0
            while options:
                low = options & -options
                options ^= low
                new = group | low
                self.sets += 1
                if self.sets % CHECK_EVERY == 0 and self.deadline.expired():
                    raise _OutOfTime
                v = low.bit_length() - 1
                later = allowed & ~((low << 1) - 1) & ~banned & ~forbid[v]
                new_open = open_ops | low if out_readers[v] else open_ops
                for p in preds_list[v]:
                    if new_open >> p & 1 and out_readers[p] & ~new == 0:
                        new_open ^= 1 << p
                if estimate.stranded_open(new_open, new | later) >= room:
                    continue  # every group grown from here leads to a dearer plan
                if not prices.under_buffer(new):
                    doomed |= low
                    continue
                new_floor, new_read = grow_floor(group, floor, read, v)
                children.append((low, new_floor, new_read, new_open))
                head = ideal | new
                known = best.get(head)
                rest = estimate(head)
                if (known is not None and g >= known) or g + rest >= limit:
                    continue  # even a free group would not help
                reach = g + new_floor  # no cheaper way to head via new
                if (known is not None and reach >= known) or reach + rest >= limit:
                    continue
                cost = prices.price(new)
                if cost != INVALID:
                    out.append((new, cost, None))
            if max_ops is not None and group.bit_count() + 1 >= max_ops:
                continue
            for low, new_floor, new_read, new_open in children:
                v = low.bit_length() - 1
                new = group | low
                whole = ideal | new
                grown = addable & ~low
                for w in mask_ops(succs[v]):
                    if preds[w] & ~whole == 0 and not self.blocked >> w & 1:
                        grown |= 1 << w
                later = ~((low << 1) - 1)  # ops of higher id only: each set once
                stack.append((new, grown, allowed & later & ~doomed, banned | forbid[v],
                              new_floor, new_read, new_open))
        return out


PASS_SHARES = (0.125, 0.25, 0.5)  # of the way from h(empty) to the plan in hand
PASSES_WITHIN = 0.10  # only when the plan in hand is within 10 % of h(empty)


def _limits(start: int, upper: int | None) -> list[float]:
    """The pruning limits of successive passes, ending at the plan in hand (or none).
    Extra passes pay when the estimate is close (large buffers: the optimum lies a few
    per cent above it); far from it (small buffers) they repeat most of the work."""
    if upper is None:
        return [float("inf")]
    if upper > start * (1 + PASSES_WITHIN):
        return [float(upper)]
    steps = [start + share * (upper - start) for share in PASS_SHARES]
    return [x for x in steps if start < x < upper] + [float(upper)]


@dataclass
class _Pass:
    """One best-first pass that drops every ideal and group whose g + h reaches ``limit``."""

    found: int | None = None
    bound: float | None = None  # lowest g + h open when the pass was cut short
    cut: str = ""
    back: dict[int, tuple[int, int]] = field(default_factory=dict)


def _best_first(search: _Search, limits: Limits, limit: float, upper: int | None) -> _Pass:
    deadline, h, full = search.deadline, search.estimate, search.problem.all_ops
    search.new_pass()
    best: dict[int, int] = {0: 0}
    out = _Pass()
    closed: set[int] = set()
    heap: list[tuple[int, int, int]] = [(h(0), 0, 0)]
    last_report = time.perf_counter()
    while heap:
        f, minus_g, ideal = heapq.heappop(heap)
        if ideal in closed or -minus_g > best[ideal]:
            continue
        if f >= limit:
            break  # nothing open is below the limit
        if ideal == full:
            out.found = -minus_g
            break
        if limits.gap is not None and upper and (upper - f) / upper <= limits.gap:
            out.bound, out.cut = f, "gap reached"
            break
        if deadline.expired():
            out.bound, out.cut = f, "time limit"
            break
        closed.add(ideal)
        search.expanded += 1
        g = -minus_g
        try:
            arcs = search.arcs(ideal, g, limit, best)
        except _OutOfTime:
            out.bound, out.cut = f, "time limit"
            break
        for group, cost, h_next in arcs:
            nxt = ideal | group
            g_next = g + cost
            if g_next >= best.get(nxt, g_next + 1):
                continue
            f_next = g_next + (h(nxt) if h_next is None else h_next)
            if f_next >= limit:
                continue
            best[nxt] = g_next
            out.back[nxt] = (ideal, group)
            closed.discard(nxt)  # the estimate need not be consistent: reopen
            heapq.heappush(heap, (f_next, -g_next, nxt))
        now = time.perf_counter()
        if now - last_report > 0.5:
            deadline.report("astar: best-first over ideals", upper, int(min(f, limit)),
                            done=search.expanded, unit="ideals expanded")
            last_report = now
    search.reached += len(best)
    return out


def prepare(problem: Problem, deadline: Deadline) -> _Search:
    """The search state (group prices, estimate), to decide with :func:`near_its_estimate`
    and then pass to :func:`solve` without building it twice."""
    return _Search(problem, deadline)


def near_its_estimate(search: _Search) -> tuple[bool, int | None, int]:
    """(whether the plan of consecutive runs is within ``PASSES_WITHIN`` of h(empty), that
    plan's cost, h(empty)). True is the large-buffer regime: the optimum lies a few per cent
    above the estimate, so A* expands a small part of the lattice, while walking every
    candidate group (``ideals``) pays for the many large groups such buffers admit."""
    upper, _ = chain_upper_bound(search.problem, search.prices, search.deadline.expired)
    start = search.estimate(0)
    return upper is not None and upper <= start * (1 + PASSES_WITHIN), upper, start


def solve(
    problem: Problem,
    limits: Limits,
    *,
    deadline: Deadline | None = None,
    why: str = "asked for",
    search: _Search | None = None,
    compiled: bool | None = None,
) -> SolveResult:
    """The optimal plan by A* over ideals (FEASIBLE with a valid bound when cut short).

    Passes with a rising limit: a pass that empties its open list proves the optimum is at
    least its limit; the last limit is the plan in hand, whose pass proves it optimal.
    ``compiled``: see ``_Search`` (None: Python arcs first, then the kernel).
    """
    deadline = deadline or Deadline(limits)
    search = search or _Search(problem, deadline, compiled)
    upper, upper_groups = chain_upper_bound(problem, search.prices, deadline.expired)
    if upper is not None:
        deadline.report("astar: plan of consecutive runs", upper)
    total_order = len(search.estimate.spine.spine) == problem.num_ops
    if upper is not None and total_order and not deadline.expired():
        # a total order: every ideal is a prefix, so the plan of runs is the optimum (unless
        # the deadline cut the runs short)
        deadline.report("astar", upper, upper)
        return finish(problem, limits, deadline, method="astar", status="OPTIMAL",
                      groups=upper_groups, objective=upper, bound=upper,
                      details={"why": why, "chain": True, "first_plan_bytes": upper})
    start = search.estimate(0)
    proven = start  # the optimum is at least this
    passes = 0
    for limit in _limits(start, upper):
        result = _best_first(search, limits, limit, upper)
        passes += 1
        if result.found is not None or result.cut:
            break
        if limit != float("inf"):
            proven = max(proven, int(limit))  # this pass emptied: nothing cheaper
    priced = search.prices.evaluated + (search.kernel.priced if search.kernel else 0)
    details = {
        "why": why,
        "ideals_expanded": search.expanded,
        "ideals_reached": search.reached,
        "sets_listed": search.sets,
        "groups_priced": priced,
        "first_plan_bytes": upper,
        "passes": passes,
        "compiled": search.kernel is not None,
    }
    if result.found is not None:
        found = result.found
        deadline.report("astar", found, found)
        return finish(problem, limits, deadline, method="astar", status="OPTIMAL",
                      groups=_path(result.back, problem.all_ops), objective=found,
                      bound=found, details=details)
    if not result.cut:  # the last pass emptied: the plan in hand is optimal, or none exists
        if upper is None:
            return finish(problem, limits, deadline, method="astar", status="INFEASIBLE",
                          groups=None, objective=None, bound=None, details=details)
        deadline.report("astar", upper, upper)
        return finish(problem, limits, deadline, method="astar", status="OPTIMAL",
                      groups=upper_groups, objective=upper, bound=upper, details=details)
    details["stopped"] = result.cut
    assert result.bound is not None
    bound = max(proven, int(min(result.bound, limit)))
    if upper is None:
        return finish(problem, limits, deadline, method="astar", status="UNKNOWN",
                      groups=None, objective=None, bound=bound, details=details)
    return finish(problem, limits, deadline, method="astar", status="FEASIBLE",
                  groups=upper_groups, objective=upper, bound=bound, details=details)


def _path(back: dict[int, tuple[int, int]], full: int) -> list[int]:
    groups = []
    ideal = full
    while ideal:
        ideal, group = back[ideal]
        groups.append(group)
    return groups[::-1]
