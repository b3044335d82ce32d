"""The integer multicut behind :mod:`.multicut_bound`, solved by CP-SAT with lazy overflow
constraints: a stronger bound than the LP's path packing where that LP is fractional, and
one that prices every group a tensor reaches, not only the first cut.

Variables (all 0/1). For each pin pair {v, w} (two ops that are pins of one tensor)
``d_vw``: v and w lie in different groups. Per tensor t with pins p_1..p_k (its fusible
producer first when it has one), ``y_t``: some pair of its pins is separated, and for
j >= 2 ``n_tj``: p_j is separated from every earlier pin. In a plan (set each variable to
what the plan does), ``sum_j n_tj = lambda(t) - 1`` (each group among the pins counted once,
at its first pin) and ``y_t = [lambda(t) >= 2]``. The constraints, each true in every plan:
- ``y_t >= d_vw`` for each pair of t's pins, and ``n_tj >= AND_{i<j} d_{p_i p_j}``;
- transitivity among one tensor's pins, ``d_ab <= d_ac + d_cb`` (same group is an
  equivalence): every triple up to ``TRIANGLE_PINS`` pins, else the triples holding p_1;
- each constraint of :mod:`.multicut_bound` at pin level: some pair of consecutive ops along
  its path or tree is separated (``OR d``), or under BRR the op element ``s_v`` is set;
- ``d_ab = 1`` for a pin pair no group can hold (:func:`forced_pairs`): a producer and its
  reader whose hull cannot fit, and under LBDF any two pins whose hull cannot fit (F_beta
  never drops when an op joins a group, connected or not: ``models/cost/lbdf.py``; a group
  holding a and b holds their hull). Two readers of one tensor that no group can hold
  together make ``lambda >= 3`` where the cut price alone counts 2;
- lazy ones, at each optimal 0/1 point (below).
Objective: ``sum_t (c(t) - S(t)) y_t + S(t) sum_j n_tj + sum_v W(v) s_v``. In a plan it is
``c(t) + S(t) (lambda - 2)`` per cut tensor, exactly the cost beyond the base of the module
docstring of :mod:`.multicut_bound` (c(t) >= S(t): the coefficients are not negative), plus
the forced streaming. So the optimum over these constraints, and CP-SAT's proven objective
bound on it whenever it stops (integer prices: the bound is exact), is at most what any
plan pays beyond the base.

Lazy constraints, at an optimal 0/1 point:
- *pieces*: the ops joined by unseparated producer-reader pairs (under LBDF by any
  unseparated pin pairs: inclusion is enough there); a piece P whose hull cannot fit
  (``buffer_lower_bound(hull(P)) >= beta``; P is weakly connected, so every group holding it
  grows from its hull one neighbour at a time and never fits) cannot lie in one group:
  ``OR d`` over the pairs that joined P (a spanning tree of it), violated by the point. With
  them, the overflow trees of :mod:`.multicut_bound` this point leaves unseparated;
- *pairs*: a must-separate pair (u, v) joined by unseparated pin pairs (any kind): ``OR d``
  over those pairs along a path from u to v.
Repeat until neither fires (the point is then the optimum of the relaxation: groups need
only fit, not be convex or acyclic) or the deadline.

Two stages, measured faster than the full model alone: first every cut tensor at c(t) (no
n, no triangles; rounds of 0.05-0.3 s on the 200-op wide nets), then the full model over
every constraint found so far, with ``objective >= the first bound`` (valid: a plan's full
price is at least its first-stage price) and CP-SAT's core-based search (the default
search spent 58 s on one round of w8-200 LBDF 128 KB without raising the bound; core-based
raised it by 11 % within 60 s). The bound is the larger of the two.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .problem import Problem
from .progress import Deadline

GRACE_S = 0.5  # a CP-SAT solve started after the deadline gets this long
TRIANGLE_PINS = 24  # every transitivity triangle among a tensor's pins up to this many
STAGE1_SHARE = 0.5  # of the integer multicut's time, for its first stage


@dataclass(frozen=True)
class IntegerCut:
    """``bound``: a lower bound on the cost beyond the base of every plan (bytes);
    ``optimal``: the last 0/1 point was optimal and no lazy constraint fired; ``rounds``;
    ``added``: lazy constraints added; ``first``: the first stage's bound (every cut
    tensor at c(t))."""

    bound: int
    optimal: bool
    rounds: int
    added: int
    first: int = 0


def _pair(v: int, w: int) -> tuple[int, int]:
    return (v, w) if v < w else (w, v)


class _Model:
    """The CP-SAT model of the module docstring, grown by lazy constraints."""

    def __init__(self, cuts, groups: bool, forced: list[tuple[int, int]]) -> None:
        from ortools.sat.python import cp_model

        self.cuts, self.groups = cuts, groups
        self.model = model = cp_model.CpModel()
        self.d: dict[tuple[int, int], object] = {}
        tensors = len(cuts.tensors)
        self.y = [model.NewBoolVar("") if len(pins) > 2 else None for pins in cuts.pins]
        self.s = {v: model.NewBoolVar("") for v in range(len(cuts.price) - tensors)}
        terms = []
        for i, pins in enumerate(cuts.pins):
            price, size = cuts.price[i], cuts.size[i]
            if len(pins) == 2:  # y = n = d: one variable
                self.y[i] = self.var(*pins)
                terms.append((price, self.y[i]))
                continue
            if not groups:  # stage 1: c(t) [lambda >= 2] only
                for j in range(1, len(pins)):
                    for a in range(j):
                        model.AddImplication(self.var(pins[a], pins[j]), self.y[i])
                terms.append((price, self.y[i]))
                continue
            for j in range(1, len(pins)):
                earlier = [self.var(pins[a], pins[j]) for a in range(j)]
                for d in earlier:
                    model.AddImplication(d, self.y[i])
                n = model.NewBoolVar("")
                model.AddBoolOr([n] + [d.Not() for d in earlier])
                terms.append((size, n))
            terms.append((price - size, self.y[i]))
            for a, b, c in _triangles(pins):
                model.AddBoolOr([self.var(a, b).Not(), self.var(a, c), self.var(c, b)])
        for v, s in self.s.items():
            terms.append((cuts.price[tensors + v], s))
        for v, w in forced:
            model.AddBoolOr([self.var(v, w)])
        self.objective = sum(p * v for p, v in terms if p)
        model.Minimize(self.objective)

    def var(self, v: int, w: int):
        key = _pair(v, w)
        found = self.d.get(key)
        if found is None:
            found = self.d[key] = self.model.NewBoolVar("")
        return found

    def add(self, elements: tuple[int, ...], pairs: tuple[tuple[int, int], ...]) -> None:
        """``OR d`` over ``pairs``, or an op element of ``elements``."""
        tensors = len(self.cuts.tensors)
        literals = [self.var(v, w) for v, w in pairs]
        literals += [self.s[e - tensors] for e in elements if e >= tensors]
        self.model.AddBoolOr(literals)


def _triangles(pins: tuple[int, ...]):
    """(a, b, c): ``d_ab <= d_ac + d_cb`` among one tensor's pins: every triple up to
    ``TRIANGLE_PINS`` pins, else those through its first pin (measured at 60 s, LBDF
    128 KB, with the core-based search: every triple over 8-17 pins gave 1,618,176 B on
    w8-200 and 1,160,320 B on w16-200, only those through the producer 1,517,824 B and
    1,135,232 B)."""
    k = len(pins)
    for a in range(k):
        for b in range(a + 1, k):
            for c in range(k):
                if c != a and c != b and (k <= TRIANGLE_PINS or 0 in (a, b, c)):
                    yield pins[a], pins[b], pins[c]


def integer_multicut(problem: Problem, cuts, constraints, deadline: Deadline | None,
                     separate: list[tuple[int, int]] | None = None) -> IntegerCut:
    """The bound of the module docstring over ``constraints`` ((elements, pin pairs) of
    :mod:`.multicut_bound`), the must-separate pairs ``separate``, the pairs
    :func:`forced_pairs` and the lazy ones. Two stages: first with every cut tensor priced
    c(t) (fast: measured 0.2 s a round on w12-200 where the full model takes over 2 s), for
    ``STAGE1_SHARE`` of the time; then the full model over every constraint found so far."""
    constraints = list(constraints)
    forced = forced_pairs(problem, cuts)
    first = _Stage(problem, cuts, False, forced, constraints, separate or [])
    cut = first.run(_share(deadline, STAGE1_SHARE))
    if deadline is not None and deadline.expired():
        return IntegerCut(cut.bound, False, cut.rounds, cut.added, cut.bound)
    second = _Stage(problem, cuts, True, forced, constraints + first.lazy, separate or [])
    # valid: every plan's full price is at least its first-stage price, at least cut.bound
    if cut.bound > 0:
        second.built.model.Add(second.built.objective >= cut.bound)
    if first.point:
        for key, value in first.point.items():
            second.built.model.AddHint(second.built.var(*key), value)
    full = second.run(deadline)
    return IntegerCut(max(cut.bound, full.bound), full.optimal, cut.rounds + full.rounds,
                      cut.added + full.added, cut.bound)


def _solve_stoppable(solver, model, deadline: Deadline | None) -> int:
    """``solver.Solve(model)``, stopped early when the deadline's stop signal is set (the
    hybrid runs this bound beside its cut loop and stops it when the loop ends): CP-SAT
    then returns the best bound it has, which is valid."""
    import threading

    stop = None if deadline is None else deadline.limits.stop
    if stop is None:
        return solver.Solve(model)
    if stop.is_set():
        solver.parameters.max_time_in_seconds = 0.0
        return solver.Solve(model)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if stop.is_set():
                solver.stop_search()
                return

    watcher = threading.Thread(target=watch, name="multicut-stop", daemon=True)
    watcher.start()
    try:
        return solver.Solve(model)
    finally:
        done.set()
        watcher.join()


def _share(deadline: Deadline | None, share: float) -> Deadline | None:
    from .multicut_bound import _share as share_of

    return share_of(deadline, share)


def forced_pairs(problem: Problem, cuts) -> list[tuple[int, int]]:
    """Pin pairs {a, b} that no group holds: ``buffer_lower_bound(hull({a, b})) >= beta``,
    for a producer and its reader (a weakly connected pair: the growth argument), and under
    LBDF for any two pins (F_beta never drops when an op joins, connected or not, and a
    group holding both holds their hull)."""
    model, beta = problem.model, problem.buffer_bytes
    any_pair = model.name == "lbdf"
    found = set()
    for i, pins in enumerate(cuts.pins):
        for a in range(len(pins)):
            for b in range(a + 1, len(pins)):
                if not any_pair and not (cuts.produced[i] and a == 0):
                    continue
                key = _pair(pins[a], pins[b])
                if key not in found and model.buffer_lower_bound(
                        problem.hull(1 << pins[a] | 1 << pins[b])) >= beta:
                    found.add(key)
    return sorted(found)


class _Stage:
    """One model and its lazy loop."""

    def __init__(self, problem: Problem, cuts, groups: bool, forced, constraints,
                 separate) -> None:
        self.problem, self.cuts, self.separate = problem, cuts, separate
        self.built = _Model(cuts, groups, forced)
        for elements, pairs in constraints:
            self.built.add(elements, pairs)
        self.lazy: list = []
        self.point: dict[tuple[int, int], int] = {}  # the last optimal point's d values

    def run(self, deadline: Deadline | None) -> IntegerCut:
        from ortools.sat.python import cp_model

        from .multicut_bound import _overflow_trees, _stream_trees

        problem, cuts, built = self.problem, self.cuts, self.built
        tensors = len(cuts.tensors)
        bound, rounds = 0, 0
        while True:
            rounds += 1
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 1
            solver.parameters.random_seed = 0
            # the full model: core-based search raises the bound fastest (measured on
            # w8-200 LBDF 128 KB, 60 s: 1,618,176 B against 1,455,104 B by the default)
            solver.parameters.optimize_with_core = built.groups
            if deadline is not None and deadline.end is not None:
                left = deadline.remaining() or 0.0
                solver.parameters.max_time_in_seconds = max(GRACE_S, left)
            status = _solve_stoppable(solver, built.model, deadline)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return IntegerCut(bound, False, rounds, len(self.lazy))
            # integer prices: CP-SAT's bound is a whole number held in a float
            bound = max(bound, math.floor(solver.BestObjectiveBound() + 1e-6))
            if status != cp_model.OPTIMAL:
                return IntegerCut(bound, False, rounds, len(self.lazy))
            self.point = {key: solver.Value(var) for key, var in built.d.items()}
            apart = {key: float(value) for key, value in self.point.items()}
            streams = [0.0] * tensors + [float(solver.Value(s)) for s in built.s.values()]
            lazy = _overflowing_pieces(problem, cuts, apart)
            lazy += _joined_pairs(apart, self.separate)
            if lazy:  # more per round: the overflow trees of length 0 under this point
                lazy += _overflow_trees(problem, cuts, streams, deadline, apart)
            if len(cuts.price) > tensors:  # BRR: streaming forced and not paid
                lazy += _stream_trees(problem, cuts, streams, deadline, apart)
            if not lazy:
                return IntegerCut(bound, True, rounds, len(self.lazy))
            for elements, pairs in lazy:
                built.add(elements, pairs)
            self.lazy += lazy
            if deadline is not None and deadline.expired():
                return IntegerCut(bound, False, rounds, len(self.lazy))


def _overflowing_pieces(problem: Problem, cuts,
                        apart: dict[tuple[int, int], float]) -> list[tuple[tuple, tuple]]:
    """For each piece (ops joined by unseparated producer-reader pairs) whose hull cannot
    fit, the pairs that joined it (a spanning tree)."""
    parent = list(range(problem.num_ops))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    joined: list[tuple[int, int]] = []
    any_pair = problem.model.name == "lbdf"
    for (v, w), value in apart.items():
        if not value and find(v) != find(w) and (any_pair or _producer_pair(cuts, v, w)):
            parent[find(w)] = find(v)
            joined.append((v, w))
    pieces: dict[int, int] = {}
    for pins in cuts.pins:
        for v in pins:
            pieces[find(v)] = pieces.get(find(v), 0) | 1 << v
    tree: dict[int, list[tuple[int, int]]] = {}
    for v, w in joined:
        tree.setdefault(find(v), []).append((v, w))
    model, beta = problem.model, problem.buffer_bytes
    found = []
    for root, piece in pieces.items():
        if piece.bit_count() < 2 or model.buffer_lower_bound(problem.hull(piece)) < beta:
            continue
        found.append(((), tuple(tree[root])))
    return found


def _producer_pair(cuts, v: int, w: int) -> bool:
    """v and w are a producer and a reader of one tensor."""
    return any(cuts.produced[i] and cuts.pins[i][0] in (v, w) and w in cuts.pins[i]
               and v in cuts.pins[i] for i in cuts.of_op[v])


def _joined_pairs(apart: dict[tuple[int, int], float],
                  separate: list[tuple[int, int]]) -> list[tuple[tuple, tuple]]:
    """For each must-separate pair (u, v) joined by unseparated pin pairs, the pairs along
    a shortest such path (breadth first)."""
    near: dict[int, list[int]] = {}
    for (v, w), value in apart.items():
        if not value:
            near.setdefault(v, []).append(w)
            near.setdefault(w, []).append(v)
    found = []
    by_source: dict[int, set[int]] = {}
    for u, v in separate:
        if u in near and v in near:
            by_source.setdefault(u, set()).add(v)
    for u, targets in by_source.items():
        via = {u: u}
        queue = deque([u])
        while queue:
            a = queue.popleft()
            for b in near[a]:
                if b not in via:
                    via[b] = a
                    queue.append(b)
        for v in targets:
            if v in via:
                path, w = [], v
                while w != u:
                    path.append(_pair(via[w], w))
                    w = via[w]
                found.append(((), tuple(path)))
    return found
