"""From an edge ranking to a cut: the one rule every repair strategy uses.

Given one score per edge of a group (higher = more responsible for the group not fitting):

1. rank the edges by score, highest first (ties: lower edge index first; edges whose score
   is not finite are left out: no strategy vouches for them);
2. take the top-ranked edge; among the valid cuts whose crossing edges include it, choose the
   one whose crossing edges have the highest *mean* score (ties, which are common when a
   strategy gives many edges the same score: the smaller buffer need of the larger half,
   max(F_beta(A), F_beta(G - A)), when a cost model is given; then fewer crossing edges; then
   the smaller ``first`` mask, so the rule is deterministic);
3. if no valid cut crosses that edge, try the next edge.

Skip connections need nothing extra here: a cut's crossing set is the whole edge cut of its
ideal (``explain/cuts.py``), so a cut through an edge that a skip bypasses crosses the skip
edges too, and their scores enter the mean.

:func:`top_cuts` gives the first ``k`` *distinct* cuts this way: walking down the ranking,
each edge contributes its best cut unless an earlier edge already gave that cut (so fewer
than ``k`` come back when the ranking runs out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fuseplan.models.errors import FusePlanError

from .cuts import Cut, CutSpace

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.cost.base import CostModel


def rank_edges(scores: Sequence[float]) -> list[int]:
    """Edge indices by score, highest first (ties: lower index first); non-finite left out."""
    finite = [i for i, s in enumerate(scores) if math.isfinite(s)]
    return sorted(finite, key=lambda i: (-scores[i], i))


def mean_score(cut: Cut, scores: Sequence[float]) -> float:
    """The mean score of a cut's crossing edges."""
    return sum(scores[i] for i in cut.crossing) / len(cut.crossing)


def larger_half_bytes(cut: Cut, model: CostModel) -> int:
    """max(F_beta(A), F_beta(G - A)): the buffer the cut's larger half needs."""
    return max(model.buffer_bytes(cut.first), model.buffer_bytes(cut.second))


def best_cut_through(space: CutSpace, edge: int, scores: Sequence[float],
                     model: CostModel | None = None) -> Cut | None:
    """Of the valid cuts crossing ``edge``, the one with the best mean score (module
    docstring for ties); None when no valid cut crosses it."""
    options = space.through(edge)
    if not options:
        return None
    top = max(mean_score(c, scores) for c in options)
    tied = [c for c in options if mean_score(c, scores) == top]
    if model is None or len(tied) == 1:
        return min(tied, key=lambda c: (len(c.crossing), c.first))
    return min(tied, key=lambda c: (larger_half_bytes(c, model), len(c.crossing), c.first))


def top_cuts(space: CutSpace, scores: Sequence[float], k: int,
             model: CostModel | None = None) -> list[Cut]:
    """Up to ``k`` distinct cuts in the order of the edge ranking (``model`` breaks ties)."""
    if len(scores) != len(space.edges):
        raise FusePlanError(
            f"{len(scores)} edge score(s) for a group with {len(space.edges)} edge(s): "
            "give one score per edge of the group"
        )
    chosen: list[Cut] = []
    seen: set[int] = set()
    for edge in rank_edges(scores):
        if len(chosen) >= k:
            break
        cut = best_cut_through(space, edge, scores, model)
        if cut is not None and cut.first not in seen:
            seen.add(cut.first)
            chosen.append(cut)
    return chosen


def choose_cut(space: CutSpace, scores: Sequence[float],
               model: CostModel | None = None) -> Cut | None:
    """The cut the ranking picks (module docstring); None when no valid cut crosses any
    ranked edge (a single op, or a group without two connected halves)."""
    found = top_cuts(space, scores, 1, model)
    return found[0] if found else None
