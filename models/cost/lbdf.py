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
from ..group import mask_ops
from .base import BufferBreakdown, GroupCost, TensorRows
from .common import check_bytes_per_element, checked_mask, group_tensors
from .tables import GraphTables, chunk_table, tables_for


class LbdfModel:
    """The LBDF cost model of one graph at ``bytes_per_element`` bytes per value."""

    name = "lbdf"

    def __init__(self, graph: Graph, bytes_per_element: int = 1, *, cache_size: int = 1 << 18):
        b = check_bytes_per_element(bytes_per_element)
        self.graph = graph
        self.bytes_per_element = b
        tables = tables_for(graph)
        ops = tables.ops
        self._w = tuple(r.weight * b for r in ops)
        self._inputs = tuple(r.inputs for r in ops)
        self._in_tmask = tuple(r.in_tmask for r in ops)
        self._out = tuple(r.out for r in ops)
        self._t_h = tables.t_h
        self._t_q = tables.t_q
        self._t_row = tuple(r * b for r in tables.t_row)
        self._t_size = tuple(r * h for r, h in zip(self._t_row, tables.t_h))
        self._t_readers = tables.t_readers
        self._join_ops = tables.join_ops
        self._lcm = tables.lcm_h
        self._reader_k = _reader_kernels(tables)
        self._fork_t = sum(1 << t for t, rk in enumerate(self._reader_k) if len(rk) >= 2)
        self._net_out_t = sum(1 << t for t, out in enumerate(tables.t_net_output) if out)
        # packed chunk tables: sums (base << shift | W) and sets (succ ops | produced | read)
        base = [
            self._w[v] + sum(min(k, self._t_h[x]) * self._t_row[x] for x, k in ops[v].inputs)
            for v in range(len(ops))
        ]
        self._shift = max(1, sum(self._w).bit_length())
        self._w_mask = (1 << self._shift) - 1
        nt = len(self._t_h)
        self._nt = nt
        self._all_t = (1 << nt) - 1
        self._chunk_sum = chunk_table([(bv << self._shift) | w for bv, w in zip(base, self._w)],
                                      "sum")
        self._chunk_set = chunk_table(
            [r.in_tmask | (1 << r.out) << nt | tables.succ_mask[v] << 2 * nt
             for v, r in enumerate(ops)],
            "or",
        )
        self._chunk_read = chunk_table([r.in_tmask for r in ops], "or")
        self._anc = tables.anc_mask
        producer = [-1 if t.producer is None else t.producer for t in graph.tensors]
        self._join_inputs = tuple(
            tuple((x, producer[x]) for x, _ in ops[v].inputs) if tables.join_ops >> v & 1 else ()
            for v in range(len(ops))
        )
        self._t_desc = _tensor_descendants(tables)
        self._spread_cap = tuple(
            0 if h < 2 else (h - 2) * self._lcm // h + 1 for h in self._t_h
        )
        # readers with k >= H(t) (a global op): R(t) = H(t) whatever the delay
        self._t_full_readers = tuple(
            sum(1 << v for v, k in rk if k >= h) for rk, h in zip(self._reader_k, self._t_h)
        )
        self._capped_by: list[list[int]] = [[] for _ in self._t_h]
        # D(t)'s spread depends only on the group's ops below t: memo per (t, those ops)
        self._spread_memo: dict[tuple[int, int], int] = {}
        self._fork_memo: dict[int, int] = {}
        self._cache: dict[int, tuple[int, int]] = {}
        self._cache_size = cache_size
        # A subclass that redefines buffer_bytes (the documented way to extend this model)
        # has its F_beta used everywhere: the fit in dram_bytes, group_cost, the lower bound.
        self._own_fbeta = type(self).buffer_bytes is not LbdfModel.buffer_bytes

    # ----- the CostModel protocol -----
    def buffer_bytes(self, group: int) -> int:
        """F_beta of the group (bitmask)."""
        hit = self._cache.get(group)
        if hit is None:
            hit = self._evaluate(group)
        return hit[0]

    def buffer_lower_bound(self, group: int) -> int:
        """F_beta itself: it never drops when an op is added to a group. A subclass that
        redefines :meth:`buffer_bytes` gets its own F_beta here, so it must keep it monotone
        too, or redefine this method with a bound that is."""
        if self._own_fbeta:
            return self.buffer_bytes(group)
        hit = self._cache.get(group)
        if hit is None:
            hit = self._evaluate(group)
        return hit[0]

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        """F_D of the group, or None when F_beta >= ``buffer_bytes``."""
        hit = self._cache.get(group)
        if hit is None:
            hit = self._evaluate(group)
        fbeta = self.buffer_bytes(group) if self._own_fbeta else hit[0]
        return hit[1] if fbeta < buffer_bytes else None

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        """The full record. A group that does not fit (``fits=False``) still reports its
        F_D split (what it would cost with a large enough buffer)."""
        mask = checked_mask(self.graph, group)
        fbeta, fd = self._cache.get(mask) or self._evaluate(mask)
        if self._own_fbeta:
            fbeta = self.buffer_bytes(mask)
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
        rows = self.rows(mask)
        weights = tuple((v, self._w[v]) for v in mask_ops(mask))
        tensors = tuple(
            TensorRows(t, rows[t], self._t_row[t], "read") for t in sorted(rows)
        )
        total = sum(b for _, b in weights) + sum(t.bytes for t in tensors)
        return BufferBreakdown(weights=weights, tensors=tensors, total_bytes=total)

    def rows(self, group: int | Iterable[int]) -> dict[int, int]:
        """R(t) for every tensor t of T(G), computed op by op (the plain way; the fast path
        of :meth:`buffer_bytes` must agree with it)."""
        mask = checked_mask(self.graph, group)
        kmax: dict[int, int] = {}
        for v in mask_ops(mask):
            for x, k in self._inputs[v]:
                kmax[x] = max(k, kmax.get(x, 0))
        rows = {x: min(k, self._t_h[x]) for x, k in kmax.items()}
        for t, spread in self._spreads(mask).items():
            h = self._t_h[t]
            rows[t] = min(h, max(kmax[t], -(-h * spread // self._lcm) + 1))
        return rows

    def clear_cache(self) -> None:
        self._cache.clear()
        self._fork_memo.clear()
        self._spread_memo.clear()
        for witnesses in self._capped_by:
            witnesses.clear()

    # ----- evaluation -----
    def _evaluate(self, mask: int) -> tuple[int, int]:
        """(F_beta, F_D) from the chunk tables, plus corrections for tensors read by two or
        more ops of the group (R(t) takes the largest k, not the sum, and delays)."""
        low = mask & -mask
        c = (low.bit_length() - 1) >> 3
        m = mask >> (c << 3)
        chunk_sum = self._chunk_sum
        chunk_set = self._chunk_set
        sums = 0
        sets = 0
        while m:
            b = m & 255
            if b:
                sums += chunk_sum[c][b]
                sets |= chunk_set[c][b]
            m >>= 8
            c += 1
        nt = self._nt
        all_t = self._all_t
        read = sets & all_t
        produced = (sets >> nt) & all_t
        outside = (sets >> (nt + nt)) & ~mask
        leaving = self._net_out_t
        in_tmask = self._in_tmask
        while outside:
            low = outside & -outside
            leaving |= in_tmask[low.bit_length() - 1]
            outside ^= low
        w = sums & self._w_mask
        fd = w
        t_size = self._t_size
        crossing = (read & ~produced) | (produced & leaving)  # In(G) and Out(G)
        while crossing:
            low = crossing & -crossing
            fd += t_size[low.bit_length() - 1]
            crossing ^= low
        fbeta = sums >> self._shift
        shared = read & self._fork_t
        if shared:
            fbeta += self._shared_correction(mask, shared)
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        result = (fbeta, fd)
        cache[mask] = result
        return result

    def _shared_correction(self, mask: int, shared: int) -> int:
        """Bytes to add to the per-op sum for tensors read by two or more ops of the group:
        one line buffer of max k rows instead of one per reader, then the delays D(t)."""
        t_h = self._t_h
        t_row = self._t_row
        reader_k = self._reader_k
        readers = self._t_readers
        memo = self._fork_memo
        shift = self._nt
        extra = 0
        found = False
        while shared:
            low = shared & -shared
            t = low.bit_length() - 1
            shared ^= low
            in_group = readers[t] & mask
            if not in_group & (in_group - 1):
                continue
            found = True
            key = in_group << shift | t
            fix = memo.get(key)
            if fix is None:
                h = t_h[t]
                counted = 0
                kmax = 0
                for v, k in reader_k[t]:
                    if in_group >> v & 1:
                        counted += k if k < h else h
                        if k > kmax:
                            kmax = k
                fix = ((kmax if kmax < h else h) - counted) * t_row[t]
                if len(memo) < 1 << 16:
                    memo[key] = fix
            extra += fix
        if not found or not mask & self._join_ops or not self._may_delay(mask):
            return extra
        for t, spread in self._spreads(mask).items():
            h = t_h[t]
            kmax = max(k for v, k in reader_k[t] if mask >> v & 1)
            old = kmax if kmax < h else h
            need = -(-h * spread // self._lcm) + 1  # ceil(D(t)) + 1
            if need > old:
                extra += ((need if need < h else h) - old) * t_row[t]
        return extra

    def _may_delay(self, mask: int) -> bool:
        """False when no tensor can reach two inputs of a join of the group: for each join,
        the tensors read upstream of each input (by the input's producer and its ancestors
        in the group, a superset of what the group's paths reach) are disjoint."""
        joins = mask & self._join_ops
        anc = self._anc
        join_inputs = self._join_inputs
        while joins:
            low = joins & -joins
            joins ^= low
            seen = 0
            for x, p in join_inputs[low.bit_length() - 1]:
                u = 1 << x
                if p >= 0 and mask >> p & 1:
                    u |= self._read_by(anc[p] & mask | 1 << p)
                if seen & u:
                    return True
                seen |= u
        return False

    def _read_by(self, ops: int) -> int:
        """The tensors read by the ops of a mask (chunk lookups)."""
        low = ops & -ops
        c = (low.bit_length() - 1) >> 3
        m = ops >> (c << 3)
        table = self._chunk_read
        read = 0
        while m:
            b = m & 255
            if b:
                read |= table[c][b]
            m >>= 8
            c += 1
        return read

    def _spreads(self, mask: int) -> dict[int, int]:
        """For every source t that reaches two inputs of some op of the group, the integer
        spread of :meth:`_path_spread` (D(t) = H(t) * spread / L), or a value at least
        ``_spread_cap[t]`` when D(t) alone already makes R(t) = H(t)."""
        inputs_of = self._inputs
        out = self._out
        reach: dict[int, int] = {}
        multi = 0
        m = mask
        while m:
            low = m & -m
            v = low.bit_length() - 1
            m ^= low
            seen = 0
            for x, _ in inputs_of[v]:
                s = reach.get(x, 1 << x)
                multi |= seen & s
                seen |= s
            reach[out[v]] = seen | (1 << out[v])
        spreads = {}
        t_desc = self._t_desc
        t_h = self._t_h
        full_readers = self._t_full_readers
        capped_by = self._capped_by
        memo = self._spread_memo
        caps = self._spread_cap
        anc = self._anc
        joins = mask & self._join_ops
        while multi:
            low = multi & -multi
            t = low.bit_length() - 1
            multi ^= low
            if t_h[t] == 1 or mask & full_readers[t]:
                continue  # R(t) = H(t) already
            witnesses = capped_by[t]
            if any(not w & ~mask for w in witnesses):
                spreads[t] = caps[t]
                continue
            below = mask & t_desc[t]
            below &= (1 << (below & joins).bit_length()) - 1  # up to the last join
            key = (t, below)
            known = memo.get(key)
            if known is not None:
                spreads[t] = known
                continue
            spread, at = self._path_spread(below, t)
            spreads[t] = spread
            if len(memo) >= _SPREAD_MEMO:
                memo.clear()
            memo[key] = spread
            if at >= 0:
                # every superset of these ops also caps t: D(t) only grows with the group
                if len(witnesses) >= _WITNESSES:
                    del witnesses[0]
                witnesses.append(below & (anc[at] | 1 << at))
        return spreads

    def _path_spread(self, ops: int, source: int) -> tuple[int, int]:
        """max over ops j of (max g - min g) over the paths from ``source`` into j's inputs,
        in the integer scale of :mod:`.tables` (D(t) = H(t) * spread / L). ``ops`` holds the
        group's ops that descend from ``source`` (no other op is on such a path), up to the
        last join among them. The pass stops once the spread reaches the source's cap: R(t)
        is then H(t) whatever follows (the spread only grows along the pass). Returns the
        spread and the op where it reached the cap (-1: it did not)."""
        inputs_of = self._inputs
        out = self._out
        q = self._t_q
        cap = self._spread_cap[source]
        gmax = {source: 0}
        gmin = {source: 0}
        spread = 0
        while ops:
            low = ops & -ops
            v = low.bit_length() - 1
            ops ^= low
            found = False
            hi = lo = ohi = olo = 0
            for x, k in inputs_of[v]:
                a = gmax.get(x)
                if a is None:
                    continue
                b = gmin[x]
                c = (k - 1) * q[x]
                if not found:
                    found = True
                    hi, lo, ohi, olo = a, b, a + c, b + c
                    continue
                if a > hi:
                    hi = a
                if b < lo:
                    lo = b
                if a + c > ohi:
                    ohi = a + c
                if b + c < olo:
                    olo = b + c
            if not found:
                continue
            if hi - lo > spread:
                spread = hi - lo
                if spread >= cap:
                    return spread, v
            gmax[out[v]] = ohi
            gmin[out[v]] = olo
        return spread, -1


_WITNESSES = 8  # op sets kept per source that cap its delay
_SPREAD_MEMO = 1 << 17  # (source, ops below it) -> spread, cleared when full


def _tensor_descendants(tables: GraphTables) -> tuple[int, ...]:
    """Per tensor, the mask of ops that read it or descend from a reader."""
    desc = tables.desc_mask
    result = []
    for readers in tables.t_readers:
        acc = readers
        m = readers
        while m:
            low = m & -m
            acc |= desc[low.bit_length() - 1]
            m ^= low
        result.append(acc)
    return tuple(result)


def _reader_kernels(tables: GraphTables) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per tensor, (reader op, kernel height on it) for every op reading it."""
    readers: list[list[tuple[int, int]]] = [[] for _ in tables.t_h]
    for v, rec in enumerate(tables.ops):
        for x, k in rec.inputs:
            readers[x].append((v, k))
    return tuple(tuple(r) for r in readers)
