"""Anytime plans for a time-limited run: solve exactly at smaller buffers first.

A group that fits a smaller buffer fits the larger one too (F_beta does not depend on the
buffer), so the optimal plan at beta/8, beta/4, beta/2 is a valid plan at beta, found with
a fraction of the candidates (their number grows steeply with the buffer). When the time
limit then cuts the enumeration at beta short, the answer is the best of these plans and of
the shortest path over the groups found at beta, instead of a plan of consecutive runs.
It only gives plans (upper bounds), never a bound, so a cut-short run stays FEASIBLE
without a gap.
"""

from __future__ import annotations

import time
from dataclasses import replace

from fuseplan.models.plan_build import unfusable_mask

from ..candidates import enumerate_candidates
from ..candidates_rows import enumerate_rows, growth_threads
from ..problem import Limits, Problem
from ..progress import Deadline

LEVELS = (8, 4, 2)


def price_at(problem: Problem, groups: list[int]) -> int | None:
    """The fusible total of ``groups`` at ``problem``'s buffer (None if one does not fit)."""
    total = 0
    for g in groups:
        if g & problem.unfusable:
            continue  # an unfusable singleton: outside the fusible total
        cost = problem.model.dram_bytes(g, problem.buffer_bytes)
        if cost is None:
            return None
        total += int(cost)
    return total


def smaller_buffer_plans(
    problem: Problem, limits: Limits, deadline: Deadline, lattice: dict[int, int], *,
    compiled: bool = False,
) -> tuple[int | None, list[int], int | None]:
    """(fusible total at beta, groups, the smaller buffer it was solved at) of the best plan
    found at beta/8, beta/4, beta/2 before the deadline; (None, [], None) if none.
    ``compiled``: candidates as rows, linked in compiled code (``ideals.use_rows``).

    beta/2 is skipped when the levels so far predict that the enumeration at beta ends well
    within the time left (:func:`main_fits`): its plan would then only delay the proof."""
    from .ideals import optimal_path

    best: tuple[int | None, list[int], int | None] = (None, [], None)
    sizes: list[tuple[int, float]] = []  # (candidates, seconds) of each level solved
    for frac in LEVELS:
        if deadline.expired():
            break  # each level prices every op alone before it looks at the clock
        if frac == LEVELS[-1] and main_fits(sizes, frac, deadline.remaining()):
            break
        small = problem.buffer_bytes // frac
        unfusable = unfusable_mask(problem.model, small)
        if unfusable & ~problem.unfusable and any(p & unfusable for p in problem.pins):
            continue  # a pinned op would be unfusable at this buffer
        sub = replace(problem, buffer_bytes=small, unfusable=unfusable)
        began = time.perf_counter()
        rows = enumerate_rows(sub, deadline, threads=growth_threads(limits.workers)) \
            if compiled else None
        cands = rows if rows is not None else enumerate_candidates(sub, deadline,
                                                                   workers=limits.workers)
        if not cands.complete:
            break
        cost, chosen, _, complete = optimal_path(sub, lattice, cands, deadline)
        if not complete:
            break
        sizes.append((len(cands), time.perf_counter() - began))
        if cost is None:
            continue
        groups = cands.group_masks(chosen)
        total = price_at(problem, groups)
        if total is not None and (best[0] is None or total < best[0]):
            best = (total, groups, small)
            deadline.report(f"optimal at {small // 1024} KB", total)
    return best


def main_fits(sizes: list[tuple[int, float]], frac: int, left: float | None) -> bool:
    """Whether the enumeration at beta is predicted to end within half the time ``left``
    (None: no limit) when the next level would be beta/``frac``. The prediction: the
    candidates grow at each doubling of the buffer by the previous doubling's ratio to the
    power 3/4 (the ratio falls as the buffer grows), listed at the last level's pace. Fitted
    to GoogLeNet BRR (24,110, 141,969, 517,675, 1,345,652 candidates from 128 KB to 1 MB:
    predicted 10.2 x from 256 KB to 1 MB, measured 9.5 x) and inception_v3 BRR (7,366,
    95,841, 699,870, 2,316,533: predicted 29 x, measured 24 x)."""
    if left is None or len(sizes) < 2 or sizes[-2][0] == 0 or sizes[-1][1] <= 0:
        return False
    (n_a, _), (n_b, s_b) = sizes[-2], sizes[-1]
    ratio = max(1.0, n_b / n_a)
    doublings = frac.bit_length()  # beta / (2 frac), the last level, -> beta
    growth, step = 1.0, ratio
    for _ in range(doublings):
        step = step ** 0.75
        growth *= step
    return s_b * growth < left / 2
