"""The paper's searches over the plan encoding (:mod:`.encoding`), and the greedy baseline.

Each takes the evaluator, a seeded ``random.Random``, a budget (evaluations and/or the
deadline) and a callback for every improved plan, and returns the best plan it scored.

- **Random search** (``rs``): uniform cut positions (K - 1 distinct positions, sorted).
- **Local search** (``ls``): start from a random plan. A *move* shifts one cut by d positions,
  1 <= d <= delta, either way, staying strictly between its neighbours (and inside
  1 .. n - 1). The moves of the current plan are tried in a random order; the first that
  lowers the DRAM is taken (first improvement) and the scan starts again from the new plan.
  When no move improves (a local optimum), the search restarts from a new random plan; the
  best plan over all restarts is returned.
- **NSGA-II** (``nsga2``, pymoo): integer genes = the K - 1 cut positions (sorted and
  de-duplicated when scored); two objectives, fusible DRAM and the number of parts that needed
  a repair (how far the segmentation is from valid); the member with the best DRAM is
  returned.
- **Greedy** (``greedy``), the usual compiler rule and the floor every search must beat: walk
  the topological order, grow the current group while it stays valid, start a new group when
  it does not.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..progress import Deadline
from .encoding import Evaluated, PlanEvaluator
from .splitting import ValidGroupPrices, Split

Improved = Callable[[Evaluated], None]


def _budget_left(evaluator: PlanEvaluator, evaluations: int | None, deadline: Deadline) -> bool:
    if deadline.expired():
        return False
    return evaluations is None or evaluator.evaluations < evaluations


def _keep(best: Evaluated | None, new: Evaluated, improved: Improved) -> Evaluated:
    if best is None or new.dram_bytes < best.dram_bytes:
        improved(new)
        return new
    return best


def random_search(evaluator: PlanEvaluator, rng: random.Random, evaluations: int | None,
                  deadline: Deadline, improved: Improved) -> Evaluated:
    best = _keep(None, evaluator.evaluate(evaluator.random_cuts(rng)), improved)
    while _budget_left(evaluator, evaluations, deadline):
        best = _keep(best, evaluator.evaluate(evaluator.random_cuts(rng)), improved)
    return best


def _moves(cuts: tuple[int, ...], last: int, delta: int) -> list[tuple[int, ...]]:
    """Every plan one cut shift away (1..delta positions either way, order kept)."""
    out = []
    for i, c in enumerate(cuts):
        lo = cuts[i - 1] + 1 if i > 0 else 1
        hi = cuts[i + 1] - 1 if i + 1 < len(cuts) else last
        for d in range(1, delta + 1):
            for p in (c - d, c + d):
                if lo <= p <= hi:
                    out.append(cuts[:i] + (p,) + cuts[i + 1:])
    return out


def local_search(evaluator: PlanEvaluator, rng: random.Random, evaluations: int | None,
                 deadline: Deadline, improved: Improved, delta: int = 2) -> Evaluated:
    last = evaluator.positions
    current = evaluator.evaluate(evaluator.random_cuts(rng))
    best = _keep(None, current, improved)
    while _budget_left(evaluator, evaluations, deadline):
        moves = _moves(current.cuts, last, delta)
        rng.shuffle(moves)
        step = None
        for cuts in moves:
            if not _budget_left(evaluator, evaluations, deadline):
                break
            trial = evaluator.evaluate(cuts)
            if trial.dram_bytes < current.dram_bytes:
                step = trial
                break
        if step is None:  # a local optimum (or the budget ran out): restart
            if not _budget_left(evaluator, evaluations, deadline):
                break
            current = evaluator.evaluate(evaluator.random_cuts(rng))
        else:
            current = step
        best = _keep(best, current, improved)
    return best


def nsga2(evaluator: PlanEvaluator, seed: int, evaluations: int | None, deadline: Deadline,
          improved: Improved, population: int = 40) -> Evaluated:
    import numpy as np
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.core.termination import Termination
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    genes = min(evaluator.segments - 1, evaluator.positions)
    state: dict[str, Evaluated | None] = {"best": None}

    class Segmentation(PymooProblem):
        def __init__(self) -> None:
            super().__init__(n_var=genes, n_obj=2, xl=1, xu=max(1, evaluator.positions),
                             vtype=int)

        def _evaluate(self, x, out, *args, **kwargs) -> None:
            rows = []
            for cuts in np.atleast_2d(x):
                if state["best"] is not None and not _budget_left(evaluator, evaluations,
                                                                  deadline):
                    rows.append((np.inf, np.inf))  # out of time or evaluations: the rest of
                    continue                       # the population goes unscored
                scored = evaluator.evaluate([int(c) for c in cuts])
                state["best"] = _keep(state["best"], scored, improved)
                rows.append((scored.dram_bytes, scored.repairs))
            out["F"] = np.array(rows, dtype=float)

    class Budget(Termination):
        def _update(self, algorithm) -> float:
            if deadline.expired():
                return 1.0
            if evaluations is None:
                return 0.0
            return min(1.0, evaluator.evaluations / evaluations)

    algorithm = NSGA2(
        pop_size=population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    if genes == 0:  # a single op: nothing to cut
        return _keep(None, evaluator.evaluate(()), improved)
    with np.errstate(invalid="ignore"):  # crowding distances of the unscored (inf) rows
        minimize(Segmentation(), algorithm, Budget(), seed=seed, verbose=False)
    best = state["best"]
    assert best is not None
    return best


def greedy(prices: ValidGroupPrices, repair: Callable[[int], Split]) -> Evaluated:
    """Grow the current group in topological order while it stays valid. The op range of a
    ``--pin`` moves as one unit (never closed halfway); a unit that is not valid on its own
    is repaired by recursive splitting (``repair``), which keeps pins whole."""
    groups: list[int] = []
    dram = 0
    current, current_price = 0, 0
    for unit in _units(prices.problem):
        if current:
            grown = prices.price(current | unit)
            if grown is not None:
                current, current_price = current | unit, grown
                continue
            groups.append(current)
            dram += current_price
        alone = prices.price(unit)
        if alone is None:
            split = repair(unit)
            groups.extend(split.groups)
            dram += split.dram_bytes
            current, current_price = 0, 0
        else:
            current, current_price = unit, alone
    if current:
        groups.append(current)
        dram += current_price
    return Evaluated((), dram, tuple(groups), 0)


def _units(problem) -> list[int]:
    """Ops in topological order, the op range of every pin (overlapping ranges merged) as
    one unit."""
    ranges = sorted(((p & -p).bit_length() - 1, p.bit_length() - 1) for p in problem.pins)
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    units, v = [], 0
    for lo, hi in merged + [[problem.num_ops, problem.num_ops]]:
        units.extend(1 << u for u in range(v, lo))
        if lo < problem.num_ops:
            units.append(((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1))
        v = hi + 1
    return units
