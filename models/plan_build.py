"""From a solver's group masks to a :class:`Plan`: execution order, per-group costs, totals.

A solver hands over its groups as bitmasks over op ids, in any order. :func:`build_plan`
checks that they partition the ops and that the graph of groups is acyclic, orders them for
execution (a topological order of that graph; among ready groups, the one with the smallest
op id first), prices each with the cost model and adds the totals and bounds. It does not
judge whether a group is valid (connected, convex, fits): ``validate.validate_plan`` does.
"""

from __future__ import annotations

import dataclasses
import heapq
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from .cost.base import CostModel, GroupCost
from .group import mask_ops
from .cost.common import lower_bound_bytes, unfused_cost
from .errors import FusePlanError
from .graph import Graph
from .load import GraphLoad
from .plan import Plan, PlanGroup, PlanTotals, Provenance, SolveInfo


def make_provenance(
    graph: Graph, *, seed: int | None, command: str | None = None, load: GraphLoad | None = None
) -> Provenance:
    """Tool version, the command line (default: this process's argv), seed, graph hash, and
    how the graph was loaded (``load``, for the plan file's ``graph.load``)."""
    from fuseplan import __version__

    if command is None:
        argv = list(sys.argv) or ["fuseplan"]
        program = Path(argv[0]).name
        if program in ("__main__.py", "cli.py"):  # python -m fuseplan / fuseplan.solver.cli
            program = "fuseplan"
        command = shlex.join([program, *argv[1:]])
    return Provenance(
        tool_version=__version__,
        command=command,
        seed=seed,
        graph_name=graph.name,
        graph_hash=graph.fingerprint(),
        load=load,
    )


def with_graph_load(plan: Plan, load: GraphLoad) -> Plan:
    """The same plan, recording how its graph was loaded (``graph.load`` in the plan file)."""
    return dataclasses.replace(plan, provenance=dataclasses.replace(plan.provenance, load=load))


def unfusable_mask(model: CostModel, buffer_bytes: int) -> int:
    """The ops that do not fit the buffer even alone (F_beta({v}) >= buffer), as a mask:
    the one place that decides which ops are unfusable singletons."""
    mask = 0
    for v in range(model.graph.num_ops):
        if model.buffer_bytes(1 << v) >= buffer_bytes:
            mask |= 1 << v
    return mask


def unfusable_ops(model: CostModel, buffer_bytes: int) -> list[int]:
    """Ops that do not fit the buffer even alone (F_beta({v}) >= buffer), ascending."""
    return mask_ops(unfusable_mask(model, buffer_bytes))


def price_group(model: CostModel, mask: int, buffer_bytes: int) -> PlanGroup:
    """One group's record: an unfusable singleton at its unfused cost, else the model's."""
    ops = tuple(mask_ops(mask))
    if len(ops) == 1:
        need = model.buffer_bytes(mask)
        if need >= buffer_bytes:
            cost = unfused_cost(model.graph, ops[0], model.bytes_per_element, buffer_bytes=need)
            return PlanGroup(ops=ops, fusible=False, cost=cost)
    return PlanGroup(ops=ops, fusible=True, cost=model.group_cost(mask, buffer_bytes))


def no_fusion_total(model: CostModel, buffer_bytes: int) -> int:
    """The all-ops total of the every-op-alone plan (the upper bound printed with plans)."""
    return sum(
        price_group(model, 1 << v, buffer_bytes).cost.dram_bytes
        for v in range(model.graph.num_ops)
    )


def build_plan(
    model: CostModel,
    groups: Iterable[int],
    buffer_bytes: int,
    *,
    solve: SolveInfo,
    provenance: Provenance,
) -> Plan:
    """The plan of these groups (bitmasks, any order) at this buffer, priced by ``model``."""
    masks = list(groups)
    check_partition(model.graph, masks)
    ordered = execution_order(model.graph, masks)
    priced = tuple(price_group(model, mask, buffer_bytes) for mask in ordered)
    return Plan(
        scheme=model.name,
        buffer_bytes=buffer_bytes,
        bytes_per_element=model.bytes_per_element,
        groups=priced,
        totals=plan_totals(model, priced, buffer_bytes),
        solve=solve,
        provenance=provenance,
    )


def no_fusion_plan(model: CostModel, buffer_bytes: int, provenance: Provenance) -> Plan:
    """Every op alone: the baseline every plan is compared with."""
    solve = SolveInfo(solver="no-fusion", status="FEASIBLE", wall_time_s=0.0)
    masks = [1 << v for v in range(model.graph.num_ops)]
    return build_plan(model, masks, buffer_bytes, solve=solve, provenance=provenance)


def plan_totals(model: CostModel, groups: Sequence[PlanGroup], buffer_bytes: int) -> PlanTotals:
    graph = model.graph
    return PlanTotals(
        fusible_dram_bytes=sum(g.cost.dram_bytes for g in groups if g.fusible),
        all_dram_bytes=sum(g.cost.dram_bytes for g in groups),
        lower_bound_bytes=lower_bound_bytes(graph, model.bytes_per_element),
        upper_bound_bytes=no_fusion_total(model, buffer_bytes),
    )


def check_partition(graph: Graph, masks: Sequence[int]) -> None:
    """Every op in exactly one non-empty group, no unknown op ids."""
    everything = (1 << graph.num_ops) - 1
    seen = 0
    for i, mask in enumerate(masks):
        if mask <= 0:
            raise FusePlanError(f"plan for {graph.name!r}: group {i} is empty")
        if mask & ~everything:
            raise FusePlanError(
                f"plan for {graph.name!r}: group {i} holds op ids beyond the graph's "
                f"{graph.num_ops} ops"
            )
        if mask & seen:
            twice = [graph.ops[v].name for v in mask_ops(mask & seen)]
            raise FusePlanError(
                f"plan for {graph.name!r}: op(s) {', '.join(twice[:5])} are in two groups"
            )
        seen |= mask
    if seen != everything:
        missing = [graph.ops[v].name for v in mask_ops(everything & ~seen)]
        raise FusePlanError(
            f"plan for {graph.name!r}: {len(missing)} op(s) in no group, e.g. {', '.join(missing[:5])}"
        )


def quotient_edges(graph: Graph, masks: Sequence[int]) -> set[tuple[int, int]]:
    """Edges (i, j) between group indices: some op of group i feeds some op of group j."""
    group_of = {}
    for i, mask in enumerate(masks):
        for v in mask_ops(mask):
            group_of[v] = i
    edges = set()
    for u, v in graph.edges():
        gu, gv = group_of.get(u), group_of.get(v)
        if gu is not None and gv is not None and gu != gv:
            edges.add((gu, gv))
    return edges


def topological_group_order(graph: Graph, masks: Sequence[int]) -> list[int] | None:
    """Group indices in execution order (ready group with the smallest op id first), or
    None when the graph of groups has a cycle."""
    edges = quotient_edges(graph, masks)
    indegree = [0] * len(masks)
    succs: list[list[int]] = [[] for _ in masks]
    for i, j in edges:
        succs[i].append(j)
        indegree[j] += 1
    ready = [(_lowest_op(masks[i]), i) for i in range(len(masks)) if indegree[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for j in succs[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(ready, (_lowest_op(masks[j]), j))
    return order if len(order) == len(masks) else None


def execution_order(graph: Graph, masks: Sequence[int]) -> list[int]:
    """The masks in execution order; a clear error when the graph of groups is cyclic."""
    order = topological_group_order(graph, masks)
    if order is None:
        raise FusePlanError(
            f"plan for {graph.name!r}: the groups depend on each other in a cycle, so no "
            "execution order exists (run `fuseplan validate` on the plan to see which)"
        )
    return [masks[i] for i in order]


def _lowest_op(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def group_cost_fields(cost: GroupCost) -> dict[str, object]:
    """A cost's numbers by name, for comparisons and files."""
    return {
        "buffer_bytes": cost.buffer_bytes,
        "dram_bytes": cost.dram_bytes,
        "input_bytes": cost.input_bytes,
        "weight_bytes": cost.weight_bytes,
        "output_bytes": cost.output_bytes,
        "tiles": cost.tiles,
        "weights": cost.weights,
        "tiling_buffer_bytes": cost.tiling_buffer_bytes,
    }
