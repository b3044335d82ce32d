"""Exact method ``cpsat-partition``: the set partition over candidate groups in CP-SAT.

For wide graphs whose ideals are too many to walk. The model (built by
:func:`.cpsat_partition_model.build_cpsat_partition`, see :mod:`.partition_model`): one
Boolean per candidate, each op covered once, 2-cycle cliques up front, longer cycles cut
lazily (solve, check, forbid the pairs of each cycle, solve again with the best acyclic plan
as a complete hint). Integer bytes are the coefficients. Every solution the solver reports
is checked; acyclic ones make the anytime curve.

:func:`solve_cpsat_partition` is the same solve with the hooks of the hybrid: a hint plan,
``separate`` pairs, ``extra`` constraints, and typed statistics (:class:`PartitionStats`).
Restrictions the caller does not mark ``safe`` may cut off the optimum, so a result found
under them is never OPTIMAL for the user's problem unless the whole-problem bound meets it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fuseplan.models.plan import Status

from ..candidates import CandidateSet, chain_plan, enumerate_candidates
from ..problem import Limits, Problem
from ..progress import Deadline, StopWatcher
from ..result import SolveResult
from .cpsat_partition_model import Extra, PartitionModel, model_of, partition_columns, set_hint
from .partition_model import cycle_pairs, is_exact_cover
from .partition_result import PartitionAnswer, partition_details, partition_result

MAX_ROUNDS = 200
HINT_FEASIBLE = "hint is complete and is feasible"  # CP-SAT's log line on a good hint


@dataclass(frozen=True)
class PartitionStats:
    """What one :func:`solve_cpsat_partition` did.

    ``restricted_status`` is the status for the problem as restricted by ``separate`` and
    ``extra`` (the result's own status is for the user's problem). ``start_bytes`` is the
    plan hinted in the first round: the hint given, else the best plan of consecutive runs.
    ``hint_feasible`` is CP-SAT's verdict on that complete hint (from its log, kept in
    ``hint_log``; None when CP-SAT did not run); ``solution_info`` names the CP-SAT worker
    of the last round's solution ('complete_hint' when the hint itself was kept)."""

    candidates: int
    candidates_complete: bool
    columns: int
    separated_candidates: int
    hint_groups: int
    hint_columns_added: int
    hint_groups_dropped: int
    start_bytes: int | None
    hint_feasible: bool | None
    hint_log: tuple[str, ...]
    solution_info: str
    cliques: int
    rounds: int
    cycle_cuts: int
    restricted: bool
    safe: bool
    restricted_status: Status


@dataclass(frozen=True)
class PartitionRun:
    result: SolveResult
    stats: PartitionStats


def solve(
    problem: Problem,
    limits: Limits,
    *,
    deadline: Deadline | None = None,
    candidates: CandidateSet | None = None,
    why: str = "asked for",
) -> SolveResult:
    return solve_cpsat_partition(
        problem, limits, deadline=deadline, candidates=candidates, why=why
    ).result


def solve_cpsat_partition(
    problem: Problem,
    limits: Limits,
    *,
    candidates: CandidateSet | None = None,
    hint: Sequence[int] | None = None,
    separate: Iterable[tuple[int, int]] = (),
    extra: Extra | None = None,
    safe: bool = False,
    deadline: Deadline | None = None,
    why: str = "asked for",
) -> PartitionRun:
    """Solves ``problem`` (the user's) over ``candidates`` (enumerated when None; possibly
    incomplete) with the hooks of :func:`.cpsat_partition_model.build_cpsat_partition`.

    ``safe=True`` says that ``separate`` and ``extra`` cut off no optimal plan, so proofs
    under them count for ``problem``. Otherwise the result is at best FEASIBLE with the
    whole-problem bound (OPTIMAL only if that bound meets the plan), and an infeasible
    restriction is UNKNOWN for ``problem`` (``stats.restricted_status`` says INFEASIBLE).
    Every plan returned satisfies the restrictions.
    """
    deadline = deadline or Deadline(limits)
    separate = list(separate)
    restricted_problem = problem.with_separate(separate)
    cands = candidates
    if cands is None:
        cands = enumerate_candidates(restricted_problem, deadline, workers=limits.workers)
    data = partition_columns(problem, cands, hint=hint, separate=separate)
    restricted = bool(data.problem.separate) or extra is not None
    columns = data.columns

    start_cost, start = chain_plan(data.problem, columns)
    if data.hint and not cycle_pairs(data.problem, columns, list(data.hint)):
        hint_cost = sum(columns.costs[g] for g in data.hint)
        if start_cost is None or hint_cost <= start_cost:
            start_cost, start = hint_cost, list(data.hint)
    # a plan that may break ``extra`` is only a hint, never an answer
    best: list = [start_cost, start] if extra is None else [None, []]
    if best[0] is not None:
        deadline.report("cpsat-partition", best[0])

    rounds = _Rounds()
    if not deadline.expired():
        built = model_of(data, extra=extra, deadline=deadline)
        if built is not None:  # else the deadline struck while building: the start stands
            if start_cost is not None:
                set_hint(built, start)
            rounds.run(built, limits, deadline, best)

    exact_scope = cands.complete and (safe or not restricted)
    answer = PartitionAnswer(cost=best[0], groups=tuple(columns.masks[g] for g in best[1]),
                             solver_bound=rounds.bound, proven=rounds.proven,
                             infeasible=rounds.infeasible)
    stats = PartitionStats(
        candidates=len(cands), candidates_complete=cands.complete, columns=len(columns),
        separated_candidates=data.separated_candidates, hint_groups=len(hint or ()),
        hint_columns_added=data.hint_columns_added,
        hint_groups_dropped=data.hint_groups_dropped, start_bytes=start_cost,
        hint_feasible=rounds.hint_feasible if start_cost is not None else None,
        hint_log=tuple(rounds.hint_log), solution_info=rounds.solution_info,
        cliques=rounds.cliques, rounds=rounds.count, cycle_cuts=rounds.cuts,
        restricted=restricted, safe=safe,
        restricted_status=_restricted_status(answer, cands.complete),
    )
    details = partition_details(why, cands, cliques=rounds.cliques, rounds=rounds.count,
                                cuts=rounds.cuts, hint_cost=start_cost)
    if restricted or hint:
        details.update(restricted_status=stats.restricted_status, safe=safe,
                       separated_candidates=data.separated_candidates,
                       hint_columns_added=data.hint_columns_added,
                       hint_feasible=stats.hint_feasible)
    result = partition_result(problem, limits, deadline, answer, method="cpsat-partition",
                              exact_scope=exact_scope, details=details)
    return PartitionRun(result=result, stats=stats)


def _restricted_status(answer: PartitionAnswer, complete: bool) -> Status:
    if answer.cost is None:
        return "INFEASIBLE" if answer.infeasible and complete else "UNKNOWN"
    return "OPTIMAL" if answer.proven and complete else "FEASIBLE"


def _set_parameters(solver, limits: Limits, deadline: Deadline, log: list[str]) -> None:
    solver.parameters.num_workers = limits.workers
    solver.parameters.random_seed = limits.seed
    # measured: presolve (probing, max-clique) on these set partitions costs more than the
    # search (GoogLeNet 128 KB: not done in 30 s with it, proven in 17 s without)
    solver.parameters.cp_model_presolve = False
    remaining = deadline.remaining()
    if remaining is not None:
        solver.parameters.max_time_in_seconds = max(0.01, remaining)
    if limits.gap is not None:
        solver.parameters.relative_gap_limit = limits.gap
    # the log, to a callback only, tells whether the hint was complete and feasible
    solver.parameters.log_search_progress = True
    solver.parameters.log_to_stdout = False
    solver.log_callback = lambda text: log.extend(_hint_lines(text))


def _hint_lines(text: str) -> list[str]:
    """CP-SAT's log lines about the solution hint."""
    return [line for line in text.splitlines()
            if "solution hint" in line or "complete_hint" in line]


class _Recorder:
    """Solution callback: keeps the best acyclic plan and reports it (a factory, so the
    OR-Tools import stays inside the solve call)."""

    def __new__(cls, problem, cands, x, best, deadline):
        from ortools.sat.python import cp_model

        class Recorder(cp_model.CpSolverSolutionCallback):
            def __init__(self) -> None:
                super().__init__()

            def on_solution_callback(self) -> None:
                chosen = [g for g in range(len(cands)) if self.boolean_value(x[g])]
                if cycle_pairs(problem, cands, chosen):
                    return
                self.offer(chosen, int(round(self.objective_value)),
                           int(round(self.best_objective_bound)))

            def offer(self, chosen: list[int], cost: int, bound: int | None = None) -> None:
                if not is_exact_cover(problem, cands, chosen):
                    return
                if best[0] is None or cost < best[0]:
                    best[0], best[1] = cost, chosen
                deadline.report("cpsat-partition", best[0], bound)

        return Recorder()


class _Rounds:
    """Solve, cut the cycles of the answer, solve again; ``best`` ([cost, columns]) is
    updated through the solution callback. Afterwards: the solver's bound over the columns,
    whether it proved the best plan optimal or the model infeasible, and the counts."""

    def __init__(self) -> None:
        self.bound: int | None = None
        self.proven = self.infeasible = False
        self.count = self.cuts = self.cliques = 0
        self.hint_log: list[str] = []
        self.hint_feasible = False
        self.solution_info = ""

    def run(self, built: PartitionModel, limits: Limits, deadline: Deadline, best: list) -> None:
        from ortools.sat.python import cp_model

        problem, cands, x, model = built.problem, built.columns, built.x, built.model
        self.cliques = len(built.data.cliques)
        while self.count < MAX_ROUNDS and not deadline.expired():
            self.count += 1
            if best[0] is not None:
                set_hint(built, best[1])
            solver = cp_model.CpSolver()
            log: list[str] = []
            _set_parameters(solver, limits, deadline, log)
            callback = _Recorder(problem, cands, x, best, deadline)
            with StopWatcher(deadline, solver.stop_search):
                status = solver.solve(model, callback)
            if self.count == 1:
                self.hint_log = log
                self.hint_feasible = any(HINT_FEASIBLE in line for line in log)
            self.solution_info = solver.solution_info()
            if status == cp_model.INFEASIBLE:
                self.infeasible = best[0] is None
                break
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                if status == cp_model.UNKNOWN and math.isfinite(solver.best_objective_bound):
                    self._raise_bound(solver.best_objective_bound)
                break
            self._raise_bound(solver.best_objective_bound)
            chosen = [g for g in range(len(cands)) if solver.boolean_value(x[g])]
            pairs = cycle_pairs(problem, cands, chosen)
            if not pairs:
                callback.offer(chosen, int(round(solver.objective_value)))
                self.proven = status == cp_model.OPTIMAL and limits.gap is None
                break
            for a, b in pairs:
                model.add_bool_or([x[a].Not(), x[b].Not()])  # these two groups form a cycle
            self.cuts += len(pairs)

    def _raise_bound(self, value: float) -> None:
        bound = int(math.ceil(value - 1e-6))
        self.bound = bound if self.bound is None else max(self.bound, bound)
