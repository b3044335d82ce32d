"""LBDF's F_beta and F_D of one group, compiled (numba), in int64.

Straight from the definition (docs/cost-models.md): F_D = W + S(In) + S(Out); F_beta =
W + sum over T(G) of R(t) r(t) with R(t) = min(H, max(K(t), ceil(D(t)) + 1)), where the
delay D(t) = H(t) * spread / L comes from one forward pass from t over the group's ops (the
largest minus the smallest integer path weight into the inputs of each op reached), as far
as the last join below t, as in ``LbdfModel._path_spread``. Passes run only for groups in
which some tensor has two readers (no delay without one), and only from tensors with a join
of the group below them. The pure-Python model stays the reference:
``tests/test_cost_kernel.py`` compares the two on every group enumeration asks about.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernel_bits import group_ops, leaves


@njit(cache=True)
def lbdf_price(d: tuple, group: np.ndarray, beta: int) -> tuple[int, int]:
    """(F_beta, F_D or -1 when F_beta >= ``beta``) of ``group`` (int64 words)."""
    op_out, op_w, in_start, in_t, in_k, in_step = d[0], d[1], d[2], d[3], d[4], d[5]
    t_h, t_row, t_size, t_readers, t_net_out, t_desc, is_join = (
        d[6], d[7], d[8], d[9], d[10], d[11], d[12])
    lcm = d[13][0]
    gmax, gmin, mark, mark2, kmax, nreaders = d[14], d[15], d[16], d[17], d[18], d[19]
    read_list, ops, counter, prod = d[20], d[24], d[25], d[26]
    counter[0] += 1
    c = counter[0]
    n = group_ops(group, ops)
    weights = 0
    fd = 0
    nread = 0
    fork = False
    has_join = False
    for i in range(n):
        v = ops[i]
        weights += op_w[v]
        if is_join[v] != 0:
            has_join = True
        o = op_out[v]
        prod[o] = c
        if leaves(o, group, t_readers, t_net_out):
            fd += t_size[o]
        for e in range(in_start[v], in_start[v + 1]):
            x = in_t[e]
            k = in_k[e]
            if mark[x] != c:
                mark[x] = c
                read_list[nread] = x
                nread += 1
                kmax[x] = k
                nreaders[x] = 1
                if prod[x] != c:
                    fd += t_size[x]  # In(G): read, produced outside
            else:
                nreaders[x] += 1
                fork = True
                if k > kmax[x]:
                    kmax[x] = k
    fd += weights
    fbeta = weights
    for i in range(nread):
        t = read_list[i]
        h = t_h[t]
        rows = kmax[t] if kmax[t] < h else h
        if fork and has_join and rows < h:
            spread = _spread(t, ops, n, in_start, in_t, in_step, op_out, is_join, t_desc,
                             gmax, gmin, mark2, counter)
            if spread > 0:
                need = -(-h * spread // lcm) + 1
                if need > rows:
                    rows = need if need < h else h
        fbeta += rows * t_row[t]
    return fbeta, (fd if fbeta < beta else -1)


@njit(cache=True)
def _spread(t: int, ops: np.ndarray, n: int, in_start: np.ndarray, in_t: np.ndarray,
            in_step: np.ndarray, op_out: np.ndarray, is_join: np.ndarray, t_desc: np.ndarray,
            gmax: np.ndarray, gmin: np.ndarray, mark2: np.ndarray, counter: np.ndarray) -> int:
    """The largest (max - min) integer path weight from ``t`` into the inputs of one op of
    the group, over the group's ops up to the last join below ``t`` (0 when none)."""
    last_join = -1
    for i in range(n - 1, -1, -1):
        v = ops[i]
        if is_join[v] != 0 and t_desc[t, v >> 6] >> (v & 63) & 1 != 0:
            last_join = v
            break
    if last_join < 0:
        return 0
    counter[1] += 1
    c2 = counter[1]
    mark2[t] = c2
    gmax[t] = 0
    gmin[t] = 0
    spread = 0
    for i in range(n):
        v = ops[i]
        if v > last_join:
            break
        found = False
        hi = 0
        lo = 0
        ohi = 0
        olo = 0
        for e in range(in_start[v], in_start[v + 1]):
            x = in_t[e]
            if mark2[x] != c2:
                continue
            a = gmax[x]
            b = gmin[x]
            step = in_step[e]
            if not found:
                found = True
                hi = a
                lo = b
                ohi = a + step
                olo = b + step
                continue
            if a > hi:
                hi = a
            if b < lo:
                lo = b
            if a + step > ohi:
                ohi = a + step
            if b + step < olo:
                olo = b + step
        if not found:
            continue
        if hi - lo > spread:
            spread = hi - lo
        o = op_out[v]
        mark2[o] = c2
        gmax[o] = ohi
        gmin[o] = olo
    return spread
