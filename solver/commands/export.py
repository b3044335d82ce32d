"""``fuseplan export``: a plan written into the user's ONNX model (each node annotated with
its group, optionally each group an ONNX local function) and a flat map of every ONNX node
to its group and execution order (docs/export.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fuseplan.models.errors import FusePlanError

NAME = "export"
HELP = (
    "write a plan into its ONNX model: every node annotated with its fusion group "
    "(--functions: each group an ONNX local function), plus a node -> group map (--csv, --json)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", metavar="PLAN.json", help="a plan written by a fuseplan solver")
    parser.add_argument("--onnx", required=True, metavar="MODEL.onnx",
                        help="the ONNX file the plan was made for (it is imported with the "
                        "plan's recorded options and must give the plan's graph hash)")
    parser.add_argument("--out", required=True, metavar="MODEL.fused.onnx",
                        help="the annotated model to write (checked by onnx.checker)")
    parser.add_argument("--functions", action="store_true",
                        help="wrap each group as a model-local ONNX function, called once in "
                        "execution order")
    parser.add_argument("--csv", metavar="MAP.csv", help="write the node -> group map as CSV")
    parser.add_argument("--json", metavar="MAP.json", help="write the node -> group map as JSON")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.fileio import check_output_path
    from fuseplan.models.plan_export import export_plan
    from fuseplan.models.plan_io import plan_from_dict, read_plan_json
    from fuseplan.models.validate import check_plan

    from .validate import _plan_model

    source = Path(args.onnx)
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist"
        raise FusePlanError(f"ONNX file {args.onnx!r} {what}: give the model the plan was made for")
    out = check_output_path(args.out, what="exported model", suffixes=(".onnx",))
    if out.resolve() == source.resolve():
        raise FusePlanError(f"--out {args.out!r} is the input model: write the export to another file")
    for path, what in ((args.csv, "map CSV"), (args.json, "map JSON")):
        if path is not None:
            check_output_path(path, what=what)
    data = read_plan_json(args.plan)
    graph = _model_graph(args.plan, data, source)
    check_plan(data, graph, _plan_model(args.plan, data, graph))
    plan = plan_from_dict(data, graph)
    result = export_plan(plan, graph, source, out, functions=args.functions, plan_file=args.plan,
                         csv_path=args.csv, json_path=args.json)
    if result.ir_after != result.ir_before:
        print(f"raised the model's IR version {result.ir_before} -> {result.ir_after}: node "
              "metadata_props (the group annotations) need IR version 10")
    roles = result.map_data["roles"]
    form = f"{len(plan.groups)} local functions" if args.functions else "node metadata"
    print(f"wrote {str(out)!r}: {len(result.emap.nodes)} nodes in {len(plan.groups)} groups "
          f"as {form} ({roles['op']} ops, {roles['absorbed']} absorbed; no group: "
          f"{roles['constant']} constant, {roles['shape']} shape, {roles['dead']} dead); "
          "passes onnx.checker (full_check)")
    if result.external_data:
        print(f"  its weights are in {str(out.name) + '.data'!r} next to it (the model is over 2 GB)")
    for path, what in ((args.csv, "CSV"), (args.json, "JSON")):
        if path is not None:
            print(f"wrote {path!r}: the node -> group map as {what}")
    return 0


def _model_graph(plan_path: str, data: dict[str, Any], source: Path) -> Any:
    """The graph of the ONNX file, imported with the options the plan records; an error
    naming both hashes when it is not the plan's graph."""
    from fuseplan.models.onnx_import import import_onnx
    from fuseplan.models.plan_io import read_graph_load
    from fuseplan.models.transforms import fold_activations

    try:
        load = read_graph_load(data)
    except FusePlanError as err:
        raise FusePlanError(f"plan file {plan_path!r}: {err}") from None
    graph = import_onnx(source, input_shape=load.input_shape if load else None,
                        unsupported=load.unsupported if load else "error")
    if load is not None and load.fold_activations:
        graph = fold_activations(graph)
    stored = data.get("graph") if isinstance(data.get("graph"), dict) else {}
    stored_hash = stored.get("hash")
    if graph.fingerprint() != stored_hash:
        made = f" (made from {load.describe()!r})" if load is not None else ""
        raise FusePlanError(
            f"plan {plan_path!r}{made} is for graph hash {stored_hash!r}, but {str(source)!r} "
            f"imports as graph {graph.name!r} with hash {graph.fingerprint()!r}: the plan is for "
            "another model (or the model changed since); solve this model with `fuseplan solve "
            f"{source} --buffer SIZE --out plan.json`"
        )
    return graph

