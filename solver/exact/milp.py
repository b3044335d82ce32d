"""Exact method ``milp``: the candidate set partition in PuLP with CBC, the independent
cross-check of the CP-SAT models (same model, see :mod:`.partition_model`; a different
solver). CBC runs as a subprocess with its own time limit; PuLP exposes no bound short of
optimality, so a plan stopped early quotes the whole-problem bound. Status and bound are
decided as for ``cpsat-partition`` (:mod:`.partition_result`).
"""

from __future__ import annotations

from ..candidates import CandidateSet, chain_plan, enumerate_candidates
from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult
from .partition_model import PartitionData, build_partition, cycle_pairs, is_exact_cover
from .partition_result import PartitionAnswer, partition_details, partition_result

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
    best_cost, best = hint_cost, hint
    if hint_cost is not None:
        deadline.report("milp", hint_cost)

    data = build_partition(problem, cands, deadline)
    # no model when the deadline struck while building (it may be partial): the hint stands
    solving = data.complete and not deadline.expired()
    if solving:
        import pulp  # not before: the import counts against the limit

        prob, x = _lp_model(cands, data)

    proven = infeasible = False
    rounds = cuts = 0
    while solving and rounds < MAX_ROUNDS and not deadline.expired():
        rounds += 1
        if best_cost is not None:
            chosen_hint = set(best)
            for g in range(len(cands)):
                x[g].setInitialValue(1 if g in chosen_hint else 0)
        remaining = deadline.remaining()
        cmd = _cbc(
            msg=False,
            timeLimit=None if remaining is None else max(1.0, remaining),
            threads=limits.workers,
            gapRel=limits.gap,
            warmStart=best_cost is not None,
        )
        try:
            prob.solve(cmd)
        except pulp.PulpSolverError:
            # CBC stopped by its time limit before it wrote a solution file (it can be still
            # reading the model when the limit is near): the plan in hand stands, unproven
            if deadline.expired():
                break
            raise
        status = pulp.LpStatus[prob.status]
        if status == "Infeasible":
            infeasible = best_cost is None
            break
        if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            break
        chosen = [g for g in range(len(cands)) if (x[g].value() or 0) > 0.5]
        if not is_exact_cover(problem, cands, chosen):
            break
        pairs = cycle_pairs(problem, cands, chosen)
        if not pairs:
            cost = sum(cands.costs[g] for g in chosen)
            if best_cost is None or cost < best_cost:
                best_cost, best = cost, chosen
                deadline.report("milp", best_cost)
            proven = prob.sol_status == pulp.LpSolutionOptimal and limits.gap is None
            break
        for a, b in pairs:
            prob += x[a] + x[b] <= 1, f"cycle_{cuts}"  # these two groups form a cycle
            cuts += 1
    details = partition_details(why, cands, cliques=len(data.cliques), rounds=rounds,
                                cuts=cuts, hint_cost=hint_cost)
    # CBC's bound is not read back: unless proven, the bound is the whole problem's
    answer = PartitionAnswer(cost=best_cost, groups=tuple(cands.masks[g] for g in best),
                             solver_bound=None, proven=proven, infeasible=infeasible)
    return partition_result(problem, limits, deadline, answer, method="milp",
                            exact_scope=cands.complete, details=details)


def _lp_model(cands: CandidateSet, data: PartitionData):
    """The PuLP model of the set partition and its variables, one per candidate."""
    import pulp

    prob = pulp.LpProblem("fusion_partition", pulp.LpMinimize)
    x = [prob.add_variable(f"g{g}", 0, 1, cat="Binary") for g in range(len(cands))]
    prob += pulp.lpSum(c * x[g] for g, c in enumerate(cands.costs) if c)
    for v, cover in enumerate(data.cover):
        prob += pulp.lpSum(x[g] for g in cover) == 1, f"cover_{v}"
    for g in data.fixed:
        prob += x[g] == 1, f"unfusable_{g}"
    for k, clique in enumerate(data.cliques):
        prob += pulp.lpSum(x[g] for g in clique) <= 1, f"two_cycle_{k}"
    return prob, x


def _cbc(**options):
    """PuLP's bundled CBC (the only CBC on a plain install; PuLP 3.3 warns it will move)."""
    import warnings

    import pulp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)
