"""The groups the trained explainers learn from (no torch): invalid segment parts.

The searches meet invalid groups as the weakly connected parts of random segmentations (K = 10
segments of the topological order, ``models/group_sampling.segment_parts``), so the explainers
train on those: parts of the GNN's training nets, at buffers drawn from
:data:`TRAIN_BUFFERS`, kept when the cost model finds them invalid, with 2 to
:data:`MAX_OPS` ops and at least one valid cut. The random stream is
``random.Random(f"explainer:{seed}:{net}")``: it never replays the rectify-rate benchmark's
``random.Random(0)`` segmentations.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from fuseplan.models.cost import make_cost_model
from fuseplan.models.cost.base import CostModel
from fuseplan.models.group import check_group
from fuseplan.models.group_sampling import segment_parts
from fuseplan.models.zoo import build

from ..cuts import CutSpace, cut_space

TRAIN_BUFFERS = (64 * 1024, 128 * 1024, 256 * 1024, 512 * 1024)
MAX_OPS = 80


@dataclass(frozen=True)
class TrainGroup:
    model: CostModel
    space: CutSpace
    buffer_bytes: int


def training_groups(scheme: str, nets: Sequence[str], per_net: int, seed: int,
                    buffers: Sequence[int] = TRAIN_BUFFERS,
                    both_valid_cut: bool = False) -> list[TrainGroup]:
    """Up to ``per_net`` distinct invalid segment parts of each net (see the module docstring);
    ``both_valid_cut``: only parts with a cut that leaves both halves valid (RG-Explainer's
    reward rewards finding one, so a part without any teaches it nothing about cutting)."""
    out: list[TrainGroup] = []
    for net in nets:
        graph = build(net)
        model = make_cost_model(scheme, graph)
        rng = random.Random(f"explainer:{seed}:{net}")
        seen: set[tuple[int, int]] = set()
        found = 0
        for _ in range(50 * per_net):
            if found >= per_net:
                break
            parts = [p for p in segment_parts(graph, rng) if 2 <= p.bit_count() <= MAX_OPS]
            if not parts:
                continue
            part = rng.choice(parts)
            beta = rng.choice(list(buffers))
            if (part, beta) in seen or check_group(model, part, beta).valid:
                continue
            seen.add((part, beta))
            space = cut_space(graph, part)
            if both_valid_cut and not any(
                    check_group(model, c.first, beta).valid
                    and check_group(model, c.second, beta).valid for c in space.cuts):
                continue
            if space.cuts and space.edges:
                out.append(TrainGroup(model, space, beta))
                found += 1
    return out
