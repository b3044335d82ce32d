"""``fuseplan solve``: the proven-optimal fusion plan of a net at a buffer size."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING

from ._common import add_net_argument, fmt_int, load_net, net_load
from ._hw import add_hw_arguments, resolve_hw

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.graph import Graph
    from fuseplan.models.hardware import HardwareConfig
    from fuseplan.solver.hybrid.method import HybridSettings
    from fuseplan.solver.result import SolveResult

NAME = "solve"
HELP = "find the fusion plan with the least DRAM traffic (exact: proven optimal)"
MAX_LISTED_OPS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fuseplan.solver.api import methods_help  # the registry: new methods join here

    add_net_argument(parser)
    add_hw_arguments(parser)
    parser.add_argument(
        "--method", default="auto", metavar="METHOD",
        help="one of the methods listed below (default auto; see docs/solvers.md); a search "
        "may name its repair strategy, e.g. ls:cost",
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the list's lines
    parser.epilog = "methods:\n" + methods_help()
    parser.add_argument("--time-limit", type=_seconds, metavar="S",
                        help="stop after S seconds (enumeration included) with the best plan")
    parser.add_argument("--gap", type=float, metavar="REL",
                        help="stop once the plan is proven within this relative gap, e.g. 0.01")
    parser.add_argument("--workers", type=int, default=1, help="CP-SAT/CBC threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    parser.add_argument("--pin", action="append", default=[], metavar="a,b,c",
                        help="these ops in one group (repeatable)")
    parser.add_argument("--forbid", action="append", default=[], metavar="a|b",
                        help="these ops never in the same group (repeatable)")
    parser.add_argument("--max-group-ops", type=int, metavar="N", help="at most N ops per group")
    parser.add_argument("--out", metavar="plan.json", help="write the plan as JSON")
    parser.add_argument("--csv", metavar="groups.csv", help="write one row per group")
    parser.add_argument("--plot", metavar="plan.png", help="draw the plan (graph + buffer use)")
    parser.add_argument("--wide", action="store_true",
                        help="full op names and every column, however wide (default: fit the "
                        "terminal, op index ranges and the distinguishing tail of names)")
    search = parser.add_argument_group("searches (rs, ls, nsga2, greedy; docs/searches.md)")
    search.add_argument("--repair", default="cost", metavar="STRATEGY",
                        help="how invalid groups are split: cost (exact attribution, default), "
                        "random (the paper's baseline), gnnexplainer, pgexplainer, "
                        "rgexplainer, ig")
    search.add_argument("--evaluations", type=int, default=2_000, metavar="N",
                        help="plans scored, repairs included (default 2000; with --time-limit "
                        "whichever comes first)")
    search.add_argument("--delta", type=int, default=2, metavar="D",
                        help="local search moves a cut by 1..D positions (default 2)")
    search.add_argument("--segments", type=int, default=10, metavar="K",
                        help="segments of the topological order in a plan (default 10)")
    search.add_argument("--reference-time", type=float, default=10.0, metavar="S",
                        help="seconds the exact solver may take, after the search and timed "
                        "apart, to prove the optimum the gap is measured against (default 10; "
                        "0: gap against the whole-problem bound only)")
    parser.add_argument("--prune", choices=("safe", "aggressive"), metavar="safe|aggressive",
                        help="hybrid only: safe (default) separates the pairs proven unable to "
                        "share a group; aggressive also the pairs the --repair explainer says "
                        "must be separated, without proof (the plan is FEASIBLE, never "
                        "OPTIMAL; docs/hybrid.md)")
    parser.add_argument("--quiet", action="store_true", help="no live progress on stderr")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def _seconds(text: str) -> float:
    """A time limit: a positive, finite number of seconds (not nan, not inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):  # nan fails both comparisons
        raise argparse.ArgumentTypeError(
            f"must be a positive, finite number of seconds (got {text!r})")
    return value


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.validate import check_plan
    from fuseplan.solver.api import solve_net
    from fuseplan.solver.progress import LiveProgress
    from fuseplan.solver.search.run import SearchSettings

    hw = resolve_hw(args)
    search = SearchSettings(repair=args.repair.strip().lower(), evaluations=args.evaluations,
                            delta=args.delta, segments=args.segments,
                            reference_time_s=args.reference_time)
    _check_output_paths(args)
    graph = load_net(args)
    progress = None if args.quiet or args.json else LiveProgress()
    stop = threading.Event()
    # Python delivers signals to the main thread only, and signal.signal raises ValueError
    # anywhere else: called from another thread (compare, a user's own code), solve leaves
    # Ctrl-C to that program and keeps its handler as it is.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main else None

    def on_interrupt(signum, frame):  # first Ctrl-C: stop and keep the best plan
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if in_main:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = solve_net(
            graph, buffer_bytes=hw.buffer_bytes, scheme=hw.scheme,
            bytes_per_element=hw.bytes_per_element, method=args.method,
            time_limit_s=args.time_limit, gap=args.gap, workers=args.workers, seed=args.seed,
            pins=args.pin, forbids=args.forbid, max_group_ops=args.max_group_ops,
            progress=progress, stop=stop, search=search, hybrid=_hybrid_settings(args),
        )
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
        if progress is not None:
            progress.close()
    if result.plan is None:
        raise FusePlanError(
            f"no plan found for {graph.name!r} ({result.status}, {result.wall_time_s:.1f} s); "
            "give it more --time-limit"
        )
    from fuseplan.models.plan_build import with_graph_load

    result = dataclasses.replace(result, plan=with_graph_load(result.plan, net_load(args, graph)))
    model = make_cost_model(hw.scheme, graph, hw.bytes_per_element)
    check_plan(result.plan, graph, model)
    _warn_all_unfusable(args, result, hw)
    if args.json:
        from fuseplan.models.plan_io import plan_to_dict

        print(json.dumps(plan_to_dict(result.plan, graph), indent=2))
    else:
        _print_result(result, graph, hw, wide=args.wide)
    _write_files(args, result, graph, model)
    if stop.is_set():
        print("fuseplan solve: interrupted; the best plan so far is shown (not proven optimal)"
              if result.status != "OPTIMAL" else "fuseplan solve: interrupted after the proof",
              file=sys.stderr)
        return 130
    return 0


def _hybrid_settings(args: argparse.Namespace) -> HybridSettings | None:
    """The hybrid's settings when ``--prune`` is given (None otherwise: the defaults)."""
    if args.prune is None:
        return None
    from fuseplan.solver.hybrid.method import HybridSettings

    return HybridSettings(repair=args.repair.strip().lower(), prune=args.prune)


def _check_output_paths(args: argparse.Namespace) -> None:
    """Bad destinations fail before the search, not after it."""
    from fuseplan.models.fileio import IMAGE_SUFFIXES, check_output_path

    if args.out:
        check_output_path(args.out, what="plan JSON")
    if args.csv:
        check_output_path(args.csv, what="groups CSV")
    if args.plot:
        check_output_path(args.plot, what="drawing", suffixes=IMAGE_SUFFIXES)


def _write_files(args: argparse.Namespace, result: SolveResult, graph: Graph, model) -> None:
    from fuseplan.models.plan_io import write_groups_csv, write_plan_json

    said = sys.stderr if args.json else sys.stdout  # --json: stdout holds only the JSON
    if args.out:
        write_plan_json(result.plan, graph, model, args.out)
        print(f"wrote {args.out} (plan JSON; `fuseplan validate {args.out}` re-checks it)",
              file=said)
    if args.csv:
        write_groups_csv(result.plan, graph, args.csv)
        print(f"wrote {args.csv} (one row per group)", file=said)
    if args.plot:
        from fuseplan.solver.plot_plan import plot_plan

        plot_plan(result.plan, graph, args.plot)
        print(f"wrote {args.plot} (plan drawing)", file=said)


def _warn_all_unfusable(args: argparse.Namespace, result: SolveResult, hw: HardwareConfig) -> None:
    """A buffer that fits no op alone fuses nothing: most likely a unit left out."""
    from fuseplan.models.units import format_bytes

    groups = result.plan.groups if result.plan is not None else ()
    if not groups or any(len(g.ops) > 1 for g in groups):
        return
    unfusable = sum(1 for g in groups if not g.fusible)
    given = (args.buffer or "").strip()
    hint = (f"; a bare --buffer number is in bytes: did you mean --buffer {given}KB?"
            if given.isdigit() else "")
    what = ("every op is unfusable" if unfusable == len(groups)
            else f"{unfusable} of {len(groups)} ops are unfusable and no two ops fit together")
    size = format_bytes(hw.buffer_bytes)
    if size.replace(",", "") != f"{hw.buffer_bytes} B":
        size += f" ({hw.buffer_bytes:,} B)"
    print(f"fuseplan solve: warning: at a buffer of {size} {what}, so nothing is fused{hint}",
          file=sys.stderr)


def abbreviate(names: list[str]) -> str:
    if len(names) <= MAX_LISTED_OPS:
        return ", ".join(names)
    return f"{names[0]} .. {names[-1]} ({len(names)} ops)"


def status_text(result: SolveResult) -> str:
    if result.status == "OPTIMAL":
        return "OPTIMAL (proven)"
    if result.status == "FEASIBLE":
        if result.gap is None:
            return "FEASIBLE (no proven gap: the bound does not cover the whole problem)"
        return f"FEASIBLE, proven within {100 * result.gap:.2f} % of optimal"
    return result.status


def _print_result(
    result: SolveResult, graph: Graph, hw: HardwareConfig, *, wide: bool = False
) -> None:
    from fuseplan.models.hardware import estimate_time_s
    from fuseplan.models.units import format_bytes, format_mb

    from ._common import terminal_width
    from ._plan_table import print_plan_table

    plan = result.plan
    assert plan is not None
    print_plan_table(
        plan, graph, wide=wide, width=terminal_width(),
        title=f"{graph.name}: {len(plan.groups)} groups, {plan.scheme} at "
        f"{format_bytes(plan.buffer_bytes)} buffer, {plan.bytes_per_element} B/element",
    )
    t = plan.totals
    unfusable = [graph.ops[g.ops[0]].name for g in plan.groups if not g.fusible]
    d = result.details
    lines = [
        f"DRAM traffic, fusible groups: {fmt_int(t.fusible_dram_bytes)} B "
        f"({format_mb(t.fusible_dram_bytes)} MB)",
        f"DRAM traffic, all ops:        {fmt_int(t.all_dram_bytes)} B "
        f"({format_mb(t.all_dram_bytes)} MB)",
        f"bounds on any plan (all ops): lower {fmt_int(t.lower_bound_bytes)} B "
        f"(one group, infinite buffer), upper {fmt_int(t.upper_bound_bytes)} B (no fusion)",
        f"unfusable ops: {len(unfusable)}" + (f" ({abbreviate(unfusable)})" if unfusable else ""),
        f"status: {status_text(result)}; solver bound (fusible): "
        + ("none" if result.bound_bytes is None else f"{fmt_int(result.bound_bytes)} B"),
        f"method: {result.method} ({d.get('why', '')})",
        "ideals: " + (f"{fmt_int(d['ideals'])}" if "ideals" in d else "not counted")
        + "; candidate groups: " + (
            fmt_int(d["candidates"]) if "candidates" in d
            else f"listed lazily ({fmt_int(d['groups_priced'])} priced, "
                 f"{fmt_int(d.get('ideals_expanded', 0))} ideals expanded)"
            if "groups_priced" in d else "none listed")
        + ("" if d.get("candidates_complete", True) else " (enumeration cut short)")
        + (f"; arcs: {fmt_int(d['arcs'])}" if "arcs" in d else ""),
        f"wall time: {result.wall_time_s:.3f} s",
    ]
    seconds = estimate_time_s(t.all_dram_bytes, hw)
    if seconds is not None:
        lines.insert(2, f"DRAM time at {hw.dram_bandwidth_gb_s:g} GB/s (all ops, transfer only): "
                        f"{1e3 * seconds:.3f} ms")
    print("\n".join(lines))
