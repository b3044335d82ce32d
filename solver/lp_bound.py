"""A whole-problem lower bound from the LP relaxation of the set partition (issue 14, item 8).

The set partition (``solver/exact/partition_model.py``): one variable per candidate group S
(weakly connected, convex, fitting, allowed: :func:`.candidates.enumerate_candidates`), cost
``c_S`` = the group's fusible F_D as every partition solver prices it (``CandidateSet.costs``;
an unfusable op's fixed singleton costs 0), each op covered exactly once. So the objective
bounded here is the FUSIBLE total, the figure the solvers report as objective and bound.
Relaxing ``x_S in {0, 1}`` to ``x_S >= 0`` and dropping acyclicity gives an LP whose optimum
is at most every valid plan's cost.

Column generation: a restricted master LP (GLOP) over the singletons, the best plan of
consecutive runs and an artificial column per op (cost ``M``; extra columns only loosen
the relaxation, so they never make the bound invalid); its duals price ALL candidates at
once in numpy (``rc_S = c_S - pi(S)`` through a sparse incidence matrix); the most negative
columns, and the most negative column of each op, join the master; repeat until none is
negative. Then the master's optimum is the LP optimum over all candidates.

Anytime validity: after every master solve the Lagrangian bound
``L(pi) = pi(V) + sum_v min_{S holds v} rc_S/|S|`` (:func:`.lp_bound_columns.lagrangian_bound`,
derivation there) is computed over all candidates; it is valid for any ``pi``, so a run
stopped early still returns a bound, and at the LP optimum it equals it. The value returned
is the best L seen, rounded up to an integer after a relative safety margin of 1e-9 for
floating point (costs are integers). With enumeration cut short (time limit, stop, the
6 M cap), the groups it may have missed are relaxed to per-op floors
(:mod:`.lp_bound_relax`): still a valid bound, weaker, and never ``proven``; so are the
groups past ``MAX_ENTRIES`` op entries (the incidence matrix's memory).

Not watched by the deadline: building the incidence matrix of the groups kept (bounded by
what enumeration found in time and by ``MAX_ENTRIES``); a master LP solved after the
deadline gets ``MASTER_GRACE_S``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from fuseplan.models.group import mask_ops

from .candidates import CandidateSet, chain_plan, enumerate_candidates
from .lp_bound_columns import Incidence, best_per_op, incidence, lagrangian_bound, most_negative
from .lp_bound_relax import first_missing_seed, op_floors
from .problem import Problem
from .progress import Deadline

SAFETY = 1e-9  # relative margin taken off the float bound before rounding up
TOLERANCE = 1e-7  # a reduced cost below -TOLERANCE (in scaled units) is negative
MAX_ITERATIONS = 500
MASTER_GRACE_S = 0.25  # a master LP solved after the deadline gets this long (its duals
# improve the bound; pricing and the bound itself take a numpy pass each)


@dataclass(frozen=True)
class LpBound:
    """What :func:`lp_lower_bound` found.

    ``value``: a lower bound on the fusible total of every valid plan, in bytes; always
    valid (0 when nothing better is known). ``proven``: True when ``value`` is the LP
    optimum over the complete candidate set (column generation converged: no candidate of
    negative reduced cost); False when column generation was stopped early (``value`` is
    then the best Lagrangian bound, still valid) or when groups were relaxed, because the
    candidates are incomplete or hold more than ``MAX_ENTRIES`` ops in all (``value`` is
    then the bound of the relaxation of :mod:`.lp_bound_relax`: the groups of lowest op
    ``>= first_relaxed`` priced by per-op floors; ``first_relaxed`` is ``num_ops`` when
    nothing was relaxed).
    ``lp_value``: the master LP's last optimum (an upper bound on the LP optimum; equal to
    it when proven). ``why``: how it ended, in words."""

    value: int
    proven: bool
    columns: int
    iterations: int
    seconds: float
    candidates: int
    candidates_complete: bool
    first_relaxed: int
    lp_value: float | None
    enumerate_seconds: float
    lp_seconds: float
    why: str


def lp_lower_bound(problem: Problem, deadline: Deadline | None = None, *,
                   cands: CandidateSet | None = None) -> LpBound:
    """The LP bound of ``problem`` (module docstring), a valid lower bound on the fusible
    total of every plan, whenever it stops.

    ``cands``: a candidate set already enumerated (else enumerated here, in one process,
    under ``deadline``), from :func:`enumerate_candidates` on this problem (or on one with
    fewer restrictions: more candidates only lower the bound). An incomplete one must come
    from a ONE-process enumeration (``workers=1``), which grows seeds in increasing op id:
    the groups it missed are then relaxed by :mod:`.lp_bound_relax`."""
    return lp_with_duals(problem, deadline, cands=cands).bound


@dataclass(frozen=True)
class LpDuals:
    """:func:`lp_with_duals`' answer: the bound, the duals ``pi`` (bytes per op) of its best
    Lagrangian bound (the LP's optimal duals when ``bound.proven``), and the columns priced
    (``inc``: costs in bytes; row ``i`` is ``cands.masks[i]`` when nothing was relaxed)."""

    bound: LpBound
    duals: np.ndarray
    inc: Incidence


def lp_with_duals(problem: Problem, deadline: Deadline | None = None, *,
                  cands: CandidateSet | None = None) -> LpDuals:
    """:func:`lp_lower_bound` with the duals behind it (for reduced-cost fixing,
    ``solver/exact/price_fixing.py``)."""
    start = time.perf_counter()
    if cands is None:
        cands = enumerate_candidates(problem, _enumeration_deadline(deadline))
    enumerated = time.perf_counter() - start
    first = min(first_missing_seed(problem, cands), _memory_cut(cands))
    if first >= problem.num_ops:
        masks, costs = list(cands.masks), [float(c) for c in cands.costs]
    else:
        # a group found whose lowest op is f or more costs at least its ops' floors (the
        # argument of lp_bound_relax holds for it too): the floor columns dominate it
        keep = [i for i, m in enumerate(cands.masks)
                if m.bit_count() == 1 or (m & -m).bit_length() - 1 < first]
        masks, costs = [cands.masks[i] for i in keep], [float(cands.costs[i]) for i in keep]
    for v, floor in op_floors(problem, first).items():
        masks.append(1 << v)
        costs.append(float(floor))  # the floor of a missed group, shared per op
    inc = incidence(masks, costs, problem.num_ops)
    initial = [i for i, m in enumerate(masks) if m.bit_count() == 1]
    if first >= problem.num_ops:  # masks are cands.masks: chain_plan's indices hold
        _, chain = chain_plan(problem, cands)
        initial = sorted(set(initial) | set(chain))
    lp_start = time.perf_counter()
    found = _column_generation(inc, initial, deadline)
    proven, why = found.proven, found.why
    if first < problem.num_ops:
        proven = False
        cause = ("candidates incomplete" if not cands.complete
                 else f"over {MAX_ENTRIES:,} op entries in the LP")
        why = (f"{cause} (groups of lowest op >= {first} relaxed to per-op floors); {why}")
    now = time.perf_counter()
    bound = LpBound(found.value, proven, found.columns, found.iterations, now - start,
                    len(cands), cands.complete, first, found.lp_value, enumerated,
                    now - lp_start, why)
    return LpDuals(bound=bound, duals=found.duals * found.scale, inc=inc)


MAX_ENTRIES = 50_000_000  # ops summed over the groups in the LP: about 20 B each at peak


def _memory_cut(cands: CandidateSet) -> int:
    """The lowest op from which groups must be relaxed to keep the incidence matrix within
    ``MAX_ENTRIES`` (groups are listed singletons first, then by lowest op; relaxing every
    group of lowest op >= f is valid whether or not it was found, see lp_bound_relax).
    A large number (no cut) when all of them fit."""
    total = 0
    for mask in cands.masks:
        total += mask.bit_count()
        if total > MAX_ENTRIES and mask.bit_count() > 1:
            return (mask & -mask).bit_length() - 1
    return 1 << 62


def _expired(deadline: Deadline | None) -> bool:
    return deadline is not None and deadline.expired()


LP_SHARE = 0.25  # of the time left, kept for the LP when enumeration may not finish


def _enumeration_deadline(deadline: Deadline | None) -> Deadline | None:
    """The deadline for enumeration: ``LP_SHARE`` of the time left is kept for the LP."""
    if deadline is None or deadline.end is None:
        return deadline
    left = deadline.remaining() or 0.0
    limits = dataclasses.replace(deadline.limits, time_limit_s=None)
    early = Deadline(limits)
    early.end = time.perf_counter() + (1 - LP_SHARE) * left
    return early


@dataclass(frozen=True)
class _Generated:
    """What :func:`_column_generation` found: the bound in whole bytes, whether it is the LP
    optimum, the master's size and iterations, its last optimum (bytes), why it ended, and
    the duals of the best Lagrangian bound in scaled units (times ``scale`` = bytes)."""

    value: int
    proven: bool
    columns: int
    iterations: int
    lp_value: float | None
    why: str
    duals: np.ndarray
    scale: float


def _column_generation(inc: Incidence, initial: list[int], deadline: Deadline | None
                       ) -> _Generated:
    from ortools.linear_solver import pywraplp

    n = inc.num_ops
    scale = max(1.0, float(inc.costs.max(initial=0.0)))  # costs in units of the largest
    costs = inc.costs / scale
    big = 2.0 * float(n) + 1.0  # the artificial column's cost: more than any plan (scaled)
    artificial = np.full(n, big)

    solver = pywraplp.Solver.CreateSolver("GLOP")
    rows = [solver.Constraint(1.0, 1.0) for _ in range(n)]
    objective = solver.Objective()
    objective.SetMinimization()
    in_master: set[int] = set()

    def add(column: int) -> None:
        x = solver.NumVar(0.0, solver.infinity(), "")
        for v in mask_ops(inc.masks[column]):
            rows[v].SetCoefficient(x, 1.0)
        objective.SetCoefficient(x, float(costs[column]))
        in_master.add(column)

    for v in range(n):
        x = solver.NumVar(0.0, solver.infinity(), "")
        rows[v].SetCoefficient(x, 1.0)
        objective.SetCoefficient(x, big)
    for column in initial:
        add(column)

    scaled = Incidence(inc.by_op, inc.masks, costs, inc.sizes)
    # pi = 0: each op's cheapest share c_S/|S| (valid before any LP is solved)
    best_duals = np.zeros(n)
    best = lagrangian_bound(scaled, best_duals, artificial)
    lp_value = None
    per_round = max(100, 5 * n)

    def ended(proven: bool, iteration: int, why: str) -> _Generated:
        return _Generated(_rounded(best, scale), proven, len(in_master), iteration, lp_value,
                          why, best_duals, scale)

    for iteration in range(1, MAX_ITERATIONS + 1):
        if deadline is not None and deadline.end is not None:
            left = deadline.end - time.perf_counter()
            solver.SetTimeLimit(int(1000 * max(MASTER_GRACE_S, left)))
        status = solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            return ended(False, iteration,
                         f"master LP not solved to optimality (GLOP status {status})")
        lp_value = objective.Value() * scale
        duals = np.array([r.dual_value() for r in rows])
        bound = lagrangian_bound(scaled, duals, artificial)
        if bound > best:
            best, best_duals = bound, duals
        rc = costs - inc.by_op @ duals
        picked = set(most_negative(rc, per_round, TOLERANCE).tolist())
        picked |= set(best_per_op(scaled, rc, TOLERANCE).tolist())
        new = sorted(picked - in_master)
        if not new:
            # no candidate prices out: the master's optimum is the LP optimum
            return ended(True, iteration, "LP optimum: no candidate of negative reduced cost")
        if _expired(deadline):
            return ended(False, iteration, "deadline: the best Lagrangian bound so far")
        for column in new:
            add(column)
    return ended(False, MAX_ITERATIONS,
                 f"stopped after {MAX_ITERATIONS} iterations: the best Lagrangian bound")


def _rounded(bound: float, scale: float) -> int:
    """The scaled float bound in whole bytes, rounded up after the safety margin (costs are
    integers, so the bound on an integer objective rounds up)."""
    if bound == -math.inf or bound <= 0:
        return 0
    value = bound * scale
    return max(0, math.ceil(value - SAFETY * value))
