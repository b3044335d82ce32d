"""``prune="aggressive"``: pairs kept apart without proof.

The issue asks for the pairs a *learned* explainer says must be separated. No learned
explainer was available when this was written (``explain/registry.py``: only ``cost`` and
``random`` load), so the rule used is the cost model's own near-miss: u an ancestor of v and
``buffer_lower_bound(hull({u, v})) >= AGGRESSIVE_SHARE * beta``, i.e. even the smallest group
holding both already fills most of the buffer, so it is unlikely to be part of a good group.
This can cut off the optimum: plans found under it are FEASIBLE, and their gap is quoted
against the whole-problem bound only (``method.py``).
"""

from __future__ import annotations

from ..problem import Problem
from ..progress import Deadline
from .separate import separate_pairs

AGGRESSIVE_SHARE = 0.8


def aggressive_pairs(problem: Problem, deadline: Deadline | None,
                     known: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The extra (unproven) pairs, minimal ones only, not already in ``known``."""
    near = separate_pairs(problem, deadline, share=AGGRESSIVE_SHARE)
    return [pair for pair in near.minimal if pair not in known]
