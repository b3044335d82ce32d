"""The candidate groups of one net, sampled the way the paper's searches meet them.

Three sources, in equal turns, each from ``models/group_sampling.py``:

- the weakly connected parts of the K = 10 segments of one random segmentation;
- both halves of a random cut of one of those parts;
- random convex connected growth to a size drawn uniformly from 1..``max_ops``.

Groups are bitmasks; duplicates (within the net) are dropped; groups over ``max_ops`` ops are
left out (a segment of a 380-op net can be longer).
"""

from __future__ import annotations

import random

from fuseplan.models.graph import Graph
from fuseplan.models.group_sampling import random_convex_group, random_cut, segment_parts

MAX_OPS = 120


def sample_groups(graph: Graph, rng: random.Random, count: int,
                  max_ops: int = MAX_OPS) -> list[int]:
    """Up to ``count`` distinct groups of ``graph`` (fewer when the net has fewer)."""
    seen: dict[int, None] = {}
    limit = min(max_ops, graph.num_ops)

    def add(mask: int) -> None:
        if 0 < mask.bit_count() <= max_ops and len(seen) < count:
            seen[mask] = None

    stale = 0
    while len(seen) < count and stale < 50:
        before = len(seen)
        parts = segment_parts(graph, rng)
        rng.shuffle(parts)
        for part in parts[:3]:
            add(part)
        for part in parts[3:6]:
            halves = random_cut(graph, part, rng)
            if halves is not None:
                add(halves[0])
                add(halves[1])
        for _ in range(3):
            add(random_convex_group(graph, rng, rng.randint(1, limit)))
        stale = stale + 1 if len(seen) == before else 0
    return list(seen)
