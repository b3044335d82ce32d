"""The integer multicut behind :mod:`.multicut_bound`, solved by CP-SAT with lazy overflow
constraints: a stronger bound than the LP's path packing where that LP is fractional.

Every plan's cut tensors C (module docstring of :mod:`.multicut_bound`) satisfy each
constraint ``y(T) >= 1`` collected there, and form a 0/1 point. So the least price of a 0/1
point satisfying any subset of those constraints is a lower bound on ``c(C)``, and so is
CP-SAT's proven objective bound on it, whenever it stops (prices are integers: the bound is
exact). Lazy constraints: at an optimal 0/1 point, the ops joined by uncut producer-reader
edges form pieces; a piece P whose hull cannot fit (``buffer_lower_bound(hull(P)) >=
beta``; P is weakly connected, so every group holding it grows from its hull one neighbour
at a time and never fits) cannot lie in one group, so some tensor joining P is cut in every
plan: ``y(T) >= 1`` for T = the uncut tensors with two or more pins in P (they join P),
valid, and violated by the point. With them, the overflow trees of
:mod:`.multicut_bound` that this point leaves uncut (many per piece). Repeat until every piece fits (then the point is the optimum of the relaxation:
groups need only fit, not be convex or acyclic) or the deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .problem import Problem
from .progress import Deadline

GRACE_S = 0.5  # a CP-SAT solve started after the deadline gets this long


@dataclass(frozen=True)
class IntegerCut:
    """``bound``: a lower bound on the cut price of every plan (bytes); ``optimal``: the
    last 0/1 point was optimal and every piece fitted; ``rounds``; ``added``: lazy
    constraints added."""

    bound: int
    optimal: bool
    rounds: int
    added: int


def integer_multicut(problem: Problem, cuts, constraints: list[tuple[int, ...]],
                     deadline: Deadline | None) -> IntegerCut:
    """The bound of the module docstring over ``constraints`` (tensor-index sets of
    ``cuts``, a :class:`.multicut_bound.TensorCuts`) and the lazy ones."""
    from ortools.sat.python import cp_model

    constraints = list(constraints)
    bound, rounds, added = 0, 0, 0
    while True:
        rounds += 1
        model = cp_model.CpModel()
        y = [model.NewBoolVar("") for _ in cuts.price]
        for tensors in constraints:
            model.AddBoolOr([y[i] for i in tensors])
        model.Minimize(sum(p * v for p, v in zip(cuts.price, y)))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        if deadline is not None and deadline.end is not None:
            left = deadline.remaining() or 0.0
            solver.parameters.max_time_in_seconds = max(GRACE_S, left)
        status = solver.Solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return IntegerCut(bound, False, rounds, added)
        # integer prices: CP-SAT's bound is a whole number held in a float
        bound = max(bound, math.floor(solver.BestObjectiveBound() + 1e-6))
        if status != cp_model.OPTIMAL:
            return IntegerCut(bound, False, rounds, added)
        cut = [bool(solver.Value(v)) for v in y]
        lazy = _overflowing_pieces(problem, cuts, cut)
        if lazy:  # more per round: the overflow trees of length 0 under this point
            from .multicut_bound import _overflow_trees

            lazy += _overflow_trees(problem, cuts, [float(c) for c in cut], deadline)
        if len(cuts.price) > len(cuts.tensors):  # BRR: streaming forced and not paid
            from .multicut_bound import _stream_trees

            lazy += _stream_trees(problem, cuts, [float(c) for c in cut], deadline)
        if not lazy:
            return IntegerCut(bound, True, rounds, added)
        constraints += lazy
        added += len(lazy)
        if deadline is not None and deadline.expired():
            return IntegerCut(bound, False, rounds, added)


def _overflowing_pieces(problem: Problem, cuts, cut: list[bool]) -> list[tuple[int, ...]]:
    """For each piece (ops joined by uncut producer-reader edges) whose hull cannot fit,
    the uncut tensors with two or more pins in it."""
    parent = list(range(problem.num_ops))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, pins in enumerate(cuts.pins):
        if not cut[i] and cuts.produced[i]:
            for w in pins[1:]:
                parent[find(w)] = find(pins[0])
    pieces: dict[int, int] = {}
    for i, pins in enumerate(cuts.pins):
        for v in pins:
            pieces[find(v)] = pieces.get(find(v), 0) | 1 << v
    model, beta = problem.model, problem.buffer_bytes
    found = []
    for piece in pieces.values():
        if piece.bit_count() < 2 or model.buffer_lower_bound(problem.hull(piece)) < beta:
            continue
        # the uncut tensors with two or more pins in the piece: they join it, none is cut
        inside = tuple(i for i, pins in enumerate(cuts.pins)
                       if not cut[i] and sum(piece >> v & 1 for v in pins) >= 2)
        found.append(inside)
    return found
