"""Method ``hybrid``: the edge model with explanation-driven cuts, warm-started by a short
local search, pruned by must-separate pairs, with recursive splitting as the fallback.

Steps (``docs/hybrid.md``):

1. Hand-over: user constraints (pins, forbids, a group-size cap), which the edge model does
   not express, or an easy graph (at most ``auto``'s 1,000 ideals): ``auto`` solves it, and
   the result's ``why`` says so. Later (step 4), a probe may hand over too.
2. Fallback plan first: recursive splitting of the whole graph (Algorithm 1 with the
   repair's cut proposer), then a short local search with the same repair (the warm start).
3. Safe pruning: the must-separate pairs (:mod:`.separate`); with ``prune="aggressive"``
   also the edges the ``--repair`` explainer cuts in each such pair's hull
   (:mod:`.aggressive`; not proven: the plan is FEASIBLE, never OPTIMAL, its bound the
   whole-problem one).
4. The hand-over probe: auto's own enumeration of the candidate groups. On a graph with at
   most ``auto.AUTO_IDEAL_CAP`` ideals it runs first, right after the greedy plan and the
   plan of runs, for ``PROBE_SHARE`` of the limit (at most ``probe_s``), compiled on two
   threads (``candidates_rows``) where the kernel applies: when it lists every group, auto's
   shortest path over the ideals runs on them and its optimum is the answer ("handed
   over"; since 2026-12-03 auto proves the hard zoo rows in 3-8 s, so the hybrid's own
   steps before it were only a delay there). Where auto would run A* instead (its plan of
   consecutive runs within 10 % of A*'s estimate), the probe runs A* for that budget. With more ideals (wide and cell nets) it runs
   after the first rounds of step 5, at ``PROBE_AFTER_SHARE`` of the limit, for
   ``PROBE_MANY_SHARE``; a complete list goes to price and branch
   (``solver/exact/price_fixing.py``: the LP bound over every group, reduced-cost fixing
   against the hybrid's best plan, CP-SAT over the columns kept) for the rest of the
   time: exact, its bound valid for the whole problem.
5. The cut loop (:mod:`.rounds`) over the edge model (:mod:`.edge_model`), hinted with the
   best plan so far, until the master proves a plan optimal or the time runs out.
6. The answer: the best valid plan from any step; the bound is the larger of the master's
   (a relaxation, valid for the whole problem when the pruning is safe),
   ``bounds.whole_problem_bound``, the multicut bound (``multicut_bound.py``, over the
   safe pairs, computed after the probe in a thread beside the cut loop) and price and
   branch's; OPTIMAL only when the bound meets the plan.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult, finish
from .rounds import RoundStats, run_rounds

Prune = Literal["safe", "aggressive"]
WARM_SHARE = 0.1  # of the time limit, at most, for the warm-start search
# of the time limit, at most, for the few-ideals probe (auto's enumeration), and never
# longer (also without a time limit). It runs first: on the zoo's hard rows the list takes
# 2-7 s and auto's path 1-2 s more (benchmarks/results/exact_speed.md, 2026-12-03);
# inception_v3 BRR 2 MB (7.1 M groups) about 20 s. Where it fails, the hybrid's own steps
# start that much later.
PROBE_SHARE = 0.5
PROBE_MAX_S = 30.0
# more groups as Python ints (no compiled rows): not handed over, a memory guard (rows
# have their own cap, candidates_rows.rows_cap).
PROBE_CANDIDATES = 3_000_000
# A graph with more ideals than auto.AUTO_IDEAL_CAP: a complete list goes to price and
# branch (exact; an LP bound over every group), so the listing may take longer. Measured
# growth on the wide/cell rows (benchmarks/results/hybrid.md, 2026-12-03): 50-100 k groups/s,
# w8-200 BRR 128 KB's 991,364 groups in 9.3-19 s at load 1-2.3; the 19 other rows were not
# complete after 20 s. 15 s of 60 lists it at load ~1-1.5; on the rows it does not, the
# hybrid loses that much of its rounds (measured there too). The cap guards memory (about
# 0.6-1 KB a group while listing: 30 s list at most ~3 M groups, ~3 GB).
PROBE_MANY_SHARE = 0.25
PROBE_MANY_MAX_S = 30.0
PROBE_AFTER_SHARE = 0.1  # the probe runs after the first rounds, at this share of the limit
PROBE_AFTER_S = 3.0  # (or after this long without a time limit)
WARM_EVALUATIONS = 300
MAX_MODEL_EDGES = 20_000  # beyond: the fallback plan (the model would be too large)


@dataclass(frozen=True)
class HybridSettings:
    """``repair``: the explainer (``cost``, no torch; or a learned strategy);
    ``warm_evaluations``: the warm-start local search's budget; ``handover``: give easy
    graphs to ``auto``; ``use_cpsat``: False skips the model (the fallback alone);
    ``prune``: ``safe`` (proven pairs only) or ``aggressive``; ``separate``: False leaves
    the must-separate pairs out (the cut loop alone, for tests and measurements);
    ``probe_s``: the hand-over probe's longest run (0: ideals alone decide)."""

    repair: str = "cost"
    warm_evaluations: int = WARM_EVALUATIONS
    handover: bool = True
    use_cpsat: bool = True
    prune: Prune = "safe"
    separate: bool = True
    probe_s: float = PROBE_MAX_S


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
    """``auto``'s answer, saying why, when the graph is plainly easy for it (module
    docstring; the probe comes later, in :meth:`_Hybrid.run`); None when the hybrid runs."""
    from fuseplan.models.lattice import ideal_lattice

    from ..exact import auto

    why = None
    if problem.pins or problem.forbids or problem.max_group_ops is not None:
        why = ("hybrid: handed over to auto: the edge model does not express --pin, --forbid "
               "or --max-group-ops")
        result = auto.solve(problem, limits, deadline=deadline)
    elif settings.handover:
        lattice, complete = ideal_lattice(problem.graph, auto.FEW_IDEALS, deadline.expired)
        if complete and len(lattice) <= auto.FEW_IDEALS:
            why = (f"hybrid: {len(lattice):,} ideals (at most {auto.FEW_IDEALS:,}), an easy "
                   "graph: handed over to auto")
            result = auto.solve(problem, limits, deadline=deadline)
    if why is None:
        return None
    return _handed(result, why, {})


def _handed(result: SolveResult, why: str, noted: dict[str, Any]) -> SolveResult:
    """``result`` (auto's) as the hybrid's answer: ``why`` first, ``handed_over``, and
    ``noted``, in the result and in its plan's details."""
    import dataclasses

    said = {**noted, "why": f"{why}; {result.details.get('why', '')}", "handed_over": True}
    plan = result.plan
    if plan is not None:  # the plan file says so too
        plan = dataclasses.replace(plan, solve=dataclasses.replace(
            plan.solve, details={**plan.solve.details, **said}))
    return dataclasses.replace(result, details={**result.details, **said}, plan=plan)


@dataclass(frozen=True)
class _Listed:
    """What the probe listed: ``lattice`` (auto's ideals; None when there are more than
    ``auto.AUTO_IDEAL_CAP``) and ``found``, every candidate group (None unless the list is
    complete and at most ``PROBE_CANDIDATES``)."""

    lattice: Any
    found: Any  # CandidateSet | None


def _probe(problem: Problem, limits: Limits, deadline: Deadline, budget: float,
           many_budget: float, noted: dict[str, Any],
           counted: tuple[dict[int, int], bool] | None = None) -> _Listed:
    """The probe: ``auto``'s own enumeration of the candidate groups for at most ``budget``
    seconds (``many_budget`` when there are more than ``auto.AUTO_IDEAL_CAP`` ideals),
    after counting the ideals up to that cap. ``noted["handover_probe"]`` records what it
    saw. The caller decides what a complete list is for (:meth:`_Hybrid._probe`).
    ``counted``: the ideals already listed up to that cap (lattice, complete). With few
    ideals the groups are grown as auto's path grows them: compiled rows on two threads
    where the kernel applies (:mod:`..candidates_rows`)."""
    import time

    from fuseplan.models.lattice import ideal_lattice

    from ..candidates import enumerate_candidates
    from ..candidates_rows import CandidateRows, enumerate_rows, growth_threads
    from ..exact import auto
    from ..exact.ideals import use_rows

    started = time.perf_counter()
    lattice, complete = counted or ideal_lattice(problem.graph, auto.AUTO_IDEAL_CAP,
                                                 deadline.expired)
    ideals = len(lattice) if complete else f"more than {auto.AUTO_IDEAL_CAP:,}"
    budget = budget if complete else many_budget
    sub = Deadline(Limits(time_limit_s=max(budget, 1e-3), stop=limits.stop))
    found: Any = None
    if complete and use_rows(problem, lattice):
        found = enumerate_rows(problem, sub, threads=growth_threads(limits.workers))
    if found is None:
        found = enumerate_candidates(problem, sub, workers=limits.workers)
    seconds = time.perf_counter() - started
    rows = isinstance(found, CandidateRows)
    noted["handover_probe"] = {"ideals": ideals, "candidates": len(found),
                               "complete": found.complete, "seconds": round(seconds, 4),
                               "budget_s": round(budget, 4), "compiled_rows": rows}
    listed = found.complete and (rows or len(found) <= PROBE_CANDIDATES)
    return _Listed(lattice if complete else None, found if listed else None)


def _handed_to_ideals(problem: Problem, limits: Limits, deadline: Deadline,
                      listed: _Listed, noted: dict[str, Any]) -> tuple[str, SolveResult] | None:
    """Few ideals and every group listed: auto's exact shortest path over the ideals solves
    the rest in about a second (the enumeration is most of auto's time); it runs on the
    groups listed, so nothing is done twice, and its answer is returned with why. None when
    it is not proven in time (the hybrid's plan may be better)."""
    from ..exact import ideals

    result = ideals.solve(problem, limits, deadline=deadline, candidates=listed.found,
                          lattice=listed.lattice, why="auto's method for this graph")
    if result.status != "OPTIMAL":
        return None
    probe = noted["handover_probe"]
    why = (f"hybrid: {len(listed.lattice):,} ideals, {probe['candidates']:,} candidate groups "
           f"listed in {probe['seconds']:.1f} s (within {probe['budget_s']:.1f} s): handed "
           "over to auto's exact shortest path over the ideals, on the groups listed")
    return why, result


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
        self.handed: SolveResult | None = None  # auto's answer, when the probe handed over
        self.multicut = 0  # the multicut bound, once computed (0: none)
        self.priced_bound = 0  # price and branch's bound, once computed (0: none)
        self.probed = False  # the hand-over probe ran (it runs once)
        self.counted: tuple[dict[int, int], bool] | None = None  # ideals, up to auto's cap

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
        if self._probe_first() and self.handed is not None:
            return self.handed
        self._warm_start()
        stats = RoundStats()
        reason = self._model_loop(stats)
        if self.handed is not None:
            return self.handed
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
            separate += self._aggressive(pairs.minimal, known=set(separate))
        started = time.perf_counter()
        edges = sum(bin(m).count("1") for m in self.problem.succs)
        if edges > MAX_MODEL_EDGES:
            return f"the model would be too large ({edges:,} edges > {MAX_MODEL_EDGES:,})"
        built = build_edge_model(self.problem, separate)
        self.details["model"] = {"edges": len(built.e), "reader_pairs": len(built.q),
                                 "build_s": round(time.perf_counter() - started, 4)}
        probe_at = self._probe_at()
        if probe_at is not None:  # the first rounds, then the probe, then the rest
            first = Deadline(Limits(time_limit_s=max(1e-3, probe_at - self.deadline.elapsed()),
                                    stop=self.limits.stop))
            run_rounds(built, self.limits, first, self.rank, self.repair,
                       lambda: self.best, self.offer, stats)
            if not stats.proven and self._probe():
                return ""
        if not stats.proven:  # after the probe: a handed-over answer needs no bound
            with self._multicut_beside(pairs.minimal):  # on the second core
                run_rounds(built, self.limits, self.deadline, self.rank, self.repair,
                           lambda: self.best, self.offer, stats)
        if stats.master_plans == 0 and not self.best_from.startswith("cp-sat"):
            return f"CP-SAT gave no plan in time ({stats.last_status or 'not run'})"
        return ""

    def _probe_first(self) -> bool:
        """The probe before the hybrid's own steps, on a graph of at most
        ``auto.AUTO_IDEAL_CAP`` ideals (module docstring, step 4); True when auto's answer
        stands. The ideals counted are kept for the later probe of a larger graph."""
        from fuseplan.models.lattice import ideal_lattice

        from ..exact import auto

        if not self.settings.handover or self.settings.probe_s <= 0:
            return False
        self.counted = ideal_lattice(self.problem.graph, auto.AUTO_IDEAL_CAP,
                                     self.deadline.expired)
        if not self.counted[1] or self.deadline.expired():
            return False  # many ideals: the probe comes after the first rounds
        if self._astar_first():
            return True
        return not self.probed and self._probe()  # (A* tried and cut short: no listing)

    def _astar_first(self) -> bool:
        """auto's other path on a few-ideals graph: when its plan of consecutive runs is
        within 10 % of A*'s estimate (the large-buffer regime, ``astar.near_its_estimate``),
        auto runs A*, not the walk over every group, and so does the probe: A* for the
        probe's budget. True when it proved the optimum (handed over); otherwise its plan is
        offered and the hybrid goes on (the listing probe is not run: auto would not)."""
        from ..exact import astar

        budget = self._probe_budget()
        remaining = self.deadline.remaining()
        if remaining is not None:
            budget = min(budget, remaining)
        near, upper, start = astar.near_its_estimate(astar.prepare(self.problem, self.deadline))
        if not near:
            return False
        sub = Deadline(Limits(time_limit_s=max(budget, 1e-3), stop=self.limits.stop))
        search = astar.prepare(self.problem, sub)  # its walk stops at the probe's budget
        started = self.deadline.elapsed()
        self.probed = True
        result = astar.solve(self.problem, self.limits, deadline=self.deadline, search=search,
                             why="auto's method for this graph")
        noted = {"handover_probe": {"ideals": len(self.counted[0]) if self.counted else None,
                                    "method": "astar", "status": result.status,
                                    "seconds": round(self.deadline.elapsed() - started, 4),
                                    "budget_s": round(budget, 4)}}
        self.details.update(noted)
        if result.status == "OPTIMAL":
            why = (f"hybrid: {len(self.counted[0]) if self.counted else 0:,} ideals; the plan of "
                   f"consecutive runs ({upper:,} B) is within "
                   f"{100 * astar.PASSES_WITHIN:.0f} % of A*'s estimate ({start:,} B): handed "
                   f"over to auto's A* over the ideals, proven within {budget:.1f} s")
            self.handed = _handed(result, f"{why} (probed after {started:.1f} s of the hybrid, "
                                  f"its best plan {self.best_cost:,} B)", noted)
            return True
        if result.groups:
            self.offer(list(result.groups), "A* over ideals (the probe, cut short)")
        return False

    def _probe_at(self) -> float | None:
        """When the hand-over probe runs (seconds since the start), or None: not asked for,
        run already, or no time for it."""
        limit = self.limits.time_limit_s
        if not self.settings.handover or self.settings.probe_s <= 0 or self.probed:
            return None
        at = PROBE_AFTER_S if limit is None else PROBE_AFTER_SHARE * limit
        return at if limit is None or at + self._probe_budget() < limit else None

    def _probe_budget(self, many: bool = False) -> float:
        """The probe's longest listing; ``many``: for a graph of more than
        ``auto.AUTO_IDEAL_CAP`` ideals (``PROBE_MANY_SHARE``, ``PROBE_MANY_MAX_S``)."""
        limit = self.limits.time_limit_s
        longest = max(self.settings.probe_s, PROBE_MANY_MAX_S) if many else self.settings.probe_s
        share = PROBE_MANY_SHARE if many else PROBE_SHARE
        return longest if limit is None else min(longest, share * limit)

    def _probe(self) -> bool:
        """Runs the probe (:func:`_probe`); True when the problem is solved: auto's answer
        stands (few ideals) or price and branch proved the optimum (many ideals)."""
        budget, many = self._probe_budget(), self._probe_budget(many=True)
        remaining = self.deadline.remaining()
        if remaining is not None:
            budget, many = min(budget, remaining), min(many, remaining)
        noted: dict[str, Any] = {}
        started = self.deadline.elapsed()
        self.probed = True
        listed = _probe(self.problem, self.limits, self.deadline, budget, many, noted,
                        self.counted)
        self.details.update(noted)
        if listed.found is None:
            return False
        if listed.lattice is None:
            return self._price_and_fix(listed.found)
        probed = _handed_to_ideals(self.problem, self.limits, self.deadline, listed, noted)
        if probed is None:
            return False
        why, result = probed
        self.handed = _handed(result, f"{why} (probed after {started:.1f} s of the hybrid, "
                              f"its best plan {self.best_cost:,} B)", noted)
        return True

    def _price_and_fix(self, found: Any) -> bool:
        """Many ideals, but every candidate group listed: the LP bound over the list,
        reduced-cost fixing against the best plan and CP-SAT over the columns kept
        (``solver/exact/price_fixing.py``), for the rest of the time. Its plan is offered,
        its bound is valid for the whole problem; True when it proved the optimum."""
        from ..exact.price_fixing import InvalidIncumbent, price_and_fix

        try:
            fixed = price_and_fix(self.problem, found, self.best, self.deadline, self.limits)
        except InvalidIncumbent as error:  # no plan yet (or a bug upstream): not run
            self.details["price_fixing"] = {"not_run": str(error)}
            return False
        self.priced_bound = fixed.bound
        self.offer(list(fixed.plan), "price and branch (CP-SAT over the columns kept by "
                   "reduced-cost fixing)")
        self.details["price_fixing"] = {
            "candidates": fixed.candidates, "lp_bound": fixed.lp_bound,
            "lp_optimum": fixed.lp_proven, "incumbent": fixed.upper, "kept": fixed.kept,
            "cost": fixed.cost, "bound": fixed.bound, "status": fixed.status,
            "cpsat": fixed.cpsat, "lp_s": round(fixed.lp_seconds, 4),
            "fixing_s": round(fixed.fixing_seconds, 4),
            "cpsat_s": round(fixed.cpsat_seconds, 4), "why": fixed.why}
        return fixed.status == "OPTIMAL"

    def _aggressive(self, minimal: tuple[tuple[int, int], ...],
                    known: set[tuple[int, int]]) -> list[tuple[int, int]]:
        """The explainer's unproven pairs (:mod:`.aggressive`), recorded for ``pruning``."""
        from .aggressive import BUDGET_MAX_S, BUDGET_SHARE, aggressive_pairs

        limit = self.limits.time_limit_s
        budget = BUDGET_MAX_S if limit is None else min(BUDGET_MAX_S, BUDGET_SHARE * limit)
        found = aggressive_pairs(self.problem, minimal, self.splitter.propose, self.best,
                                 self.deadline, budget)
        extra = [pair for pair in found.pairs if pair not in known]
        self.details["pruning"] = {
            "mode": "aggressive", "explainer": self.settings.repair,
            "rule": "the edges crossed by the explainer's first cut of each minimal "
                    "must-separate pair's hull, except those the incumbent keeps together",
            "pairs": len(extra), "hulls_explained": found.hulls,
            "kept_by_incumbent": found.kept_by_incumbent, "complete": found.complete,
            "seconds": round(found.seconds, 4), "proven": False}
        return extra

    @contextmanager
    def _multicut_beside(self, minimal: tuple[tuple[int, int], ...]) -> Iterator[None]:
        """The multicut bound (``solver/multicut_bound.py``) over the safe must-separate
        pairs, valid for the whole problem whatever the pruning (it uses the proven pairs
        only), computed in a thread beside the cut loop run in the ``with`` block, for as
        long as the loop runs: stopped when it ends (the bound is valid whenever it stops).
        Both spend most of their time in CP-SAT or GLOP, which release the GIL, so on two
        cores the bound costs the loop little. Until 2026-12-03 it ran before the loop for
        10 % of the limit, at most 5 s; its integer stage raises the bound for as long as it
        is given (``benchmarks/results/lp_bound.md``)."""
        import threading

        from ..multicut_bound import multicut_bound

        budget = self.deadline.remaining()  # None: no time limit, until the loop ends
        if budget is not None and budget <= 0:
            yield
            return
        stop = threading.Event()
        found: list[Any] = []
        failed: list[BaseException] = []

        def run() -> None:
            try:
                found.append(multicut_bound(
                    self.problem, Deadline(Limits(time_limit_s=budget, stop=stop)),
                    pairs=list(minimal)))
            except BaseException as error:  # re-raised in the caller's thread
                failed.append(error)

        thread = threading.Thread(target=run, name="multicut-bound", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if failed:
            raise failed[0]
        bound = found[0]
        self.multicut = bound.value
        self.details["multicut_bound"] = {"bound": bound.value, "converged": bound.converged,
                                          "constraints": bound.paths, "rounds": bound.rounds,
                                          "seconds": round(bound.seconds, 4),
                                          "beside_cut_loop": True}

    def _whole_problem_bound(self) -> int:
        """A lower bound valid for the whole problem whatever was pruned: the only bound an
        aggressively pruned plan is quoted against; the largest of A*'s estimate, the
        multicut bound and price and branch's bound (the LP over every candidate group, or
        CP-SAT's over the columns kept)."""
        from ..bounds import whole_problem_bound

        estimate = whole_problem_bound(self.problem, self.deadline)
        bound = max(estimate, self.multicut, self.priced_bound)
        self.details["astar_estimate"] = estimate
        self.details["whole_problem_bound"] = bound
        return bound

    def _answer(self, stats: RoundStats, fallback: str) -> SolveResult:
        problem, deadline = self.problem, self.deadline
        bound = self._whole_problem_bound()
        safe = self.settings.prune == "safe"
        if stats.bound is not None and safe:
            bound = max(bound, stats.bound)
        if not safe:
            self.details.setdefault("pruning", {
                "mode": "aggressive", "explainer": self.settings.repair, "pairs": 0,
                "proven": False, "rule": "not applied: the model was not built"})
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
            return _unproven(finish(problem, self.limits, deadline, method="hybrid",
                                    status="FEASIBLE", groups=self.best,
                                    objective=self.best_cost, bound=bound,
                                    details=self.details))
        status = "OPTIMAL" if proven or (self.best_cost is not None and bound >= self.best_cost) \
            else "FEASIBLE"
        return finish(problem, self.limits, deadline, method="hybrid", status=status,
                      groups=self.best, objective=self.best_cost,
                      bound=self.best_cost if proven else bound, details=self.details)

    def _why(self, stats: RoundStats, fallback: str) -> str:
        if fallback:
            said = f"hybrid: fallback to recursive splitting and the warm start: {fallback}"
        else:
            said = (f"hybrid: edge model, {stats.rounds} round(s), "
                    f"{stats.overflow_cuts + stats.exact_cuts} overflow cut(s), plan from "
                    f"{self.best_from}")
        probe = self.details.get("handover_probe")
        priced = self.details.get("price_fixing")
        if priced is not None and "not_run" in priced:
            said += f"; price and branch not run: {priced['not_run']}"
        elif priced is not None:
            said += (f"; {probe['ideals']} ideals but all {priced['candidates']:,} candidate "
                     f"groups listed in {probe['seconds']:.1f} s: price and branch, "
                     f"{priced['status']}: {priced['why']}")
        elif probe is not None and "candidates" in probe:
            said += (f"; not handed over: auto listed {probe['candidates']:,} candidate "
                     f"groups in {probe['seconds']:.1f} s, "
                     + ("not all" if not probe["complete"] else "too many"))
        pruning = self.details.get("pruning")
        if pruning is not None:
            said += (f"; pruned aggressively: {pruning['pairs']} unproven pair(s) from the "
                     f"{pruning['explainer']} explainer, so never OPTIMAL")
        return said


def _unproven(result: SolveResult) -> SolveResult:
    """An aggressively pruned answer stays FEASIBLE (``finish`` calls a zero gap OPTIMAL);
    its bound and gap, against the whole-problem bound, stay as they are."""
    import dataclasses

    if result.status != "OPTIMAL":
        return result
    plan = result.plan
    if plan is not None:
        plan = dataclasses.replace(plan, solve=dataclasses.replace(plan.solve,
                                                                   status="FEASIBLE"))
    return dataclasses.replace(result, status="FEASIBLE", plan=plan)
