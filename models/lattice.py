"""Downward-closed op sets ("ideals") of a graph, as bitmasks over op ids.

An ideal is a set of ops closed under predecessors. Every acyclic plan of convex groups is a
chain of ideals {} = I_0 < I_1 < ... < I_k = all ops, each group a difference of consecutive
ideals, so their number measures how hard exact planning is: about the number of ops for a
chain-like CNN, exploding with width.
"""

from __future__ import annotations

from collections.abc import Callable

from .graph import Graph
from .group import pred_masks


def _frontier_after(
    frontier: int, ideal: int, v: int, succs: tuple[tuple[int, ...], ...], preds: list[int]
) -> int:
    """The ops addable to ``ideal | 1 << v`` given ``frontier`` (the ops addable to ``ideal``)."""
    grown = ideal | 1 << v
    out = frontier & ~(1 << v)
    for w in succs[v]:
        if preds[w] & ~grown == 0:
            out |= 1 << w
    return out


def enumerate_ideals(graph: Graph, cap: int | None = None) -> tuple[list[int], bool]:
    """All ideals as bitmasks, grouped by size (the empty set first, all ops last).

    Returns ``(ideals, complete)``; with a ``cap``, stops once more than ``cap`` ideals have
    been found and returns ``complete=False`` (the list then holds at least ``cap`` ideals).
    The ideals of :func:`ideal_lattice`, without their frontiers.
    """
    lattice, complete = ideal_lattice(graph, cap)
    return list(lattice), complete


def count_ideals(graph: Graph, cap: int = 100_000) -> tuple[int, bool]:
    """The number of ideals, or ``(a number > cap, False)`` when there are more than ``cap``."""
    ideals, complete = enumerate_ideals(graph, cap)
    return len(ideals), complete


CHECK_EVERY = 4096  # ideals listed between two calls of ``should_stop``


def ideal_lattice(
    graph: Graph, cap: int | None = None, should_stop: Callable[[], bool] | None = None
) -> tuple[dict[int, int], bool]:
    """Every ideal mapped to its frontier (the mask of ops addable to it), the empty ideal
    first and the ideals in order of size; ``complete=False`` when more than ``cap``, or
    when ``should_stop()`` (asked every ``CHECK_EVERY`` ideals; models/ knows no deadline)
    said to stop: a caller that passes it tells the two apart with ``len(lattice) > cap``.

    Level by level: an ideal of size j+1 is an ideal of size j plus one op whose
    predecessors are all in it (its frontier, kept incrementally), so each level is found
    from the one before."""
    preds = pred_masks(graph)
    succs = graph.succs
    start_frontier = 0
    for v in range(graph.num_ops):
        if preds[v] == 0:
            start_frontier |= 1 << v
    lattice: dict[int, int] = {0: start_frontier}
    level: dict[int, int] = {0: start_frontier}
    listed = 0
    for _ in range(graph.num_ops):
        nxt: dict[int, int] = {}
        for ideal, frontier in level.items():
            listed += 1
            if listed % CHECK_EVERY == 0 and (
                (cap is not None and len(lattice) + len(nxt) > cap)
                or (should_stop is not None and should_stop())
            ):
                lattice.update(nxt)
                return lattice, False
            rest = frontier
            while rest:
                low = rest & -rest
                rest ^= low
                grown = ideal | low
                if grown not in nxt:
                    nxt[grown] = _frontier_after(frontier, ideal, low.bit_length() - 1, succs, preds)
        level = nxt
        lattice.update(nxt)
        if cap is not None and len(lattice) > cap:
            return lattice, False
    return lattice, True
