"""``fuseplan validate``: re-check a plan file from scratch."""

from __future__ import annotations

import argparse
import json
from typing import Any

from fuseplan.models.errors import FusePlanError

from ._common import add_unsupported_argument, fmt_int

NAME = "validate"
HELP = (
    "re-check a plan JSON from scratch (partition, connected, convex, acyclic, fits, every "
    "number); exit 0 = valid, 1 = the plan fails checks (a finding, listed), 2 = usage error "
    "(missing or unreadable file, a graph that cannot be reloaded as the plan recorded)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", metavar="PLAN.json", help="a plan written by a fuseplan solver")
    parser.add_argument(
        "--graph",
        metavar="NET_OR_FILE",
        help="the net the plan is for (default: replay the plan's graph.load, else its "
        "graph.source)",
    )
    parser.add_argument(
        "--input-shape", metavar="NxCxHxW",
        help="static input shape for an ONNX --graph (or a plan without graph.load)",
    )
    parser.add_argument(
        "--fold-activations",
        action="store_true",
        help="fold activations into their producer when loading --graph (or a plan "
        "without graph.load)",
    )
    add_unsupported_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.plan_io import read_plan_json
    from fuseplan.models.validate import validate_plan

    data = read_plan_json(args.plan)
    graph = _load_graph(args, data)
    failures = validate_plan(data, graph, _plan_model(args.plan, data, graph))
    totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
    if args.json:
        print(json.dumps({"plan": args.plan, "graph": graph.name, "ok": not failures,
                          "failures": failures, "totals": totals}, indent=2))
    elif failures:
        print(f"FAILED: {args.plan}: {len(failures)} check(s) fail")
        for line in failures:
            print(f"  - {line}")
    else:
        print(_ok_line(args.plan, data, totals))
    return 1 if failures else 0


def _plan_model(path: str, data: dict[str, Any], graph: Any) -> Any:
    """The cost model the plan names (scheme, bytes per element); a one-line error naming the
    file when it names none."""
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.hardware import BYTES_PER_ELEMENT

    scheme, b = data.get("scheme"), data.get("bytes_per_element")
    if type(b) is not int or b not in BYTES_PER_ELEMENT:
        raise FusePlanError(
            f"plan file {path!r}: 'bytes_per_element' = {b!r} must be 1 (int8), 2 (fp16) or "
            "4 (fp32): is it a fuseplan plan?"
        )
    if not isinstance(scheme, str):
        raise FusePlanError(
            f"plan file {path!r}: 'scheme' = {scheme!r} must name a cost scheme: is it a "
            "fuseplan plan?"
        )
    try:
        return make_cost_model(scheme, graph, b)
    except FusePlanError as err:
        raise FusePlanError(f"plan file {path!r}: {err}") from None


def _ok_line(path: str, data: dict[str, Any], totals: dict[str, Any]) -> str:
    from fuseplan.models.units import format_bytes, format_mb

    groups = data.get("groups", [])
    unfusable = sum(1 for g in groups if not g.get("fusible", True))
    return (
        f"OK: {path}: {len(groups)} groups ({unfusable} unfusable), {data['scheme']}, buffer "
        f"{format_bytes(data['buffer_bytes'])}; fusible {fmt_int(totals['fusible_dram_bytes'])} B "
        f"({format_mb(totals['fusible_dram_bytes'])} MB), all ops "
        f"{fmt_int(totals['all_dram_bytes'])} B ({format_mb(totals['all_dram_bytes'])} MB), "
        f"bounds [{fmt_int(totals['lower_bound_bytes'])}, {fmt_int(totals['upper_bound_bytes'])}] B"
    )


def _load_graph(args: argparse.Namespace, data: dict[str, Any]) -> Any:
    """The --graph net, else the plan's graph replayed from its ``graph.load`` (older files:
    ``graph.source`` with this command's --fold-activations/--input-shape); a reloaded graph
    whose hash is not the plan's is an error naming both hashes."""
    from fuseplan.models.load import load_graph, parse_input_shape

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    if args.graph:
        return load_graph(args.graph, input_shape=shape, fold_activations=args.fold_activations,
                          unsupported=args.unsupported)
    load = _recorded_load(args, data, shape)
    try:
        graph = load.load()
    except FusePlanError as err:
        raise FusePlanError(
            f"cannot reload the plan's graph {load.describe()!r} ({err}): pass --graph NET_OR_FILE"
        ) from None
    stored_hash = data["graph"].get("hash")
    if graph.fingerprint() != stored_hash:
        prov = data.get("provenance")
        command = prov.get("command") if isinstance(prov, dict) else None
        made_by = f" (it was made by `{command}`)" if isinstance(command, str) and command else ""
        raise FusePlanError(
            f"plan file {args.plan!r} is for graph hash {stored_hash!r}, but reloading "
            f"{load.describe()!r} gives {graph.name!r} with hash {graph.fingerprint()!r}: the "
            "net or file changed since the plan was made, or the plan names another graph; "
            f"pass the graph it was made for with --graph NET_OR_FILE{made_by}"
        )
    return graph


def _recorded_load(args: argparse.Namespace, data: dict[str, Any], shape: Any) -> Any:
    """How to load the plan's graph: its ``graph.load``, else ``graph.source`` + the flags."""
    from fuseplan.models.load import GraphLoad
    from fuseplan.models.plan_io import read_graph_load

    stored = data.get("graph")
    source = stored.get("source") if isinstance(stored, dict) else None
    if not isinstance(source, str) or not source:
        raise FusePlanError(
            f"plan file {args.plan!r} does not say which graph it is for: pass --graph NET_OR_FILE"
        )
    load = read_graph_load(data)
    if load is None:
        return GraphLoad(spec=source, fold_activations=args.fold_activations, input_shape=shape,
                         unsupported=args.unsupported)
    if args.fold_activations or shape is not None or args.unsupported != "error":
        raise FusePlanError(
            f"plan file {args.plan!r} records how its graph was loaded ({load.describe()!r}); "
            "--fold-activations, --input-shape and --unsupported apply only with --graph NET_OR_FILE"
        )
    return load
