"""The one plan record every solver returns, the validator checks and the files carry.

A plan is the groups in execution order with their costs, the totals and bounds, how it was
found (solver, status, bound, gap, time) and where it came from (tool version, command, seed,
graph hash). Building a plan from a solver's group masks, JSON/CSV and validation live in
their own modules (``plan_build``, ``plan_io``, ``validate``); this module only holds records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .cost.base import GroupCost
from .load import GraphLoad

Status = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN", "MODEL_INVALID"]


@dataclass(frozen=True)
class PlanGroup:
    """One fusion group: op ids in topological order, whether it is fusible, its cost.

    An unfusable op (one that does not fit the buffer even alone) is its own group with
    ``fusible=False``, priced at its unfused traffic W + S(In) + S(Out).
    """

    ops: tuple[int, ...]
    fusible: bool
    cost: GroupCost


@dataclass(frozen=True)
class PlanTotals:
    """Totals in bytes: ``fusible_dram_bytes`` is the paper's figure (fusible groups only),
    ``all_dram_bytes`` what hardware pays (unfusable ops included); the bounds bracket the
    all-ops total of every valid plan."""

    fusible_dram_bytes: int
    all_dram_bytes: int
    lower_bound_bytes: int
    upper_bound_bytes: int


@dataclass(frozen=True)
class SolveInfo:
    """How a plan was found.

    ``bound_bytes`` is a proven lower bound on the fusible total of any valid plan (None when
    unknown); ``gap`` = (objective - bound) / objective when the bound is known. ``details``
    holds method-specific facts for reports (ideals, candidates, why this method, the anytime
    curve as [[seconds, fusible bytes], ...]).
    """

    solver: str
    status: Status
    wall_time_s: float
    bound_bytes: int | None = None
    gap: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Provenance:
    """Where a plan came from, enough to reproduce it.

    ``load`` says how the graph was loaded (spec and options; None when the caller did not
    say): the plan file records it as ``graph.load`` and ``fuseplan validate`` replays it.
    """

    tool_version: str
    command: str
    seed: int | None
    graph_name: str
    graph_hash: str
    load: GraphLoad | None = None


@dataclass(frozen=True)
class Plan:
    scheme: str
    buffer_bytes: int
    bytes_per_element: int
    groups: tuple[PlanGroup, ...]
    totals: PlanTotals
    solve: SolveInfo
    provenance: Provenance
