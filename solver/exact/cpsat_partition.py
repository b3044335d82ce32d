"""Exact method ``cpsat-partition``: the set partition over candidate groups in CP-SAT.

For wide graphs whose ideals are too many to walk. The model (see :mod:`.partition_model`):
one Boolean per candidate, each op covered once, 2-cycle cliques up front, longer cycles cut
lazily (solve, check, forbid the pairs of each cycle, solve again with the best acyclic plan
as a complete hint). Integer bytes are the coefficients. Every solution the solver reports
is checked; acyclic ones make the anytime curve.
"""

from __future__ import annotations

import math

from ..candidates import CandidateSet, chain_plan, enumerate_candidates
from ..problem import Limits, Problem
from ..progress import Deadline, StopWatcher
from ..result import SolveResult, finish
from .partition_model import build_partition, cycle_pairs, is_exact_cover

MAX_ROUNDS = 200


def solve(
    problem: Problem,
    limits: Limits,
    *,
    deadline: Deadline | None = None,
    candidates: CandidateSet | None = None,
    why: str = "asked for",
) -> SolveResult:
    deadline = deadline or Deadline(limits)
    cands = candidates or enumerate_candidates(problem, deadline, workers=limits.workers)
    hint_cost, hint = chain_plan(problem, cands)
    best: list = [hint_cost, hint]  # the best acyclic plan: cost, candidate indices
    if hint_cost is not None:
        deadline.report("cpsat-partition", hint_cost)

    bound: int | None = None
    proven = infeasible = False
    rounds = cuts = cliques = 0
    if not deadline.expired():
        data = build_partition(problem, cands, deadline)
        cliques = len(data.cliques)
        bound, proven, infeasible, rounds, cuts = _solve_rounds(
            problem, limits, deadline, cands, data, best
        )
    details = {
        "why": why,
        "candidates": len(cands),
        "candidates_complete": cands.complete,
        "evaluated_sets": cands.evaluated,
        "enumeration_s": round(cands.seconds, 4),
        "cliques": cliques,
        "rounds": rounds,
        "cycle_cuts": cuts,
        "hint_bytes": hint_cost,
    }
    if not cands.complete:  # CP-SAT's bound covers the candidates found, not the whole problem
        from ..bounds import whole_problem_bound

        bound = whole_problem_bound(problem)
    cost, chosen = best
    if cost is None:
        status_text = "INFEASIBLE" if infeasible and cands.complete else "UNKNOWN"
        return finish(problem, limits, deadline, method="cpsat-partition", status=status_text,
                      groups=None, objective=None, bound=None, details=details)
    if proven and cands.complete:
        bound = cost
    status_text = "OPTIMAL" if bound is not None and bound >= cost else "FEASIBLE"
    return finish(problem, limits, deadline, method="cpsat-partition", status=status_text,
                  groups=[cands.masks[g] for g in chosen], objective=cost, bound=bound,
                  details=details)


def _max(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def _set_parameters(solver, limits: Limits, deadline: Deadline) -> None:
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


def _solve_rounds(problem, limits, deadline, cands, data, best):
    """Solve, cut the cycles of the answer, solve again; returns (bound, proven, infeasible,
    rounds, cuts) and updates ``best`` through the solution callback."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"g{g}") for g in range(len(cands))]
    for v, cover in enumerate(data.cover):
        model.add_exactly_one(x[g] for g in cover)  # every op in exactly one group
    for g in data.fixed:
        model.add(x[g] == 1)  # unfusable singletons
    for clique in data.cliques:
        model.add_at_most_one(x[g] for g in clique)  # no 2-cycle through direct edges
    model.minimize(sum(c * x[g] for g, c in enumerate(cands.costs) if c))

    bound: int | None = None
    proven = False
    infeasible = False
    rounds = cuts = 0
    while rounds < MAX_ROUNDS and not deadline.expired():
        rounds += 1
        model.clear_hints()
        if best[0] is not None:
            chosen_hint = set(best[1])
            for g in range(len(cands)):
                model.add_hint(x[g], g in chosen_hint)
        solver = cp_model.CpSolver()
        _set_parameters(solver, limits, deadline)
        callback = _Recorder(problem, cands, x, best, deadline)
        with StopWatcher(deadline, solver.stop_search):
            status = solver.solve(model, callback)
        if status == cp_model.INFEASIBLE:
            infeasible = best[0] is None
            break
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if status == cp_model.UNKNOWN and math.isfinite(solver.best_objective_bound):
                bound = _max(bound, int(math.ceil(solver.best_objective_bound - 1e-6)))
            break
        bound = _max(bound, int(math.ceil(solver.best_objective_bound - 1e-6)))
        chosen = [g for g in range(len(cands)) if solver.boolean_value(x[g])]
        pairs = cycle_pairs(problem, cands, chosen)
        if not pairs:
            callback.offer(chosen, int(round(solver.objective_value)))
            proven = status == cp_model.OPTIMAL and limits.gap is None
            break
        for a, b in pairs:
            model.add_bool_or([x[a].Not(), x[b].Not()])  # these two groups form a cycle
        cuts += len(pairs)
    return bound, proven, infeasible, rounds, cuts
