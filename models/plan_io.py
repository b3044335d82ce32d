"""Plans as JSON (a versioned schema: models/schemas/plan.schema.json, docs/plan-json.md) and
as CSV (one row per group).

Groups name their ops by op name, so a file reads without the op ids of one import; reading
it back needs the graph it was made for (``graph.load`` says how to load it again,
``graph.hash`` checks it).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from .cost.base import CostModel, GroupCost
from .errors import FusePlanError
from .fileio import write_json_atomic, write_text_atomic
from .graph import Graph
from .load import GraphLoad
from .plan import Plan, PlanGroup, PlanTotals, Provenance, SolveInfo

SCHEMA_VERSION = 2  # 2: the top-level ``pruning`` field (issue 14); 1 is still read
READ_VERSIONS = (1, 2)
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "plan.schema.json"
COST_KEYS = ("buffer_bytes", "dram_bytes", "input_bytes", "weight_bytes", "output_bytes")
TILING_KEYS = ("tiles", "weights", "tiling_buffer_bytes")
TOTAL_KEYS = ("fusible_dram_bytes", "all_dram_bytes", "lower_bound_bytes", "upper_bound_bytes")
STATUSES = ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN", "MODEL_INVALID")
CSV_COLUMNS = (
    "group", "first_op", "num_ops", "fusible", *COST_KEYS, *TILING_KEYS, "ops",
)


def plan_to_dict(plan: Plan, graph: Graph) -> dict[str, Any]:
    """The plan as plain JSON data (see docs/plan-json.md for every field)."""
    stored_graph: dict[str, Any] = {
        "name": graph.name,
        "hash": graph.fingerprint(),
        "source": graph.source or graph.name,
        "ops": graph.num_ops,
    }
    if plan.provenance.load is not None:
        stored_graph["load"] = graph_load_to_dict(plan.provenance.load)
    details = dict(plan.solve.details)
    pruning = details.pop("pruning", None)  # in memory in details; in the file at the top
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": plan.provenance.tool_version,
        "graph": stored_graph,
        "scheme": plan.scheme,
        "buffer_bytes": plan.buffer_bytes,
        "bytes_per_element": plan.bytes_per_element,
        "groups": [_group_to_dict(g, graph) for g in plan.groups],
        "totals": {key: getattr(plan.totals, key) for key in TOTAL_KEYS},
        "pruning": pruning,
        "solve": {
            "solver": plan.solve.solver,
            "status": plan.solve.status,
            "bound_bytes": plan.solve.bound_bytes,
            "gap": _finite_or_none(plan.solve.gap),
            "wall_time_s": plan.solve.wall_time_s,
            "details": details,
        },
        "provenance": {
            "tool_version": plan.provenance.tool_version,
            "command": plan.provenance.command,
            "seed": plan.provenance.seed,
            "graph_name": plan.provenance.graph_name,
            "graph_hash": plan.provenance.graph_hash,
        },
    }


def graph_load_to_dict(load: GraphLoad) -> dict[str, Any]:
    return {
        "spec": load.spec,
        "fold_activations": load.fold_activations,
        "input_shape": None if load.input_shape is None else list(load.input_shape),
        **({"unsupported": load.unsupported} if load.unsupported != "error" else {}),
    }


def read_graph_load(data: Any) -> GraphLoad | None:
    """The plan's ``graph.load`` (None when the file has none); a clear error when malformed."""
    stored = data.get("graph") if isinstance(data, dict) else None
    if not isinstance(stored, dict) or stored.get("load") is None:
        return None
    load = _Reader(stored["load"], "plan graph.load")
    spec = load.get("spec", str)
    if not spec:
        raise FusePlanError("plan graph.load: field 'spec' is empty: it must name the net to load")
    shape = load.get("input_shape", list, optional=True)
    if shape is not None and (
        not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)
    ):
        raise FusePlanError(
            f"plan graph.load: field 'input_shape' = {shape!r} must be null or a list of "
            "positive integers"
        )
    unsupported = load.get("unsupported", str, optional=True) or "error"
    if unsupported not in ("error", "barrier"):
        raise FusePlanError(
            f"plan graph.load: field 'unsupported' = {unsupported!r} must be 'error' or 'barrier'"
        )
    return GraphLoad(
        spec=spec,
        fold_activations=load.get("fold_activations", bool),
        input_shape=None if shape is None else tuple(shape),
        unsupported=unsupported,
    )


def _group_to_dict(group: PlanGroup, graph: Graph) -> dict[str, Any]:
    cost = group.cost
    out: dict[str, Any] = {
        "ops": [graph.ops[v].name for v in group.ops],
        "fusible": group.fusible,
    }
    for key in COST_KEYS:
        out[key] = getattr(cost, key)
    if any(getattr(cost, key) is not None for key in TILING_KEYS):
        for key in TILING_KEYS:
            out[key] = getattr(cost, key)
    return out


def _finite_or_none(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


def plan_from_dict(data: Any, graph: Graph) -> Plan:
    """A plan read back from JSON data; a clear error naming the first malformed field.

    Only the shape is checked here (fields, types, op names); whether the plan is right is
    ``validate.validate_plan``'s job.
    """
    top = _Reader(data, "plan")
    version = top.get("schema_version", int)
    if version not in READ_VERSIONS:
        raise FusePlanError(
            f"plan has schema_version {version}, this fuseplan reads "
            f"{' and '.join(map(str, READ_VERSIONS))}: use the fuseplan version that wrote it "
            "or re-run the solver"
        )
    buffer_bytes = top.get("buffer_bytes", int)
    if buffer_bytes < 1:
        raise FusePlanError(f"plan: field 'buffer_bytes' = {buffer_bytes} must be a positive number of bytes")
    known = {op.name for op in graph.ops}
    groups = [
        _group_from_dict(g, i, graph, known, buffer_bytes)
        for i, g in enumerate(top.get("groups", list))
    ]
    totals = _Reader(top.get("totals", dict), "plan totals")
    solve = _Reader(top.get("solve", dict), "plan solve")
    prov = _Reader(top.get("provenance", dict), "plan provenance")
    status = solve.get("status", str)
    if status not in STATUSES:
        raise FusePlanError(f"plan solve: status {status!r} is not one of {', '.join(STATUSES)}")
    details = solve.get("details", dict, optional=True) or {}
    pruning = _read_pruning(top, version, status)
    if pruning is not None:
        details = {**details, "pruning": pruning}
    return Plan(
        scheme=top.get("scheme", str),
        buffer_bytes=buffer_bytes,
        bytes_per_element=top.get("bytes_per_element", int),
        groups=tuple(groups),
        totals=PlanTotals(**{key: totals.get(key, int) for key in TOTAL_KEYS}),
        solve=SolveInfo(
            solver=solve.get("solver", str),
            status=status,  # type: ignore[arg-type]
            wall_time_s=float(solve.get("wall_time_s", (int, float))),
            bound_bytes=solve.get("bound_bytes", int, optional=True),
            gap=solve.get("gap", (int, float), optional=True),
            details=details,
        ),
        provenance=Provenance(
            tool_version=prov.get("tool_version", str),
            command=prov.get("command", str),
            seed=prov.get("seed", int, optional=True),
            graph_name=prov.get("graph_name", str),
            graph_hash=prov.get("graph_hash", str),
            load=read_graph_load(data),
        ),
    )


def _read_pruning(top: _Reader, version: int, status: str) -> dict[str, Any] | None:
    """Version 2's ``pruning``: null, or how the plan was pruned without proof (such a plan
    is never OPTIMAL). Version 1 has no such field (an aggressive hybrid plan of version 1
    kept it in ``solve.details``, where it stays)."""
    if version == 1:
        if "pruning" in top.data:
            raise FusePlanError("plan: field 'pruning' is not part of schema_version 1")
        return None
    if "pruning" not in top.data:
        raise FusePlanError("plan: field 'pruning' is missing (null when nothing was pruned "
                            "without proof)")
    pruning = top.get("pruning", dict, optional=True)
    if pruning is None:
        return None
    reader = _Reader(pruning, "plan pruning")
    mode = reader.get("mode", str)
    if mode != "aggressive":
        raise FusePlanError(f"plan pruning: mode {mode!r} must be 'aggressive'")
    if reader.get("proven", bool):
        raise FusePlanError("plan pruning: field 'proven' must be false")
    if status == "OPTIMAL":
        raise FusePlanError("plan pruning: a plan pruned without proof cannot be OPTIMAL")
    return pruning


def _group_from_dict(
    data: Any, index: int, graph: Graph, known: set[str], buffer_bytes: int
) -> PlanGroup:
    g = _Reader(data, f"plan group {index}")
    names = g.get("ops", list)
    if not names or not all(isinstance(n, str) for n in names):
        raise FusePlanError(f"plan group {index}: 'ops' must be a non-empty list of op names")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise FusePlanError(
            f"plan group {index}: op(s) {', '.join(map(repr, unknown[:5]))} are not in graph "
            f"{graph.name!r}: is this plan for another graph? (pass --graph)"
        )
    fusible = g.get("fusible", bool)
    numbers = {key: g.get(key, int) for key in COST_KEYS}
    weights = g.get("weights", str, optional=True)
    if weights not in (None, "resident", "streamed"):
        raise FusePlanError(f"plan group {index}: weights {weights!r} must be resident or streamed")
    cost = GroupCost(
        **numbers,
        fits=fusible and numbers["buffer_bytes"] < buffer_bytes,
        tiles=g.get("tiles", int, optional=True),
        weights=weights,  # type: ignore[arg-type]
        tiling_buffer_bytes=g.get("tiling_buffer_bytes", int, optional=True),
    )
    return PlanGroup(ops=tuple(graph.op_id(n) for n in names), fusible=fusible, cost=cost)


_JSON_TYPE_NAMES = {
    int: "an integer", float: "a number", str: "a string", bool: "true or false",
    list: "a list", dict: "an object",
}


class _Reader:
    """Typed access to one JSON object, with errors that name the object and the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise FusePlanError(f"{where} must be a JSON object, got {type(data).__name__}")
        self.data = data
        self.where = where

    def get(self, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in self.data or (optional and self.data[key] is None):
            if optional:
                return None
            raise FusePlanError(f"{self.where}: field {key!r} is missing")
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            value = None  # JSON true/false is not a number here
        if value is None or not isinstance(value, kinds):
            expected = " or ".join(dict.fromkeys(_JSON_TYPE_NAMES[k] for k in kinds))
            raise FusePlanError(f"{self.where}: field {key!r} = {self.data[key]!r} must be {expected}")
        return value


def write_plan_json(plan: Plan, graph: Graph, model: CostModel, path: str | Path) -> None:
    """Validates the plan (a FusePlanError listing the failures if it is wrong), then writes
    it atomically."""
    from .validate import check_plan

    check_plan(plan, graph, model)
    write_json_atomic(path, plan_to_dict(plan, graph))


def read_plan_json(path: str | Path) -> dict[str, Any]:
    """The JSON data of a plan file (an object), or a one-line error."""
    from .fileio import read_json

    data = read_json(path, "plan file")
    if not isinstance(data, dict):
        raise FusePlanError(f"plan file {str(path)!r} holds a JSON {type(data).__name__}, not a plan object")
    if data.get("format") == "fuseplan-graph" or ("tensors" in data and "groups" not in data):
        raise FusePlanError(
            f"{str(path)!r} is a graph JSON, not a plan: make a plan of it with "
            f"`fuseplan solve {path} --buffer SIZE --out plan.json`"
        )
    return data


def groups_csv_text(plan: Plan, graph: Graph) -> str:
    """One row per group, in execution order; ops joined by ';'; empty cells for n/a."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, group in enumerate(plan.groups):
        names = [graph.ops[v].name for v in group.ops]
        cost = group.cost
        writer.writerow(
            [i, names[0], len(names), "yes" if group.fusible else "no"]
            + [getattr(cost, key) for key in COST_KEYS]
            + ["" if getattr(cost, key) is None else getattr(cost, key) for key in TILING_KEYS]
            + [";".join(names)]
        )
    return out.getvalue()


def write_groups_csv(plan: Plan, graph: Graph, path: str | Path) -> None:
    write_text_atomic(path, groups_csv_text(plan, graph))
