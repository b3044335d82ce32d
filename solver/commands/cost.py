"""``fuseplan cost``: one group's cost with its breakdown, or every op alone."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import add_net_argument, fmt_int, load_net, net_load, print_table
from ._hw import add_hw_arguments, resolve_hw

NAME = "cost"
MAX_LISTED_UNFUSABLE = 8
HELP = (
    "price one group (--group op1,op2,...) with its buffer and traffic breakdown, or, "
    "without --group, every op alone with the bounds and the unfusable ops"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_net_argument(parser)
    add_hw_arguments(parser)
    parser.add_argument(
        "--group",
        metavar="OPS",
        help="op names separated by commas, e.g. '/conv1/Conv,/relu/Relu' (`fuseplan graph "
        "NET --ops` lists them)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for a program")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.cost import make_cost_model

    hw = resolve_hw(args)
    assert hw.buffer_bytes is not None
    graph = load_net(args)
    model = make_cost_model(hw.scheme, graph, hw.bytes_per_element)
    if args.group is not None:
        from fuseplan.models.group_report import group_report, parse_group_ops

        report = group_report(model, parse_group_ops(graph, args.group), hw.buffer_bytes)
        if args.json:
            print(json.dumps(_group_json(report, graph, hw), indent=2))
        else:
            _print_group(report, graph, hw)
        return 0
    from fuseplan.models.plan_build import make_provenance, no_fusion_plan

    provenance = make_provenance(graph, seed=None, load=net_load(args, graph))
    plan = no_fusion_plan(model, hw.buffer_bytes, provenance)
    if args.json:
        from fuseplan.models.plan_io import plan_to_dict

        unfusable = [graph.ops[g.ops[0]].name for g in plan.groups if not g.fusible]
        print(json.dumps({"plan": plan_to_dict(plan, graph), "unfusable_ops": unfusable}, indent=2))
    else:
        _print_alone(plan, graph, hw)
    return 0


def _title(graph: Any, hw: Any) -> str:
    from fuseplan.models.units import format_bytes

    return (
        f"{graph.name}: {hw.scheme}, buffer {format_bytes(hw.buffer_bytes)}, "
        f"{hw.bytes_per_element} B/element"
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def _print_group(report: Any, graph: Any, hw: Any) -> None:
    from fuseplan.models.units import format_mb

    cost = report.cost
    names = [graph.ops[v].name for v in report.ops]
    rows: list[tuple[str, str]] = [
        ("ops", f"{len(names)}: {', '.join(names)}"),
        ("weakly connected", _yes(report.connected)),
        ("convex", _yes(report.convex)),
        ("buffer needed (F_beta)", f"{fmt_int(cost.buffer_bytes)} B"),
        ("buffer available", f"{fmt_int(report.buffer_bytes)} B"),
    ]
    if report.fits:
        rows.append(("fits", f"yes, {fmt_int(report.buffer_bytes - cost.buffer_bytes)} B spare"))
    else:
        rows.append(("fits", f"NO: {fmt_int(report.excess_bytes)} B over; fits a buffer of "
                             f"{fmt_int(report.least_buffer_bytes)} B or more (F_beta < buffer)"))
    if cost.tiles is not None:
        rows.append(("tiling", f"{cost.tiles} tile(s), weights {cost.weights}, "
                               f"uses {fmt_int(cost.tiling_buffer_bytes or 0)} B"))
    priced = report.unfused if report.unfused is not None else cost
    label = "DRAM traffic (unfused, alone)" if report.unfused is not None else "DRAM traffic (F_D)"
    if report.fits or report.unfused is not None:
        rows += [
            (label, f"{fmt_int(priced.dram_bytes)} B ({format_mb(priced.dram_bytes)} MB)"),
            ("  input", f"{fmt_int(priced.input_bytes)} B"),
            ("  weights", f"{fmt_int(priced.weight_bytes)} B"),
            ("  output", f"{fmt_int(priced.output_bytes)} B"),
        ]
    verdict = "valid group" if report.valid else f"NOT a valid group ({report.check.reason})"
    print_table(f"{_title(graph, hw)}: {verdict}", ("", "value"), rows)
    if report.items:
        _print_items(report)
    if not report.fits and report.items:
        top = ", ".join(f"{i.kind} of {i.name} ({fmt_int(i.bytes)} B)" for i in report.items[:3])
        print(f"does not fit: requires {fmt_int(cost.buffer_bytes)} B, available "
              f"{fmt_int(report.buffer_bytes)} B, {fmt_int(report.excess_bytes)} B over; "
              f"largest: {top}")


def _print_items(report: Any) -> None:
    total = sum(i.bytes for i in report.items) or 1
    rows = [
        (
            i.kind,
            i.name,
            "" if i.shape is None else "x".join(map(str, i.shape)),
            "" if i.rows is None else i.rows,
            "" if i.row_bytes is None else fmt_int(i.row_bytes),
            fmt_int(i.bytes),
            f"{100 * i.bytes / total:.1f}%",
        )
        for i in report.items
    ]
    tiling = ""
    if report.breakdown_tiles is not None:
        tiling = f" ({report.breakdown_tiles} tile(s), weights {report.breakdown_weights_mode})"
    print_table(
        f"what fills the buffer{tiling}, largest first",
        ("held", "op / tensor", "shape CxHxW", "rows", "row B", "bytes", "share"),
        rows,
        right_align=(3, 4, 5, 6),
    )


def _group_json(report: Any, graph: Any, hw: Any) -> dict[str, Any]:
    from fuseplan.models.plan_build import group_cost_fields

    out: dict[str, Any] = {
        "graph": graph.name,
        "scheme": hw.scheme,
        "buffer_bytes": report.buffer_bytes,
        "bytes_per_element": hw.bytes_per_element,
        "ops": [graph.ops[v].name for v in report.ops],
        "connected": report.connected,
        "convex": report.convex,
        "fits": report.fits,
        "valid": report.valid,
        "reason": report.check.reason,
        "excess_bytes": report.excess_bytes,
        "least_buffer_bytes": report.least_buffer_bytes,
        "cost": group_cost_fields(report.cost),
        "unfused_dram_bytes": None if report.unfused is None else report.unfused.dram_bytes,
        "buffer_breakdown": {
            "tiles": report.breakdown_tiles,
            "weights_mode": report.breakdown_weights_mode,
            "items": [
                {"held": i.kind, "name": i.name, "bytes": i.bytes, "rows": i.rows,
                 "row_bytes": i.row_bytes, "shape": None if i.shape is None else list(i.shape)}
                for i in report.items
            ],
        },
    }
    return out


def _print_alone(plan: Any, graph: Any, hw: Any) -> None:
    from fuseplan.models.hardware import estimate_time_s
    from fuseplan.models.units import format_mb

    rows = []
    for group in plan.groups:
        op = graph.ops[group.ops[0]]
        shape = graph.tensors[op.output].shape
        rows.append((
            op.id, op.name, op.kind, "x".join(map(str, shape)),
            fmt_int(group.cost.buffer_bytes), fmt_int(group.cost.dram_bytes),
            "fits" if group.fusible else "UNFUSABLE",
        ))
    print_table(
        f"{_title(graph, hw)}: every op alone (no fusion)",
        ("id", "op", "kind", "output", "F_beta B", "F_D B", "status"),
        rows,
        right_align=(0, 4, 5),
    )
    totals = plan.totals
    unfusable = [graph.ops[g.ops[0]].name for g in plan.groups if not g.fusible]
    summary = [
        ("no fusion, all ops (upper bound)", fmt_int(totals.all_dram_bytes), format_mb(totals.all_dram_bytes)),
        ("no fusion, fusible ops only", fmt_int(totals.fusible_dram_bytes), format_mb(totals.fusible_dram_bytes)),
        ("lower bound (all ops, any plan)", fmt_int(totals.lower_bound_bytes), format_mb(totals.lower_bound_bytes)),
    ]
    seconds = estimate_time_s(totals.all_dram_bytes, hw)
    if seconds is not None:
        summary.append((f"DRAM time at {hw.dram_bandwidth_gb_s:g} GB/s, no fusion", "", f"{1e3 * seconds:.3f} ms"))
    print_table("totals", ("", "bytes", "MB"), summary, right_align=(1, 2))
    if unfusable:
        shown = ", ".join(unfusable[:MAX_LISTED_UNFUSABLE])
        more = len(unfusable) - MAX_LISTED_UNFUSABLE
        rest = f" and {more} more (UNFUSABLE in the table)" if more > 0 else ""
        print(f"{len(unfusable)} unfusable op(s) (do not fit even alone): {shown}{rest}")
    else:
        print("no unfusable ops: every op fits the buffer alone")
