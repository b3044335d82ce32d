"""A*'s successor generation compiled (numba): ``_Search.arcs`` of :mod:`.astar` for one
expanded ideal, in one call, with the compiled price of
:mod:`fuseplan.models.cost.lbdf_kernel` or ``brr_kernel``.

The loop is the Python one step for step (same sets listed in the same order, same
pruning by the stranded outputs, the buffer bound and the pass limit), on rows of int64
words (:mod:`fuseplan.models.cost.kernel_data`); ops are masks of ``words`` words,
tensors (the group's read set) masks of ``twords`` words. Two differences, neither of
which changes what the search does with the arcs: the best-known cost of the arc's head
is known from the kernel's own table (the costs of the arcs it gave this pass: never
below ``_best_first``'s, which also holds the unfusable singletons, so it drops no arc the
search would keep, and the search drops what it lets through), and the memo of buffer bounds
and prices is an open-addressing table (``candidates_grow_kernel._slot``) whose slots carry
a stamp, so that clearing it when full costs nothing. Each arc comes with ``h`` of its
head, equal to :class:`fuseplan.solver.bounds.Estimate` (base terms plus spine cuts).

The depth-first stack row: group, addable ops, ops that may still join, forbidden ops,
open ops (outputs read outside), read tensors, the group's floor W + S(In) + S(Out), and
``Estimate.base`` of the ideal plus the group (updated op by op, not recomputed).
:func:`expand` returns 0 when the ideal is done, 1 when an array lacks room for one more
step (the caller enlarges it and calls again; the state is all in the arrays), 2 after
``budget`` sets (the caller looks at the clock and calls again). An array lacking room
includes the memo: the caller doubles it, or clears it at its size cap.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fuseplan.models.cost.brr_kernel import brr_price
from fuseplan.models.cost.kernel_bits import bit_index
from fuseplan.models.cost.lbdf_kernel import lbdf_price
from fuseplan.solver.candidates_grow_kernel import _slot

SCHEME_BRR = 0
SCHEME_LBDF = 1

# counters: stack size, arcs out, sets listed, groups priced (for an arc), sets bounded
# (buffer bound and price computed), bounds found in the memo, memo entries, memo stamp,
# entries of the table of best costs, its stamp (one per pass)
SP, NOUT, SETS, PRICED, BOUNDED, HITS, KEYS, STAMP, BKEYS, BSTAMP = range(10)

# indices into the ``t`` tuple of static tables (see astar_fast.KernelArcs)
(T_PREDS, T_PRED_START, T_PRED_LIST, T_SUCC_START, T_SUCC_LIST, T_FORBID, T_BLOCKED,
 T_ALL, T_OUT_READERS, T_OUT_LEAVES, T_OUT_SIZE, T_WEIGHTS, T_LEAVING, T_IN_START, T_IN_X,
 T_IN_PROD, T_IN_SIZE, T_R_PROD, T_R_READERS, T_R_SIZE, T_SPINE, T_SPINE_BEST, T_NBR,
 T_SCRATCH, T_IN_R, T_JOINS) = range(26)

UNPRICED = -2  # in the memo: the group fits (by the bounds below), its F_D not yet computed

# LBDF's arrays in kernel_data.FIELDS order
_OP_W, _IN_START, _IN_T, _IN_K, _T_H, _T_ROW, _T_DESC, _IS_JOIN = 1, 2, 3, 4, 6, 7, 11, 12


@njit(cache=True)
def _has(mask: np.ndarray, v: int) -> bool:
    return (mask[v >> 6] >> (v & 63)) & 1 != 0


@njit(cache=True)
def estimate(t: tuple, head: np.ndarray) -> int:
    """``Estimate(head)``: the base terms and the spine cuts after ``head``."""
    return base(t, head) + spine_extra(t, head)


@njit(cache=True)
def spine_extra(t: tuple, head: np.ndarray) -> int:
    """``SpineCuts.extra(head)``: the least cost of the cuts forced after ``head``."""
    spine, best = t[T_SPINE], t[T_SPINE_BEST]
    for k in range(spine.shape[0]):
        if not _has(head, spine[k]):
            return best[k]
    return 0


@njit(cache=True)
def base(t: tuple, head: np.ndarray) -> int:
    """``Estimate.base(head)``: weights and outputs still to write of the ops outside
    ``head``, tensors read across its cut."""
    weights, leaving = t[T_WEIGHTS], t[T_LEAVING]
    r_prod, r_readers, r_size = t[T_R_PROD], t[T_R_READERS], t[T_R_SIZE]
    words = head.shape[0]
    h = 0
    for v in range(weights.shape[0]):
        if not _has(head, v):
            h += weights[v] + leaving[v]
    for i in range(r_prod.shape[0]):
        p = r_prod[i]
        if p >= 0 and not _has(head, p):
            continue
        for u in range(words):
            if r_readers[i, u] & ~head[u] != 0:
                h += r_size[i]
                break
    return h


@njit(cache=True)
def _connected(group: np.ndarray, nbr: np.ndarray, reach: np.ndarray, todo: np.ndarray) -> bool:
    """Whether ``group`` (non-empty) is one weakly connected piece over ``nbr``."""
    words = group.shape[0]
    for u in range(words):
        reach[u] = 0
        todo[u] = 0
    for u in range(words):
        if group[u] != 0:
            low = group[u] & -group[u]
            reach[u] = low
            todo[u] = low
            break
    busy = True
    while busy:
        busy = False
        for w in range(words):
            word = todo[w]
            todo[w] = 0
            while word != 0:
                low = word & -word
                word ^= low
                x = w * 64 + bit_index(low)
                for u in range(words):
                    fresh = nbr[x, u] & group[u] & ~reach[u]
                    if fresh != 0:
                        reach[u] |= fresh
                        todo[u] |= fresh
                        busy = True
    for u in range(words):
        if reach[u] != group[u]:
            return False
    return True


@njit(cache=True)
def lbdf_bounds(d: tuple, group: np.ndarray, scratch: np.ndarray,
                joins: np.ndarray) -> tuple[int, int]:
    """Two bounds on LBDF's F_beta of ``group`` that need no path pass: each read tensor
    holds min(H, k) rows at least (k the tallest kernel reading it in the group) and H rows
    at most; the delay can raise it only when the group forks a tensor and holds a join
    below it (as in ``lbdf_price``, which computes the delays). ``joins``: the join ops."""
    op_w, in_start, in_t, in_k = d[_OP_W], d[_IN_START], d[_IN_T], d[_IN_K]
    t_h, t_row, t_desc, is_join = d[_T_H], d[_T_ROW], d[_T_DESC], d[_IS_JOIN]
    mark, kmax, read = scratch[0], scratch[1], scratch[2]
    stamp = scratch[3, 0] + 1
    scratch[3, 0] = stamp
    weights = 0
    nread = 0
    fork = False
    join = False
    for w in range(group.shape[0]):
        word = group[w]
        while word != 0:
            low = word & -word
            word ^= low
            v = w * 64 + bit_index(low)
            weights += op_w[v]
            if is_join[v] != 0:
                join = True
            for e in range(in_start[v], in_start[v + 1]):
                x = in_t[e]
                if mark[x] != stamp:
                    mark[x] = stamp
                    kmax[x] = in_k[e]
                    read[nread] = x
                    nread += 1
                else:
                    fork = True
                    if in_k[e] > kmax[x]:
                        kmax[x] = in_k[e]
    lo = weights
    hi = weights
    for i in range(nread):
        x = read[i]
        rows = kmax[x] if kmax[x] < t_h[x] else t_h[x]
        lo += rows * t_row[x]
        delay = False
        if fork and join:
            for u in range(group.shape[0]):
                if t_desc[x, u] & group[u] & joins[u] != 0:
                    delay = True
                    break
        hi += (t_h[x] if delay else rows) * t_row[x]
    return lo, hi


@njit(cache=True)
def _price(scheme: int, data: tuple, group: np.ndarray, beta: int, keys: np.ndarray,
           kstamp: np.ndarray, counters: np.ndarray, scratch: np.ndarray,
           joins: np.ndarray) -> tuple[int, int, int]:
    """(memo slot, buffer lower bound, F_D or -1 or ``UNPRICED``) of ``group``, from the
    memo when it holds it. A memo row is the group's words, then the bound and the price.
    Under LBDF the price waits (``UNPRICED``) when :func:`lbdf_bounds` settle the fit."""
    words = group.shape[0]
    stamp = counters[STAMP]
    slot, present = _slot(keys, kstamp, stamp, group)
    if present:
        counters[HITS] += 1
        return slot, keys[slot, words], keys[slot, words + 1]
    if scheme == SCHEME_BRR:
        lower, cost = brr_price(data, group, beta)
    else:
        lower, upper = lbdf_bounds(data, group, scratch, joins)
        if lower >= beta:
            cost = -1
        elif upper < beta:
            cost = UNPRICED
        else:
            lower, cost = lbdf_price(data, group, beta)
    for u in range(words):
        keys[slot, u] = group[u]
    keys[slot, words] = lower
    keys[slot, words + 1] = cost
    kstamp[slot] = stamp
    counters[KEYS] += 1
    return slot, lower, cost


@njit(cache=True)
def rehash(keys: np.ndarray, kstamp: np.ndarray, stamp: int, words: int,
           size: int) -> tuple[np.ndarray, np.ndarray]:
    """The memo with ``size`` slots (a power of two), holding the entries of ``stamp``."""
    new_keys = np.zeros((size, keys.shape[1]), dtype=np.int64)
    new_stamp = np.zeros(size, dtype=np.int64)
    for i in range(keys.shape[0]):
        if kstamp[i] == stamp:
            j, _ = _slot(new_keys, new_stamp, stamp, keys[i, :words])
            new_keys[j] = keys[i]
            new_stamp[j] = stamp
    return new_keys, new_stamp


@njit(cache=True)
def push_root(t: tuple, ideal: np.ndarray, stack: np.ndarray, twords: int) -> None:
    """The search's first row: the empty group, the fusible frontier of ``ideal`` addable,
    every fusible op allowed."""
    preds, blocked, all_ops = t[T_PREDS], t[T_BLOCKED], t[T_ALL]
    words = ideal.shape[0]
    n = preds.shape[0]
    row = stack[0]
    row[:] = 0
    for v in range(n):
        if _has(ideal, v) or _has(blocked, v):
            continue
        ready = True
        for u in range(words):
            if preds[v, u] & ~ideal[u] != 0:
                ready = False
                break
        if ready:
            row[words + (v >> 6)] |= np.int64(1) << (v & 63)
    for u in range(words):
        row[2 * words + u] = all_ops[u] & ~blocked[u]
    row[5 * words + twords + 1] = base(t, ideal)


@njit(cache=True)
def expand(scheme: int, data: tuple, t: tuple, ideal: np.ndarray, g: int, limit: int,
           after: int, beta: int, max_ops: int, twords: int, stack: np.ndarray,
           out: np.ndarray, out_cost: np.ndarray, out_h: np.ndarray, keys: np.ndarray,
           kstamp: np.ndarray, bkeys: np.ndarray, bstamp: np.ndarray, counters: np.ndarray,
           budget: int) -> int:
    """The arcs of ``ideal`` (reached at cost ``g``) whose plans may stay below ``limit``
    (an integer: the pass limit rounded up); ``after``: the spine cuts past the next group
    (``SpineCuts.after_next_group``). Rows of ``out``: the group; ``out_cost`` its F_D,
    ``out_h`` the estimate of ``ideal`` + group. Arcs whose g + F_D + h reaches the limit
    are left out (the search drops them)."""
    preds, pred_start, pred_list = t[T_PREDS], t[T_PRED_START], t[T_PRED_LIST]
    succ_start, succ_list = t[T_SUCC_START], t[T_SUCC_LIST]
    forbid, blocked = t[T_FORBID], t[T_BLOCKED]
    out_readers, out_leaves, out_size, weights = (t[T_OUT_READERS], t[T_OUT_LEAVES],
                                                  t[T_OUT_SIZE], t[T_WEIGHTS])
    in_start, in_x, in_prod, in_size = t[T_IN_START], t[T_IN_X], t[T_IN_PROD], t[T_IN_SIZE]
    in_r, r_readers, leaving = t[T_IN_R], t[T_R_READERS], t[T_LEAVING]
    nbr, scratch, joins = t[T_NBR], t[T_SCRATCH], t[T_JOINS]
    words = ideal.shape[0]
    n = preds.shape[0]
    G, ADD, ALW, BAN, OPN, RD = 0, words, 2 * words, 3 * words, 4 * words, 5 * words
    FL = 5 * words + twords
    BS = FL + 1  # base(ideal + group)
    width = FL + 2
    cur = np.empty(width, dtype=np.int64)
    masks = np.empty((9, words), dtype=np.int64)  # one op mask per row
    new, later, new_open, keep, head = masks[0], masks[1], masks[2], masks[3], masks[4]
    doomed, options, reach, todo = masks[5], masks[6], masks[7], masks[8]
    # per child of the group popped: its op, floor, base, read tensors, open ops
    child = np.empty((3, n), dtype=np.int64)
    child_v, child_floor, child_base = child[0], child[1], child[2]
    child_read = np.empty((n, twords), dtype=np.int64)
    child_open = np.empty((n, words), dtype=np.int64)
    if counters[SP] == 0 and counters[SETS] == 0:  # a new ideal
        push_root(t, ideal, stack, twords)
        counters[SP] = 1
    sp = counters[SP]
    nout = counters[NOUT]
    sets = counters[SETS]
    priced = counters[PRICED]
    start_sets = sets
    room = limit - g - base(t, ideal) - after  # what groups may add to the base terms
    status = 0
    while sp > 0:
        if (sp + n + 1 > stack.shape[0] or nout + n + 1 > out.shape[0]
                or 2 * (counters[KEYS] + n) > keys.shape[0]
                or 2 * (counters[BKEYS] + n) > bkeys.shape[0]):
            status = 1
            break
        if sets - start_sets >= budget:
            status = 2
            break
        sp -= 1
        cur[:] = stack[sp]
        floor = cur[FL]
        group_base = cur[BS]
        for u in range(words):
            options[u] = cur[ADD + u] & cur[ALW + u] & ~cur[BAN + u]
            doomed[u] = 0
        nchild = 0
        for w in range(words):
            word = options[w]
            while word != 0:
                low = word & -word
                word ^= low
                sets += 1
                v = w * 64 + bit_index(low)
                for u in range(words):
                    new[u] = cur[G + u]
                    if u < w:
                        above = np.int64(0)
                    elif u == w:
                        above = ~((low << 1) - 1)
                    else:
                        above = np.int64(-1)
                    later[u] = cur[ALW + u] & above & ~cur[BAN + u] & ~forbid[v, u]
                    new_open[u] = cur[OPN + u]
                new[w] |= low
                reads_out = False
                for u in range(words):
                    if out_readers[v, u] != 0:
                        reads_out = True
                        break
                if reads_out:
                    new_open[w] |= low
                for e in range(pred_start[v], pred_start[v + 1]):
                    p = pred_list[e]
                    if _has(new_open, p):
                        closed = True
                        for u in range(words):
                            if out_readers[p, u] & ~new[u] != 0:
                                closed = False
                                break
                        if closed:
                            new_open[p >> 6] ^= np.int64(1) << (p & 63)
                # stranded outputs: written and read again whatever joins
                stranded = 0
                for u in range(words):
                    keep[u] = new[u] | later[u]
                for q in range(words):
                    oword = new_open[q]
                    while oword != 0:
                        olow = oword & -oword
                        oword ^= olow
                        x = q * 64 + bit_index(olow)
                        for u in range(words):
                            if out_readers[x, u] & ~keep[u] != 0:
                                stranded += out_size[x] if out_leaves[x] != 0 else 2 * out_size[x]
                                break
                if stranded >= room:
                    continue
                counters[BOUNDED] += 1
                slot, lower, cost = _price(scheme, data, new, beta, keys, kstamp, counters,
                                           scratch, joins)
                if lower >= beta:
                    doomed[w] |= low
                    continue
                # the floor W + S(In) + S(Out) and the read tensors of group + v
                new_floor = floor + weights[v]
                if out_leaves[v] != 0 or reads_out:
                    new_floor += out_size[v]
                for u in range(twords):
                    child_read[nchild, u] = cur[RD + u]
                for e in range(in_start[v], in_start[v + 1]):
                    x = in_x[e]
                    p = in_prod[e]
                    if p >= 0 and _has(cur[G:G + words], p):
                        if out_leaves[p] == 0:
                            inside = True
                            for u in range(words):
                                if out_readers[p, u] & ~new[u] != 0:
                                    inside = False
                                    break
                            if inside:
                                new_floor -= in_size[e]
                    elif (child_read[nchild, x >> 6] >> (x & 63)) & 1 == 0:
                        new_floor += in_size[e]
                    child_read[nchild, x >> 6] |= np.int64(1) << (x & 63)
                # base(ideal + new) from base(ideal + group): v's weights and output
                # leave it; v's output is read across the cut unless all its readers are
                # in; an input whose last reader outside joins no longer is
                for u in range(words):
                    head[u] = ideal[u] | new[u]
                new_base = group_base - weights[v] - leaving[v]
                for u in range(words):
                    if out_readers[v, u] & ~head[u] != 0:
                        new_base += out_size[v]
                        break
                for e in range(in_start[v], in_start[v + 1]):
                    p = in_prod[e]
                    if p >= 0 and not _has(head, p):
                        continue
                    covered = True
                    r = in_r[e]
                    for u in range(words):
                        if r_readers[r, u] & ~head[u] != 0:
                            covered = False
                            break
                    if covered:
                        new_base -= in_size[e]
                child_v[nchild] = v
                child_floor[nchild] = new_floor
                child_base[nchild] = new_base
                for u in range(words):
                    child_open[nchild, u] = new_open[u]
                nchild += 1
                rest = new_base + spine_extra(t, head)
                bslot, present = _slot(bkeys, bstamp, counters[BSTAMP], head)
                known = bkeys[bslot, words] if present else -1
                if (present and g >= known) or g + rest >= limit:
                    continue  # even a free group would not help
                reached = g + new_floor  # no cheaper way to head via new
                if (present and reached >= known) or reached + rest >= limit:
                    continue
                if not _connected(new, nbr, reach, todo):
                    continue
                priced += 1
                if cost == UNPRICED:
                    _, cost = lbdf_price(data, new, beta)
                    keys[slot, words + 1] = cost
                if cost < 0 or g + cost + rest >= limit or (present and g + cost >= known):
                    continue
                for u in range(words):
                    bkeys[bslot, u] = head[u]
                bkeys[bslot, words] = g + cost
                if not present:
                    bstamp[bslot] = counters[BSTAMP]
                    counters[BKEYS] += 1
                for u in range(words):
                    out[nout, u] = new[u]
                out_cost[nout] = cost
                out_h[nout] = rest
                nout += 1
        if max_ops > 0:
            size = 0
            for u in range(words):
                word = cur[G + u]
                while word != 0:
                    word &= word - 1
                    size += 1
            if size + 1 >= max_ops:
                continue
        for i in range(nchild):
            v = child_v[i]
            vw = v >> 6
            low = np.int64(1) << (v & 63)
            row = stack[sp]
            for u in range(words):
                row[G + u] = cur[G + u]
                row[ADD + u] = cur[ADD + u]
                if u < vw:
                    above = np.int64(0)
                elif u == vw:
                    above = ~((low << 1) - 1)
                else:
                    above = np.int64(-1)
                row[ALW + u] = cur[ALW + u] & above & ~doomed[u]
                row[BAN + u] = cur[BAN + u] | forbid[v, u]
                row[OPN + u] = child_open[i, u]
            row[G + vw] |= low
            row[ADD + vw] &= ~low
            for e in range(succ_start[v], succ_start[v + 1]):
                x = succ_list[e]
                if _has(blocked, x):
                    continue
                ready = True
                for u in range(words):
                    if preds[x, u] & ~(ideal[u] | row[G + u]) != 0:
                        ready = False
                        break
                if ready:
                    row[ADD + (x >> 6)] |= np.int64(1) << (x & 63)
            for u in range(twords):
                row[RD + u] = child_read[i, u]
            row[FL] = child_floor[i]
            row[BS] = child_base[i]
            sp += 1
    counters[SP] = sp
    counters[NOUT] = nout
    counters[SETS] = sets
    counters[PRICED] = priced
    return status
