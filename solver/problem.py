"""The planning problem: a graph, a cost model, a buffer, the user's constraints.

A plan partitions all ops into groups that are weakly connected, convex and fit the buffer
(F_beta < beta), with an acyclic graph of groups. An op that does not fit even alone is
*unfusable*: a fixed singleton group. The user may pin ops into one group (``pins``), keep
pairs apart (``forbids``) and cap a group's op count (``max_group_ops``). Every method solves
this same record; :func:`make_problem` checks the constraints against each other once and
turns a contradiction into a :class:`FusePlanError` that names the ops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from fuseplan.models.cost.base import CostModel
from fuseplan.models.group import mask_ops
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.group import graph_masks, hull_in
from fuseplan.models.plan_build import unfusable_mask

if TYPE_CHECKING:  # pragma: no cover
    from .progress import ProgressEvent


class StopSignal(Protocol):
    """What a method polls to know it must stop: a ``threading.Event``, a
    ``multiprocessing`` event, or any object with ``is_set()``."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class StopState:
    """A stop signal as it was when :class:`Limits` was pickled (see there)."""

    was_set: bool = False

    def is_set(self) -> bool:
        return self.was_set


@dataclass(frozen=True)
class Limits:
    """How hard to try: wall-clock limit (enumeration included), relative gap at which a
    method may stop, CP-SAT workers and seed, a progress callback, a stop event (Ctrl-C).

    Limits pickle, so they can be carried to worker processes. A ``threading.Event`` cannot
    cross a process boundary: it travels as a :class:`StopState` (set or not at that moment).
    For a stop that reaches a running worker, pass a stop that pickles and is shared, such
    as ``multiprocessing.Manager().Event()``, or one the worker inherits through fork (as
    the candidate enumeration does). A progress callback that does not pickle stays behind.
    """

    time_limit_s: float | None = None
    gap: float | None = None
    workers: int = 1
    seed: int = 0
    progress: Callable[[ProgressEvent], None] | None = None
    stop: StopSignal | None = None

    def __reduce__(self) -> tuple[type[Limits], tuple[object, ...]]:
        stop: StopSignal | None = self.stop
        if stop is not None and not _pickles(stop):
            stop = StopState(stop.is_set())
        progress = self.progress if _pickles(self.progress) else None
        return (Limits, (self.time_limit_s, self.gap, self.workers, self.seed, progress, stop))


def _pickles(value: object) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:  # pickle raises TypeError, AttributeError, RuntimeError, ...
        return False
    return True


@dataclass(frozen=True)
class Problem:
    """One instance. Groups are bitmasks over op ids; ``pins`` are merged pin sets (masks),
    ``forbids`` op-id pairs, ``unfusable`` the mask of ops that do not fit alone.

    ``separate`` are pairs a solver added to ``forbids`` for its own purposes
    (:meth:`with_separate`), never the user's: a problem with any is a restriction of the
    user's problem, so its optimum is not the user's and its infeasibility no user error."""

    graph: Graph
    model: CostModel
    buffer_bytes: int
    pins: tuple[int, ...] = ()
    forbids: tuple[tuple[int, int], ...] = ()
    max_group_ops: int | None = None
    unfusable: int = 0
    separate: tuple[tuple[int, int], ...] = ()

    @property
    def num_ops(self) -> int:
        return self.graph.num_ops

    @property
    def all_ops(self) -> int:
        return (1 << self.graph.num_ops) - 1

    @cached_property
    def preds(self) -> tuple[int, ...]:
        """Per op, the mask of its direct predecessors."""
        return graph_masks(self.graph).pred_mask

    @cached_property
    def succs(self) -> tuple[int, ...]:
        """Per op, the mask of its direct successors."""
        return graph_masks(self.graph).succ_mask

    @cached_property
    def neighbours(self) -> tuple[int, ...]:
        """Per op, the mask of its direct predecessors and successors."""
        return graph_masks(self.graph).nbr_mask

    @cached_property
    def ancestors(self) -> tuple[int, ...]:
        """Per op, the mask of its strict ancestors."""
        return graph_masks(self.graph).anc_mask

    @cached_property
    def descendants(self) -> tuple[int, ...]:
        """Per op, the mask of its strict descendants."""
        return graph_masks(self.graph).desc_mask

    @cached_property
    def forbid_masks(self) -> list[int]:
        """Per op, the mask of ops it may not share a group with."""
        out = [0] * self.num_ops
        for a, b in self.forbids:
            out[a] |= 1 << b
            out[b] |= 1 << a
        return out

    def with_separate(self, pairs: Iterable[tuple[int, int]]) -> Problem:
        """This problem with each pair of op ids kept in different groups as well: the
        pairs join ``forbids`` (so candidate growth, A* and :meth:`group_allowed` honour
        them) and are recorded in ``separate`` as the solver's own. Unlike a user's
        ``--forbid`` they are not checked against the pins: a pair inside a pin's hull
        makes the restricted problem infeasible, which is no user error."""
        new = set()
        for a, b in pairs:
            if a == b or not (0 <= a < self.num_ops and 0 <= b < self.num_ops):
                raise ValueError(f"separate pair ({a}, {b}): two different op ids expected")
            new.add((min(a, b), max(a, b)))
        new -= set(self.forbids)  # already the user's
        if not new:
            return self
        return replace(self, forbids=tuple(sorted(set(self.forbids) | new)),
                       separate=tuple(sorted(set(self.separate) | new)))

    def names(self, mask: int) -> str:
        return ", ".join(self.graph.ops[v].name for v in mask_ops(mask))

    def hull(self, mask: int) -> int:
        """The smallest convex set containing ``mask``."""
        return hull_in(mask, self.ancestors, self.descendants)

    def group_allowed(self, mask: int) -> bool:
        """The user's constraints on one candidate group (pins whole or absent, forbids,
        size); connectivity, convexity and fit are the enumeration's business."""
        if self.max_group_ops is not None and mask.bit_count() > self.max_group_ops:
            return False
        for pin in self.pins:
            common = mask & pin
            if common and common != pin:
                return False
        for v in mask_ops(mask):
            if self.forbid_masks[v] & mask:
                return False
        return True


def _resolve(graph: Graph, names: Sequence[str], flag: str, text: str) -> list[int]:
    ids = []
    for name in names:
        name = name.strip()
        if not name:
            raise FusePlanError(f"{flag} {text!r} has an empty op name: separate names by ',' or '|'")
        ids.append(graph.op_id(name))
    return ids


def _merge_pins(pin_sets: list[int]) -> list[int]:
    """Pins sharing an op must be one group: merge them until disjoint."""
    merged: list[int] = []
    for pin in pin_sets:
        pin_now = pin
        rest = []
        for other in merged:
            if other & pin_now:
                pin_now |= other
            else:
                rest.append(other)
        merged = rest + [pin_now]
    return merged


def make_problem(
    graph: Graph,
    model: CostModel,
    buffer_bytes: int,
    *,
    pins: Sequence[Sequence[str]] = (),
    forbids: Sequence[Sequence[str]] = (),
    max_group_ops: int | None = None,
) -> Problem:
    """The problem with its unfusable ops found and the constraints checked.

    ``pins`` and ``forbids`` are lists of op names (``["a", "b", "c"]`` = these ops in one
    group; ``["a", "b"]`` in ``forbids`` = never together, every pair of the list).
    """
    if buffer_bytes < 1:
        raise FusePlanError(f"the buffer must be a positive number of bytes (got {buffer_bytes})")
    if max_group_ops is not None and max_group_ops < 1:
        raise FusePlanError(f"--max-group-ops must be at least 1 (got {max_group_ops})")
    unfusable = unfusable_mask(model, buffer_bytes)
    pin_masks = []
    for names in pins:
        ids = _resolve(graph, names, "--pin", ",".join(names))
        mask = 0
        for v in ids:
            mask |= 1 << v
        pin_masks.append(mask)
    forbid_pairs: list[tuple[int, int]] = []
    for names in forbids:
        ids = _resolve(graph, names, "--forbid", "|".join(names))
        if len(set(ids)) < 2:
            raise FusePlanError(f"--forbid {'|'.join(names)!r} needs two different ops, e.g. 'a|b'")
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if a != b:
                    forbid_pairs.append((min(a, b), max(a, b)))
    problem = Problem(
        graph=graph,
        model=model,
        buffer_bytes=buffer_bytes,
        pins=tuple(p for p in _merge_pins(pin_masks) if p.bit_count() > 1),
        forbids=tuple(sorted(set(forbid_pairs))),
        max_group_ops=max_group_ops,
        unfusable=unfusable,
    )
    for pin in problem.pins:
        _check_pin(problem, pin)
    return problem


def _check_pin(problem: Problem, pin: int) -> None:
    """A pin must be satisfiable on its own: its convex hull holds no unfusable op, fits,
    is within --max-group-ops and holds no forbidden pair."""
    ops = problem.names(pin)
    bad = pin & problem.unfusable
    if bad:
        raise FusePlanError(
            f"--pin {ops!r}: op {problem.names(bad)!r} does not fit the "
            f"{problem.buffer_bytes:,} B buffer even alone, so it cannot share a group; "
            "remove it from the pin or use a larger --buffer"
        )
    hull = problem.hull(pin)
    bad = hull & problem.unfusable
    if bad:
        raise FusePlanError(
            f"--pin {ops!r}: a group holding these ops must also hold {problem.names(bad)!r} "
            "(it lies on a path between them) which does not fit the buffer alone; "
            "pin fewer ops or use a larger --buffer"
        )
    for a, b in problem.forbids:
        if hull >> a & 1 and hull >> b & 1:
            raise FusePlanError(
                f"--pin {ops!r} and --forbid "
                f"'{problem.graph.ops[a].name}|{problem.graph.ops[b].name}' contradict each "
                "other: the pinned group must hold both ops; drop one of the two options"
            )
    if problem.max_group_ops is not None and hull.bit_count() > problem.max_group_ops:
        raise FusePlanError(
            f"--pin {ops!r} needs a group of at least {hull.bit_count()} ops (the pinned ops and "
            f"the ops between them) but --max-group-ops is {problem.max_group_ops}"
        )
    need = problem.model.buffer_lower_bound(hull)
    if need >= problem.buffer_bytes:
        raise FusePlanError(
            f"--pin {ops!r}: the smallest convex group holding these ops needs at least "
            f"{need:,} B of buffer, not below the {problem.buffer_bytes:,} B buffer; "
            "pin fewer ops or use a larger --buffer"
        )
