"""The ideals method's linking and shortest path, compiled (numba), on candidate rows.

What :func:`.ideals.lattice_arcs` and :func:`.ideals.shortest_path` do with Python ints,
on the int64 word rows of :class:`fuseplan.solver.candidates_rows.CandidateRows`: the arcs
of every candidate (walk the lattice from the ideal of its outside ancestors, avoiding the
group and its descendants), then one relaxation pass over the ideals in size order, each
ideal's arcs in candidate order, so ties resolve as in Python and the chosen candidates are
the same. Ideals are found by their words through an open-addressing hash table.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from ..candidates_grow_kernel import _slot
from ..candidates_rows import CandidateRows
from ..progress import Deadline

STEPS_PER_CALL = 200_000  # lattice steps (about 5 ms) between two looks at the clock


@njit(cache=True, nogil=True)
def _find(keys: np.ndarray, used: np.ndarray, index: np.ndarray, key: np.ndarray) -> int:
    """The index of the ideal whose words are ``key``, or ``-2 - slot`` (the free slot it
    would take) when absent. ``used`` marks the slots taken (1), as the growth's stamps."""
    slot, present = _slot(keys, used, 1, key)
    return index[slot] if present else -2 - slot


@njit(cache=True, nogil=True)
def _table(ideals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hash table of the ideals' words: keys, slots taken, the ideal index per slot."""
    size = 4
    while size < 2 * ideals.shape[0]:
        size *= 2
    keys = np.zeros((size, ideals.shape[1]), dtype=np.int64)
    used = np.zeros(size, dtype=np.int64)
    index = np.full(size, -1, dtype=np.int64)
    for i in range(ideals.shape[0]):
        slot = -2 - _find(keys, used, index, ideals[i])
        keys[slot] = ideals[i]
        used[slot] = 1
        index[slot] = i
    return keys, used, index


@njit(cache=True, nogil=True)
def _link(ideals: np.ndarray, frontiers: np.ndarray, keys: np.ndarray, used: np.ndarray,
          index: np.ndarray,
          rows: np.ndarray, offset: int, first: int, budget: int, tails: np.ndarray,
          heads: np.ndarray, cands: np.ndarray, count: np.ndarray, seen: np.ndarray,
          todo: np.ndarray) -> int:
    """Appends the arcs (tail, head, candidate) of the block ``rows`` from its row
    ``first`` on (candidate ``offset`` + row) to the arrays (``count[0]`` arcs so far),
    stopping once ``budget`` lattice steps are taken (after a whole candidate) or before a
    candidate that might not find room; returns the next row to link, or -1 when an ideal
    was missing."""
    words = ideals.shape[1]
    n_ideals = ideals.shape[0]
    union = np.empty(words, dtype=np.int64)
    avoid = np.empty(words, dtype=np.int64)
    n = count[0]
    g = first
    steps = 0
    while g < rows.shape[0] and steps < budget:
        if n + n_ideals > tails.shape[0]:
            break
        for u in range(words):
            avoid[u] = rows[g, u] | rows[g, 2 * words + u]
        start = _find(keys, used, index, rows[g, words:2 * words])
        if start < 0:
            return -1
        stamp = offset + g + 1
        seen[start] = stamp
        todo[0] = start
        top = 1
        while top > 0:
            top -= 1
            steps += 1
            i = todo[top]
            for u in range(words):
                union[u] = ideals[i, u] | rows[g, u]
            j = _find(keys, used, index, union)
            if j < 0:
                return -1
            tails[n] = i
            heads[n] = j
            cands[n] = offset + g
            n += 1
            for w in range(words):
                word = frontiers[i, w] & ~avoid[w]
                while word != 0:
                    low = word & -word
                    word ^= low
                    for u in range(words):
                        union[u] = ideals[i, u]
                    union[w] |= low
                    j = _find(keys, used, index, union)
                    if j < 0:
                        return -1
                    if seen[j] != stamp:
                        seen[j] = stamp
                        todo[top] = j
                        top += 1
        g += 1
    count[0] = n
    return g


@njit(cache=True, nogil=True)
def _relax(order: np.ndarray, starts: np.ndarray, heads: np.ndarray, cands: np.ndarray,
           costs: np.ndarray, back: np.ndarray) -> int:
    """The cheapest chain's cost from ideal 0 to the last (-1 if none); ``back[j]`` is the
    arc that reached ideal j."""
    n_ideals = starts.shape[0] - 1
    unreached = np.iinfo(np.int64).max
    dist = np.full(n_ideals, unreached, dtype=np.int64)
    dist[0] = 0
    for i in range(n_ideals):
        here = dist[i]
        if here == unreached:
            continue
        for k in range(starts[i], starts[i + 1]):
            a = order[k]
            j = heads[a]
            d = here + costs[cands[a]]
            if d < dist[j]:
                dist[j] = d
                back[j] = a
    return -1 if dist[n_ideals - 1] == unreached else dist[n_ideals - 1]


def rows_shortest_path(
    lattice: dict[int, int], cands: CandidateRows, deadline: Deadline | None,
    grace_s: float = 0.0,
) -> tuple[int | None, list[int], int, bool]:
    """(cost or None, chosen candidate indices in chain order, arcs, linking complete): what
    :func:`.ideals.lattice_arcs` then :func:`.ideals.shortest_path` give on the same
    candidates, with the same deadline rule (the deadline plus ``grace_s``)."""
    from fuseplan.models.cost.kernel_data import masks_words

    from .ideals import _stop

    stop_at = None
    if deadline is not None and grace_s and deadline.expired():
        stop_at = time.perf_counter() + grace_s
    elif deadline is not None and deadline.end is not None:
        stop_at = deadline.end + grace_s
    words = cands.words
    ideals = masks_words(list(lattice), words)
    frontiers = masks_words(list(lattice.values()), words)
    keys, used, index = _table(ideals)
    n_ideals = len(ideals)
    size = max(1024, len(cands) + 2 * n_ideals)
    tails = np.zeros(size, dtype=np.int32)
    heads = np.zeros(size, dtype=np.int32)
    which = np.zeros(size, dtype=np.int32)
    count = np.zeros(1, dtype=np.int64)
    seen = np.zeros(n_ideals, dtype=np.int64)
    todo = np.zeros(n_ideals, dtype=np.int64)
    total, complete = len(cands), True
    for offset, rows in zip(cands.starts(), cands.blocks):
        g = 0
        while g < len(rows):
            nxt = _link(ideals, frontiers, keys, used, index, rows, offset, g, STEPS_PER_CALL,
                        tails, heads, which, count, seen, todo)
            if nxt < 0:
                raise KeyError("a candidate's ideal is not in the lattice")
            if nxt == g:  # no room for one more candidate's arcs (the budget is at least one)
                tails, heads, which = (np.concatenate([a, np.zeros_like(a)])
                                       for a in (tails, heads, which))
                continue
            g = nxt
            if offset + g < total and _stop(stop_at, deadline, grace_s):
                complete = False
                break
            if deadline is not None and offset + g < total:
                deadline.report("building arcs over ideals (compiled)", done=int(offset + g),
                                total=total, unit="candidate groups linked")
        if not complete:
            break
    n = int(count[0])
    tails, heads, which = tails[:n], heads[:n], which[:n]
    order = np.argsort(tails, kind="stable")  # by tail, candidates in order within one
    starts = np.zeros(n_ideals + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n_ideals), out=starts[1:])
    back = np.full(n_ideals, -1, dtype=np.int64)
    cost = _relax(order, starts, heads, which, cands.costs, back)
    if cost < 0:
        return None, [], n, complete
    chosen = []
    j = n_ideals - 1
    while j != 0:
        a = back[j]
        chosen.append(int(which[a]))
        j = int(tails[a])
    return int(cost), chosen[::-1], n, complete
