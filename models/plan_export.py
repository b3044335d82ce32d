"""``fuseplan export``: a validated plan written into the user's ONNX model, and the flat map
of every ONNX node to its group (docs/export.md; schema: models/schemas/export-map.schema.json).

``export_plan`` takes a plan already re-validated against ``graph`` (the graph imported from
``onnx_path`` with the plan's load options) and writes the annotated (or function-wrapped)
model, checked by onnx.checker, plus the map as JSON and/or CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fileio import write_json_atomic, write_text_atomic
from .graph import Graph
from .onnx_load import _read
from .plan import Plan
from .plan_export_map import ROLES, ExportMap, build_export_map
from .plan_export_onnx import FUNCTION_DOMAIN, annotate, wrap_groups, write_checked_model

FORMAT = "fuseplan-export-map"
SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "export-map.schema.json"
CSV_COLUMNS = ("order", "node", "op_type", "role", "group", "position", "absorbed", "ops")


@dataclass(frozen=True)
class ExportResult:
    out: Path
    ir_before: int
    ir_after: int
    functions: bool
    external_data: bool
    emap: ExportMap
    map_data: dict[str, Any]


def export_plan(
    plan: Plan, graph: Graph, onnx_path: str | Path, out: str | Path, *, functions: bool = False,
    plan_file: str = "", csv_path: str | Path | None = None, json_path: str | Path | None = None,
) -> ExportResult:
    """Writes ``out`` (and the maps asked for); ``plan`` must be valid for ``graph``."""
    source, target = Path(onnx_path), Path(out)
    model = _read(source)
    emap = build_export_map(model, graph, plan, source)
    props = {
        "fuseplan.plan_graph_hash": graph.fingerprint(),
        "fuseplan.plan_scheme": plan.scheme,
        "fuseplan.plan_buffer_bytes": str(plan.buffer_bytes),
        "fuseplan.plan_groups": str(len(plan.groups)),
        "fuseplan.export_map": f"{FORMAT}/{SCHEMA_VERSION}",
    }
    ir_before = annotate(model, emap, props)
    if functions:
        wrap_groups(model, emap)
    external = write_checked_model(model, target)
    data = map_to_dict(emap, plan, graph, source=str(source), exported=str(target),
                       plan_file=plan_file, ir=(ir_before, model.ir_version), functions=functions)
    if json_path is not None:
        write_json_atomic(json_path, data)
    if csv_path is not None:
        write_text_atomic(csv_path, map_csv_text(emap))
    return ExportResult(out=target, ir_before=ir_before, ir_after=model.ir_version,
                        functions=functions, external_data=external, emap=emap, map_data=data)


def map_to_dict(
    emap: ExportMap, plan: Plan, graph: Graph, *, source: str, exported: str, plan_file: str,
    ir: tuple[int, int], functions: bool,
) -> dict[str, Any]:
    """The map as JSON data (docs/export.md lists every field)."""
    from fuseplan import __version__

    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "model": {
            "source": source, "exported": exported, "ir_version_before": ir[0],
            "ir_version": ir[1], "functions": functions,
            "function_domain": FUNCTION_DOMAIN if functions else None,
        },
        "plan": {
            "file": plan_file, "graph_name": graph.name, "graph_hash": graph.fingerprint(),
            "scheme": plan.scheme, "buffer_bytes": plan.buffer_bytes,
            "bytes_per_element": plan.bytes_per_element,
        },
        "roles": {role: emap.count(role) for role in ROLES},
        "groups": [
            {
                "group": g,
                "order": rank,
                "fusible": plan.groups[g].fusible,
                "ops": [graph.ops[v].name for v in plan.groups[g].ops],
                "nodes": [emap.nodes[i].name for i in members],
                "function": f"group_{g}" if functions else None,
            }
            for rank, (g, members) in enumerate((g, emap.groups[g]) for g in emap.group_order)
        ],
        "nodes": [
            {
                "order": n.order, "node": n.name, "op_type": n.op_type, "role": n.role,
                "group": n.group, "position": n.position, "absorbed": n.role == "absorbed",
                "ops": list(n.ops),
            }
            for n in emap.in_order()
        ],
    }


def map_csv_text(emap: ExportMap) -> str:
    """One row per ONNX node in execution order; empty cells where a node has no group."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for n in emap.in_order():
        writer.writerow([
            n.order, n.name, n.op_type, n.role, "" if n.group is None else n.group,
            "" if n.position is None else n.position, "yes" if n.role == "absorbed" else "no",
            ";".join(n.ops),
        ])
    return out.getvalue()
