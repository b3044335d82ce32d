"""Re-checks a plan from scratch against its graph and a fresh cost model.

Rules (each failure message names the group by index and first op, and the rule):
  graph      the plan's graph hash is this graph's; scheme and bytes per element are the model's
  partition  every op is in exactly one group; ops inside a group are in op order
  connected  every group is weakly connected
  convex     no path leaves a group and comes back
  acyclic    the graph of groups has no cycle, and the groups are listed in an execution order
  fits       every fusible group has F_beta < buffer
  unfusable  the unfusable groups are exactly the singletons of ops that do not fit alone
             (an op that does not fit alone is never inside a larger group)
  numbers    every stored cost equals a fresh evaluation (unfusable: the unfused cost)
  totals     the totals are the sums of fresh costs; the bounds are the fresh bounds
  solve      a solver's bound does not exceed the plan's fusible total; the gap is in [0, 1]
"""

from __future__ import annotations

from typing import Any

from .cost.base import CostModel
from .group import as_mask
from .cost.common import lower_bound_bytes
from .group import check_group
from .errors import FusePlanError
from .graph import Graph
from .plan import Plan, PlanGroup
from .plan_build import group_cost_fields, no_fusion_total, price_group, quotient_edges
from .plan_build import topological_group_order
from .plan_io import plan_from_dict

MAX_LISTED = 3


def validate_plan(plan_or_dict: Plan | dict[str, Any], graph: Graph, model: CostModel) -> list[str]:
    """Every rule the plan breaks, as one line each; an empty list when it is right."""
    failures: list[str] = []
    if isinstance(plan_or_dict, dict):
        failures += _file_graph_failures(plan_or_dict, graph)
        try:
            plan = plan_from_dict(plan_or_dict, graph)
        except FusePlanError as err:
            return failures + [f"file: {err}"]
    else:
        plan = plan_or_dict
    failures += _header_failures(plan, graph, model)
    if any(not 0 <= v < graph.num_ops for g in plan.groups for v in g.ops):
        return failures + ["partition: a group holds op ids outside the graph"]
    failures += _partition_failures(plan, graph)
    failures += _order_failures(plan, graph)
    fresh = []
    for i, group in enumerate(plan.groups):
        group_failures, fresh_group = _group_failures(i, group, plan, graph, model)
        failures += group_failures
        fresh.append(fresh_group)
    failures += _totals_failures(plan, graph, model, fresh)
    failures += _solve_failures(plan, sum(g.cost.dram_bytes for g in fresh if g.fusible))
    return failures


def check_plan(plan_or_dict: Plan | dict[str, Any], graph: Graph, model: CostModel) -> None:
    """Raises a one-line FusePlanError (count + the first few failures) if the plan is wrong."""
    failures = validate_plan(plan_or_dict, graph, model)
    if failures:
        shown = "; ".join(failures[:MAX_LISTED])
        more = f" (and {len(failures) - MAX_LISTED} more)" if len(failures) > MAX_LISTED else ""
        raise FusePlanError(f"plan fails {len(failures)} check(s): {shown}{more}")


def _name(graph: Graph, index: int, group: PlanGroup) -> str:
    first = graph.ops[group.ops[0]].name if group.ops else "none"
    return f"group {index} (first op {first!r})"


def _file_graph_failures(data: dict[str, Any], graph: Graph) -> list[str]:
    stored = data.get("graph")
    if not isinstance(stored, dict):
        return []
    out = []
    if stored.get("hash") != graph.fingerprint():
        out.append(
            f"graph: the file's graph hash {stored.get('hash')!r} is not graph {graph.name!r}'s "
            f"{graph.fingerprint()!r} (another graph, or it changed)"
        )
    if stored.get("ops") != graph.num_ops:
        out.append(f"graph: the file says {stored.get('ops')!r} ops, graph {graph.name!r} has {graph.num_ops}")
    return out


def _header_failures(plan: Plan, graph: Graph, model: CostModel) -> list[str]:
    out = []
    if plan.provenance.graph_hash != graph.fingerprint():
        out.append(
            f"graph: provenance graph hash {plan.provenance.graph_hash!r} is not graph "
            f"{graph.name!r}'s {graph.fingerprint()!r}"
        )
    if plan.scheme != model.name:
        out.append(f"graph: plan scheme {plan.scheme!r} is not the model's {model.name!r}")
    if plan.bytes_per_element != model.bytes_per_element:
        out.append(
            f"graph: plan bytes_per_element {plan.bytes_per_element} is not the model's "
            f"{model.bytes_per_element}"
        )
    return out


def _partition_failures(plan: Plan, graph: Graph) -> list[str]:
    out = []
    owner: dict[int, int] = {}
    for i, group in enumerate(plan.groups):
        if not group.ops:
            out.append(f"group {i}: partition: the group is empty")
            continue
        if list(group.ops) != sorted(set(group.ops)):
            out.append(f"{_name(graph, i, group)}: partition: ops are not distinct and in op order")
        for v in group.ops:
            if v in owner and owner[v] != i:
                out.append(
                    f"{_name(graph, i, group)}: partition: op {graph.ops[v].name!r} is also in "
                    f"group {owner[v]}"
                )
            owner.setdefault(v, i)
    missing = [graph.ops[v].name for v in range(graph.num_ops) if v not in owner]
    if missing:
        out.append(f"partition: {len(missing)} op(s) in no group, e.g. {', '.join(missing[:5])}")
    return out


def _order_failures(plan: Plan, graph: Graph) -> list[str]:
    masks = [as_mask(g.ops) for g in plan.groups]
    edges = quotient_edges(graph, masks)
    if topological_group_order(graph, masks) is None:
        cycle = _find_cycle(len(masks), edges)
        path = " -> ".join(_name(graph, i, plan.groups[i]) for i in cycle + cycle[:1])
        return [f"acyclic: the groups depend on each other in a cycle: {path}"]
    out = []
    for i, j in sorted(edges):
        if i > j:
            out.append(
                f"{_name(graph, j, plan.groups[j])}: acyclic: listed before "
                f"{_name(graph, i, plan.groups[i])}, which feeds it (not an execution order)"
            )
    return out


def _find_cycle(n: int, edges: set[tuple[int, int]]) -> list[int]:
    """One cycle of group indices (the graph of groups is known to have one)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    return [u for u, _ in nx.find_cycle(g)]


def _group_failures(
    i: int, group: PlanGroup, plan: Plan, graph: Graph, model: CostModel
) -> tuple[list[str], PlanGroup]:
    name = _name(graph, i, group)
    mask = as_mask(group.ops)
    out = []
    check = check_group(model, mask, plan.buffer_bytes)
    if not check.connected:
        out.append(f"{name}: connected: the group is not weakly connected")
    if not check.convex:
        out.append(f"{name}: convex: a path leaves the group and comes back")
    fresh = price_group(model, mask, plan.buffer_bytes)
    need = check.need_bytes
    if group.fusible and not fresh.fusible:
        out.append(
            f"{name}: unfusable: op {graph.ops[group.ops[0]].name!r} needs {need:,} B >= buffer "
            f"{plan.buffer_bytes:,} B even alone but is marked fusible"
        )
    elif group.fusible and not check.fits:
        out.append(f"{name}: fits: F_beta {need:,} B >= buffer {plan.buffer_bytes:,} B")
    elif not group.fusible and len(group.ops) != 1:
        out.append(f"{name}: unfusable: a group marked unfusable must be a single op")
    elif group.fusible and len(group.ops) > 1:
        alone = [v for v in group.ops if not check_group(model, 1 << v, plan.buffer_bytes).fits]
        if alone:
            names = ", ".join(repr(graph.ops[v].name) for v in alone[:3])
            out.append(
                f"{name}: unfusable: op(s) {names} do not fit the buffer alone and must each "
                "be a group of their own"
            )
    elif not group.fusible and fresh.fusible:
        out.append(
            f"{name}: unfusable: marked unfusable but fits alone ({need:,} B < buffer "
            f"{plan.buffer_bytes:,} B)"
        )
    if group.fusible == fresh.fusible:
        stored, expected = group_cost_fields(group.cost), group_cost_fields(fresh.cost)
        wrong = [f"{k} {stored[k]!r} != fresh {expected[k]!r}" for k in stored if stored[k] != expected[k]]
        if wrong:
            out.append(f"{name}: numbers: {', '.join(wrong)}")
    return out, fresh


def _totals_failures(plan: Plan, graph: Graph, model: CostModel, fresh: list[PlanGroup]) -> list[str]:
    expected = {
        "fusible_dram_bytes": sum(g.cost.dram_bytes for g in fresh if g.fusible),
        "all_dram_bytes": sum(g.cost.dram_bytes for g in fresh),
        "lower_bound_bytes": lower_bound_bytes(graph, model.bytes_per_element),
        "upper_bound_bytes": no_fusion_total(model, plan.buffer_bytes),
    }
    return [
        f"totals: {key} {getattr(plan.totals, key):,} != fresh {value:,}"
        for key, value in expected.items()
        if getattr(plan.totals, key) != value
    ]


def _solve_failures(plan: Plan, fusible_total: int) -> list[str]:
    out = []
    bound = plan.solve.bound_bytes
    if bound is not None and bound > fusible_total:
        out.append(
            f"solve: bound_bytes {bound:,} exceeds the plan's fusible total {fusible_total:,} "
            "(a lower bound cannot)"
        )
    gap = plan.solve.gap
    if gap is not None and not 0 <= gap <= 1:
        out.append(f"solve: gap {gap} is not in [0, 1]")
    return out
