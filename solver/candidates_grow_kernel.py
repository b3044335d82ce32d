"""Candidate growth compiled (numba): the loop of ``candidates._grow`` for one seed op, with
the compiled price of :mod:`fuseplan.models.cost.brr_kernel` or ``lbdf_kernel``.

Groups are rows of int64 words (:mod:`fuseplan.models.cost.kernel_data`). The seen-set is
an open-addressing hash table whose slots carry the seed's stamp (so no clearing between
seeds) and a flag: 1 seen, 2 too big (its lower bound reached the buffer, or it holds a
sibling that did). The depth-first stack holds, per group, its words, the union of its
ancestors, descendants, neighbours and forbidden partners, the op added last and its size.

:func:`grow_seed` returns when the seed is done (0), when an array lacks room for one more
step (1: the caller enlarges it and calls again, the state is all in the arrays) or after
``budget`` steps (2: the caller looks at the clock and calls again). The groups come out in
the order the Python loop finds them, with the same count of evaluated sets. The entry
points release the GIL (``nogil``): threads with their own arrays grow seeds side by side.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fuseplan.models.cost.brr_kernel import brr_price
from fuseplan.models.cost.kernel_bits import bit_index
from fuseplan.models.cost.lbdf_kernel import lbdf_price

SCHEME_BRR = 0
SCHEME_LBDF = 1
_HASH_MUL = np.int64(-7046029254386353131)  # 0x9E3779B97F4A7C15 as int64

# counters (one int64 array): stack size, groups found, sets evaluated, table entries of
# this seed, the seed's stamp
SP, FOUND, EVALUATED, KEYS, STAMP = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def word_hash(group: np.ndarray) -> np.int64:
    """The hash of a group's int64 words (its open-addressing tables mask the low bits)."""
    h = np.int64(0)
    for u in range(group.shape[0]):
        h = (h ^ group[u]) * _HASH_MUL
    return h ^ (h >> 31)


@njit(cache=True)
def _slot(keys: np.ndarray, kstamp: np.ndarray, stamp: int, group: np.ndarray) -> tuple[int, bool]:
    """(slot, present): where ``group`` is in the table, or the free slot it would take."""
    words = group.shape[0]
    mask = keys.shape[0] - 1
    i = word_hash(group) & mask
    while True:
        if kstamp[i] != stamp:
            return i, False
        same = True
        for u in range(words):
            if keys[i, u] != group[u]:
                same = False
                break
        if same:
            return i, True
        i = (i + 1) & mask


@njit(cache=True, nogil=True)
def rehash(keys: np.ndarray, kstamp: np.ndarray, kflag: np.ndarray, stamp: int,
           size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The table with ``size`` slots (a power of two), holding this seed's entries."""
    words = keys.shape[1]
    new_keys = np.zeros((size, words), dtype=np.int64)
    new_stamp = np.zeros(size, dtype=np.int64)
    new_flag = np.zeros(size, dtype=np.int8)
    for i in range(keys.shape[0]):
        if kstamp[i] == stamp:
            j, _ = _slot(new_keys, new_stamp, stamp, keys[i])
            new_keys[j] = keys[i]
            new_stamp[j] = stamp
            new_flag[j] = kflag[i]
    return new_keys, new_stamp, new_flag


@njit(cache=True, nogil=True)
def push_seed(stack: np.ndarray, v: int, seed: np.ndarray, anc: np.ndarray, desc: np.ndarray,
              nbr: np.ndarray, forbid: np.ndarray) -> None:
    """Puts the seed op ``v`` (its words ``seed``) at the bottom of the stack."""
    words = seed.shape[0]
    for u in range(words):
        stack[0, u] = seed[u]
        stack[0, words + u] = anc[v, u]
        stack[0, 2 * words + u] = desc[v, u]
        stack[0, 3 * words + u] = nbr[v, u]
        stack[0, 4 * words + u] = forbid[v, u]
    stack[0, 5 * words] = -1
    stack[0, 5 * words + 1] = 1


@njit(cache=True, nogil=True)
def grow_seed(scheme: int, data: tuple, anc: np.ndarray, desc: np.ndarray, nbr: np.ndarray,
              forbid: np.ndarray, higher: np.ndarray, max_ops: int, beta: int,
              stack: np.ndarray, keys: np.ndarray, kstamp: np.ndarray, kflag: np.ndarray,
              found: np.ndarray, costs: np.ndarray, counters: np.ndarray, budget: int) -> int:
    """Grows the seed on the stack; ``found`` rows are (group, before, after) words."""
    words = higher.shape[0]
    n_ops = anc.shape[0]
    sp = counters[SP]
    nf = counters[FOUND]
    evaluated = counters[EVALUATED]
    nkeys = counters[KEYS]
    stamp = counters[STAMP]
    cur = np.empty(5 * words + 2, dtype=np.int64)
    new = np.empty(words, dtype=np.int64)
    sibling = np.empty(words, dtype=np.int64)
    todo = np.empty(words, dtype=np.int64)
    steps = 0
    status = 0
    while sp > 0:
        if (sp + n_ops > stack.shape[0] or nf + n_ops > found.shape[0]
                or 2 * (nkeys + n_ops) > keys.shape[0]):
            status = 1
            break
        if steps >= budget:
            status = 2
            break
        steps += 1
        sp -= 1
        cur[:] = stack[sp]
        size = cur[5 * words + 1]
        if max_ops > 0 and size >= max_ops:
            continue
        last = cur[5 * words]
        for u in range(words):
            todo[u] = cur[3 * words + u] & higher[u] & ~cur[u] & ~cur[4 * words + u]
        for w in range(words):
            word = todo[w]
            while word != 0:
                low = word & -word
                word ^= low
                for u in range(words):
                    new[u] = cur[u]
                new[w] |= low
                slot, present = _slot(keys, kstamp, stamp, new)
                if present:
                    continue
                keys[slot] = new
                kstamp[slot] = stamp
                kflag[slot] = 1
                nkeys += 1
                if last >= 0:
                    for u in range(words):
                        sibling[u] = new[u]
                    sibling[last >> 6] &= ~(np.int64(1) << (last & 63))
                    s2, p2 = _slot(keys, kstamp, stamp, sibling)
                    if p2 and kflag[s2] == 2:
                        kflag[slot] = 2  # holds a sibling that cannot fit: neither can it
                        continue
                x = w * 64 + bit_index(low)
                convex = True
                for u in range(words):
                    if (desc[x, u] & cur[words + u] & ~new[u]) != 0 or \
                            (anc[x, u] & cur[2 * words + u] & ~new[u]) != 0:
                        convex = False
                        break
                if not convex:
                    continue
                evaluated += 1
                if scheme == SCHEME_BRR:
                    lower, cost = brr_price(data, new, beta)
                else:
                    lower, cost = lbdf_price(data, new, beta)
                if lower >= beta:
                    kflag[slot] = 2
                    continue
                row = stack[sp]
                for u in range(words):
                    row[u] = new[u]
                    row[words + u] = cur[words + u] | anc[x, u]
                    row[2 * words + u] = cur[2 * words + u] | desc[x, u]
                    row[3 * words + u] = cur[3 * words + u] | nbr[x, u]
                    row[4 * words + u] = cur[4 * words + u] | forbid[x, u]
                row[5 * words] = x
                row[5 * words + 1] = size + 1
                sp += 1
                if cost >= 0:
                    out = found[nf]
                    for u in range(words):
                        out[u] = new[u]
                        out[words + u] = row[words + u] & ~new[u]
                        out[2 * words + u] = row[2 * words + u] & ~new[u]
                    costs[nf] = cost
                    nf += 1
    counters[SP] = sp
    counters[FOUND] = nf
    counters[EVALUATED] = evaluated
    counters[KEYS] = nkeys
    return status
