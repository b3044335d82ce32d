"""A cost model's fingerprint: a hash of its F_beta on a fixed set of probe groups.

Labels come from the cost model, so a predictor trained under one model is wrong under
another. The probes are fixed op windows (and their weakly connected parts) of two zoo nets,
one with residual joins (resnet18) and one with squeeze-excite branches
(mobilenet_v3_small), at 1 and 2 bytes per element. They depend on the zoo only, which is
pinned op for op to torchvision's export.
"""

from __future__ import annotations

import hashlib

from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import components_in, graph_masks
from fuseplan.models.zoo import build

PROBE_NETS = ("resnet18", "mobilenet_v3_small")
PROBE_LENGTHS = (1, 3, 8, 20)
PROBE_STEP = 7


def probe_groups(num_ops: int, nbr: tuple[int, ...]) -> list[int]:
    """Masks of the weakly connected parts of op windows [start, start + length)."""
    groups = []
    for start in range(0, num_ops, PROBE_STEP):
        for length in PROBE_LENGTHS:
            hi = min(num_ops, start + length)
            window = ((1 << hi) - 1) ^ ((1 << start) - 1)
            groups += components_in(window, nbr)
    return groups


def cost_fingerprint(scheme: str) -> str:
    """16 hex digits that change whenever F_beta of scheme ``scheme`` changes on a probe."""
    h = hashlib.sha256(scheme.strip().lower().encode())
    for name in PROBE_NETS:
        graph = build(name)
        groups = probe_groups(graph.num_ops, graph_masks(graph).nbr_mask)
        for bpe in (1, 2):
            model = make_cost_model(scheme, graph, bpe)
            h.update(repr((name, bpe, [model.buffer_bytes(g) for g in groups])).encode())
    return h.hexdigest()[:16]
