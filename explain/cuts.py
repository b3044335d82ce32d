"""The cuts of a fusion group: what a cut is, and every cut of a group (or a bounded set of them).

A **cut** of a group G (connected and convex) splits it into ``first`` = A and ``second`` =
G - A such that

- no edge goes from G - A into A: A is closed under predecessors inside G (an *ideal* of G's
  induced DAG), so the two halves can never form a cycle with each other;
- both halves are non-empty and weakly connected;
- both halves pass :func:`~fuseplan.models.group.check_group`'s structural checks (weakly
  connected and convex; a half of a convex G cut this way is always convex, so connectivity
  is what is checked, with the same predicate, ``connected_in``).

Its **crossing** edges are every edge of G from A to G - A. An *edge* is (producer op,
consumer op, tensor); ops have one output tensor, so (producer, consumer) names it.

**Skip connections, stated exactly.** The crossing set of a cut is never chosen edge by edge:
it is the whole edge cut of the ideal A. Where one edge e = (p, c) cannot separate the group
alone because a path from an op of A to an op of G - A bypasses it (a skip connection), every
cut through e crosses that path too, so its crossing set holds e *and* the skip edges. That is
the paper's "extend along skip connections": of the cuts that cross e, the cut rule
(``explain/cut_rule.py``) takes the one whose crossing edges score best on average.

**Enumeration.** :func:`cut_space` lists the ideals of G's DAG depth first (op by op in
topological order: an op may join A only when all its predecessors inside G have) and keeps
those whose halves are connected. That is exact while G has at most ``max_ideals`` ideals (a
CNN group has few: a chain of n ops has n + 1, a residual block a handful more per block).
Above the cap the space is a documented subset (``exact`` is False): for every edge (p, c),
the ideals between ``low`` = p with its ancestors in G and ``high`` = G minus c and its
descendants, namely ``low``, ``high``, ``low`` grown by each op of ``high - low`` in
topological order (a chain of prefixes), ``low`` joined with each such op's ancestors in G,
and ``high`` without each such op's descendants.
This subset may miss cuts that the exact enumeration would find (an edge can be left with
none); ``CutSpace.exact`` says which kind a space is.

**Stopping.** On a group of hundreds of ops the listing can take many seconds (thousands of
candidate ideals, each checked). A caller with a deadline passes ``should_stop``; it is asked
every :data:`CHECK_EVERY` steps of the ideal walk, before each edge's candidates and before
each candidate is checked, and when it says stop :class:`ListingStopped` is raised (there is
no partial cut space: explain/ knows no deadline, the caller decides what a stop means).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.group import (
    components_in,
    connected_in,
    convex_in,
    graph_masks,
    hull_in,
    mask_ops,
)

MAX_IDEALS = 1024  # exact enumeration up to this many ideals of the group's DAG
CHECK_EVERY = 256  # steps of the ideal walk between two asks of ``should_stop``
StopCheck = Callable[[], bool]


class ListingStopped(Exception):
    """``should_stop`` said to stop while :func:`cut_space` was listing (module docstring)."""


@dataclass(frozen=True, slots=True)
class Edge:
    """A producer-consumer edge inside a group: op ids and the tensor carried."""

    producer: int
    consumer: int
    tensor: int

    def names(self, graph: Graph) -> tuple[str, str, str]:
        """(producer op, consumer op, tensor) names."""
        return (graph.ops[self.producer].name, graph.ops[self.consumer].name,
                graph.tensors[self.tensor].name)


@dataclass(frozen=True, slots=True)
class Cut:
    """One cut: ``first`` = A (closed under predecessors in G), ``second`` = G - A, both op
    masks; ``crossing`` = indices (into the cut space's ``edges``) of the edges from A to G - A."""

    first: int
    second: int
    crossing: tuple[int, ...]


@dataclass(frozen=True)
class CutSpace:
    """The group, its edges (sorted by consumer, then producer) and its valid cuts (sorted by
    ``first`` mask). ``exact`` says whether ``cuts`` is every valid cut or the capped subset
    described in the module docstring."""

    graph: Graph
    group: int
    edges: tuple[Edge, ...]
    cuts: tuple[Cut, ...]
    exact: bool
    _through: tuple[tuple[int, ...], ...] = field(repr=False, compare=False)

    def through(self, edge: int) -> tuple[Cut, ...]:
        """The cuts whose crossing edges include edge index ``edge``."""
        return tuple(self.cuts[i] for i in self._through[edge])

    def edge_index(self, producer: int, consumer: int) -> int:
        """The index of edge (producer, consumer); a clear error when it is not in the group."""
        for i, e in enumerate(self.edges):
            if e.producer == producer and e.consumer == consumer:
                return i
        names = self.graph.ops[producer].name, self.graph.ops[consumer].name
        raise FusePlanError(f"no edge {names[0]!r} -> {names[1]!r} inside the group")


def group_edges(graph: Graph, group: int) -> tuple[Edge, ...]:
    """The edges with both ends in ``group``, sorted by consumer, then producer."""
    out = []
    for v in mask_ops(group):
        for p in graph.preds[v]:
            if group >> p & 1:
                out.append(Edge(p, v, graph.ops[p].output))
    return tuple(out)


def require_cuttable(graph: Graph, group: int) -> None:
    """A clear error unless ``group`` is weakly connected and convex (the only groups whose
    cuts are defined), naming the ops at fault."""
    masks = graph_masks(graph)
    if group == 0:
        raise FusePlanError("the group is empty: name at least one op")
    if not connected_in(group, masks.nbr_mask):
        parts = components_in(group, masks.nbr_mask)
        starts = ", ".join(repr(graph.ops[mask_ops(p)[0]].name) for p in parts[:3])
        raise FusePlanError(
            f"the group is not weakly connected: it falls into {len(parts)} parts (starting "
            f"at {starts}{', ...' if len(parts) > 3 else ''}); explain each part apart"
        )
    if not convex_in(group, masks.anc_mask, masks.desc_mask):
        outside = mask_ops(hull_in(group, masks.anc_mask, masks.desc_mask) & ~group)
        raise FusePlanError(
            f"the group is not convex: op {graph.ops[outside[0]].name!r} (outside it) lies on a "
            "path between two of its ops; add that op or explain a convex part"
        )


def _stop_if(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise ListingStopped


def ideals(graph: Graph, group: int, limit: int,
           should_stop: StopCheck | None = None) -> list[int] | None:
    """Every ideal of ``group``'s DAG except {} and the whole group, ascending by the order
    they are found; None when there are more than ``limit``. :class:`ListingStopped` when
    ``should_stop()`` (asked every :data:`CHECK_EVERY` steps) says so."""
    desc = graph_masks(graph).desc_mask
    found: list[int] = []
    # (ops not decided yet, ideal so far). The lowest undecided op v can always join: its
    # predecessors in the group come earlier in the topological order, so each was decided,
    # and one left out took v out with its descendants. Leaving v out takes them out too, so
    # every leaf is a distinct ideal and the walk has fewer steps than twice the ideals.
    stack: list[tuple[int, int]] = [(group, 0)]
    steps = 0
    while stack:
        steps += 1
        if steps % CHECK_EVERY == 0:
            _stop_if(should_stop)
        rest, upper = stack.pop()
        if not rest:
            if upper and upper != group:
                found.append(upper)
                if len(found) > limit:
                    return None
            continue
        low = rest & -rest
        stack.append((rest & ~(desc[low.bit_length() - 1] | low), upper))  # v left out
        stack.append((rest ^ low, upper | low))  # v joins (walked first)
    return found


def _edge_candidates(graph: Graph, group: int, edge: Edge) -> set[int]:
    """Ideals that cross ``edge``, for groups too large to enumerate (module docstring)."""
    masks = graph_masks(graph)
    anc, desc = masks.anc_mask, masks.desc_mask
    low = (anc[edge.producer] & group) | 1 << edge.producer
    high = group & ~(desc[edge.consumer] | 1 << edge.consumer)
    found = {low, high}
    prefix = low
    for v in mask_ops(high & ~low):
        prefix |= 1 << v
        found.add(prefix)
        found.add(low | (anc[v] & group) | 1 << v)
        found.add(high & ~(desc[v] | 1 << v))
    return found


def _as_cut(nbr: Sequence[int], group: int, first: int,
            ends: Sequence[tuple[int, int]]) -> Cut | None:
    """The cut (first, group - first) when both halves are weakly connected (``nbr``: the
    neighbour masks; ``ends[i]``: edge i's producer and consumer bits). ``first`` is an
    ideal of the convex ``group`` (every candidate is), so both halves are convex: a path
    between two ops of a half stays in the group, and a path into an op of ``first`` starts
    in ``first``, one out of an op of the second half ends in it."""
    second = group & ~first
    if not connected_in(first, nbr) or not connected_in(second, nbr):
        return None
    crossing = tuple(i for i, (p, c) in enumerate(ends) if first & p and second & c)
    return Cut(first, second, crossing)


def _connected_closed(group: int, nbr: Sequence[int], drop: Sequence[int], downward: bool,
                      should_stop: StopCheck | None,
                      edge_bits: tuple[dict[int, int], dict[int, int]] | None = None
                      ) -> dict[int, int]:
    """The weakly connected ideals (``downward``, ``drop`` = the descendant masks) or filters
    (``drop`` = the ancestor masks) of ``group``, {} and the group left out. The walk of
    :func:`ideals` (from the top of the order for filters), keeping the set's parts in a
    union-find undone on the way back: a few steps per set instead of a search of each.
    Each set maps to the edges leaving it (bit i = edge i) when ``edge_bits`` gives, per op,
    its incoming and outgoing edges (ideals only: an op joins before its successors, so its
    outgoing edges leave the set and its incoming ones stop leaving it), else to 0."""
    into, out = edge_bits or ({}, {})
    parent: dict[int, int] = {}
    size: dict[int, int] = {}
    undo: list[tuple[int, int]] = []

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    found: dict[int, int] = {}
    # rest, set, its parts, undo mark, edges leaving it
    stack: list[tuple[int, int, int, int, int]] = [(group, 0, 0, 0, 0)]
    steps = 0
    while stack:
        steps += 1
        if steps % CHECK_EVERY == 0:
            _stop_if(should_stop)
        rest, upper, parts, mark, leaving = stack.pop()
        while len(undo) > mark:
            small, large = undo.pop()
            parent[small] = small
            size[large] -= size[small]
        if not rest:
            if parts == 1 and upper != group:
                found[upper] = leaving
            continue
        v = (rest & -rest if downward else 1 << rest.bit_length() - 1).bit_length() - 1
        bit = 1 << v
        stack.append((rest & ~(drop[v] | bit), upper, parts, mark, leaving))  # v left out
        parent[v], size[v] = v, 1
        parts += 1
        near = nbr[v] & upper
        while near:
            low = near & -near
            near ^= low
            a, b = find(v), find(low.bit_length() - 1)
            if a != b:
                if size[a] > size[b]:
                    a, b = b, a
                parent[a] = b
                size[b] += size[a]
                undo.append((a, b))
                parts -= 1
        if edge_bits is not None:
            leaving = leaving & ~into.get(v, 0) | out.get(v, 0)
        stack.append((rest ^ bit, upper | bit, parts, len(undo), leaving))  # v joins
    return found


def cut_space(graph: Graph, group: int, max_ideals: int = MAX_IDEALS,
              should_stop: StopCheck | None = None) -> CutSpace:
    """The valid cuts of ``group`` (a connected convex op mask): all of them when the group's
    DAG has at most ``max_ideals`` ideals, else the per-edge subset (module docstring).
    :class:`ListingStopped` when ``should_stop()`` says so before the listing ends."""
    require_cuttable(graph, group)
    edges = group_edges(graph, group)
    listed = ideals(graph, group, max_ideals, should_stop)
    exact = listed is not None
    if listed is None:
        candidates: set[int] = set()
        for e in edges:
            _stop_if(should_stop)
            candidates |= _edge_candidates(graph, group, e)
        candidates.discard(0)
        candidates.discard(group)
        listed = list(candidates)
    masks = graph_masks(graph)
    nbr = masks.nbr_mask
    ends = [(1 << e.producer, 1 << e.consumer) for e in edges]
    cuts = []
    if exact:  # the connected halves of every ideal at once (one walk each way)
        into: dict[int, int] = {}
        out: dict[int, int] = {}
        for i, e in enumerate(edges):
            into[e.consumer] = into.get(e.consumer, 0) | 1 << i
            out[e.producer] = out.get(e.producer, 0) | 1 << i
        firsts = _connected_closed(group, nbr, masks.desc_mask, True, should_stop, (into, out))
        seconds = _connected_closed(group, nbr, masks.anc_mask, False, should_stop)
        for first in sorted(listed):
            _stop_if(should_stop)
            second = group & ~first
            leaving = firsts.get(first)
            if leaving is not None and second in seconds:
                cuts.append(Cut(first, second, tuple(mask_ops(leaving))))
    else:
        for first in sorted(listed):
            _stop_if(should_stop)
            if c := _as_cut(nbr, group, first, ends):
                cuts.append(c)
    through: list[list[int]] = [[] for _ in edges]
    for ci, c in enumerate(cuts):
        for ei in c.crossing:
            through[ei].append(ci)
    return CutSpace(graph, group, edges, tuple(cuts), exact, tuple(map(tuple, through)))
