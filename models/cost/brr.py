"""BRR, tiled fusion with weight reloading (docs/cost-models.md, section BRR).

The group's output is computed in n row tiles (1 <= n <= max H over Out(G)); weights are
resident (all on chip, read once) or streamed (one op's at a time, read again per tile):

    tau_n(t)   = min(H(t), ceil(H(t)/n) + halo(t))
    B(n, mode) = Wmode + sum_{t in T} tau_n(t) r(t) + sum_{t in Out} ceil(H(t)/n) r(t)
    D(n, mode) = Wtraffic + sum_{t in In} min(n H(t), H(t) + (n-1) halo(t)) r(t)
                 + sum_{t in Out} S(t)

B never rises with n (ceil(H/n) does not) and streamed B <= resident B (max W <= sum W),
so F_beta = B(n_max, streamed). D never falls with n in either mode, so the best tiling of
a mode is the smallest n whose B fits, found by binary search; the two modes' best are then
compared with the tie rule (equal D: smaller n, then resident).

The group-only part (weights, halos, the tensor lists) is a :class:`BrrProfile`, cached per
group (bounded) so a sweep over buffer sizes only repeats the binary search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..graph import Graph
from .base import BufferBreakdown, GroupCost, TensorRows, WeightMode
from .common import check_bytes_per_element, checked_mask
from .tables import tables_for


@dataclass(frozen=True, slots=True)
class BrrProfile:
    """Everything BRR needs of a group, independent of the buffer (bytes and rows).

    ``read`` holds (tensor, H, halo rows, row bytes) for T(G); ``inputs`` the same for
    In(G); ``outputs`` (tensor, H, row bytes) for Out(G); ``n_max`` = max H over Out(G)
    (1 when Out(G) is empty); ``full_tensor_bytes`` = B(1) - W (every tensor whole);
    ``input_bytes`` = sum S(In); ``output_bytes`` = sum S(Out)."""

    weight_sum: int
    weight_max: int
    heaviest_op: int
    read: tuple[tuple[int, int, int, int], ...]
    inputs: tuple[tuple[int, int, int, int], ...]
    outputs: tuple[tuple[int, int, int], ...]
    n_max: int
    buffer_bytes: int  # F_beta = B(n_max, streamed)
    full_tensor_bytes: int
    input_bytes: int
    output_bytes: int

    def tensor_bytes(self, n: int) -> int:
        """B(n, mode) - Wmode: the rows of every tensor for n tiles."""
        return _tile_bytes(self.read, self.outputs, n)

    def fewest_tiles(self, limit: int) -> int | None:
        """The smallest n with tensor_bytes(n) < limit, or None when even n_max does not."""
        hi = self.n_max
        if self.tensor_bytes(hi) >= limit:
            return None
        lo = 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.tensor_bytes(mid) < limit:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def input_traffic(self, n: int) -> int:
        total = 0
        for _, h, halo, r in self.inputs:
            a = n * h
            b = h + (n - 1) * halo
            total += (a if a < b else b) * r
        return total

    def dram(self, n: int, mode: WeightMode) -> int:
        w = self.weight_sum if mode == "resident" else n * self.weight_sum
        return w + self.input_traffic(n) + self.output_bytes


@dataclass(frozen=True, slots=True)
class Tiling:
    """A chosen BRR tiling: n tiles, the weights mode, B(n, mode) and D(n, mode)."""

    tiles: int
    weights: WeightMode
    buffer_bytes: int
    dram_bytes: int


class BrrModel:
    """The BRR cost model of one graph at ``bytes_per_element`` bytes per value."""

    name = "brr"

    def __init__(self, graph: Graph, bytes_per_element: int = 1, *, cache_size: int = 1 << 17):
        b = check_bytes_per_element(bytes_per_element)
        self.graph = graph
        self.bytes_per_element = b
        tables = tables_for(graph)
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
        self._lcm = tables.lcm_h
        self._cache: dict[int, BrrProfile] = {}
        self._cache_size = cache_size

    # ----- the CostModel protocol -----
    def buffer_bytes(self, group: int) -> int:
        """F_beta = B(n_max, streamed)."""
        prof = self._cache.get(group) or self._profile(group)
        return prof.buffer_bytes

    def buffer_lower_bound(self, group: int) -> int:
        """max W(v) + sum over T(G) of min(H, 1 + halo) rows: at most F_beta (tau_n(t) >=
        min(H, 1 + halo) for every n) and, in a graph whose every tensor is read or is a
        network output, never lower when an op joins a weakly connected group."""
        prof = self._cache.get(group) or self._profile(group)
        total = prof.weight_max
        for _, h, halo, r in prof.read:
            total += (halo + 1 if halo + 1 < h else h) * r
        return total

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        """F_D = the least D(n, mode) over the tilings that fit, or None when none does."""
        prof = self._cache.get(group) or self._profile(group)
        if prof.buffer_bytes >= buffer_bytes:
            return None
        if prof.weight_sum + prof.full_tensor_bytes < buffer_bytes:  # n = 1, resident
            return prof.weight_sum + prof.input_bytes + prof.output_bytes
        best = self._best_tiling(prof, buffer_bytes)
        return best[2]

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        """The full record with the chosen tiling. A group that does not fit has no tiling
        (``tiles``, ``weights``, ``tiling_buffer_bytes`` are None) and its dram fields hold
        W + S(In) + S(Out), its traffic with an unbounded buffer (n = 1, resident)."""
        mask = checked_mask(self.graph, group)
        prof = self._cache.get(mask) or self._profile(mask)
        tiling = self.tiling(mask, buffer_bytes)
        if tiling is None:
            return GroupCost(
                buffer_bytes=prof.buffer_bytes,
                dram_bytes=prof.weight_sum + prof.input_bytes + prof.output_bytes,
                input_bytes=prof.input_bytes,
                weight_bytes=prof.weight_sum,
                output_bytes=prof.output_bytes,
                fits=False,
            )
        n = tiling.tiles
        weights = prof.weight_sum * (1 if tiling.weights == "resident" else n)
        return GroupCost(
            buffer_bytes=prof.buffer_bytes,
            dram_bytes=tiling.dram_bytes,
            input_bytes=prof.input_traffic(n),
            weight_bytes=weights,
            output_bytes=prof.output_bytes,
            fits=True,
            tiles=n,
            weights=tiling.weights,
            tiling_buffer_bytes=tiling.buffer_bytes,
        )

    def tiling(self, group: int | Iterable[int], buffer_bytes: int) -> Tiling | None:
        """The chosen (n, mode) at this buffer with its B and D, or None when none fits."""
        mask = checked_mask(self.graph, group)
        prof = self._cache.get(mask) or self._profile(mask)
        if prof.buffer_bytes >= buffer_bytes:
            return None
        n, mode, dram = self._best_tiling(prof, buffer_bytes)
        w = prof.weight_sum if mode == "resident" else prof.weight_max
        return Tiling(n, mode, w + prof.tensor_bytes(n), dram)

    def profile(self, group: int | Iterable[int]) -> BrrProfile:
        """The buffer-independent part of the group's cost (halos, tensor lists)."""
        mask = checked_mask(self.graph, group)
        return self._cache.get(mask) or self._profile(mask)

    def buffer_breakdown(
        self, group: int | Iterable[int], buffer_bytes: int | None = None
    ) -> BufferBreakdown:
        """What fills B(n, mode) for the tiling chosen at ``buffer_bytes``; with no buffer,
        or when the group does not fit it, the F_beta tiling (n_max, streamed)."""
        mask = checked_mask(self.graph, group)
        prof = self._cache.get(mask) or self._profile(mask)
        tiling = None if buffer_bytes is None else self.tiling(mask, buffer_bytes)
        n, mode = (prof.n_max, "streamed") if tiling is None else (tiling.tiles, tiling.weights)
        if mode == "resident":
            weights = tuple((v, self._w[v]) for v in _ops_of(mask))
        else:
            weights = ((prof.heaviest_op, prof.weight_max),)
        rows = []
        for t, h, halo, r in prof.read:
            rows.append(TensorRows(t, min(h, -(-h // n) + halo), r, "read"))
        for t, h, r in prof.outputs:
            rows.append(TensorRows(t, -(-h // n), r, "output"))
        total = sum(b for _, b in weights) + sum(x.bytes for x in rows)
        return BufferBreakdown(weights, tuple(rows), total, tiles=n, weights_mode=mode)

    def clear_cache(self) -> None:
        self._cache.clear()

    # ----- evaluation -----
    @staticmethod
    def _best_tiling(prof: BrrProfile, buffer_bytes: int) -> tuple[int, WeightMode, int]:
        """(n, mode, D) per the tie rule; the group must fit (F_beta < buffer)."""
        n_s = prof.fewest_tiles(buffer_bytes - prof.weight_max)
        assert n_s is not None
        d_s = prof.dram(n_s, "streamed")
        n_r = prof.fewest_tiles(buffer_bytes - prof.weight_sum)
        if n_r is None:
            return n_s, "streamed", d_s
        d_r = prof.dram(n_r, "resident")
        if d_r < d_s or (d_r == d_s and n_r <= n_s):
            return n_r, "resident", d_r
        return n_s, "streamed", d_s

    def _profile(self, mask: int) -> BrrProfile:
        w_of = self._w
        inputs_of = self._inputs
        out_of = self._out
        out_readers = self._out_readers
        out_net = self._out_net
        t_h = self._t_h
        t_row = self._t_row
        w_sum = 0
        w_max = -1
        heaviest = -1
        read = 0
        produced = 0
        outputs = 0
        ops = []
        outside = ~mask
        m = mask
        while m:
            low = m & -m
            v = low.bit_length() - 1
            m ^= low
            ops.append(v)
            w = w_of[v]
            w_sum += w
            if w > w_max:
                w_max, heaviest = w, v
            read |= self._in_tmask[v]
            produced |= self._out_bit[v]
            if out_readers[v] & outside or out_net[v]:
                outputs |= self._out_bit[v]
        # g[t]: the largest integer-scaled path weight from t to a tensor of Out(G)
        q = self._t_q
        g: dict[int, int] = {}
        for v in reversed(ops):
            o = out_of[v]
            base = g.get(o)
            if base is None:
                if not outputs >> o & 1:
                    continue  # a dead end: its output is neither read nor a network output
                base = 0
            for x, k in inputs_of[v]:
                c = base + (k - 1) * q[x]
                if c > g.get(x, -1):
                    g[x] = c
        lcm = self._lcm
        read_rows = []
        input_rows = []
        full = 0
        input_bytes = 0
        m = read
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            h = t_h[t]
            entry = (t, h, -(-h * g.get(t, 0) // lcm), t_row[t])
            read_rows.append(entry)
            full += h * entry[3]
            if not produced & low:
                input_rows.append(entry)
                input_bytes += h * entry[3]
        out_rows = []
        n_max = 1
        output_bytes = 0
        m = outputs
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            h = t_h[t]
            out_rows.append((t, h, t_row[t]))
            output_bytes += h * t_row[t]
            if h > n_max:
                n_max = h
        full += output_bytes
        read_t = tuple(read_rows)
        out_t = tuple(out_rows)
        prof = BrrProfile(
            weight_sum=w_sum,
            weight_max=w_max,
            heaviest_op=heaviest,
            read=read_t,
            inputs=tuple(input_rows),
            outputs=out_t,
            n_max=n_max,
            buffer_bytes=w_max + _tile_bytes(read_t, out_t, n_max),
            full_tensor_bytes=full,
            input_bytes=input_bytes,
            output_bytes=output_bytes,
        )
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[mask] = prof
        return prof


def _tile_bytes(
    read: tuple[tuple[int, int, int, int], ...], outputs: tuple[tuple[int, int, int], ...], n: int
) -> int:
    """sum_{t in T} tau_n(t) r(t) + sum_{t in Out} ceil(H(t)/n) r(t)."""
    total = 0
    for _, h, halo, r in read:
        rows = -(-h // n) + halo
        total += (rows if rows < h else h) * r
    for _, h, r in outputs:
        total += -(-h // n) * r
    return total


def _ops_of(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
