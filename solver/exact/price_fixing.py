"""Price and branch over a COMPLETE candidate list: the LP bound, reduced-cost fixing, then
CP-SAT's set partition over the columns that survive (issue 14; the hybrid runs it when its
probe lists every candidate group of a graph with too many ideals for ``auto``'s path).

1. The LP relaxation of the set partition, by column generation over the whole list
   (:func:`..lp_bound.lp_with_duals`): duals ``pi`` and the lower bound ``LB``, valid for
   every plan (rounded safely down there).
2. Reduced-cost fixing. With ``rc_S = c_S - pi(S)`` and, per op, ``m_v`` = the least
   ``rc_S / |S|`` over the columns holding v, any plan x (each op covered once) that uses
   column T costs

       cost(x) = pi(V) + sum_S rc_S x_S >= pi(V) + rc_T + sum_{v not in T} m_v =: f_T

   (every other chosen S covers its ops at ``rc_S >= sum_{v in S} m_v``). This holds for ANY
   duals: at the LP optimum every ``m_v`` is 0 and ``f_T = LB + rc_T``, the classic rule.
   So a plan that costs at most the incumbent's ``UB`` uses only columns with
   ``f_T <= UB``: the others are fixed to 0 (a float margin keeps a few more, never fewer).
   Acyclicity only removes plans, so this holds for the plans we accept.
3. CP-SAT (:func:`.cpsat_partition.solve_cpsat_partition`: the partition model with its
   2-cycle cliques and lazy cycle cuts) over the kept columns, hinted with the incumbent
   (its groups are among the kept columns or added as hint columns, so the model holds a
   plan of cost ``UB``). Why its answer holds for the whole problem: let ``UB'`` <= ``UB``
   be the cost it returns. Every column left out has ``f_T > UB >= UB'``, so no plan
   through it costs ``UB'`` or less; every plan that does uses kept columns only, and the
   model saw it. Hence a proof over the kept columns is a proof for the problem, and the
   model's lower bound, at most ``UB``, bounds every plan too (a plan outside costs more
   than ``UB``). The kept set is therefore passed as "complete": complete for every plan
   that could improve on the incumbent. The same argument with a threshold ``t`` in place
   of ``UB`` lets a first round keep far fewer columns (``FIRST_GAP`` above ``LB``; on
   w8-200 BRR 128 KB 3,055 instead of 305,060): a plan of cost ``<= t`` proven optimal over
   them is optimal; if their optimum is above ``t``, every plan costs more than ``t`` and the
   second round keeps the columns up to the best plan (:func:`price_and_fix`).

Input: the problem, a complete :class:`CandidateSet` of it, the incumbent plan (group
masks; validated here: a wrong ``UB`` would fix out the optimum) and a deadline. Output
(:class:`PriceFixing`): the LP bound, the columns kept, the best plan, its bound and status.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fuseplan.models.plan import Status

from ..candidates import CandidateSet
from ..lp_bound import LpDuals, lp_with_duals
from ..lp_bound_columns import per_op_minimum
from ..problem import Limits, Problem
from ..progress import Deadline
from .cpsat_partition import solve_cpsat_partition
from .partition_model import cycle_pairs

MARGIN = 1e-6  # relative: a column is kept when f_T <= UB (1 + MARGIN) + 1 (float safety)
FIRST_GAP = 0.005  # the first threshold: this far above the LP bound (relative)
MAX_KEPT = 300_000  # more kept columns: no CP-SAT (the model would not be solved in time)


class InvalidIncumbent(ValueError):
    """The incumbent is not a valid plan of the problem (fixing would be unsound)."""


@dataclass(frozen=True)
class PriceFixing:
    """What :func:`price_and_fix` found.

    ``lp_bound``: the LP bound (bytes, valid for every plan); ``lp_proven``: column
    generation converged (the LP optimum); ``candidates``: the list's size; ``kept``: the
    columns with ``f_T <= UB`` (``None`` when fixing was not done: the LP relaxed groups, see
    ``lp_bound.MAX_ENTRIES``); ``plan``/``cost``: the best plan (at worst the incumbent) and
    its fusible total; ``bound``: the best whole-problem bound (LP, or CP-SAT's over the
    kept columns); ``status``: OPTIMAL when proven for the whole problem; ``cpsat``: CP-SAT
    ran; ``why``: how it ended, in words; the seconds of each step."""

    lp_bound: int
    lp_proven: bool
    candidates: int
    kept: int | None
    upper: int
    plan: tuple[int, ...]
    cost: int
    bound: int
    status: Status
    cpsat: bool
    why: str
    lp_seconds: float
    fixing_seconds: float
    cpsat_seconds: float


def incumbent_cost(problem: Problem, plan: Sequence[int]) -> int:
    """The fusible total of ``plan`` (group masks), after checking that it is a valid plan:
    disjoint groups covering every op, each a valid group or an unfusable singleton, an
    acyclic graph of groups. Raises :class:`InvalidIncumbent` otherwise."""
    from ..search.splitting import ValidGroupPrices

    prices = ValidGroupPrices(problem)
    covered = total = 0
    for mask in plan:
        if mask <= 0 or mask & covered:
            raise InvalidIncumbent("the incumbent's groups overlap or are empty")
        covered |= mask
        cost = prices.price(mask)
        if cost is None:
            raise InvalidIncumbent(f"the incumbent's group {mask:#x} is not a valid group")
        total += cost
    if covered != problem.all_ops:
        raise InvalidIncumbent("the incumbent does not cover every op")
    groups = CandidateSet(masks=tuple(plan), costs=(0,) * len(plan), before=(0,) * len(plan),
                          after=(0,) * len(plan), complete=True, evaluated=0, seconds=0.0)
    if cycle_pairs(problem, groups, list(range(len(plan)))):
        raise InvalidIncumbent("the incumbent's graph of groups has a cycle")
    return total


def fixing_values(lp: LpDuals) -> np.ndarray:
    """``f_T`` (module docstring, step 2) of every column of ``lp.inc``, in bytes: a lower
    bound on the cost of every plan that uses column T, for any duals."""
    inc = lp.inc
    rc = inc.costs - inc.by_op @ lp.duals
    shares = per_op_minimum(inc, rc / inc.sizes)
    return float(lp.duals.sum() + shares.sum()) + rc - inc.by_op @ shares


def kept_columns(problem: Problem, cands: CandidateSet, values: np.ndarray,
                 upper: int) -> np.ndarray:
    """Indices of the columns a plan of cost at most ``upper`` may use (``values``:
    :func:`fixing_values`; within the margin), plus every unfusable singleton (in every
    plan anyway)."""
    keep = values <= upper * (1 + MARGIN) + 1
    for i, mask in enumerate(cands.masks):  # singletons come first
        if mask.bit_count() > 1:
            break
        if mask & problem.unfusable:
            keep[i] = True
    return np.flatnonzero(keep)


def price_and_fix(problem: Problem, cands: CandidateSet, incumbent: Sequence[int],
                  deadline: Deadline, limits: Limits | None = None) -> PriceFixing:
    """Steps 1-3 of the module docstring on ``problem``, whose candidate list ``cands`` must
    be complete, from the plan ``incumbent`` (group masks), until ``deadline``. The answer
    is never worse than the incumbent and its bound is valid for the whole problem.

    Step 3 first tries a threshold ``t`` below the incumbent (``FIRST_GAP`` above the LP
    bound): over the columns with ``f_T <= t`` a plan of cost ``c <= t`` proven optimal is
    optimal for the whole problem (a cheaper plan would use columns with ``f_T < c``, all
    kept); otherwise (its optimum is above ``t``) every plan costs more than ``t``, and the
    next round keeps the columns up to the best plan's cost, as the docstring says."""
    if not cands.complete:
        raise ValueError("price_and_fix needs the complete candidate list")
    limits = limits or deadline.limits
    upper = incumbent_cost(problem, incumbent)
    plan = tuple(incumbent)

    started = time.perf_counter()
    lp = lp_with_duals(problem, deadline, cands=cands)
    lp_seconds = time.perf_counter() - started
    found = lp.bound
    said = (f"LP bound {found.value:,} B ({'LP optimum' if found.proven else found.why}, "
            f"{found.iterations} iterations, {found.columns:,} master columns, "
            f"{lp_seconds:.1f} s)")
    first_upper = upper
    steps: list[str] = []
    timing = {"fixing": 0.0, "cpsat": 0.0}

    def answer(kept: int | None, bound: int, status: Status, cpsat: bool,
               why: str) -> PriceFixing:
        why = "; ".join([said, *steps, why])
        return PriceFixing(found.value, found.proven, len(cands), kept, first_upper, plan,
                           upper, max(bound, found.value), status, cpsat, why, lp_seconds,
                           timing["fixing"], timing["cpsat"])

    if found.value >= upper:
        return answer(None, upper, "OPTIMAL", False,
                      "the LP bound meets the incumbent: it is optimal")
    if found.first_relaxed < problem.num_ops:
        return answer(None, found.value, "FEASIBLE", False,
                      "no fixing: the LP relaxed some groups (over its memory cap)")

    started = time.perf_counter()
    values = fixing_values(lp)
    timing["fixing"] += time.perf_counter() - started
    bound = found.value
    threshold = min(upper, found.value + max(1, int(FIRST_GAP * found.value)))
    kept = np.zeros(0, dtype=np.int64)
    ran = False
    while True:
        started = time.perf_counter()
        kept = kept_columns(problem, cands, values, threshold)
        timing["fixing"] += time.perf_counter() - started
        fixed = f"{len(kept):,} of {len(cands):,} columns with f_T <= {threshold:,} B"
        if len(kept) > MAX_KEPT:
            return answer(len(kept), bound, "FEASIBLE", ran,
                          f"{fixed}: over {MAX_KEPT:,}, CP-SAT not run")
        if deadline.expired():
            return answer(len(kept), bound, "FEASIBLE", ran, f"{fixed}; no time left for CP-SAT")
        started = time.perf_counter()
        run = solve_cpsat_partition(
            problem, limits, candidates=_select(cands, kept), hint=list(plan),
            deadline=deadline, why="price and branch: the columns kept by reduced-cost fixing")
        timing["cpsat"] += time.perf_counter() - started
        ran = True
        result = run.result
        cost = result.objective_bytes
        if cost is not None and cost < upper:
            upper, plan = cost, tuple(result.groups)
        proven = result.status == "OPTIMAL" and cost is not None
        rounds = f"{run.stats.rounds} CP-SAT round(s), {run.stats.cycle_cuts} cycle cut(s)"
        if proven and cost <= threshold:
            return answer(len(kept), cost, "OPTIMAL", True,
                          f"{fixed}: CP-SAT proved {cost:,} B optimal over them, so for the "
                          f"whole problem ({rounds})")
        # plans through a column left out cost more than the threshold
        outside = int(threshold) + 1
        if not proven:
            over = min(result.bound_bytes or 0, outside)
            bound = max(bound, over)
            return answer(len(kept), bound, "FEASIBLE", True,
                          f"{fixed}: CP-SAT stopped ({result.status}; {rounds}), bound "
                          f"{max(bound, found.value):,} B")
        bound = max(bound, outside)
        steps.append(f"{fixed}: optimum over them {cost:,} B, above: every plan costs more "
                     f"than {threshold:,} B ({rounds})")
        if bound >= upper:
            return answer(len(kept), upper, "OPTIMAL", True, "the bound meets the plan")
        threshold = upper


def _select(cands: CandidateSet, kept: np.ndarray) -> CandidateSet:
    """The kept columns, marked complete: complete for every plan that could improve on the
    incumbent (module docstring, step 3)."""
    index = kept.tolist()
    return dataclasses.replace(
        cands, masks=tuple(cands.masks[g] for g in index),
        costs=tuple(cands.costs[g] for g in index),
        before=tuple(cands.before[g] for g in index),
        after=tuple(cands.after[g] for g in index), complete=True)
