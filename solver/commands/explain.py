"""``fuseplan explain``: why a group does not fit, which edges to blame, and where to cut it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import add_net_argument, fmt_int, load_net, print_table
from ._hw import add_hw_arguments, resolve_hw

NAME = "explain"
HELP = (
    "explain one group (--group op1,op2,...): the cost model's verdict and the GNN's P(valid), "
    "its edges ranked by a repair strategy (--repair), and the cut that splits it"
)
MAX_LISTED_EDGES = 15
MAX_LISTED_OPS = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_net_argument(parser)
    add_hw_arguments(parser)
    parser.add_argument(
        "--group", metavar="OPS", required=True,
        help="op names separated by commas, e.g. '/conv1/Conv,/relu/Relu' (`fuseplan graph "
        "NET --ops` lists them); the group must be weakly connected and convex",
    )
    parser.add_argument(
        "--repair", metavar="STRATEGY", default="cost",
        help="repair strategy: gnnexplainer, pgexplainer, rgexplainer, ig, cost (exact cost "
        "attribution, the default), random, or all (one row per strategy)",
    )
    parser.add_argument("--top", type=int, default=1, metavar="K",
                        help="list the first K distinct cuts in rank order (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the seeded strategies")
    parser.add_argument("--no-gnn", action="store_true",
                        help="skip the GNN's P(valid) (no torch import)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON for a program (docs/explain-json.md)")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw the group, edges coloured by score, the cut marked (PNG)")


def run(args: argparse.Namespace) -> int:
    from fuseplan.explain.cuts import cut_space
    from fuseplan.explain.report import (
        Prediction,
        explain_dict,
        gnn_prediction,
        run_strategies,
        strategy_names,
    )
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.group import as_mask
    from fuseplan.models.group_report import parse_group_ops

    if args.top < 1:
        raise FusePlanError(f"--top {args.top}: give a number of cuts of 1 or more")
    names = strategy_names(args.repair)
    hw = resolve_hw(args)
    assert hw.buffer_bytes is not None
    graph = load_net(args)
    model = make_cost_model(hw.scheme, graph, hw.bytes_per_element)
    group = as_mask(parse_group_ops(graph, args.group))
    space = cut_space(graph, group)
    outcomes = run_strategies(model, group, hw.buffer_bytes, names, seed=args.seed,
                              top_k=args.top, space=space)
    prediction = (Prediction(None, "not asked for (--no-gnn)") if args.no_gnn else
                  gnn_prediction(graph, group, hw.buffer_bytes, hw.scheme, hw.bytes_per_element))
    doc = explain_dict(model, group, hw.buffer_bytes, prediction, outcomes, space)
    if args.plot:
        from fuseplan.explain.plot import plot_explanations

        plot_explanations(graph, group, outcomes, args.plot)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    _print_verdict(doc, hw)
    if len(doc["strategies"]) == 1:
        _print_edges(doc["strategies"][0])
        _print_cuts(doc["strategies"][0])
    else:
        _print_summary(doc["strategies"])
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _ops_text(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED_OPS])
    more = len(names) - MAX_LISTED_OPS
    return f"{len(names)}: {shown}" + (f" and {more} more" if more > 0 else "")


def _edge_text(edge: dict[str, Any]) -> str:
    return f"{edge['producer']} -> {edge['consumer']}"


def _score_text(score: float | None) -> str:
    return "-" if score is None else f"{score:,.6g}"


def _print_verdict(doc: dict[str, Any], hw: Any) -> None:
    from fuseplan.models.units import format_bytes

    v, p = doc["verdict"], doc["prediction"]
    rows = [
        ("ops", _ops_text(doc["group"])),
        ("buffer needed (F_beta)", f"{fmt_int(v['need_bytes'])} B"),
        ("buffer available", f"{fmt_int(v['capacity_bytes'])} B"),
        ("cost model verdict", "valid" if v["valid"] else f"NOT valid: {v['reason']}"),
        ("excess", f"{fmt_int(v['excess_bytes'])} B"),
        ("GNN P(valid)", p["note"] if p["p_valid"] is None else f"{p['p_valid']:.3f}"),
        ("cuts of the group", f"{doc['cut_space']['cuts']}"
         + ("" if doc["cut_space"]["exact"] else " (a subset: too many to list all)")),
    ]
    title = f"{doc['graph']}: {doc['scheme']}, buffer {format_bytes(hw.buffer_bytes)}"
    print_table(title, ("", "value"), rows)
    if v["valid"]:
        print("the group is already valid: it needs no cut (explained all the same)")


def _print_edges(entry: dict[str, Any]) -> None:
    crossing = {(e["producer"], e["consumer"]) for e in (entry["cut"] or {}).get("crossing", [])}
    edges = entry["edges"]
    rows = [
        (e["rank"] or "-", e["producer"], e["consumer"], e["tensor"], _score_text(e["score"]),
         "cut" if (e["producer"], e["consumer"]) in crossing else "")
        for e in edges[:MAX_LISTED_EDGES]
    ]
    print_table(f"edges ranked by {entry['strategy']} ({entry['time_ms']:.1f} ms)",
                ("rank", "producer", "consumer", "tensor", "score", ""), rows,
                right_align=(0, 4))
    if len(edges) > MAX_LISTED_EDGES:
        print(f"... and {len(edges) - MAX_LISTED_EDGES} more edge(s) (--json lists them all)")


def _print_cuts(entry: dict[str, Any]) -> None:
    if not entry["cuts"]:
        print("no valid cut: the group is one op, or no split leaves two connected halves")
        return
    rows = []
    for n, cut in enumerate(entry["cuts"], 1):
        for side in ("first", "second"):
            h = cut["halves"][side]
            rows.append((n if side == "first" else "", side, _ops_text(cut[side]),
                         fmt_int(h["need_bytes"]), fmt_int(h["dram_bytes"]),
                         "valid" if h["valid"] else "NO"))
        rows.append(("", "crossing", ", ".join(_edge_text(e) for e in cut["crossing"]),
                     "", "", f"mean score {_score_text(cut['mean_score'])}"))
    print_table("chosen cut" + ("s in rank order" if len(entry["cuts"]) > 1 else ""),
                ("cut", "half", "ops", "F_beta B", "F_D B", "valid"), rows, right_align=(3, 4))


def _print_summary(entries: list[dict[str, Any]]) -> None:
    rows = []
    for e in entries:
        if not e["available"]:
            rows.append((e["strategy"], "-", "not available", "", "", "", ""))
            continue
        cut = e["cut"]
        if cut is None:
            rows.append((e["strategy"], f"{e['time_ms']:.1f}", "no valid cut", "", "", "", ""))
            continue
        first, second = cut["halves"]["first"], cut["halves"]["second"]
        rows.append((
            e["strategy"], f"{e['time_ms']:.1f}",
            ", ".join(_edge_text(x) for x in cut["crossing"]),
            f"{fmt_int(first['need_bytes'])} {'ok' if first['valid'] else 'NO'}",
            f"{fmt_int(second['need_bytes'])} {'ok' if second['valid'] else 'NO'}",
            fmt_int(first["dram_bytes"] + second["dram_bytes"]),
            "yes" if cut["valid"] else "no",
        ))
    print_table("one row per strategy", ("strategy", "ms", "cut crossing", "first F_beta B",
                                          "second F_beta B", "F_D B", "both valid"),
                rows, right_align=(1,))
    missing = [e for e in entries if not e["available"]]
    if missing:
        print(f"not available: {', '.join(e['strategy'] for e in missing)} ({missing[0]['error']})")
