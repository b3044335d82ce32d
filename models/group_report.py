"""One group's cost explained: what `fuseplan cost --group` prints.

:func:`group_report` gathers the group's verdict (``check_group``: connected, convex, fits),
its cost at a buffer, what fills its buffer (weights and rows held per tensor, from the
model's ``buffer_breakdown`` when it has one) and, when it does not fit, by how much and what
takes the most room.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cost.base import BufferBreakdown, CostModel, GroupCost
from .cost.common import unfused_cost
from .errors import FusePlanError
from .graph import Graph
from .group import GroupCheck, check_group


@dataclass(frozen=True)
class BufferItem:
    """One thing held on chip: an op's weights or some rows of a tensor."""

    kind: str  # "weights", "read rows" or "output rows"
    name: str  # the op or tensor name
    bytes: int
    rows: int | None = None
    row_bytes: int | None = None
    shape: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class GroupReport:
    """A group's verdict (:class:`~fuseplan.models.group.GroupCheck`), its cost at the buffer
    and what fills its buffer."""

    check: GroupCheck
    cost: GroupCost
    items: tuple[BufferItem, ...]  # largest first; empty when the model gives no breakdown
    breakdown_tiles: int | None
    breakdown_weights_mode: str | None
    unfused: GroupCost | None  # a single op that does not fit: its unfused cost

    @property
    def ops(self) -> tuple[int, ...]:
        return self.check.ops

    @property
    def buffer_bytes(self) -> int:
        return self.check.capacity_bytes

    @property
    def connected(self) -> bool:
        return self.check.connected

    @property
    def convex(self) -> bool:
        return self.check.convex

    @property
    def fits(self) -> bool:
        return self.check.fits

    @property
    def valid(self) -> bool:
        """A plan may use it as a group: weakly connected, convex and fits (``check_group``).
        A single op that does not fit is not valid, though a plan holds it as an unfusable
        singleton."""
        return self.check.valid

    @property
    def excess_bytes(self) -> int:
        """F_beta minus the buffer, when positive (a group with F_beta == buffer has no excess
        and still does not fit: the rule is strict)."""
        return self.check.excess_bytes

    @property
    def least_buffer_bytes(self) -> int:
        """The smallest buffer this group fits: F_beta + 1."""
        return self.check.need_bytes + 1


def parse_group_ops(graph: Graph, text: str) -> list[int]:
    """Op ids from ``"op1,op2,..."`` (op names, spaces ignored, duplicates dropped); one
    error naming every unknown name."""
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise FusePlanError(
            f"--group {text!r} names no op: give op names separated by commas "
            "(`fuseplan graph NET --ops` lists every op by name)"
        )
    known = {op.name for op in graph.ops}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise FusePlanError(
            f"--group: graph {graph.name!r} has no op(s) named {', '.join(map(repr, unknown))}"
            f"{graph.op_hint(unknown[0])}"
        )
    return sorted(graph.op_id(n) for n in names)


def group_report(model: CostModel, ops: list[int], buffer_bytes: int) -> GroupReport:
    graph = model.graph
    check = check_group(model, ops, buffer_bytes)
    mask = check.mask
    cost = model.group_cost(mask, buffer_bytes)
    breakdown = _breakdown(model, mask, buffer_bytes)
    unfused = None
    if len(check.ops) == 1 and not check.fits:
        unfused = unfused_cost(graph, check.ops[0], model.bytes_per_element,
                               buffer_bytes=check.need_bytes)
    return GroupReport(
        check=check,
        cost=cost,
        items=_items(graph, breakdown) if breakdown else (),
        breakdown_tiles=breakdown.tiles if breakdown else None,
        breakdown_weights_mode=breakdown.weights_mode if breakdown else None,
        unfused=unfused,
    )


def _breakdown(model: CostModel, mask: int, buffer_bytes: int) -> BufferBreakdown | None:
    method = getattr(model, "buffer_breakdown", None)
    return method(mask, buffer_bytes) if callable(method) else None


def _items(graph: Graph, breakdown: BufferBreakdown) -> tuple[BufferItem, ...]:
    items = [BufferItem("weights", graph.ops[v].name, b) for v, b in breakdown.weights if b]
    for rows in breakdown.tensors:
        tensor = graph.tensors[rows.tensor]
        items.append(
            BufferItem(
                f"{rows.role} rows", tensor.name, rows.bytes, rows.rows, rows.row_bytes, tensor.shape
            )
        )
    return tuple(sorted(items, key=lambda item: -item.bytes))
