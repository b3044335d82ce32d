"""Method ``hybrid``: the edge model with explanation-driven cuts, warm-started by a short
local search, pruned by must-separate pairs, with recursive splitting as the fallback.

Steps (``docs/hybrid.md``):

1. Hand-over: user constraints (pins, forbids, a group-size cap), which the edge model does
   not express, or an easy graph (at most ``auto``'s 1,000 ideals): ``auto`` solves it, and
   the result's ``why`` says so.
2. Fallback plan first: recursive splitting of the whole graph (Algorithm 1 with the
   repair's cut proposer), then a short local search with the same repair (the warm start).
3. Safe pruning: the must-separate pairs (:mod:`.separate`); with ``prune="aggressive"``
   also the pairs a learned explainer would separate (not proven: the plan is FEASIBLE).
4. The cut loop (:mod:`.rounds`) over the edge model (:mod:`.edge_model`), hinted with the
   best plan so far, until the master proves a plan optimal or the time runs out.
5. The answer: the best valid plan from any step; the bound is the larger of the master's
   (a relaxation, valid for the whole problem when the pruning is safe) and
   ``bounds.whole_problem_bound``; OPTIMAL only when the bound meets the plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult, finish
from .rounds import RoundStats, run_rounds

Prune = Literal["safe", "aggressive"]
WARM_SHARE = 0.1  # of the time limit, at most, for the warm-start search
WARM_EVALUATIONS = 300
MAX_MODEL_EDGES = 20_000  # beyond: the fallback plan (the model would be too large)


@dataclass(frozen=True)
class HybridSettings:
    """``repair``: the explainer (``cost``, no torch; or a learned strategy);
    ``warm_evaluations``: the warm-start local search's budget; ``handover``: give easy
    graphs to ``auto``; ``use_cpsat``: False skips the model (the fallback alone);
    ``prune``: ``safe`` (proven pairs only) or ``aggressive``; ``separate``: False leaves
    the must-separate pairs out (the cut loop alone, for tests and measurements)."""

    repair: str = "cost"
    warm_evaluations: int = WARM_EVALUATIONS
    handover: bool = True
    use_cpsat: bool = True
    prune: Prune = "safe"
    separate: bool = True


def solve(problem: Problem, limits: Limits, *, deadline: Deadline | None = None,
          search: Any = None, settings: HybridSettings | None = None) -> SolveResult:
    """Runs the hybrid (module docstring). ``search`` (the searches' settings) lends its
    ``repair`` when no ``settings`` are given."""
    deadline = deadline or Deadline(limits)
    if settings is None:
        settings = HybridSettings(repair=getattr(search, "repair", "cost") or "cost")
    handed = _hand_over(problem, limits, deadline, settings)
    if handed is not None:
        return handed
    return _Hybrid(problem, limits, deadline, settings).run()


def _hand_over(problem: Problem, limits: Limits, deadline: Deadline,
               settings: HybridSettings) -> SolveResult | None:
    import dataclasses

    from fuseplan.models.lattice import ideal_lattice

    from ..exact import auto

    why = None
    if problem.pins or problem.forbids or problem.max_group_ops is not None:
        why = ("hybrid: handed over to auto: the edge model does not express --pin, --forbid "
               "or --max-group-ops")
    elif settings.handover:
        lattice, complete = ideal_lattice(problem.graph, auto.FEW_IDEALS, deadline.expired)
        if complete and len(lattice) <= auto.FEW_IDEALS:
            why = (f"hybrid: {len(lattice):,} ideals (at most {auto.FEW_IDEALS:,}), an easy "
                   "graph: handed over to auto")
    if why is None:
        return None
    result = auto.solve(problem, limits, deadline=deadline)
    details = {**result.details, "why": f"{why}; {result.details.get('why', '')}",
               "handed_over": True}
    return dataclasses.replace(result, details=details)


class _Hybrid:
    def __init__(self, problem: Problem, limits: Limits, deadline: Deadline,
                 settings: HybridSettings) -> None:
        from ..search.proposers import make_proposer
        from ..search.splitting import RecursiveSplitter
        from .shrink import make_ranker

        self.problem, self.limits, self.deadline, self.settings = (
            problem, limits, deadline, settings)
        self.splitter = RecursiveSplitter(
            problem, make_proposer(problem, settings.repair, limits.seed, deadline=deadline),
            deadline=deadline)
        self.rank = make_ranker(problem, settings.repair, limits.seed)
        self.best: list[int] = []
        self.best_cost: int | None = None
        self.best_from = ""
        self.details: dict[str, Any] = {"repair": settings.repair, "prune": settings.prune}

    def offer(self, groups: list[int], origin: str) -> int:
        """Keeps a valid plan when it is the cheapest so far; returns the best cost."""
        cost = sum(self.splitter.prices.price(g) or 0 for g in groups)
        if self.best_cost is None or cost < self.best_cost:
            self.best, self.best_cost, self.best_from = list(groups), cost, origin
            self.deadline.report("hybrid", cost)
        return self.best_cost

    def repair(self, group: int) -> tuple[int, ...]:
        return self.splitter.repair(group).groups

    def run(self) -> SolveResult:
        import time

        # fallback plan, then the warm start
        started = time.perf_counter()
        self.offer(self._greedy(), "greedy")
        self.details["greedy_s"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        self._runs()
        self.details["runs_s"] = round(time.perf_counter() - started, 4)
        self._warm_start()
        stats = RoundStats()
        reason = self._model_loop(stats)
        return self._answer(stats, reason)

    def _greedy(self) -> list[int]:
        """The first plan, in little time: the compiler's greedy rule, its parts that do not
        fit split by recursive splitting."""
        from ..search.searches import greedy

        return list(greedy(self.splitter.prices, self.splitter.repair).groups)

    def _runs(self) -> None:
        """A*'s first plan: the best plan of runs of consecutive ops (a shortest path over
        the prefixes of the topological order; cut short at the deadline)."""
        from ..exact.astar_prices import GroupPrices, chain_upper_bound

        cost, groups = chain_upper_bound(self.problem, GroupPrices(self.problem),
                                         self.deadline.expired)
        if cost is not None and groups:
            self.offer(list(groups), "runs of consecutive ops")

    def _warm_start(self) -> None:
        import time

        from ..search.encoding import PlanEvaluator
        from ..search.searches import local_search

        limits = self.limits
        budget = None if limits.time_limit_s is None else WARM_SHARE * limits.time_limit_s
        remaining = self.deadline.remaining()
        if remaining is not None:
            budget = min(budget or remaining, remaining)
        if self.settings.warm_evaluations < 1 or (budget is not None and budget <= 0):
            return
        sub = Deadline(Limits(time_limit_s=budget, stop=limits.stop)) if budget else \
            Deadline(Limits(stop=limits.stop))
        started = time.perf_counter()
        evaluator = PlanEvaluator(self.problem, self.splitter, segments=10)
        found = local_search(evaluator, random.Random(limits.seed),
                             self.settings.warm_evaluations, sub, lambda _: None)
        self.offer(list(found.groups), f"local search ({self.settings.repair})")
        self.details["warm_start"] = {"method": f"ls:{self.settings.repair}",
                                      "evaluations": evaluator.evaluations,
                                      "bytes": found.dram_bytes,
                                      "seconds": round(time.perf_counter() - started, 4)}

    def _model_loop(self, stats: RoundStats) -> str:
        """Runs the cut loop; returns why the fallback plan stands, or ''."""
        import time

        from .edge_model import build_edge_model
        from .separate import separate_pairs

        if not self.settings.use_cpsat:
            return "CP-SAT not run (use_cpsat=False)"
        if self.deadline.expired():
            return "no time left for CP-SAT"
        pairs = separate_pairs(self.problem, self.deadline)
        self.details["separate_pairs"] = {"minimal": len(pairs.minimal), "total": pairs.total,
                                          "priced": pairs.priced, "complete": pairs.complete,
                                          "seconds": round(pairs.seconds, 4)}
        separate = list(pairs.minimal) if self.settings.separate else []
        if self.settings.prune == "aggressive":
            from .aggressive import aggressive_pairs

            extra = aggressive_pairs(self.problem, self.deadline, known=set(separate))
            self.details["aggressive_pairs"] = len(extra)
            separate += extra
        started = time.perf_counter()
        edges = sum(bin(m).count("1") for m in self.problem.succs)
        if edges > MAX_MODEL_EDGES:
            return f"the model would be too large ({edges:,} edges > {MAX_MODEL_EDGES:,})"
        built = build_edge_model(self.problem, separate)
        self.details["model"] = {"edges": len(built.e), "reader_pairs": len(built.q),
                                 "build_s": round(time.perf_counter() - started, 4)}
        run_rounds(built, self.limits, self.deadline, self.rank, self.repair,
                   lambda: self.best, self.offer, stats)
        if stats.master_plans == 0 and not self.best_from.startswith("cp-sat"):
            return f"CP-SAT gave no plan in time ({stats.last_status or 'not run'})"
        return ""

    def _answer(self, stats: RoundStats, fallback: str) -> SolveResult:
        from ..bounds import whole_problem_bound

        problem, deadline = self.problem, self.deadline
        bound = whole_problem_bound(problem, deadline)
        self.details["whole_problem_bound"] = bound
        safe = self.settings.prune == "safe"
        if stats.bound is not None and safe:
            bound = max(bound, stats.bound)
        self.details.update({
            "why": self._why(stats, fallback),
            "fallback": bool(fallback), "fallback_reason": fallback or None,
            "plan_from": self.best_from, "rounds": stats.rounds,
            "overflow_cuts": stats.overflow_cuts, "exact_cuts": stats.exact_cuts,
            "join_cuts": stats.join_cuts, "price_cuts": stats.price_cuts,
            "mean_cut_ops": None if stats.mean_cut_size is None else round(stats.mean_cut_size, 2),
            "master_bound": stats.bound, "hints_given": stats.hints_given,
            "hints_accepted": stats.hints_accepted,
        })
        proven = stats.proven and safe
        if not safe:
            self.details["pruning"] = {"mode": "aggressive", "rule": "hull bound >= "
                                       "0.8 x buffer (no learned explainer available)",
                                       "pairs": self.details.get("aggressive_pairs", 0),
                                       "proven": False}
        status = "OPTIMAL" if proven or (self.best_cost is not None and bound >= self.best_cost) \
            else "FEASIBLE"
        return finish(problem, self.limits, deadline, method="hybrid", status=status,
                      groups=self.best, objective=self.best_cost,
                      bound=self.best_cost if proven else bound, details=self.details)

    def _why(self, stats: RoundStats, fallback: str) -> str:
        if fallback:
            return f"hybrid: fallback to recursive splitting and the warm start: {fallback}"
        return (f"hybrid: edge model, {stats.rounds} round(s), "
                f"{stats.overflow_cuts + stats.exact_cuts} overflow cut(s), plan from "
                f"{self.best_from}")
