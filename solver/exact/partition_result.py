"""The answer of a set-partition method (``cpsat-partition``, ``milp``): status and bound
from what the solver proved, and over what.

A solver's proof covers the columns it was given. It is a proof for the user's problem only
when the candidate set was complete and no restriction was added that could cut off the
optimum (the solver's own ``separate`` pairs or extra constraints, unless the caller marks
them safe): ``exact_scope``. Otherwise the only bound quoted is the one valid for the whole
problem (``bounds.whole_problem_bound``), so OPTIMAL keeps its meaning: optimal for the
user's problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..candidates import CandidateSet
from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult, finish


@dataclass(frozen=True)
class PartitionAnswer:
    """What a partition solver found over its columns.

    ``cost`` and ``groups``: the best acyclic exact cover (None and () if none);
    ``solver_bound``: the solver's lower bound over its columns, if it reports one;
    ``proven``: the solver proved ``cost`` optimal over its columns (no gap limit);
    ``infeasible``: the solver proved that its columns hold no plan."""

    cost: int | None
    groups: tuple[int, ...]
    solver_bound: int | None
    proven: bool
    infeasible: bool


def partition_details(
    why: str, cands: CandidateSet, *, cliques: int, rounds: int, cuts: int,
    hint_cost: int | None,
) -> dict[str, Any]:
    """The details both methods report (``SolveResult.details``, the plan file)."""
    return {
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


def partition_result(
    problem: Problem,
    limits: Limits,
    deadline: Deadline,
    answer: PartitionAnswer,
    *,
    method: str,
    exact_scope: bool,
    details: dict[str, Any],
) -> SolveResult:
    """The :class:`SolveResult` for the user's ``problem``. ``exact_scope``: the columns
    were every candidate of ``problem`` and nothing unsafe restricted them, so the solver's
    proofs (optimal, infeasible, its bound) hold for ``problem`` itself."""
    if answer.cost is None:
        status = "INFEASIBLE" if answer.infeasible and exact_scope else "UNKNOWN"
        return finish(problem, limits, deadline, method=method, status=status,
                      groups=None, objective=None, bound=None, details=details)
    if answer.proven and exact_scope:
        bound = answer.cost
    else:
        from ..bounds import whole_problem_bound

        bound = whole_problem_bound(problem, deadline)
        if exact_scope and answer.solver_bound is not None:
            bound = max(bound, answer.solver_bound)
    status = "OPTIMAL" if bound >= answer.cost else "FEASIBLE"
    return finish(problem, limits, deadline, method=method, status=status,
                  groups=list(answer.groups), objective=answer.cost, bound=bound,
                  details=details)
