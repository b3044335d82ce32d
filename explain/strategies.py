"""Repair strategies: algorithms that score the edges of a group, in PyG's split.

PyG's ``torch_geometric.explain`` separates the *algorithm* (how edges are scored), the
*explanation* (the result: an edge mask) and the *explainer* (what to explain, and how the
mask is read). Ours mirrors it without torch:

- :class:`RepairAlgorithm` is the algorithm: every strategy is called the same way,
  ``algorithm(model, group, buffer_bytes, space=...)``, and returns an
  :class:`EdgeExplanation` (one score per edge of the group; higher = more responsible).
- the cut rule (``explain/cut_rule.py``) reads the scores into a cut, the same for all;
- ``explain/explainer.py`` puts the verdict, the scores and the cut together.

Two strategies live here and import no torch (searches call them in their inner loop):

- ``cost``: exact cost attribution. score(e) = F_beta(G) minus the smallest
  max(F_beta(A), F_beta(G - A)) over the valid cuts (A, G - A) that cross e: how much the
  larger half's buffer drops below the whole group's when the group is cut through e, at the
  best such cut. Edges no valid cut crosses get -inf (never ranked). Deterministic.
- ``random``: a uniformly random valid cut of the group's cut space (``explain/cuts.py``; the
  paper's baseline). Its scores are 1 on the chosen cut's crossing edges and 0 elsewhere;
  the cut rule then returns exactly that cut (two different valid cuts never have nested
  crossing sets, so only the chosen one has mean 1). Seeded: one ``random.Random(seed)`` per
  instance, so the same seed and the same calls give the same cuts.

The learned strategies (``explain/registry.py``) subclass the same base.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from fuseplan.models.errors import FusePlanError

from .cuts import CutSpace, Edge, cut_space

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.cost.base import CostModel


@dataclass(frozen=True, slots=True)
class EdgeExplanation:
    """One strategy's scores for the edges of one group (``edge_scores[i]`` belongs to
    ``edges[i]``), with the time it took in seconds."""

    strategy: str
    group: int
    edges: tuple[Edge, ...]
    edge_scores: tuple[float, ...]
    time_s: float


class RepairAlgorithm(ABC):
    """Scores the edges of a group; subclasses set ``name`` and implement
    :meth:`edge_scores`. ``needs_torch`` tells callers whether calling it imports torch."""

    name: ClassVar[str]
    needs_torch: ClassVar[bool] = False

    def __call__(self, model: CostModel, group: int, buffer_bytes: int, *,
                 space: CutSpace | None = None) -> EdgeExplanation:
        if space is None:
            space = cut_space(model.graph, group)
        elif space.group != group or space.graph is not model.graph:
            raise FusePlanError("the cut space given is for another group or graph")
        start = time.perf_counter()
        scores = tuple(float(s) for s in self.edge_scores(model, space, buffer_bytes))
        if len(scores) != len(space.edges):
            raise FusePlanError(f"strategy {self.name!r} scored {len(scores)} edge(s) of "
                                f"{len(space.edges)}")
        return EdgeExplanation(self.name, group, space.edges, scores,
                               time.perf_counter() - start)

    @abstractmethod
    def edge_scores(self, model: CostModel, space: CutSpace, buffer_bytes: int) -> list[float]:
        """One score per edge of ``space.edges``."""


class CostAttribution(RepairAlgorithm):
    """``cost``: exact cost attribution (module docstring). ``buffer_bytes`` is not used:
    F_beta does not depend on the buffer."""

    name = "cost"

    def edge_scores(self, model: CostModel, space: CutSpace, buffer_bytes: int) -> list[float]:
        whole = model.buffer_bytes(space.group)
        best = [float("-inf")] * len(space.edges)
        for cut in space.cuts:
            larger = max(model.buffer_bytes(cut.first), model.buffer_bytes(cut.second))
            gain = float(whole - larger)
            for e in cut.crossing:
                if gain > best[e]:
                    best[e] = gain
        return best


class RandomCut(RepairAlgorithm):
    """``random``: a uniformly random valid cut, seeded (module docstring)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def edge_scores(self, model: CostModel, space: CutSpace, buffer_bytes: int) -> list[float]:
        scores = [0.0] * len(space.edges)
        if space.cuts:
            for e in self.rng.choice(space.cuts).crossing:
                scores[e] = 1.0
        return scores
