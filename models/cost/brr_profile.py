"""BRR's plain evaluation of one group: the :class:`BrrProfile` (halos and tensor lists,
tensor by tensor) and the tiling chosen at a buffer by the tie rule.

This is the path for reports (``group_cost``, ``tiling``, ``buffer_breakdown``): it keeps
every tensor apart. Solvers use the merged fast path of :mod:`.brr_fast`; the tests hold
both to the same reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..group import mask_ops
from .base import WeightMode
from .tables import GraphTables


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


@dataclass(frozen=True)
class ProfileData:
    """Per-graph arrays the plain evaluation reads, in bytes."""

    w: tuple[int, ...]
    inputs: tuple[tuple[tuple[int, int], ...], ...]
    in_tmask: tuple[int, ...]
    out: tuple[int, ...]
    out_bit: tuple[int, ...]
    out_readers: tuple[int, ...]
    out_net: tuple[bool, ...]
    t_h: tuple[int, ...]
    t_q: tuple[int, ...]
    t_row: tuple[int, ...]
    lcm: int

    @classmethod
    def of(cls, tables: GraphTables, b: int) -> ProfileData:
        ops = tables.ops
        return cls(
            w=tuple(r.weight * b for r in ops),
            inputs=tuple(r.inputs for r in ops),
            in_tmask=tuple(r.in_tmask for r in ops),
            out=tuple(r.out for r in ops),
            out_bit=tuple(1 << r.out for r in ops),
            out_readers=tuple(r.out_readers for r in ops),
            out_net=tuple(r.out_is_net_output for r in ops),
            t_h=tables.t_h,
            t_q=tables.t_q,
            t_row=tuple(r * b for r in tables.t_row),
            lcm=tables.lcm_h,
        )


def build_profile(data: ProfileData, mask: int) -> BrrProfile:
    """The profile of the ops of ``mask``, op by op."""
    ops, w_sum, w_max, heaviest, read, produced, outputs = _scan(data, mask)
    g = _path_weights(data, ops, outputs)
    read_rows = tuple(
        (t, data.t_h[t], -(-data.t_h[t] * g.get(t, 0) // data.lcm), data.t_row[t])
        for t in mask_ops(read)
    )
    input_rows = tuple(e for e in read_rows if not produced >> e[0] & 1)
    out_rows = tuple((t, data.t_h[t], data.t_row[t]) for t in mask_ops(outputs))
    output_bytes = sum(h * r for _, h, r in out_rows)
    n_max = max((h for _, h, _ in out_rows), default=1)
    return BrrProfile(
        weight_sum=w_sum,
        weight_max=w_max,
        heaviest_op=heaviest,
        read=read_rows,
        inputs=input_rows,
        outputs=out_rows,
        n_max=n_max,
        buffer_bytes=w_max + _tile_bytes(read_rows, out_rows, n_max),
        full_tensor_bytes=sum(h * r for _, h, _, r in read_rows) + output_bytes,
        input_bytes=sum(h * r for _, h, _, r in input_rows),
        output_bytes=output_bytes,
    )


def _scan(data: ProfileData, mask: int) -> tuple[list[int], int, int, int, int, int, int]:
    """The group's ops, sum W, max W and its op, and the read, produced and Out tensor
    masks."""
    ops = mask_ops(mask)
    w_sum = sum(data.w[v] for v in ops)
    heaviest = max(ops, key=lambda v: data.w[v])
    read = produced = outputs = 0
    for v in ops:
        read |= data.in_tmask[v]
        produced |= data.out_bit[v]
        if data.out_readers[v] & ~mask or data.out_net[v]:
            outputs |= data.out_bit[v]
    return ops, w_sum, data.w[heaviest], heaviest, read, produced, outputs


def _path_weights(data: ProfileData, ops: list[int], outputs: int) -> dict[int, int]:
    """Per tensor, the largest integer path weight g to a tensor of Out(G) (absent when no
    path reaches one), from the group's last op back to its first."""
    g: dict[int, int] = {}
    for v in reversed(ops):
        o = data.out[v]
        base = g.get(o)
        if base is None:
            if not outputs >> o & 1:
                continue  # a dead end: its output is neither read nor a network output
            base = 0
        for x, k in data.inputs[v]:
            c = base + (k - 1) * data.t_q[x]
            if c > g.get(x, -1):
                g[x] = c
    return g



def best_tiling(prof: BrrProfile, buffer_bytes: int) -> tuple[int, WeightMode, int]:
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
