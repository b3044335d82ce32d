"""Seeded samplers of fusion groups, the way the paper's searches meet them.

- :func:`segment_parts`: the weakly connected parts of the K segments of the topological order
  (K - 1 random cut positions; K = 10 everywhere in this project). A segment of a topological
  order is convex, and so is each weakly connected part of a convex set.
- :func:`random_convex_group`: random connected growth from a seed op, one neighbour at a
  time, keeping the group convex (the growth step of the exact solvers' enumeration).
- :func:`random_cut`: the two halves of a random cut of a group: a part closed under
  predecessors inside the group and the rest, both weakly connected (no edge runs from the
  rest back into the part, so the two halves can never form a cycle).

Every sampler takes a ``random.Random`` (never the global one), so a seed reproduces it.
Groups are bitmasks over op ids (``models/group.py``). These need no cost model: the labels
come from :func:`~fuseplan.models.group.check_group`.
"""

from __future__ import annotations

import random

from .graph import Graph
from .group import adds_convexly, components_in, connected_in, graph_masks, mask_ops

SEGMENTS = 10  # K: segments of a plan in the paper's encoding


def segment_cuts(num_ops: int, rng: random.Random, segments: int = SEGMENTS) -> list[int]:
    """``segments - 1`` distinct sorted cut positions in 1..num_ops-1 (fewer when the graph
    has fewer ops than that): segment i is ops ``cuts[i-1] .. cuts[i] - 1``."""
    return sorted(rng.sample(range(1, num_ops), min(segments - 1, max(0, num_ops - 1))))


def segments_of(num_ops: int, cuts: list[int]) -> list[int]:
    """The segments of the op order cut at ``cuts`` (sorted positions), as masks."""
    bounds = [0, *cuts, num_ops]
    return [((1 << hi) - 1) ^ ((1 << lo) - 1) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


def segment_parts(graph: Graph, rng: random.Random, segments: int = SEGMENTS) -> list[int]:
    """The weakly connected parts of the segments of one random segmentation."""
    nbr = graph_masks(graph).nbr_mask
    cuts = segment_cuts(graph.num_ops, rng, segments)
    return [part for seg in segments_of(graph.num_ops, cuts) for part in components_in(seg, nbr)]


def random_convex_group(graph: Graph, rng: random.Random, size: int,
                        seed_op: int | None = None) -> int:
    """A connected convex group grown from ``seed_op`` (random when None) by adding random
    neighbours that keep it convex, until it has ``size`` ops or no neighbour can join."""
    masks = graph_masks(graph)
    anc, desc, nbr = masks.anc_mask, masks.desc_mask, masks.nbr_mask
    v = rng.randrange(graph.num_ops) if seed_op is None else seed_op
    group, group_anc, group_desc, group_nbr = 1 << v, anc[v], desc[v], nbr[v]
    while group.bit_count() < size:
        options = [x for x in mask_ops(group_nbr & ~group)
                   if adds_convexly(x, group | 1 << x, group_anc, group_desc, anc, desc)]
        if not options:
            break
        x = rng.choice(options)
        group |= 1 << x
        group_anc |= anc[x]
        group_desc |= desc[x]
        group_nbr |= nbr[x]
    return group


def random_cut(graph: Graph, group: int, rng: random.Random,
               attempts: int = 32) -> tuple[int, int] | None:
    """A random cut ``(upper, lower)`` of ``group``: ``upper`` closed under predecessors
    within the group, ``lower`` the rest, both non-empty and weakly connected. Each attempt
    grows ``upper`` to a random size by random ready ops (all their predecessors in the group
    already in ``upper``), preferring those that touch it; None when no attempt gives two
    connected halves (a group of one op has no cut)."""
    if group.bit_count() < 2:
        return None
    masks = graph_masks(graph)
    preds, nbr = masks.pred_mask, masks.nbr_mask
    ops = mask_ops(group)
    for _ in range(attempts):
        target = rng.randrange(1, len(ops))
        upper = 0
        while upper.bit_count() < target:
            ready = [v for v in ops if not upper >> v & 1 and preds[v] & group & ~upper == 0]
            touching = [v for v in ready if nbr[v] & upper]
            upper |= 1 << rng.choice(touching or ready)
        lower = group & ~upper
        if connected_in(upper, nbr) and connected_in(lower, nbr):
            return upper, lower
    return None
