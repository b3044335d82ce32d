"""The fast path of BRR: what a solver asks millions of times (F_beta, the lower bound, F_D).

:class:`BrrFast` evaluates a group into a :class:`Compact` record: sums and unions come from
the chunk tables of :mod:`.tables`, halos from one backward pass over the group's ops, and
the tensor terms are merged by (H, halo) (an output tile is a term with halo 0), so each
B(n) in the binary search is a short sum. :meth:`BrrFast.dram` returns only F_D: it skips
the streamed search whenever streaming cannot beat the resident tiling. The chosen tiling
itself (for reports) comes from :class:`.brr_profile.BrrProfile`; the tests hold both to the
same reference.
"""

from __future__ import annotations

from typing import NamedTuple

from .tables import GraphTables, chunk_table

Terms = tuple[tuple[int, int, int], ...]  # (H, halo rows, row bytes)


class Compact(NamedTuple):
    buffer_bytes: int  # F_beta = B(n_max, streamed)
    lower_bound: int
    weight_sum: int
    weight_max: int
    terms: Terms  # T(G) and Out(G) tiles, merged by (H, halo)
    halo_inputs: Terms  # In(G) tensors with halo > 0
    n_max: int
    full_tensor_bytes: int  # every tensor whole: B(1) - W
    input_bytes: int
    output_bytes: int


def tile_bytes(terms: Terms, n: int) -> int:
    """sum min(H, ceil(H/n) + halo) * r over the terms."""
    total = 0
    for h, halo, r in terms:
        rows = -(-h // n) + halo
        total += (rows if rows < h else h) * r
    return total


def fewest_tiles(terms: Terms, lo: int, hi: int, limit: int) -> int:
    """The smallest n in [lo, hi] with tile_bytes(n) < limit; tile_bytes(hi) < limit.

    tile_bytes never rises with n, so a bisection finds it; n = hi is looked at first (one
    test, hi - 1): on googlenet at 256 KB, half of the searches end there."""
    if lo < hi:
        if tile_bytes(terms, hi - 1) >= limit:
            return hi
        hi -= 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if tile_bytes(terms, mid) < limit:
            hi = mid
        else:
            lo = mid + 1
    return lo


def input_traffic(c: Compact, n: int) -> int:
    total = c.input_bytes
    for h, halo, r in c.halo_inputs:
        extra = (n - 1) * (halo if halo < h else h)
        total += extra * r
    return total


class BrrFast:
    """Per-graph tables for BRR's fast path, in bytes."""

    def __init__(self, tables: GraphTables, b: int) -> None:
        ops = tables.ops
        n_ops = len(ops)
        self.w = tuple(r.weight * b for r in ops)
        self.t_h = tables.t_h
        self.t_row = tuple(r * b for r in tables.t_row)
        self.lcm = tables.lcm_h
        self.out = tuple(r.out for r in ops)
        self.in_tmask = tuple(r.in_tmask for r in ops)
        # per op: (input tensor, integer path step (k - 1) * L / H(input))
        q = tables.t_q
        self.steps = tuple(tuple((x, (k - 1) * q[x]) for x, k in r.inputs) for r in ops)
        nt = len(tables.t_h)
        self.nt = nt
        self.all_t = (1 << nt) - 1
        self.net_out_t = sum(1 << t for t, out in enumerate(tables.t_net_output) if out)
        self.op_bits = max(1, n_ops.bit_length())
        self.chunk_wsum = chunk_table(list(self.w), "sum")
        self.chunk_wmax = chunk_table([w << self.op_bits | v for v, w in enumerate(self.w)],
                                      "max")
        self.chunk_set = chunk_table(
            [r.in_tmask | (1 << r.out) << nt | tables.succ_mask[v] << 2 * nt
             for v, r in enumerate(ops)],
            "or",
        )
        # the fast path's extras: whole-tensor bytes, (H, halo) packed in one int key, and
        # a blank path-weight list (-1: no path; a graph with a step below 0, a kernel
        # height below 1, keeps the reference path)
        self.t_size = tuple(h * r for h, r in zip(self.t_h, self.t_row))
        self.h_bits = max(self.t_h, default=1).bit_length()
        self.h_mask = (1 << self.h_bits) - 1
        self.blank = [-1] * nt
        self.op_steps = tuple(zip(self.out, self.steps))
        if any(step < 0 for op_steps in self.steps for _, step in op_steps):
            self.evaluate = self.evaluate_reference  # type: ignore[method-assign]

    def evaluate(self, mask: int) -> Compact:
        """The group's :class:`Compact` record: the same record as
        :meth:`evaluate_reference` (path weights in a list, not a dict; terms merged under
        an int key ``halo << h_bits | H``, in the same order)."""
        w_sum, w_max, read, produced, outputs = self._group_sets(mask)
        # path weights, one pass over the group's ops from the last
        op_steps = self.op_steps
        g = self.blank[:]
        m = mask
        while m:
            v = m.bit_length() - 1
            m ^= 1 << v
            o, v_steps = op_steps[v]
            base = g[o]
            if base < 0:
                if not outputs >> o & 1:
                    continue  # a dead end: nobody reads its output
                base = 0
            for x, step in v_steps:
                cand = base + step
                if cand > g[x]:
                    g[x] = cand
        # the tensor terms
        t_h = self.t_h
        t_row = self.t_row
        t_size = self.t_size
        lcm = self.lcm
        hb = self.h_bits
        merged: dict[int, int] = {}
        halo_inputs = []
        lower = w_max
        full = 0
        input_bytes = 0
        m = read
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            h = t_h[t]
            r = t_row[t]
            weight = g[t]
            full += t_size[t]
            if weight > 0:
                halo = -(-h * weight // lcm)
                key = halo << hb | h
                lower += (halo + 1 if halo + 1 < h else h) * r
                if not produced & low:
                    input_bytes += t_size[t]
                    halo_inputs.append((h, halo, r))
            else:
                key = h
                lower += r
                if not produced & low:
                    input_bytes += t_size[t]
            merged[key] = merged.get(key, 0) + r
        n_max = 1
        output_bytes = 0
        m = outputs
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            h = t_h[t]
            r = t_row[t]
            merged[h] = merged.get(h, 0) + r
            output_bytes += t_size[t]
            if h > n_max:
                n_max = h
        full += output_bytes
        h_mask = self.h_mask
        terms = tuple((key & h_mask, key >> hb, r) for key, r in merged.items())
        return Compact(
            w_max + tile_bytes(terms, n_max),
            lower,
            w_sum,
            w_max,
            terms,
            tuple(halo_inputs),
            n_max,
            full,
            input_bytes,
            output_bytes,
        )

    def evaluate_reference(self, mask: int) -> Compact:
        """The plain version of :meth:`evaluate` (dicts keyed by tensor and by (H, halo)):
        the fast one must return the same record; tests compare them."""
        w_sum, w_max, read, produced, outputs = self._group_sets(mask)
        g = self._path_weights_reference(mask, outputs)
        return self._compact_reference(read, produced, outputs, g, w_sum, w_max)

    def _group_sets(self, mask: int) -> tuple[int, int, int, int, int]:
        """(sum W, max W, T(G), the tensors G produces, Out(G)) as tensor masks, from the
        chunk tables."""
        low = mask & -mask
        c = (low.bit_length() - 1) >> 3
        m = mask >> (c << 3)
        chunk_wsum = self.chunk_wsum
        chunk_wmax = self.chunk_wmax
        chunk_set = self.chunk_set
        w_sum = 0
        w_top = 0
        sets = 0
        while m:
            b = m & 255
            if b:
                w_sum += chunk_wsum[c][b]
                top = chunk_wmax[c][b]
                if top > w_top:
                    w_top = top
                sets |= chunk_set[c][b]
            m >>= 8
            c += 1
        w_max = w_top >> self.op_bits
        nt = self.nt
        all_t = self.all_t
        read = sets & all_t
        produced = (sets >> nt) & all_t
        outside = (sets >> (nt + nt)) & ~mask
        leaving = self.net_out_t
        in_tmask = self.in_tmask
        while outside:
            low = outside & -outside
            leaving |= in_tmask[low.bit_length() - 1]
            outside ^= low
        outputs = produced & leaving
        return w_sum, w_max, read, produced, outputs

    def _path_weights_reference(self, mask: int, outputs: int) -> dict[int, int]:
        """Per tensor read, the largest integer path weight to a tensor of Out(G) (absent:
        no such path), one pass over the group's ops from the last."""
        out = self.out
        steps = self.steps
        g: dict[int, int] = {}
        m = mask
        while m:
            v = m.bit_length() - 1
            m ^= 1 << v
            o = out[v]
            base = g.get(o)
            if base is None:
                if not outputs >> o & 1:
                    continue  # a dead end: nobody reads its output
                base = 0
            for x, step in steps[v]:
                cand = base + step
                if cand > g.get(x, -1):
                    g[x] = cand
        return g

    def _compact_reference(
        self, read: int, produced: int, outputs: int, g: dict[int, int], w_sum: int, w_max: int
    ) -> Compact:
        t_h = self.t_h
        t_row = self.t_row
        lcm = self.lcm
        merged: dict[tuple[int, int], int] = {}
        halo_inputs = []
        lower = w_max
        full = 0
        input_bytes = 0
        m = read
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            h = t_h[t]
            r = t_row[t]
            weight = g.get(t, 0)
            halo = -(-h * weight // lcm) if weight else 0
            key = (h, halo)
            merged[key] = merged.get(key, 0) + r
            lower += (halo + 1 if halo + 1 < h else h) * r
            full += h * r
            if not produced & low:
                input_bytes += h * r
                if halo:
                    halo_inputs.append((h, halo, r))
        n_max = 1
        output_bytes = 0
        m = outputs
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            h = t_h[t]
            r = t_row[t]
            key = (h, 0)
            merged[key] = merged.get(key, 0) + r
            output_bytes += h * r
            if h > n_max:
                n_max = h
        full += output_bytes
        terms = tuple((h, halo, r) for (h, halo), r in merged.items())
        return Compact(
            buffer_bytes=w_max + tile_bytes(terms, n_max),
            lower_bound=lower,
            weight_sum=w_sum,
            weight_max=w_max,
            terms=terms,
            halo_inputs=tuple(halo_inputs),
            n_max=n_max,
            full_tensor_bytes=full,
            input_bytes=input_bytes,
            output_bytes=output_bytes,
        )


def least_dram(c: Compact, buffer_bytes: int) -> int | None:
    """F_D: the least D(n, mode) over the tilings with B(n, mode) < buffer, or None.

    Resident first: its best n is the smallest that fits. Streaming costs at least
    n * sum W + S(In) + S(Out), so it can only win with n <= ceil((D_res - D_1) / sum W),
    where D_1 = sum W + S(In) + S(Out) is the least any tiling can cost.
    """
    if c.buffer_bytes >= buffer_bytes:
        return None
    w_sum = c.weight_sum
    d_1 = w_sum + c.input_bytes + c.output_bytes
    if w_sum + c.full_tensor_bytes < buffer_bytes:
        return d_1  # n = 1, resident
    terms = c.terms
    n_max = c.n_max
    stream_limit = buffer_bytes - c.weight_max
    if c.buffer_bytes - c.weight_max + w_sum >= buffer_bytes:  # resident never fits
        n = fewest_tiles(terms, 1, n_max, stream_limit)
        return n * w_sum + input_traffic(c, n) + c.output_bytes
    n_r = fewest_tiles(terms, 2, n_max, buffer_bytes - w_sum)
    d_r = w_sum + input_traffic(c, n_r) + c.output_bytes
    if d_r == d_1 or w_sum == c.weight_max:
        return d_r
    n_up = min(n_r - 1, -(-(d_r - d_1) // w_sum))
    if n_up < 1 or tile_bytes(terms, n_up) >= stream_limit:
        return d_r
    n_s = fewest_tiles(terms, 1, n_up, stream_limit)
    d_s = n_s * w_sum + input_traffic(c, n_s) + c.output_bytes
    return d_s if d_s < d_r else d_r
