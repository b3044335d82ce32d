"""BRR's price of one group, compiled (numba): the numbers of :mod:`.brr_fast` in int64.

:func:`brr_price` returns (the lower bound of ``BrrModel.buffer_lower_bound``, F_D of
``BrrModel.dram_bytes`` or -1 when no tiling fits); F_D is only computed when the lower
bound is below the buffer (enumeration asks for nothing else). The pure-Python model stays
the reference: ``tests/test_cost_kernel.py`` compares the two on every group enumeration
asks about. Tensor terms are merged by (H, halo) as in :mod:`.brr_fast`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernel_bits import group_ops, leaves


@njit(cache=True)
def tile_bytes(terms: np.ndarray, nterms: int, n: int) -> int:
    """sum min(H, ceil(H/n) + halo) * r over the terms."""
    total = 0
    for i in range(nterms):
        h = terms[0, i]
        rows = -(-h // n) + terms[1, i]
        total += (rows if rows < h else h) * terms[2, i]
    return total


@njit(cache=True)
def fewest_tiles(terms: np.ndarray, nterms: int, lo: int, hi: int, limit: int) -> int:
    """The smallest n in [lo, hi] with tile_bytes(n) < limit (tile_bytes(hi) < limit)."""
    if lo < hi:
        if tile_bytes(terms, nterms, hi - 1) >= limit:
            return hi
        hi -= 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if tile_bytes(terms, nterms, mid) < limit:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def input_traffic(base: int, halo_inputs: np.ndarray, nhalo: int, n: int) -> int:
    total = base
    for i in range(nhalo):
        h = halo_inputs[0, i]
        halo = halo_inputs[1, i]
        total += (n - 1) * (halo if halo < h else h) * halo_inputs[2, i]
    return total


@njit(cache=True)
def _add_term(terms: np.ndarray, nterms: int, h: int, halo: int, r: int) -> int:
    """Adds r row bytes to the term (h, halo), a new one if none yet; returns the count
    (fewer terms, fewer divisions in each B(n) of the tile search)."""
    for i in range(nterms):
        if terms[0, i] == h and terms[1, i] == halo:
            terms[2, i] += r
            return nterms
    terms[0, nterms] = h
    terms[1, nterms] = halo
    terms[2, nterms] = r
    return nterms + 1


@njit(cache=True)
def brr_price(d: tuple, group: np.ndarray, beta: int) -> tuple[int, int]:
    """(buffer lower bound, F_D or -1) of ``group`` (int64 words) at ``beta`` bytes."""
    op_out, op_w, in_start, in_t, in_step = d[0], d[1], d[2], d[3], d[5]
    t_h, t_row, t_size, t_readers, t_net_out = d[6], d[7], d[8], d[9], d[10]
    lcm = d[13][0]
    g, mark, read_list, out_list, terms, hin, ops = d[14], d[16], d[20], d[21], d[22], d[23], d[24]
    counter, prod, outmark = d[25], d[26], d[27]
    counter[0] += 1
    c = counter[0]
    n = group_ops(group, ops)
    w_sum = 0
    w_max = 0
    nread = 0
    nout = 0
    for i in range(n):
        v = ops[i]
        w = op_w[v]
        w_sum += w
        if w > w_max:
            w_max = w
        o = op_out[v]
        prod[o] = c
        g[o] = -1
        if leaves(o, group, t_readers, t_net_out):
            outmark[o] = c
            out_list[nout] = o
            nout += 1
        for e in range(in_start[v], in_start[v + 1]):
            x = in_t[e]
            if mark[x] != c:
                mark[x] = c
                read_list[nread] = x
                nread += 1
                if prod[x] != c:
                    g[x] = -1
    # path weights, one pass over the group's ops from the last
    for i in range(n - 1, -1, -1):
        v = ops[i]
        o = op_out[v]
        base = g[o]
        if base < 0:
            if outmark[o] != c:
                continue  # a dead end: nobody reads its output
            base = 0
        for e in range(in_start[v], in_start[v + 1]):
            x = in_t[e]
            cand = base + in_step[e]
            if cand > g[x]:
                g[x] = cand
    lower = w_max
    full = 0
    input_bytes = 0
    nterms = 0
    nhalo = 0
    for i in range(nread):
        t = read_list[i]
        h = t_h[t]
        r = t_row[t]
        weight = g[t]
        full += t_size[t]
        halo = 0
        if weight > 0:
            halo = -(-h * weight // lcm)
            lower += (halo + 1 if halo + 1 < h else h) * r
            if prod[t] != c:
                input_bytes += t_size[t]
                hin[0, nhalo] = h
                hin[1, nhalo] = halo
                hin[2, nhalo] = r
                nhalo += 1
        else:
            lower += r
            if prod[t] != c:
                input_bytes += t_size[t]
        nterms = _add_term(terms, nterms, h, halo, r)
    if lower >= beta:
        return lower, -1
    n_max = 1
    output_bytes = 0
    for i in range(nout):
        t = out_list[i]
        h = t_h[t]
        nterms = _add_term(terms, nterms, h, 0, t_row[t])
        output_bytes += t_size[t]
        if h > n_max:
            n_max = h
    full += output_bytes
    fbeta = w_max + tile_bytes(terms, nterms, n_max)
    return lower, least_dram(terms, nterms, hin, nhalo, fbeta, w_sum, w_max, full,
                             input_bytes, output_bytes, n_max, beta)


@njit(cache=True)
def least_dram(terms: np.ndarray, nterms: int, hin: np.ndarray, nhalo: int, fbeta: int,
               w_sum: int, w_max: int, full: int, input_bytes: int, output_bytes: int,
               n_max: int, beta: int) -> int:
    """F_D as :func:`.brr_fast.least_dram`, or -1 when no tiling fits."""
    if fbeta >= beta:
        return -1
    d_1 = w_sum + input_bytes + output_bytes
    if w_sum + full < beta:
        return d_1
    stream_limit = beta - w_max
    if fbeta - w_max + w_sum >= beta:  # resident never fits
        n = fewest_tiles(terms, nterms, 1, n_max, stream_limit)
        return n * w_sum + input_traffic(input_bytes, hin, nhalo, n) + output_bytes
    n_r = fewest_tiles(terms, nterms, 2, n_max, beta - w_sum)
    d_r = w_sum + input_traffic(input_bytes, hin, nhalo, n_r) + output_bytes
    if d_r == d_1 or w_sum == w_max:
        return d_r
    n_up = -(-(d_r - d_1) // w_sum)
    if n_r - 1 < n_up:
        n_up = n_r - 1
    if n_up < 1 or tile_bytes(terms, nterms, n_up) >= stream_limit:
        return d_r
    n_s = fewest_tiles(terms, nterms, 1, n_up, stream_limit)
    d_s = n_s * w_sum + input_traffic(input_bytes, hin, nhalo, n_s) + output_bytes
    return d_s if d_s < d_r else d_r
