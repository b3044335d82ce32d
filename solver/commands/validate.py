"""``fuseplan validate``: re-check a plan file from scratch."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import fmt_int

NAME = "validate"
HELP = (
    "re-check a plan JSON from scratch (partition, connected, convex, acyclic, fits, every "
    "number); exit 0 = valid, 1 = the plan fails checks (a finding, listed), 2 = usage error "
    "(missing or unreadable file, unknown graph)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", metavar="PLAN.json", help="a plan written by a fuseplan solver")
    parser.add_argument(
        "--graph",
        metavar="NET_OR_FILE",
        help="the net the plan is for (default: the plan's graph.source)",
    )
    parser.add_argument(
        "--input-shape", metavar="NxCxHxW", help="static input shape for an ONNX --graph"
    )
    parser.add_argument(
        "--fold-activations",
        action="store_true",
        help="fold activations into their producer when loading the graph",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.plan_io import read_plan_json
    from fuseplan.models.validate import validate_plan

    data = read_plan_json(args.plan)
    graph = _load_graph(args, data)
    scheme, b = data.get("scheme"), data.get("bytes_per_element")
    if not isinstance(scheme, str) or not isinstance(b, int):
        raise FusePlanError(
            f"plan file {args.plan!r} has no valid 'scheme' and 'bytes_per_element': is it a "
            "fuseplan plan?"
        )
    failures = validate_plan(data, graph, make_cost_model(scheme, graph, b))
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
    """The --graph net, else the plan's graph.source (a zoo source ``zoo:NAME`` is loaded as
    NAME; if its hash differs, the same net with activations folded is tried)."""
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.load import load_graph, parse_input_shape

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    if args.graph:
        return load_graph(args.graph, input_shape=shape, fold_activations=args.fold_activations)
    stored = data.get("graph")
    source = stored.get("source") if isinstance(stored, dict) else None
    if not isinstance(source, str) or not source:
        raise FusePlanError(
            f"plan file {args.plan!r} does not say which graph it is for: pass --graph NET_OR_FILE"
        )
    spec = source[len("zoo:"):] if source.startswith("zoo:") else source
    try:
        graph = load_graph(spec, input_shape=shape, fold_activations=args.fold_activations)
    except FusePlanError as err:
        raise FusePlanError(
            f"cannot reload the plan's graph {source!r} ({err}): pass --graph NET_OR_FILE"
        ) from None
    if graph.fingerprint() != stored.get("hash") and not args.fold_activations:
        try:
            folded = load_graph(spec, input_shape=shape, fold_activations=True)
        except (FusePlanError, ImportError):
            return graph
        if folded.fingerprint() == stored.get("hash"):
            return folded
    return graph
