"""The hybrid's cut loop (logic-based Benders) over the edge model.

Each round solves the master (:mod:`.edge_model`) with the best plan so far as a complete
hint, reads its groups, and checks them:

- a reader pair marked as sharing a group but lying in two components gets a join cut;
- a group that does not fit gets an overflow cut on the explainer's small set S'
  (:mod:`.shrink`), or, when no S' exists (BRR: F_beta above its bound), a cut of that exact
  group.

A solution without violations is a valid plan. Every solution, valid or not, is made a plan
by splitting its groups that do not fit (recursive splitting) and offered as the incumbent.
The master is a relaxation, so its bound holds for the whole problem in every round; the
loop ends when the master proves a valid plan optimal (its objective then equals the plan's
cost under LBDF; under BRR the plan is priced by the model and the bound may stay below).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..problem import Limits, Problem
from ..progress import Deadline, StopWatcher
from .edge_model import EdgeModel
from .shrink import OpRanker, overflow_set

HINT_FEASIBLE = "hint is complete and is feasible"
MAX_ROUNDS = 10_000


@dataclass
class RoundStats:
    """What the loop did: rounds solved, cuts added, mean |S'|, the master's bound, whether
    it proved the incumbent optimal, CP-SAT's verdict on each round's hint."""

    rounds: int = 0
    overflow_cuts: int = 0
    exact_cuts: int = 0
    join_cuts: int = 0
    price_cuts: int = 0
    cut_sizes: list[int] = field(default_factory=list)
    bound: int | None = None
    proven: bool = False
    master_plans: int = 0  # rounds whose solution was a valid plan as it stood
    hints_accepted: int = 0
    hints_given: int = 0
    first_hint_log: tuple[str, ...] = ()
    last_status: str = ""

    @property
    def cuts_added(self) -> int:
        return self.overflow_cuts + self.exact_cuts + self.join_cuts + self.price_cuts

    @property
    def mean_cut_size(self) -> float | None:
        return sum(self.cut_sizes) / len(self.cut_sizes) if self.cut_sizes else None


Offer = Callable[[list[int], str], int]  # a valid plan, its origin -> the incumbent's cost


ROUND_START_S = 0.5  # the first rounds' time cap; doubled when a round finds nothing to cut


def run_rounds(built: EdgeModel, limits: Limits, deadline: Deadline, rank: OpRanker,
               repair: Callable[[int], tuple[int, ...]], incumbent: Callable[[], list[int]],
               offer: Offer, stats: RoundStats) -> None:
    """Solve, cut, solve again until proven, out of time or stopped (module docstring).
    ``repair(group)`` splits a group that does not fit into valid ones; ``incumbent()`` is
    the best plan so far (the hint); ``offer`` takes a new valid plan.

    A round is capped (``ROUND_START_S``, doubled whenever a round ends without a cut) and
    every solution CP-SAT reports in it is checked, not only the last: the solutions on the
    way down are the plans the master wants, and each one that breaks a rule gives cuts."""
    from ortools.sat.python import cp_model

    cap = ROUND_START_S
    while stats.rounds < MAX_ROUNDS and not deadline.expired():
        stats.rounds += 1
        hint = incumbent()
        if hint:
            built.hint_plan(hint)
            stats.hints_given += 1
        solver = cp_model.CpSolver()
        log: list[str] = []
        _parameters(solver, limits, deadline, log, cap)
        seen = _Seen(built)
        with StopWatcher(deadline, solver.stop_search):
            status = solver.solve(built.model, seen.callback())
        if hint and any(HINT_FEASIBLE in line for line in log):
            stats.hints_accepted += 1
        if stats.rounds == 1:
            stats.first_hint_log = tuple(log)
        stats.last_status = solver.status_name(status)
        if math.isfinite(solver.best_objective_bound) and status != cp_model.INFEASIBLE:
            bound = int(math.ceil(solver.best_objective_bound - 1e-6))
            stats.bound = bound if stats.bound is None else max(stats.bound, bound)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if status == cp_model.UNKNOWN and not deadline.expired():
                cap *= 2
                continue
            break
        last = built.groups_of([edge for edge, var in built.e.items()
                                if solver.boolean_value(var)])
        added = stats.cuts_added
        last_broken = 0
        for groups in seen.solutions + [last]:
            is_last = groups is last
            broken = _cut(built, groups, seen.q_values.get(id(groups)), rank, stats,
                          solver if is_last else None)
            if broken:
                offer([g for group in groups for g in repair(group)], "cp-sat, repaired")
            else:
                stats.master_plans += 1
                offer(groups, "cp-sat")
                _price(built, groups, stats)
            if is_last:
                last_broken = broken
        deadline.report("hybrid: cut loop", None, stats.bound)
        if status == cp_model.OPTIMAL and not last_broken:
            # the master's optimum is a valid plan: proven when the objective priced it
            # exactly (no price cut was missing), else the new price cuts go in next round
            objective = int(round(solver.objective_value))
            if limits.gap is None:
                stats.bound = max(stats.bound or 0, objective)
            true_cost = offer(last, "cp-sat")
            if objective >= true_cost or limits.gap is not None:
                stats.proven = limits.gap is None
                break
        if stats.cuts_added == added:
            if status == cp_model.OPTIMAL:
                break  # nothing left to add (cannot happen with a sound model)
            cap *= 2  # stopped by the cap with nothing to cut: give the next round longer


class _Seen:
    """The solutions CP-SAT reports during one round (their groups and reader-pair values)."""

    def __init__(self, built: EdgeModel) -> None:
        self.built = built
        self.solutions: list[list[int]] = []
        self.q_values: dict[int, dict[tuple[int, int], bool]] = {}

    def callback(self):
        from ortools.sat.python import cp_model

        seen = self

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                built = seen.built
                groups = built.groups_of([edge for edge, var in built.e.items()
                                          if self.boolean_value(var)])
                seen.solutions.append(groups)
                seen.q_values[id(groups)] = {pair: self.boolean_value(var)
                                             for pair, var in built.q.items()}

        return Callback()


def _cut(built: EdgeModel, groups: list[int], q_values: dict | None, rank: OpRanker,
         stats: RoundStats, solver=None) -> int:
    """Adds the cuts a master solution violates (each overflow set once); returns how many
    rules the solution breaks. ``q_values`` (or ``solver``) give its reader-pair values."""
    problem = built.problem
    component = {}
    for mask in groups:
        v = mask
        while v:
            low = v & -v
            component[low.bit_length() - 1] = mask
            v ^= low
    broken = 0
    for (a, b), var in built.q.items():
        value = solver.boolean_value(var) if solver is not None else (q_values or {}).get((a, b))
        if value and component[a] != component[b]:
            broken += 1
            if built.note_cut(("join", a, b, component[a])):
                built.add_join_cut((a, b), component[a])
                stats.join_cuts += 1
    for mask in groups:
        if mask.bit_count() < 2 or _fits(problem, mask):
            continue
        broken += 1
        ops = overflow_set(problem, mask, rank)
        if ops is None:
            if built.note_cut(("exact", mask)):
                built.add_exact_cut(mask)
                stats.exact_cuts += 1
        elif built.note_cut(("overflow", ops)):
            built.add_overflow_cut(ops)
            stats.overflow_cuts += 1
            stats.cut_sizes.append(ops.bit_count())
    return broken


def _price(built: EdgeModel, groups: list[int], stats: RoundStats) -> int:
    """Adds a price cut for each group the objective charges less than its F_D (BRR) and
    has no price cut yet; returns how many were added."""
    problem = built.problem
    added = 0
    for mask in groups:
        if mask & problem.unfusable:
            continue
        extra = problem.model.dram_bytes(mask, problem.buffer_bytes) - built.group_floor(mask)
        if extra > 0 and built.note_cut(("price", mask)):
            built.add_price_cut(mask, extra)
            stats.price_cuts += 1
            added += 1
    return added


def _fits(problem: Problem, mask: int) -> bool:
    return problem.model.dram_bytes(mask, problem.buffer_bytes) is not None


def _parameters(solver, limits: Limits, deadline: Deadline, log: list[str], cap: float) -> None:
    solver.parameters.num_workers = limits.workers
    solver.parameters.random_seed = limits.seed
    remaining = deadline.remaining()
    solver.parameters.max_time_in_seconds = max(0.01, cap if remaining is None
                                                else min(cap, remaining))
    if limits.gap is not None:
        solver.parameters.relative_gap_limit = limits.gap
    solver.parameters.log_search_progress = True
    solver.parameters.log_to_stdout = False
    solver.log_callback = lambda text: log.extend(
        line for line in text.splitlines() if "solution hint" in line)
