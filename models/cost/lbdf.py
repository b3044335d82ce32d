"""LBDF, line-buffer depth-first fusion (docs/cost-models.md, section LBDF).

All weights of a group stay on chip and every feature map the group reads lives in a line
buffer of R(t) rows:

    F_D(G)    = sum W(v) + sum_{t in In(G)} S(t) + sum_{t in Out(G)} S(t)
    F_beta(G) = sum W(v) + sum_{t in T(G)} R(t) r(t),
    R(t)      = min(H(t), ceil(max(K(t), D(t) + 1)))

Both numbers depend on the group only, so they are computed together and cached per group
(bounded). D(t), the skip-connection delay, is non-zero only when t reaches two inputs of a
join inside the group; only those sources get the exact path-weight pass (integer-scaled, see
:mod:`.tables`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..graph import Graph
from .base import BufferBreakdown, GroupCost, TensorRows
from .common import check_bytes_per_element, checked_mask, group_tensors
from .tables import tables_for


class LbdfModel:
    """The LBDF cost model of one graph at ``bytes_per_element`` bytes per value."""

    name = "lbdf"

    def __init__(self, graph: Graph, bytes_per_element: int = 1, *, cache_size: int = 1 << 18):
        b = check_bytes_per_element(bytes_per_element)
        self.graph = graph
        self.bytes_per_element = b
        tables = tables_for(graph)
        self._tables = tables
        self._w = tuple(r.weight * b for r in tables.ops)
        self._inputs = tuple(r.inputs for r in tables.ops)
        self._in_tmask = tuple(r.in_tmask for r in tables.ops)
        self._out = tuple(r.out for r in tables.ops)
        self._out_bit = tuple(1 << r.out for r in tables.ops)
        self._out_readers = tuple(r.out_readers for r in tables.ops)
        self._out_net = tuple(r.out_is_net_output for r in tables.ops)
        self._t_h = tables.t_h
        self._t_q = tables.t_q
        self._t_row = tuple(r * b for r in tables.t_row)
        self._t_size = tuple(r * h for r, h in zip(self._t_row, tables.t_h))
        self._out_size = tuple(self._t_size[o] for o in self._out)
        self._join_ops = tables.join_ops
        self._lcm = tables.lcm_h
        self._cache: dict[int, tuple[int, int]] = {}
        self._cache_size = cache_size

    # ----- the CostModel protocol -----
    def buffer_bytes(self, group: int) -> int:
        """F_beta of the group (bitmask)."""
        hit = self._cache.get(group)
        if hit is None:
            hit = self._evaluate(group)
        return hit[0]

    def buffer_lower_bound(self, group: int) -> int:
        """F_beta itself: it never drops when an op is added to a group."""
        return self.buffer_bytes(group)

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        """F_D of the group, or None when F_beta >= ``buffer_bytes``."""
        hit = self._cache.get(group)
        if hit is None:
            hit = self._evaluate(group)
        return hit[1] if hit[0] < buffer_bytes else None

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        """The full record. A group that does not fit (``fits=False``) still reports its
        F_D split (what it would cost with a large enough buffer)."""
        mask = checked_mask(self.graph, group)
        fbeta, fd = self._cache.get(mask) or self._evaluate(mask)
        sets = group_tensors(self.graph, mask)
        inputs = sum(self._t_size[t] for t in sets.inputs)
        outputs = sum(self._t_size[t] for t in sets.outputs)
        return GroupCost(
            buffer_bytes=fbeta,
            dram_bytes=fd,
            input_bytes=inputs,
            weight_bytes=fd - inputs - outputs,
            output_bytes=outputs,
            fits=fbeta < buffer_bytes,
        )

    def buffer_breakdown(
        self, group: int | Iterable[int], buffer_bytes: int | None = None
    ) -> BufferBreakdown:
        """What fills F_beta: every op's weights and R(t) rows of every tensor read.
        ``buffer_bytes`` is accepted for the common signature and ignored (LBDF's buffer
        use does not depend on it)."""
        mask = checked_mask(self.graph, group)
        _, rows, _, _, _ = self._scan(mask)
        weights = tuple((v, self._w[v]) for v in _ops_of(mask))
        tensors = tuple(
            TensorRows(t, rows[t], self._t_row[t], "read") for t in sorted(rows)
        )
        total = sum(b for _, b in weights) + sum(t.bytes for t in tensors)
        return BufferBreakdown(weights=weights, tensors=tensors, total_bytes=total)

    def clear_cache(self) -> None:
        self._cache.clear()

    # ----- evaluation -----
    def _evaluate(self, mask: int) -> tuple[int, int]:
        w, rows, read, produced, out_bytes = self._scan(mask)
        t_row = self._t_row
        fbeta = w
        for x, r in rows.items():
            fbeta += r * t_row[x]
        fd = w + out_bytes
        t_size = self._t_size
        ins = read & ~produced
        while ins:
            low = ins & -ins
            fd += t_size[low.bit_length() - 1]
            ins ^= low
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        result = (fbeta, fd)
        cache[mask] = result
        return result

    def _scan(self, mask: int) -> tuple[int, dict[int, int], int, int, int]:
        """One pass over the group: sum W, R(t) per tensor read, the read and produced
        tensor masks, and sum S(Out)."""
        w_of = self._w
        inputs_of = self._inputs
        in_tmask = self._in_tmask
        out_bit = self._out_bit
        out_readers = self._out_readers
        out_net = self._out_net
        out_size = self._out_size
        w = 0
        read = 0
        produced = 0
        out_bytes = 0
        kmax: dict[int, int] = {}
        outside = ~mask
        m = mask
        while m:
            low = m & -m
            v = low.bit_length() - 1
            m ^= low
            w += w_of[v]
            read |= in_tmask[v]
            produced |= out_bit[v]
            if out_readers[v] & outside or out_net[v]:
                out_bytes += out_size[v]
            for x, k in inputs_of[v]:
                if kmax.get(x, 0) < k:
                    kmax[x] = k
        t_h = self._t_h
        rows = {x: (k if k < t_h[x] else t_h[x]) for x, k in kmax.items()}
        if mask & self._join_ops:
            self._apply_delays(mask, rows)
        return w, rows, read, produced, out_bytes

    def _apply_delays(self, mask: int, rows: dict[int, int]) -> None:
        """Raises R(t) to D(t) + 1 rows (rounded up, at most H) for every source t that
        reaches two inputs of some op of the group."""
        ops = _ops_of(mask)
        inputs_of = self._inputs
        out = self._out
        reach: dict[int, int] = {}
        multi = 0
        for v in ops:
            seen = 0
            for x, _ in inputs_of[v]:
                s = reach.get(x, 1 << x)
                multi |= seen & s
                seen |= s
            reach[out[v]] = seen | (1 << out[v])
        t_h = self._t_h
        while multi:
            low = multi & -multi
            t = low.bit_length() - 1
            multi ^= low
            spread = self._path_spread(ops, t)
            h = t_h[t]
            need = -(-h * spread // self._lcm) + 1  # ceil(D(t)) + 1
            if need > rows[t]:
                rows[t] = need if need < h else h

    def _path_spread(self, ops: list[int], source: int) -> int:
        """max over ops j of (max g - min g) over the paths from ``source`` into j's inputs,
        in the integer scale of :mod:`.tables` (D(t) = H(t) * spread / L)."""
        inputs_of = self._inputs
        out = self._out
        q = self._t_q
        gmax = {source: 0}
        gmin = {source: 0}
        spread = 0
        for v in ops:
            hi = lo = ohi = olo = None
            for x, k in inputs_of[v]:
                a = gmax.get(x)
                if a is None:
                    continue
                b = gmin[x]
                c = (k - 1) * q[x]
                if hi is None:
                    hi, lo, ohi, olo = a, b, a + c, b + c
                    continue
                hi = a if a > hi else hi
                lo = b if b < lo else lo
                ohi = a + c if a + c > ohi else ohi
                olo = b + c if b + c < olo else olo
            if hi is None:
                continue
            if hi - lo > spread:
                spread = hi - lo
            gmax[out[v]] = ohi
            gmin[out[v]] = olo
        return spread


def _ops_of(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
