"""Downward-closed op sets ("ideals") of a graph, as bitmasks over op ids.

An ideal is a set of ops closed under predecessors. Every acyclic plan of convex groups is a
chain of ideals {} = I_0 < I_1 < ... < I_k = all ops, each group a difference of consecutive
ideals, so their number measures how hard exact planning is: about the number of ops for a
chain-like CNN, exploding with width.
"""

from __future__ import annotations

from .graph import Graph


def pred_masks(graph: Graph) -> list[int]:
    """Per op id, the bitmask of its direct predecessors."""
    masks = []
    for preds in graph.preds:
        m = 0
        for p in preds:
            m |= 1 << p
        masks.append(m)
    return masks


def enumerate_ideals(graph: Graph, cap: int | None = None) -> tuple[list[int], bool]:
    """All ideals as bitmasks, grouped by size (the empty set first, all ops last).

    Returns ``(ideals, complete)``; with a ``cap``, stops once more than ``cap`` ideals have
    been found and returns ``complete=False`` (the list then holds at least ``cap`` ideals).
    Level by level: an ideal of size j+1 is an ideal of size j plus one op whose
    predecessors are all in it, so each level is found from the one before.
    """
    preds = pred_masks(graph)
    n = graph.num_ops
    level: list[int] = [0]
    ideals: list[int] = [0]
    for _ in range(n):
        nxt: set[int] = set()
        for ideal in level:
            for v in range(n):
                bit = 1 << v
                if not ideal & bit and preds[v] & ~ideal == 0:
                    nxt.add(ideal | bit)
        level = sorted(nxt)
        ideals.extend(level)
        if cap is not None and len(ideals) > cap:
            return ideals, False
    return ideals, True


def count_ideals(graph: Graph, cap: int = 100_000) -> tuple[int, bool]:
    """The number of ideals, or ``(a number > cap, False)`` when there are more than ``cap``."""
    ideals, complete = enumerate_ideals(graph, cap)
    return len(ideals), complete
