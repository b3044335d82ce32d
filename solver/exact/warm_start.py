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

from dataclasses import replace

from fuseplan.models.plan_build import unfusable_mask

from ..candidates import enumerate_candidates
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
    problem: Problem, limits: Limits, deadline: Deadline, lattice: dict[int, int]
) -> tuple[int | None, list[int], int | None]:
    """(fusible total at beta, groups, the smaller buffer it was solved at) of the best plan
    found at beta/8, beta/4, beta/2 before the deadline; (None, [], None) if none."""
    from .ideals import lattice_arcs, shortest_path

    best: tuple[int | None, list[int], int | None] = (None, [], None)
    for frac in LEVELS:
        if deadline.expired():
            break  # each level prices every op alone before it looks at the clock
        small = problem.buffer_bytes // frac
        unfusable = unfusable_mask(problem.model, small)
        if unfusable & ~problem.unfusable and any(p & unfusable for p in problem.pins):
            continue  # a pinned op would be unfusable at this buffer
        sub = replace(problem, buffer_bytes=small, unfusable=unfusable)
        cands = enumerate_candidates(sub, deadline, workers=limits.workers)
        if not cands.complete:
            break
        out, complete = lattice_arcs(sub, lattice, cands, deadline)
        if not complete:
            break
        cost, chosen = shortest_path(out, cands.costs, len(lattice))
        if cost is None:
            continue
        groups = [cands.masks[g] for g in chosen]
        total = price_at(problem, groups)
        if total is not None and (best[0] is None or total < best[0]):
            best = (total, groups, small)
            deadline.report(f"optimal at {small // 1024} KB", total)
    return best
