"""The exact DRAM-vs-buffer frontier: the optimal all-ops DRAM as a step function of the buffer.

A group G is a candidate at buffer beta iff F_beta(G) < beta and none of its ops is unfusable
there (``enumerate_candidates`` never grows into an unfusable op), i.e. from
``appear(G) = max(F_beta(G), max_v F_beta({v})) + 1`` on. Its all-ops price is its F_D at
beta; an op unfusable at beta is a singleton at its unfused price W + S(In) + S(Out). So the
optimum can change only where a candidate appears or its price changes:

- LBDF: F_D does not depend on the buffer, so the only values are ``appear(G)`` (F_beta + 1
  for a singleton) and the optimum never rises. Between two values where it is equal it is
  constant, so bisection over the sorted values finds every drop with few solves.
- BRR: F_D(G, beta) = min D(n, mode) over the tilings with B(n, mode) < beta drops at B + 1
  of each tiling that is Pareto-optimal in (B, D); an op turning fusible may cost more than
  unfused, so the optimum can rise and no value can be skipped. Every value is evaluated by
  an incremental shortest path over the ideal lattice: the arcs are built once, and at each
  value only the prices of the groups whose price changes are updated and the distances
  recomputed from the lowest ideal such a group leaves.

What is reused across buffers: the candidate groups are enumerated once, at the largest
buffer (``to``), with their ancestor/descendant masks; a smaller buffer's candidate set is
that list filtered by ``appear`` (F_beta does not depend on the buffer); the ideal lattice is
listed once and the lattice arcs (ideal, candidate) built once, at ``to``: a smaller buffer
prices out the groups not yet available; LBDF prices are the enumeration's; BRR prices come
from the model's per-group cache (its buffer-independent record), so each new buffer only
redoes the tiling search, and the sweep keeps them current. At every row of the result (a
buffer where the all-ops or the fusible optimum changes) ``ideals``' shortest path over those
arcs, priced at that buffer, gives the plan, built and validated by ``finish`` as ``ideals``
does. A net over ideals' lattice cap falls back to ``auto`` from scratch at each point
(LBDF only).
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from fuseplan.models.cost.base import CostModel
from fuseplan.models.cost.common import lower_bound_bytes, unfused_cost
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.lattice import ideal_lattice
from fuseplan.models.plan import Status

from .candidates import enumerate_candidates
from .problem import Limits, make_problem
from .progress import Deadline
from .result import SolveResult

FrontierScheme = Literal["lbdf", "brr"]
SCHEMES: tuple[FrontierScheme, ...] = ("lbdf", "brr")
MIN_BUFFER = 2
_INF = 1 << 60


@dataclass(frozen=True)
class Step:
    """One row: from ``buffer_bytes`` up to the next row's buffer (exclusive; the last row up
    to ``to`` inclusive) the optimal all-ops DRAM is ``all_ops_bytes``, and the optimal plan's
    fusible DRAM ``fusible_bytes``. ``status`` is the solve's (OPTIMAL unless a time limit
    struck); ``result`` holds the plan."""

    buffer_bytes: int
    all_ops_bytes: int
    fusible_bytes: int
    no_fusion_bytes: int
    groups: int
    status: Status
    result: SolveResult = field(repr=False, compare=False)


@dataclass(frozen=True)
class Frontier:
    """The step function of one net under one scheme over [from_bytes, to_bytes].

    ``candidate_values`` counts the distinct buffers in (from, to] where the optimum could
    change (``appear`` values, and for BRR the B + 1 of Pareto tilings); ``evaluated``
    the buffers where the optimum was computed (LBDF: by bisection; BRR: all of them);
    ``solves`` the full runs of the exact solver (each gives a plan)."""

    net: str
    scheme: FrontierScheme
    bytes_per_element: int
    from_bytes: int
    to_bytes: int
    steps: tuple[Step, ...]
    candidates: int
    candidate_values: int
    evaluated: int
    solves: int
    lower_bound_bytes: int
    seconds: float
    method: str

    @property
    def complete(self) -> bool:
        """True when every row's plan is proven optimal (so the frontier is exact)."""
        return all(s.status == "OPTIMAL" for s in self.steps)

    def at(self, buffer_bytes: int) -> Step:
        """The row whose interval holds ``buffer_bytes`` (within [from, to])."""
        if not self.from_bytes <= buffer_bytes <= self.to_bytes:
            raise ValueError(f"{buffer_bytes} B is outside [{self.from_bytes}, {self.to_bytes}]")
        row = self.steps[0]
        for step in self.steps:
            if step.buffer_bytes > buffer_bytes:
                break
            row = step
        return row


class _Shared:
    """What every buffer of one frontier reuses: the candidates enumerated at ``to``, the
    lattice, each op's F_beta alone and unfused price, each candidate's ``appear``."""

    def __init__(self, graph: Graph, model: CostModel, to_bytes: int, limits: Limits,
                 deadline: Deadline, *, fixed_prices: bool) -> None:
        self.graph = graph
        self.fixed_prices = fixed_prices  # F_D does not depend on the buffer (LBDF)
        self.model = model
        self.limits = limits
        self.deadline = deadline
        self.top = make_problem(graph, model, to_bytes)
        deadline.report("enumerating candidate groups at the largest buffer")
        self.cands = enumerate_candidates(self.top, deadline, workers=limits.workers)
        if not self.cands.complete:
            raise FusePlanError(
                f"enumerating the candidate groups of {graph.name!r} at {to_bytes:,} B did not "
                "finish within the time limit: raise --time-limit or lower --to"
            )
        from .exact.ideals import IDEAL_CAP

        lattice, complete = ideal_lattice(graph, IDEAL_CAP, deadline.expired)
        if not complete and len(lattice) <= IDEAL_CAP:  # stopped, not over the cap
            raise FusePlanError(f"listing the ideals of {graph.name!r} did not finish within "
                                "the time limit: raise --time-limit")
        self.lattice: dict[int, int] | None = lattice if complete else None
        self.op_fbeta = tuple(model.buffer_bytes(1 << v) for v in range(graph.num_ops))
        b = model.bytes_per_element
        self.unfused = tuple(unfused_cost(graph, v, b).dram_bytes for v in range(graph.num_ops))
        self.appear = tuple(self._appear(mask) for mask in self.cands.masks)
        by_need = sorted(zip(self.op_fbeta, self.unfused))
        self._fbeta_sorted = [f for f, _ in by_need]
        self._unfused_from = list(itertools.accumulate([u for _, u in by_need][::-1]))[::-1]
        self._unfused_from.append(0)  # suffix sums: the ops with F_beta >= beta
        self.solves = 0
        self._arcs: list[list[tuple[int, int]]] | None = None
        self._np: tuple | None = None  # appear, singleton F_beta, enumeration prices

    def _appear(self, mask: int) -> int:
        """The least buffer at which ``mask`` is a candidate (> to for an op unfusable at
        ``to``, which the enumeration lists at price 0)."""
        if mask & self.top.unfusable:
            return _INF
        need = self.model.buffer_bytes(mask)
        m = mask
        while m:
            low = m & -m
            need = max(need, self.op_fbeta[low.bit_length() - 1])
            m ^= low
        return need + 1

    def unfused_total(self, beta: int) -> int:
        """The unfused traffic of the ops unfusable at ``beta`` (all-ops minus fusible)."""
        return self._unfused_from[bisect.bisect_left(self._fbeta_sorted, beta)]

    def arcs(self) -> list[list[tuple[int, int]]]:
        """Per ideal, its arcs (head ideal, candidate) over the candidates at ``to``, built
        once: a candidate's arcs do not depend on the buffer, only whether it is there."""
        if self._arcs is None:
            from .exact.ideals import lattice_arcs

            assert self.lattice is not None
            self.deadline.report("building arcs over ideals, once")
            arcs, complete = lattice_arcs(self.top, self.lattice, self.cands, self.deadline)
            if not complete:
                raise FusePlanError(
                    f"building the lattice arcs of {self.graph.name!r} at {self.top.buffer_bytes:,}"
                    " B did not finish within the time limit: raise --time-limit or lower --to"
                )
            self._arcs = arcs
        return self._arcs

    def prices_at(self, beta: int, prices: Sequence[int] | None = None) -> list[int]:
        """Per candidate at ``to``, its fusible price at ``beta``: 0 for the singleton of an
        op unfusable there (outside the fusible total, as enumeration prices it), ``_INF``
        for a group not yet available, else its F_D: ``prices`` (kept by the BRR sweep),
        the enumeration's when F_D does not depend on the buffer (LBDF), else the model's."""
        import numpy as np

        if self._np is None:
            c = self.cands
            single = [self.op_fbeta[m.bit_length() - 1] if m.bit_count() == 1 else -1
                      for m in c.masks]
            self._np = (np.array(self.appear, dtype=np.int64), np.array(single, dtype=np.int64),
                        np.array(c.costs, dtype=np.int64))
        appear, single, fixed = self._np
        if prices is not None:
            base = np.array(prices, dtype=np.int64)
        elif self.fixed_prices:
            base = fixed
        else:
            base = np.array([int(self.model.dram_bytes(m, beta) or 0) if a <= beta else 0
                             for m, a in zip(self.cands.masks, self.appear)], dtype=np.int64)
        out = np.where(appear <= beta, base, _INF)
        out[single >= beta] = 0
        return out.tolist()

    def shortest_at(self, beta: int) -> int:
        """The all-ops optimum at ``beta`` (LBDF prices): ``ideals``' shortest path over the
        arcs built once, plus the unfusable ops' traffic."""
        from .exact.ideals import shortest_path

        assert self.lattice is not None and self.fixed_prices
        fusible, _ = shortest_path(self.arcs(), tuple(self.prices_at(beta)), len(self.lattice))
        assert fusible is not None and fusible < _INF
        return fusible + self.unfused_total(beta)

    def solve_at(self, beta: int, prices: Sequence[int] | None = None) -> SolveResult:
        """The optimal plan at ``beta``: ``ideals``' shortest path over the arcs built once,
        priced at ``beta``, its plan built, priced and validated by ``finish`` (as ``ideals``
        does; complete, so proven optimal); ``auto`` from scratch when the lattice is over
        ideals' cap (then --time-limit may leave it unproven)."""
        self.solves += 1
        problem = make_problem(self.graph, self.model, beta)
        limits = replace(self.limits, progress=None)
        if self.lattice is None:
            from .api import solve_problem

            return solve_problem(problem, limits, "auto")
        from .exact.ideals import shortest_path
        from .result import finish

        deadline = Deadline(limits)
        costs = self.prices_at(beta, prices)
        fusible, chosen = shortest_path(self.arcs(), tuple(costs), len(self.lattice))
        assert fusible is not None and fusible < _INF
        details = {
            "why": "frontier: candidate groups and lattice arcs built once at the largest "
                   "buffer, priced at this one",
            "ideals": len(self.lattice),
            "candidates": sum(1 for x in costs if x < _INF),
        }
        return finish(problem, limits, deadline, method="ideals", status="OPTIMAL",
                      groups=[self.cands.masks[g] for g in chosen], objective=fusible,
                      bound=fusible, details=details)


def _all_ops(result: SolveResult, beta: int) -> int:
    if result.plan is None:
        raise FusePlanError(f"no plan found at {beta:,} B within the time limit: raise "
                            "--time-limit")
    return result.plan.totals.all_dram_bytes


def _lbdf_values(shared: _Shared, from_bytes: int, to_bytes: int) -> list[int]:
    return sorted({a for a in shared.appear if from_bytes < a <= to_bytes})


def _bisect(shared: _Shared, points: list[int]
            ) -> tuple[dict[int, int], dict[int, SolveResult], int]:
    """LBDF: the all-ops optimum at every point (index -> bytes), evaluated only where
    bisection needs it: a non-increasing function equal at both ends of a run of points is
    constant on it. With the lattice, a point is the shortest path (``ideals``') over the
    arcs built once at ``to``, priced at that buffer; without, a full solve. Returns the
    values, the full solves kept, and the number of points evaluated."""
    solved: dict[int, SolveResult] = {}
    known: dict[int, int] = {}

    def value(i: int) -> int:
        if i not in known:
            if shared.lattice is not None:
                known[i] = shared.shortest_at(points[i])
            else:
                solved[i] = shared.solve_at(points[i])
                known[i] = _all_ops(solved[i], points[i])
            shared.deadline.report("frontier: bisection", known[i], done=len(known),
                                   unit="points evaluated")
        return known[i]

    drops: list[int] = []
    todo = [(0, len(points) - 1)]
    while todo:
        lo, hi = todo.pop()
        if hi <= lo or value(lo) == value(hi):
            continue
        if hi == lo + 1:
            drops.append(hi)
            continue
        mid = (lo + hi) // 2
        todo += [(mid, hi), (lo, mid)]
    starts = sorted({0, *drops})
    values: dict[int, int] = {}
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(points)
        for i in range(start, end):
            values[i] = value(start)
    return values, solved, len(known)


def pareto_tilings(model: CostModel, mask: int, to_bytes: int) -> list[tuple[int, int]]:
    """BRR: the tilings (B, D) of group ``mask`` that are Pareto-optimal in buffer and DRAM,
    by B ascending (D strictly falling), with B + 1 <= ``to_bytes``: F_D at beta is the D of
    the last one with B < beta, so F_D changes exactly at their B + 1."""
    prof = model.profile(mask)  # type: ignore[attr-defined]  # BRR's, also through barriers
    heights = {h for _, h, _, _ in prof.read} | {h for _, h, _ in prof.outputs}
    points: list[tuple[int, int]] = []
    for n in range(1, prof.n_max + 1):
        if n > 1 and all(-(-h // n) == -(-h // (n - 1)) for h in heights):
            continue  # same rows as n - 1, so the same B and no less D: dominated
        tensors = prof.tensor_bytes(n)
        points.append((prof.weight_sum + tensors, prof.dram(n, "resident")))
        points.append((prof.weight_max + tensors, prof.dram(n, "streamed")))
    points.sort()
    out: list[tuple[int, int]] = []
    for b, d in points:
        if b + 1 > to_bytes:
            break
        if not out or d < out[-1][1]:
            if out and out[-1][0] == b:
                out[-1] = (b, d)
            else:
                out.append((b, d))
    return out


class _IncrementalPath:
    """Shortest path over the ideal lattice whose arc prices change. The arcs are built once.
    A price that falls is pushed forward from its arc's head, ideal by ideal in order, only
    as far as distances improve (usually not at all: most groups are on no shortest path);
    a price that rises (an op turning fusible costs more than unfused) recomputes the
    distances after the lowest ideal the group leaves."""

    def __init__(self, shared: _Shared) -> None:
        assert shared.lattice is not None
        out = shared.arcs()
        self.n = len(shared.lattice)
        self.out = out
        self.into: list[list[tuple[int, int]]] = [[] for _ in range(self.n)]
        self.arcs_of: list[list[tuple[int, int]]] = [[] for _ in range(len(shared.cands))]
        for i, row in enumerate(out):
            for j, g in row:
                self.into[j].append((i, g))
                self.arcs_of[g].append((i, j))
        self.arcs = sum(len(row) for row in out)
        self.cost = [_INF] * len(shared.cands)
        self.dist = [_INF] * self.n
        self.dist[0] = 0
        self.full_passes = 0

    def set_costs(self, changes: dict[int, int]) -> None:
        import heapq

        cost, dist = self.cost, self.dist
        rises = [g for g, c in changes.items() if c > cost[g]]
        for g, c in changes.items():
            cost[g] = c
        if rises:
            start = min((i for g in changes for i, _ in self.arcs_of[g]), default=self.n)
            self._recompute(start)
            return
        heap: list[int] = []
        for g in changes:
            c = cost[g]
            for i, j in self.arcs_of[g]:
                if dist[i] + c < dist[j]:
                    dist[j] = dist[i] + c
                    heap.append(j)
        heapq.heapify(heap)
        out = self.out
        while heap:
            i = heapq.heappop(heap)
            here = dist[i]
            for j, g in out[i]:
                d = here + cost[g]
                if d < dist[j]:
                    dist[j] = d
                    heapq.heappush(heap, j)

    def _recompute(self, start: int) -> None:
        self.full_passes += 1
        cost, dist, into = self.cost, self.dist, self.into
        for j in range(start + 1, self.n):
            best = _INF
            for i, g in into[j]:
                d = dist[i] + cost[g]
                if d < best:
                    best = d
            dist[j] = best

    def value(self) -> int:
        return int(self.dist[self.n - 1])


def _brr_events(shared: _Shared, from_bytes: int, to_bytes: int
                ) -> tuple[dict[int, int], dict[int, dict[int, int]]]:
    """Per candidate its all-ops price at ``from``, and per value in (from, to] the prices
    that change there."""
    model = shared.model
    initial: dict[int, int] = {}
    events: dict[int, dict[int, int]] = {}
    for g, mask in enumerate(shared.cands.masks):
        appear = shared.appear[g]
        single = mask.bit_count() == 1
        if single:
            v = mask.bit_length() - 1
            initial[g] = shared.unfused[v]  # unfusable at from (or overwritten below)
        if appear > to_bytes:
            continue
        if appear <= from_bytes:
            initial[g] = int(model.dram_bytes(mask, from_bytes))  # type: ignore[arg-type]
        else:
            events.setdefault(appear, {})[g] = int(model.dram_bytes(mask, appear))  # type: ignore[arg-type]
        for b, d in pareto_tilings(model, mask, to_bytes):
            x = b + 1
            if x > appear and x > from_bytes:
                events.setdefault(x, {})[g] = d
    return initial, events


def _incremental(shared: _Shared, from_bytes: int, to_bytes: int
                 ) -> tuple[list[int], dict[int, int], dict[int, SolveResult]]:
    """BRR: the all-ops optimum at ``from`` and at every value where a price changes, and
    each row's plan, solved when the sweep reaches it (over the sweep's prices)."""
    if shared.lattice is None:
        raise FusePlanError(
            f"{shared.graph.name!r} has too many ideals for the BRR frontier's incremental "
            "shortest path (it needs the ideal lattice, at most 200,000 ideals)"
        )
    initial, events = _brr_events(shared, from_bytes, to_bytes)
    values = sorted(events)
    shared.deadline.report(f"frontier: {len(values):,} candidate buffer values",
                           done=0, total=len(values), unit="values")
    path = _IncrementalPath(shared)
    path.set_costs(initial)
    points = [from_bytes, *values]
    opt = {0: path.value()}
    solved = {0: shared.solve_at(from_bytes, path.cost)}
    last = _row_key(shared, from_bytes, opt[0])
    for k, x in enumerate(values, start=1):
        path.set_costs(events[x])
        opt[k] = path.value()
        key = _row_key(shared, x, opt[k])
        if key != last:  # a row: its plan, over the prices of this moment
            solved[k] = shared.solve_at(x, path.cost)
            last = key
        if k % 2000 == 0:
            shared.deadline.report("frontier: incremental re-solve", opt[k], done=k,
                                   total=len(values), unit="values")
    return points, opt, solved


def _row_key(shared: _Shared, beta: int, all_ops: int) -> tuple[int, int]:
    """(all-ops, fusible) optimum: a row starts wherever either changes."""
    return all_ops, all_ops - shared.unfused_total(beta)


def compute_frontier(
    graph: Graph,
    model: CostModel,
    scheme: FrontierScheme,
    from_bytes: int,
    to_bytes: int,
    *,
    limits: Limits | None = None,
) -> Frontier:
    """The exact frontier of ``graph`` under ``model`` (built for ``scheme``) on [from, to]."""
    check_range(from_bytes, to_bytes)
    if scheme not in SCHEMES:
        raise FusePlanError(f"unknown frontier scheme {scheme!r}: use lbdf or brr")
    limits = limits or Limits()
    deadline = Deadline(limits)
    start = time.perf_counter()
    shared = _Shared(graph, model, to_bytes, limits, deadline, fixed_prices=scheme == "lbdf")
    if scheme == "lbdf":
        points = [from_bytes, *_lbdf_values(shared, from_bytes, to_bytes)]
        opt, solved, evaluated = _bisect(shared, points)
        candidate_values, method = len(points) - 1, "bisection"
    else:
        points, opt, solved = _incremental(shared, from_bytes, to_bytes)
        candidate_values, evaluated, method = len(points) - 1, len(points), "incremental"
    steps = _rows(shared, points, opt, solved)
    return Frontier(
        net=graph.name, scheme=scheme, bytes_per_element=model.bytes_per_element,
        from_bytes=from_bytes, to_bytes=to_bytes, steps=tuple(steps),
        candidates=len(shared.cands), candidate_values=candidate_values, evaluated=evaluated,
        solves=shared.solves, lower_bound_bytes=lower_bound_bytes(graph, model.bytes_per_element),
        seconds=time.perf_counter() - start, method=method,
    )


def _rows(shared: _Shared, points: list[int], opt: dict[int, int],
          solved: dict[int, SolveResult]) -> list[Step]:
    """A row wherever the all-ops optimum or the fusible one (all-ops minus the unfusable
    ops' traffic) changes, each with the exact solver's plan at that buffer (``solved``
    already, or solved now)."""
    rows: list[int] = []
    last: tuple[int, int] | None = None
    for i, beta in enumerate(points):
        key = _row_key(shared, beta, opt[i])
        if key != last:
            rows.append(i)
            last = key
    steps = []
    for k, i in enumerate(rows):
        beta = points[i]
        result = solved.get(i) or shared.solve_at(beta)
        all_ops = _all_ops(result, beta)
        if result.status == "OPTIMAL" and all_ops != opt[i]:
            raise AssertionError(f"frontier at {beta:,} B: the solver proves {all_ops:,} B, "
                                 f"the frontier computed {opt[i]:,} B")
        assert result.plan is not None
        totals = result.plan.totals
        steps.append(Step(beta, all_ops, totals.fusible_dram_bytes, totals.upper_bound_bytes,
                          len(result.plan.groups), result.status, result))
        if k % 20 == 0:
            shared.deadline.report("frontier: solving at each breakpoint", all_ops,
                                   done=k + 1, total=len(rows), unit="breakpoints")
    return steps


def check_range(from_bytes: int, to_bytes: int) -> None:
    if from_bytes < MIN_BUFFER:
        raise FusePlanError(f"--from must be at least {MIN_BUFFER} B (got {from_bytes:,} B)")
    if from_bytes >= to_bytes:
        raise FusePlanError(f"--from ({from_bytes:,} B) must be below --to ({to_bytes:,} B)")


def frontier_to_dict(frontier: Frontier, plan_files: Sequence[str | None] = ()) -> dict:
    """The JSON record of one frontier (docs/frontier.md, models/schemas/frontier.schema.json);
    ``plan_files`` names each row's plan file (None: not written)."""
    files = list(plan_files) or [None] * len(frontier.steps)
    return {
        "net": frontier.net,
        "scheme": frontier.scheme,
        "bytes_per_element": frontier.bytes_per_element,
        "from_bytes": frontier.from_bytes,
        "to_bytes": frontier.to_bytes,
        "lower_bound_bytes": frontier.lower_bound_bytes,
        "method": frontier.method,
        "candidates": frontier.candidates,
        "candidate_values": frontier.candidate_values,
        "evaluated_values": frontier.evaluated,
        "solves": frontier.solves,
        "complete": frontier.complete,
        "seconds": round(frontier.seconds, 3),
        "steps": [
            {
                "buffer_bytes": s.buffer_bytes,
                "until_bytes": (frontier.steps[k + 1].buffer_bytes - 1
                                if k + 1 < len(frontier.steps) else frontier.to_bytes),
                "all_ops_bytes": s.all_ops_bytes,
                "fusible_bytes": s.fusible_bytes,
                "no_fusion_bytes": s.no_fusion_bytes,
                "groups": s.groups,
                "status": s.status,
                "plan_file": files[k],
            }
            for k, s in enumerate(frontier.steps)
        ],
    }

