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

Solvers' questions (``buffer_bytes``, ``buffer_lower_bound``, ``dram_bytes``) take the fast
path of :mod:`.brr_fast`, whose buffer-independent record is cached per group (bounded), so
a sweep over buffer sizes only repeats the binary search. Reports (``group_cost``,
``tiling``, ``buffer_breakdown``) take the plain path of :mod:`.brr_profile`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..graph import Graph
from ..group import mask_ops
from .base import BufferBreakdown, GroupCost, TensorRows, WeightMode
from .brr_fast import BrrFast, Compact, least_dram
from .brr_profile import BrrProfile, ProfileData, Tiling, best_tiling, build_profile
from .common import check_bytes_per_element, checked_mask
from .tables import tables_for

__all__ = ["BrrModel", "BrrProfile", "Tiling"]


class BrrModel:
    """The BRR cost model of one graph at ``bytes_per_element`` bytes per value."""

    name = "brr"

    def __init__(self, graph: Graph, bytes_per_element: int = 1, *, cache_size: int = 1 << 17):
        b = check_bytes_per_element(bytes_per_element)
        self.graph = graph
        self.bytes_per_element = b
        tables = tables_for(graph)
        self._fast = BrrFast(tables, b)
        self._data = ProfileData.of(tables, b)
        self._cache: dict[int, Compact] = {}
        self._cache_size = cache_size
        self._profiles: dict[int, BrrProfile] = {}

    # ----- the CostModel protocol -----
    def buffer_bytes(self, group: int) -> int:
        """F_beta = B(n_max, streamed)."""
        c = self._cache.get(group) or self._compact(group)
        return c.buffer_bytes

    def buffer_lower_bound(self, group: int) -> int:
        """max W(v) + sum over T(G) of min(H, 1 + halo) rows: at most F_beta (tau_n(t) >=
        min(H, 1 + halo) for every n) and, in a graph whose every tensor is read or is a
        network output, never lower when an op joins a weakly connected group."""
        c = self._cache.get(group) or self._compact(group)
        return c.lower_bound

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        """F_D = the least D(n, mode) over the tilings that fit, or None when none does."""
        c = self._cache.get(group) or self._compact(group)
        return least_dram(c, buffer_bytes)

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        """The full record with the chosen tiling. A group that does not fit has no tiling
        (``tiles``, ``weights``, ``tiling_buffer_bytes`` are None) and its dram fields hold
        W + S(In) + S(Out), its traffic with an unbounded buffer (n = 1, resident)."""
        prof = self.profile(group)
        tiling = self.tiling(group, buffer_bytes)
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
        prof = self.profile(group)
        if prof.buffer_bytes >= buffer_bytes:
            return None
        n, mode, dram = best_tiling(prof, buffer_bytes)
        w = prof.weight_sum if mode == "resident" else prof.weight_max
        return Tiling(n, mode, w + prof.tensor_bytes(n), dram)

    def profile(self, group: int | Iterable[int]) -> BrrProfile:
        """The buffer-independent part of the group's cost, tensor by tensor."""
        mask = checked_mask(self.graph, group)
        prof = self._profiles.get(mask)
        if prof is None:
            if len(self._profiles) >= 4096:
                self._profiles.clear()
            prof = self._profiles[mask] = build_profile(self._data, mask)
        return prof

    def buffer_breakdown(
        self, group: int | Iterable[int], buffer_bytes: int | None = None
    ) -> BufferBreakdown:
        """What fills B(n, mode) for the tiling chosen at ``buffer_bytes``; with no buffer,
        or when the group does not fit it, the F_beta tiling (n_max, streamed)."""
        mask = checked_mask(self.graph, group)
        prof = self.profile(mask)
        tiling = None if buffer_bytes is None else self.tiling(mask, buffer_bytes)
        n: int = prof.n_max if tiling is None else tiling.tiles
        mode: WeightMode = "streamed" if tiling is None else tiling.weights
        if mode == "resident":
            weights = tuple((v, self._data.w[v]) for v in mask_ops(mask))
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
        self._profiles.clear()

    def _compact(self, mask: int) -> Compact:
        c = self._fast.evaluate(mask)
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[mask] = c
        return c
