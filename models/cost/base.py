"""The cost-model interface every solver talks to.

A cost model is bound to a graph and the bytes per element. Groups are sets of op ids,
passed as bitmasks (bit i = op id i; see ``models/group.as_mask``) because searches evaluate millions
of them. Solvers never branch on a model's name: LBDF, BRR and a user's own model all
implement :class:`CostModel`.

Numbers are integers (bytes). ``buffer_bytes`` (F_beta) does not depend on the buffer size,
so a model may cache it across a sweep of buffers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from ..graph import Graph

WeightMode = Literal["resident", "streamed"]


@dataclass(frozen=True, slots=True)
class GroupCost:
    """One group's cost at one buffer size, in bytes.

    ``buffer_bytes`` is F_beta (the least on-chip buffer the group needs), ``dram_bytes`` is
    F_D = ``input_bytes + weight_bytes + output_bytes``. ``fits`` is ``buffer_bytes <
    buffer`` (strict). BRR also reports the chosen tiling: ``tiles`` (n), ``weights``
    (resident or streamed) and ``tiling_buffer_bytes`` (B(n, mode), which may exceed F_beta).
    """

    buffer_bytes: int
    dram_bytes: int
    input_bytes: int
    weight_bytes: int
    output_bytes: int
    fits: bool
    tiles: int | None = None
    weights: WeightMode | None = None
    tiling_buffer_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class TensorRows:
    """Rows of one tensor held on chip: ``role`` is ``"read"`` for a tensor of T(G) (LBDF's
    R(t), BRR's tau_n(t)) or ``"output"`` for BRR's output tile of a tensor of Out(G)."""

    tensor: int
    rows: int
    row_bytes: int
    role: Literal["read", "output"]

    @property
    def bytes(self) -> int:
        return self.rows * self.row_bytes


@dataclass(frozen=True, slots=True)
class BufferBreakdown:
    """What fills a group's buffer, in bytes: ``weights`` as (op id, bytes held) pairs (BRR
    streamed: one slot the size of the largest op's weights, listed under that op), the
    rows held per tensor, and ``total_bytes`` = their sum. ``tiles`` and ``weights_mode``
    name the BRR tiling the breakdown is for (None for LBDF)."""

    weights: tuple[tuple[int, int], ...]
    tensors: tuple[TensorRows, ...]
    total_bytes: int
    tiles: int | None = None
    weights_mode: WeightMode | None = None

    @property
    def weight_bytes(self) -> int:
        return sum(b for _, b in self.weights)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.bytes for t in self.tensors)


@runtime_checkable
class CostModel(Protocol):
    """What a solver may ask of a cost model.

    Solvers' bounds (``astar``, and the gap quoted when a method stops early) assume that a
    group's F_D is at least its weights plus the bytes of the tensors it reads from and
    writes to outside (W + S(In) + S(Out)): true of LBDF and BRR; a user's own model must
    keep it for those bounds to hold.
    """

    name: str
    graph: Graph
    bytes_per_element: int

    def buffer_bytes(self, group: int) -> int:
        """F_beta of a group (bitmask); independent of the buffer size."""
        ...

    def buffer_lower_bound(self, group: int) -> int:
        """A lower bound on F_beta that never drops when an op is added to the group.

        Enumeration stops growing a group once this reaches the buffer. For a model whose
        F_beta is itself monotone (LBDF) it is F_beta.
        """
        ...

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        """F_D of the group at this buffer, or None when the group does not fit."""
        ...

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        """The full record, with the breakdown, for reports and validation."""
        ...
