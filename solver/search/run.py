"""Running a heuristic search as a solver method: settings, the repair strategy, the reference
optimum, and the result.

A search returns a validated plan with status FEASIBLE. ``greedy`` needs no repair strategy
(a pinned op range that is not valid on its own is split with ``cost``). Its gap is measured in fusible DRAM
against a *reference*: the optimum when ``auto`` proves one within ``reference_time_s``
(10 s; run after the search and timed apart from it), else the whole-problem lower bound
(``solver/bounds.py``). ``details`` records the search's own wall time, its evaluations, the
repair strategy, the reference and how long the reference took. A plan that matches a proven
optimum is reported OPTIMAL (the reference proves it).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from fuseplan.models.errors import FusePlanError

from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult, finish
from .encoding import Evaluated, PlanEvaluator
from .splitting import RecursiveSplitter, ValidGroupPrices

SEARCHES = ("rs", "ls", "nsga2", "greedy")
DEFAULT_EVALUATIONS = 2_000


@dataclass(frozen=True)
class SearchSettings:
    """How a search runs: the repair strategy (``--repair``), the budget in evaluations
    (``--evaluations``; with ``--time-limit`` whichever comes first), local search's largest
    move (``--delta``), the number of segments K (``--segments``) and how long the reference
    exact solve may take (``--reference-time``; 0 = none, gap against the bound only)."""

    repair: str = "cost"
    evaluations: int | None = DEFAULT_EVALUATIONS
    delta: int = 2
    segments: int = 10
    reference_time_s: float = 10.0

    def check(self) -> SearchSettings:
        from fuseplan.explain.registry import check_strategy_name

        check_strategy_name(self.repair)
        if self.evaluations is not None and self.evaluations < 1:
            raise FusePlanError(f"--evaluations must be at least 1 (got {self.evaluations})")
        if self.delta < 1:
            raise FusePlanError(f"--delta must be at least 1 (got {self.delta})")
        if self.segments < 1:
            raise FusePlanError(f"--segments must be at least 1 (got {self.segments})")
        if not self.reference_time_s >= 0:
            raise FusePlanError(
                f"--reference-time must be 0 or more seconds (got {self.reference_time_s})"
            )
        return self


def run_search(method: str, problem: Problem, limits: Limits, deadline: Deadline,
               settings: SearchSettings) -> SolveResult:
    """Runs search ``method`` (one of :data:`SEARCHES`) and returns its validated result."""
    from . import searches
    from .proposers import make_proposer

    settings.check()
    rng = random.Random(limits.seed)
    prices = ValidGroupPrices(problem)

    def improved(plan: Evaluated) -> None:
        deadline.report(f"{method}: searching", best=plan.dram_bytes)

    started = time.perf_counter()
    propose = make_proposer(problem, "cost" if method == "greedy" else settings.repair,
                            limits.seed, deadline=deadline)
    splitter = RecursiveSplitter(problem, propose, prices=prices, deadline=deadline)
    evaluator: PlanEvaluator | None = None
    if method == "greedy":
        best = searches.greedy(prices, splitter.repair)
        improved(best)
    else:
        evaluator = PlanEvaluator(problem, splitter, settings.segments)
        if method == "rs":
            best = searches.random_search(evaluator, rng, settings.evaluations, deadline, improved)
        elif method == "ls":
            best = searches.local_search(evaluator, rng, settings.evaluations, deadline,
                                         improved, delta=settings.delta)
        elif method == "nsga2":
            best = searches.nsga2(evaluator, limits.seed, settings.evaluations, deadline,
                                  improved)
        else:
            raise FusePlanError(f"unknown search {method!r}: use one of {', '.join(SEARCHES)}")
    search_s = time.perf_counter() - started
    _check_pins(problem, best.groups)
    reference, reference_kind, reference_s = _reference(problem, limits, settings)
    evaluations = 0 if evaluator is None else evaluator.evaluations
    gap_to = (f"the optimum (proven in {reference_s:.2f} s)" if reference_kind == "optimum"
              else "the whole-problem bound")
    details: dict[str, Any] = {
        "why": ("greedy walk of the topological order" if method == "greedy" else
                f"{evaluations:,} evaluations, repair {settings.repair}")
               + f", {search_s:.2f} s; gap against {gap_to}",
        "search": method,
        "repair": None if method == "greedy" else settings.repair,
        "evaluations": evaluations,
        "repaired_groups": splitter.proposals,
        "segments": settings.segments,
        "delta": settings.delta if method == "ls" else None,
        "search_time_s": round(search_s, 4),
        "reference": reference_kind,
        "reference_bytes": reference,
        "reference_time_s": round(reference_s, 4),
    }
    return finish(problem, limits, deadline, method=_label(method, settings), status="FEASIBLE",
                  groups=list(best.groups), objective=best.dram_bytes, bound=reference,
                  details=details)


def _label(method: str, settings: SearchSettings) -> str:
    return method if method == "greedy" else f"{method}:{settings.repair}"


def _reference(problem: Problem, limits: Limits,
               settings: SearchSettings) -> tuple[int, str, float]:
    """(bytes, "optimum" or "bound", seconds): the proven optimum within the reference time,
    else the whole-problem bound."""
    from ..bounds import whole_problem_bound

    started = time.perf_counter()
    if settings.reference_time_s > 0:
        from ..exact import auto

        ref_limits = Limits(time_limit_s=settings.reference_time_s, seed=limits.seed,
                            stop=limits.stop)
        result = auto.solve(problem, ref_limits, deadline=Deadline(ref_limits))
        if result.status == "OPTIMAL" and result.objective_bytes is not None:
            return result.objective_bytes, "optimum", time.perf_counter() - started
    bound = whole_problem_bound(problem)
    return bound, "bound", time.perf_counter() - started


def _check_pins(problem: Problem, groups: tuple[int, ...]) -> None:
    for pin in problem.pins:
        if not any(pin & g == pin for g in groups):
            raise FusePlanError(
                f"the search could not keep the pinned ops {problem.names(pin)} in one group "
                "(the segment encoding needs them connected inside one segment): use an exact "
                "method (--method auto) for this pin"
            )
