"""The one definition of a fusion group's structure and fit, and the bitmask helpers it rests on.

A *group* is a set of op ids, passed as a bitmask (bit i = op i; :func:`as_mask`) because
searches test millions of them. Ops are numbered in a topological order, so a group's lowest
bit is one of its sources.

A group is **valid** at a buffer of ``beta`` bytes when it is

- weakly connected over producer-consumer edges,
- convex: no path leaves the group and comes back, and
- fits: its buffer requirement F_beta (the cost model's ``buffer_bytes``) is strictly below
  ``beta``.

(The fourth rule, that the plan's graph of groups is acyclic, is a rule of a whole plan:
``models/validate.py``.) :func:`check_group` is the single place that decides it; the
validator, the ``cost`` command's report, the GNN's labels, the explainers and the searches
all call it. A single op that does not fit is an invalid *group*, yet a plan may still hold it
as an *unfusable singleton*, priced unfused (``W + S(In) + S(Out)``); see
``models/plan_build.unfusable_ops``. The user's constraints (pins, forbids, a cap on group
size) are not validity: they live in ``solver/problem.py``.

Hot loops (candidate growth, A*) keep their own incremental bitset tests, built from the
per-op masks of :func:`graph_masks` and the predicates here (:func:`connected_in`,
:func:`adds_convexly`); tests check that they agree with :func:`check_group`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .graph import Graph

if TYPE_CHECKING:  # pragma: no cover
    from .cost.base import CostModel
    from .cost.tables import GraphTables


# ----- bitmasks -----
def as_mask(ops: int | Iterable[int]) -> int:
    """A group as a bitmask over op ids (an int is taken as a mask already)."""
    if isinstance(ops, int):
        return ops
    mask = 0
    for v in ops:
        mask |= 1 << v
    return mask


def mask_ops(mask: int) -> list[int]:
    """The op ids of a bitmask, ascending (= topological order)."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


# ----- per-op masks of a graph -----
def pred_masks(graph: Graph) -> list[int]:
    """Per op id, the bitmask of its direct predecessors."""
    return [as_mask(preds) for preds in graph.preds]


def succ_masks(graph: Graph) -> list[int]:
    """Per op id, the bitmask of its direct successors."""
    return [as_mask(succs) for succs in graph.succs]


def ancestor_masks(preds: Sequence[int]) -> list[int]:
    """Per op, the mask of its strict ancestors, from the predecessor masks of ops numbered
    in a topological order."""
    anc = [0] * len(preds)
    for v, m in enumerate(preds):
        acc = m
        while m:
            low = m & -m
            acc |= anc[low.bit_length() - 1]
            m ^= low
        anc[v] = acc
    return anc


def descendant_masks(succs: Sequence[int]) -> list[int]:
    """Per op, the mask of its strict descendants, from the successor masks of ops numbered
    in a topological order."""
    desc = [0] * len(succs)
    for v in reversed(range(len(succs))):
        m = succs[v]
        acc = m
        while m:
            low = m & -m
            acc |= desc[low.bit_length() - 1]
            m ^= low
        desc[v] = acc
    return desc


def graph_masks(graph: Graph) -> GraphTables:
    """The per-op masks of ``graph`` (``pred_mask``, ``succ_mask``, ``nbr_mask``,
    ``anc_mask``, ``desc_mask``), built once per graph and shared with the cost models."""
    from .cost.tables import tables_for  # models.cost imports this module: bind late

    return tables_for(graph)


# ----- structure predicates over per-op masks -----
def reach_in(start: int, mask: int, nbr: Sequence[int]) -> int:
    """The ops of ``mask`` reachable from the ops of ``start`` over the neighbour masks
    ``nbr``, moving inside ``mask`` only (``start`` included)."""
    reached = frontier = start
    while frontier:
        grow = 0
        while frontier:
            low = frontier & -frontier
            grow |= nbr[low.bit_length() - 1]
            frontier ^= low
        frontier = grow & mask & ~reached
        reached |= frontier
    return reached


def connected_in(mask: int, nbr: Sequence[int]) -> bool:
    """True when the ops of ``mask`` are one piece over the neighbour masks ``nbr`` (an empty
    set is not)."""
    return mask != 0 and reach_in(mask & -mask, mask, nbr) == mask


def components_in(mask: int, nbr: Sequence[int]) -> list[int]:
    """The weakly connected parts of ``mask``, each a mask, in order of their lowest op."""
    parts = []
    rest = mask
    while rest:
        part = reach_in(rest & -rest, rest, nbr)
        parts.append(part)
        rest &= ~part
    return parts


def convex_in(mask: int, anc: Sequence[int], desc: Sequence[int]) -> bool:
    """True when no op outside ``mask`` is both a descendant and an ancestor of ops inside."""
    up = down = 0
    m = mask
    while m:
        low = m & -m
        v = low.bit_length() - 1
        up |= anc[v]
        down |= desc[v]
        m ^= low
    return up & down & ~mask == 0


def adds_convexly(x: int, new: int, group_anc: int, group_desc: int,
                  anc: Sequence[int], desc: Sequence[int]) -> bool:
    """Growing a convex group (with ancestors ``group_anc`` and descendants ``group_desc``)
    by op ``x`` into ``new`` keeps it convex: no path from the group to ``x`` or from ``x``
    to the group leaves ``new``."""
    return not (desc[x] & group_anc & ~new or anc[x] & group_desc & ~new)


def hull_in(mask: int, anc: Sequence[int], desc: Sequence[int]) -> int:
    """The smallest convex set containing ``mask``."""
    up = down = 0
    for v in mask_ops(mask):
        up |= anc[v]
        down |= desc[v]
    return mask | (up & down)


def is_weakly_connected(graph: Graph, mask: int) -> bool:
    """True when the ops of ``mask`` are one piece over producer-consumer edges."""
    return connected_in(mask, graph_masks(graph).nbr_mask)


def is_convex(graph: Graph, mask: int) -> bool:
    """True when no path between two ops of the group passes through an op outside it."""
    masks = graph_masks(graph)
    return convex_in(mask, masks.anc_mask, masks.desc_mask)


def hull(graph: Graph, mask: int) -> int:
    """The smallest convex set of ``graph``'s ops containing ``mask``."""
    masks = graph_masks(graph)
    return hull_in(mask, masks.anc_mask, masks.desc_mask)


# ----- the check -----
@dataclass(frozen=True, slots=True)
class GroupCheck:
    """Whether a group is valid at one buffer, and why not.

    ``need_bytes`` is the group's F_beta; it fits when ``need_bytes < capacity_bytes``
    (strict). ``excess_bytes`` is how far F_beta is over the buffer (0 when it fits, and 0
    too when F_beta equals the buffer: that group still does not fit)."""

    ops: tuple[int, ...]
    capacity_bytes: int
    connected: bool
    convex: bool
    need_bytes: int

    @property
    def mask(self) -> int:
        return as_mask(self.ops)

    @property
    def fits(self) -> bool:
        return self.need_bytes < self.capacity_bytes

    @property
    def structural(self) -> bool:
        """Weakly connected and convex: a group some buffer could hold."""
        return self.connected and self.convex

    @property
    def valid(self) -> bool:
        return self.connected and self.convex and self.fits

    @property
    def excess_bytes(self) -> int:
        return max(0, self.need_bytes - self.capacity_bytes)

    @property
    def reason(self) -> str:
        """The verdict in words: 'valid', or every rule the group breaks."""
        broken = []
        if not self.connected:
            broken.append("not weakly connected")
        if not self.convex:
            broken.append("not convex (a path leaves the group and comes back)")
        if not self.fits:
            broken.append(
                f"does not fit: F_beta {self.need_bytes:,} B >= buffer "
                f"{self.capacity_bytes:,} B (over by {self.excess_bytes:,} B)"
            )
        return "; ".join(broken) if broken else "valid"


def check_group(model: CostModel, group: int | Iterable[int] | Iterable[str],
                capacity_bytes: int) -> GroupCheck:
    """Checks one group (a mask, op ids or op names) of ``model.graph`` against a buffer of
    ``capacity_bytes``: structure (weakly connected, convex) and fit (F_beta < buffer).

    A single op that does not fit is reported invalid here, as a group; a plan may still hold
    it as an unfusable singleton (``models/plan_build.unfusable_ops``)."""
    from .cost.common import checked_mask  # models.cost imports this module: bind late

    graph = model.graph
    items = group if isinstance(group, int) else list(group)
    if not isinstance(items, int) and items and all(isinstance(v, str) for v in items):
        items = graph.op_ids(items)
    mask = checked_mask(graph, items)
    masks = graph_masks(graph)
    return GroupCheck(
        ops=tuple(mask_ops(mask)),
        capacity_bytes=capacity_bytes,
        connected=connected_in(mask, masks.nbr_mask),
        convex=convex_in(mask, masks.anc_mask, masks.desc_mask),
        need_bytes=model.buffer_bytes(mask),
    )

