"""Exact method ``cpsat-flow``: one unit of flow over the ideal lattice, in CP-SAT.

One Boolean per arc (ideal I -> I + G for a candidate G that may follow I, as in
:mod:`.ideals`); one unit leaves the empty ideal and reaches the full one; the objective is
the arcs' fusible F_D. Any path is an acyclic plan, so no cycle constraints are needed.
It solves the same problem as the shortest path, so it serves as a cross-check and as the
measure of what a general solver makes of the formulation. The hint is the best plan of
runs of consecutive ops (a path through prefix ideals), never the shortest path itself.
"""

from __future__ import annotations

import math

from fuseplan.models.errors import FusePlanError
from fuseplan.models.lattice import ideal_lattice

from ..bounds import whole_problem_bound
from ..candidates import CandidateSet, chain_plan, enumerate_candidates
from ..problem import Limits, Problem
from ..progress import Deadline, StopWatcher
from ..result import SolveResult, finish
from .ideals import lattice_arcs, stopped_listing_ideals

FLOW_IDEAL_CAP = 60_000


def solve(
    problem: Problem,
    limits: Limits,
    *,
    deadline: Deadline | None = None,
    candidates: CandidateSet | None = None,
    lattice: dict[int, int] | None = None,
    why: str = "asked for",
) -> SolveResult:
    deadline = deadline or Deadline(limits)
    if lattice is None:
        lattice, complete = ideal_lattice(problem.graph, FLOW_IDEAL_CAP, deadline.expired)
        if not complete and len(lattice) <= FLOW_IDEAL_CAP:  # stopped: over the cap or not
            return stopped_listing_ideals(problem, limits, deadline, "cpsat-flow", why,
                                          len(lattice))
        if not complete:
            raise FusePlanError(
                f"{problem.graph.name!r} has more than {FLOW_IDEAL_CAP:,} ideals, too many for "
                "--method cpsat-flow; use --method cpsat-partition (or auto)"
            )
    cands = candidates or enumerate_candidates(problem, deadline, workers=limits.workers)
    out, arcs_complete = lattice_arcs(problem, lattice, cands, deadline)
    complete = cands.complete and arcs_complete
    arcs = [(i, j, g) for i, lst in enumerate(out) for j, g in lst]

    hint_cost, hint = chain_plan(problem, cands)
    details = {
        "why": why,
        "ideals": len(lattice),
        "candidates": len(cands),
        "candidates_complete": cands.complete,
        "evaluated_sets": cands.evaluated,
        "enumeration_s": round(cands.seconds, 4),
        "arcs": len(arcs),
        "hint_bytes": hint_cost,
    }
    if deadline.expired():  # no time left for the model: the hint stands
        return _hint_result(problem, limits, deadline, cands, hint_cost, hint, None, details)
    from ortools.sat.python import cp_model  # not before: the import counts against the limit

    model = cp_model.CpModel()
    x = []
    for a in range(len(arcs)):
        if a % 65536 == 0 and deadline.expired():
            return _hint_result(problem, limits, deadline, cands, hint_cost, hint, None,
                                details)
        x.append(model.new_bool_var(f"a{a}"))
    flow_out: list[list[int]] = [[] for _ in lattice]
    flow_in: list[list[int]] = [[] for _ in lattice]
    for a, (i, j, _) in enumerate(arcs):
        flow_out[i].append(a)
        flow_in[j].append(a)
    last = len(lattice) - 1
    for node in range(len(lattice)):
        if node % 4096 == 0 and deadline.expired():
            return _hint_result(problem, limits, deadline, cands, hint_cost, hint, None,
                                details)
        supply = 1 if node == 0 else -1 if node == last else 0
        # flow conservation: out - in = supply
        model.add(sum(x[a] for a in flow_out[node]) - sum(x[a] for a in flow_in[node]) == supply)
    model.minimize(sum(cands.costs[g] * x[a] for a, (_, _, g) in enumerate(arcs) if cands.costs[g]))

    if hint_cost is not None:
        _add_path_hint(model, x, arcs, lattice, cands, hint)
        deadline.report("cpsat-flow", hint_cost)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = limits.workers
    solver.parameters.random_seed = limits.seed
    # measured on GoogLeNet 128 KB (36,039 arcs, 60 s, 1 worker): default 8.90 MB with
    # bound 0.49 MB; without presolve and with the full LP, 7.74 MB with bound 3.52 MB
    solver.parameters.cp_model_presolve = False
    solver.parameters.linearization_level = 2
    if limits.gap is not None:
        solver.parameters.relative_gap_limit = limits.gap
    remaining = deadline.remaining()
    if remaining is not None:
        solver.parameters.max_time_in_seconds = max(0.01, remaining)
    callback = _recorder(deadline, hint_cost)
    with StopWatcher(deadline, solver.stop_search):
        status = solver.solve(model, callback)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = [arcs[a][2] for a in range(len(arcs)) if solver.boolean_value(x[a])]
        cost = int(round(solver.objective_value))
        # cut short, CP-SAT's bound covers only the arcs found: quote the whole problem's
        bound = (int(round(solver.best_objective_bound)) if complete
                 else whole_problem_bound(problem, deadline))
        proven = status == cp_model.OPTIMAL and limits.gap is None and complete
        return finish(problem, limits, deadline, method="cpsat-flow",
                      status="OPTIMAL" if proven else "FEASIBLE",
                      groups=[cands.masks[g] for g in chosen], objective=cost,
                      bound=cost if proven else bound, details=details)
    if hint_cost is not None:  # stopped before CP-SAT found anything: the hint stands
        bound = None
        if complete and math.isfinite(solver.best_objective_bound):
            bound = int(math.ceil(solver.best_objective_bound - 1e-6))
        return _hint_result(problem, limits, deadline, cands, hint_cost, hint, bound, details)
    status_text = "INFEASIBLE" if status == cp_model.INFEASIBLE and complete else "UNKNOWN"
    return finish(problem, limits, deadline, method="cpsat-flow", status=status_text,
                  groups=None, objective=None, bound=None, details=details)


def _hint_result(problem: Problem, limits: Limits, deadline: Deadline, cands: CandidateSet,
                 hint_cost: int | None, hint: list[int], bound: int | None,
                 details: dict) -> SolveResult:
    """Stopped before CP-SAT found a plan: the plan of consecutive runs, if any, with
    ``bound`` or else the whole-problem bound."""
    if hint_cost is None:
        return finish(problem, limits, deadline, method="cpsat-flow", status="UNKNOWN",
                      groups=None, objective=None, bound=None, details=details)
    if bound is None:
        bound = whole_problem_bound(problem, deadline)
    return finish(problem, limits, deadline, method="cpsat-flow", status="FEASIBLE",
                  groups=[cands.masks[g] for g in hint], objective=hint_cost,
                  bound=bound, details=details)


def _add_path_hint(model, x, arcs, lattice, cands: CandidateSet, hint: list[int]) -> None:
    """Hints the arcs of the consecutive-run plan, every other arc at 0 (a complete hint)."""
    index = {ideal: i for i, ideal in enumerate(lattice)}
    on = set()
    ideal = 0
    for g in hint:
        on.add((index[ideal], g))
        ideal |= cands.masks[g]
    for a, (i, _, g) in enumerate(arcs):
        model.add_hint(x[a], (i, g) in on)


def _recorder(deadline: Deadline, hint_cost: int | None):
    from ortools.sat.python import cp_model

    class Recorder(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            deadline.report("cpsat-flow", int(round(self.objective_value)),
                            int(round(self.best_objective_bound)))

    return Recorder()
