"""The explainer: one group, one strategy -> verdict, edge scores, the chosen cut(s) and their halves.

This is the third part of PyG's split (``Explainer``): it fixes what is explained (a group at
a buffer, under a cost model), runs a :class:`~fuseplan.explain.strategies.RepairAlgorithm`
and reads its edge scores into cuts with the one cut rule (``explain/cut_rule.py``). Each
half of a cut is judged by :func:`~fuseplan.models.group.check_group` and priced by the cost
model (``dram_bytes`` is F_D at the buffer; for a half that does not fit, the traffic it
would have with a large enough buffer, as ``group_cost`` reports it).

``explain_group`` imports no torch for ``cost`` and ``random``; it is what the command and the
searches call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fuseplan.models.group import GroupCheck, check_group

from .cut_rule import mean_score, rank_edges, top_cuts
from .cuts import Cut, CutSpace, cut_space
from .strategies import EdgeExplanation, RepairAlgorithm

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.cost.base import CostModel


@dataclass(frozen=True, slots=True)
class Half:
    """One half of a cut: its check (with ``need_bytes`` = F_beta) and its F_D."""

    check: GroupCheck
    dram_bytes: int


@dataclass(frozen=True, slots=True)
class CutReport:
    """A chosen cut with its mean edge score and both halves."""

    cut: Cut
    mean_score: float
    first: Half
    second: Half

    @property
    def valid(self) -> bool:
        """Both halves valid groups."""
        return self.first.check.valid and self.second.check.valid


@dataclass(frozen=True, slots=True)
class GroupExplanation:
    """What one strategy says about one group: the whole group's check, the edge scores,
    the edges ranked (indices, best first), and up to ``top_k`` cuts in rank order.
    ``exact_space`` is False when the group had too many ideals to list every cut."""

    check: GroupCheck
    explanation: EdgeExplanation
    ranking: tuple[int, ...]
    cuts: tuple[CutReport, ...]
    exact_space: bool

    @property
    def strategy(self) -> str:
        return self.explanation.strategy

    @property
    def cut(self) -> CutReport | None:
        """The chosen cut (the first in rank order), or None when the group has none."""
        return self.cuts[0] if self.cuts else None


def half(model: CostModel, mask: int, buffer_bytes: int) -> Half:
    """The check and F_D of one half."""
    return Half(check_group(model, mask, buffer_bytes),
                model.group_cost(mask, buffer_bytes).dram_bytes)


def explain_group(model: CostModel, group: int, buffer_bytes: int,
                  algorithm: RepairAlgorithm, *, top_k: int = 1,
                  space: CutSpace | None = None) -> GroupExplanation:
    """Explains ``group`` (a connected convex op mask of ``model.graph``) at a buffer of
    ``buffer_bytes`` with ``algorithm``; a group that is already valid is explained all the
    same (its check says so). A clear error for a group that is not connected or not convex."""
    if space is None:
        space = cut_space(model.graph, group)
    check = check_group(model, group, buffer_bytes)
    explanation = algorithm(model, group, buffer_bytes, space=space)
    scores = explanation.edge_scores
    reports = tuple(
        CutReport(cut, mean_score(cut, scores), half(model, cut.first, buffer_bytes),
                  half(model, cut.second, buffer_bytes))
        for cut in top_cuts(space, scores, top_k, model)
    )
    return GroupExplanation(check, explanation, tuple(rank_edges(scores)), reports, space.exact)
