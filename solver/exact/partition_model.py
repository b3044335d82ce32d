"""The set-partition model shared by ``cpsat-partition`` and ``milp``.

Choose candidate groups (one 0/1 variable each) so that every op is covered exactly once,
at the least total fusible F_D, with an acyclic graph of groups. Acyclicity is pairwise:
in a plan whose graph of groups has a cycle, every two groups on the cycle reach each other
through ops of the graph; conversely, if no two chosen groups reach each other both ways,
the graph of groups is acyclic. So the model forbids pairs, in two steps:

- up front, the 2-cycles through direct edges, as cliques: for a group G and an op u fed
  by G, G together with every candidate holding u and also feeding G is at most one (those
  candidates all hold u, so they exclude each other already);
- lazily: a solution whose groups form a cycle gets every pair of groups of each strongly
  connected component of its graph of groups forbidden, and the model is solved again with
  the best acyclic plan so far as a hint (CP-SAT and CBC have no lazy constraints).

A solve of the model with fewer pairs forbidden is a relaxation, so its bound is a valid
lower bound for the whole problem when the candidate set is complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fuseplan.models.group import mask_ops

from ..candidates import CandidateSet
from ..problem import Problem
from ..progress import Deadline


@dataclass(frozen=True)
class PartitionData:
    """``cover[v]``: the candidates holding op v; ``fixed``: unfusable singletons (always
    chosen); ``cliques``: the up-front 2-cycle cliques (candidate index lists).
    ``complete`` is False when the deadline struck before the cover lists were done: then
    the data is partial, not a model to solve."""

    cover: tuple[tuple[int, ...], ...]
    fixed: tuple[int, ...]
    cliques: tuple[tuple[int, ...], ...]
    complete: bool = True


MAX_CLIQUE_ENTRIES = 2_000_000


def build_partition(
    problem: Problem, cands: CandidateSet, deadline: Deadline | None = None
) -> PartitionData:
    """The cover lists and as many 2-cycle cliques as fit in ``MAX_CLIQUE_ENTRIES``
    entries and the time left (the cliques only tighten the model: the lazy cuts alone
    keep it exact). The deadline (time limit and stop) is watched at every candidate of
    the clique pass, whose big-int work per candidate grows with the candidate count, and
    every 4,096 candidates of the cover pass (``complete=False`` if it strikes there)."""
    n = problem.num_ops
    cover: list[list[int]] = [[] for _ in range(n)]
    for g, mask in enumerate(cands.masks):
        if deadline is not None and g % 4096 == 0 and deadline.expired():
            return PartitionData(cover=tuple(tuple(c) for c in cover), fixed=(), cliques=(),
                                 complete=False)
        for v in mask_ops(mask):
            cover[v].append(g)
    cover_bits = [_bitset(lst, len(cands.masks)) for lst in cover]
    fixed = tuple(g for g, m in enumerate(cands.masks) if m & problem.unfusable)
    cliques: list[tuple[int, ...]] = []
    entries = 0
    for g, mask in enumerate(cands.masks):
        if entries > MAX_CLIQUE_ENTRIES or (deadline is not None and deadline.expired()):
            break
        feeds = fed = 0
        for v in mask_ops(mask):
            feeds |= problem.succs[v]
            fed |= problem.preds[v]
        feeds &= ~mask
        fed &= ~mask
        if not feeds or not fed:
            continue
        feeding_g = 0
        for w in mask_ops(fed):
            feeding_g |= cover_bits[w]
        for u in mask_ops(feeds):
            both = cover_bits[u] & feeding_g
            if both:
                cliques.append((g, *_indices(both)))
                entries += len(cliques[-1])
    return PartitionData(
        cover=tuple(tuple(c) for c in cover), fixed=fixed, cliques=tuple(cliques)
    )


def _indices(bits: int) -> list[int]:
    """The set bits of an int over candidate indices (millions of bits) in time linear in
    its size: ``mask_ops`` copies the whole int once per bit."""
    if bits.bit_count() <= 16:
        return mask_ops(bits)
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    out = []
    for found in _NONZERO.finditer(raw):
        i = found.start()
        byte = raw[i]
        while byte:
            low = byte & -byte
            out.append(8 * i + low.bit_length() - 1)
            byte ^= low
    return out


_NONZERO = re.compile(b"[^\\x00]")


def _bitset(indices: list[int], size: int) -> int:
    """The indices as one int bitmask, in time linear in ``size`` (or-ing ``1 << i`` one by
    one would be quadratic)."""
    raw = bytearray((size + 7) // 8)
    for i in indices:
        raw[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(raw, "little")



def cycle_pairs(problem: Problem, cands: CandidateSet, chosen: list[int]) -> list[tuple[int, int]]:
    """The pairs of chosen candidates in one strongly connected component of the graph of
    groups (empty when that graph is acyclic)."""
    import networkx as nx

    group_of = {}
    for g in chosen:
        for v in mask_ops(cands.masks[g]):
            group_of[v] = g
    quotient = nx.DiGraph()
    quotient.add_nodes_from(chosen)
    for v, pred_mask in enumerate(problem.preds):
        for u in mask_ops(pred_mask):
            a, b = group_of.get(u), group_of.get(v)
            if a is not None and b is not None and a != b:
                quotient.add_edge(a, b)
    pairs = []
    for comp in nx.strongly_connected_components(quotient):
        members = sorted(comp)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                pairs.append((a, b))
    return pairs


def is_exact_cover(problem: Problem, cands: CandidateSet, chosen: list[int]) -> bool:
    seen = 0
    for g in chosen:
        if cands.masks[g] & seen:
            return False
        seen |= cands.masks[g]
    return seen == problem.all_ops
