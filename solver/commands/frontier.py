"""``fuseplan frontier``: the exact optimal DRAM as a step function of the buffer size."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from ._common import add_net_argument, fmt_int, load_net, net_load, print_table
from .solve import _seconds

NAME = "frontier"
HELP = (
    "the exact optimal all-ops (and fusible) DRAM as a step function of the buffer size, "
    "every breakpoint with a proven-optimal plan (docs/frontier.md)"
)
SCHEMA_VERSION = 1


def _scheme_list(text: str) -> list[str]:
    names = [s.strip().lower() for s in text.replace("both", "lbdf,brr").split(",") if s.strip()]
    bad = [s for s in names if s not in ("lbdf", "brr")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"use lbdf, brr or both (got {text!r})")
    return list(dict.fromkeys(names))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_net_argument(parser)
    parser.add_argument("--scheme", type=_scheme_list, default=["lbdf", "brr"],
                        metavar="lbdf|brr|both",
                        help="cost model(s): lbdf, brr, or both on one plot (default both)")
    parser.add_argument("--from", dest="from_size", default="16KB", metavar="SIZE",
                        help="smallest buffer (default 16KB; KB = 1024 B)")
    parser.add_argument("--to", dest="to_size", default="8MB", metavar="SIZE",
                        help="largest buffer (default 8MB)")
    parser.add_argument("--bytes-per-element", type=int, choices=(1, 2, 4), default=1,
                        help="1 = int8 (default), 2 = fp16, 4 = fp32")
    parser.add_argument("--out", metavar="DIR",
                        help="write frontier.json, frontier.png and each breakpoint's plan "
                        "(plan_<scheme>_<bytes>.json) into DIR (created if missing)")
    parser.add_argument("--plot", metavar="PNG", help="draw the step curves to this file")
    parser.add_argument("--time-limit", type=_seconds, metavar="S",
                        help="seconds for the enumeration and the lattice arcs at --to, and "
                        "for each solve of a net over the lattice cap (solved by auto from "
                        "scratch); a step not proven optimal in time is marked so")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes to enumerate candidate groups (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no live progress on stderr")
    parser.add_argument("--json", action="store_true", help="print the frontier as JSON")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.units import parse_bytes
    from fuseplan.solver.frontier import check_range, compute_frontier
    from fuseplan.solver.problem import Limits
    from fuseplan.solver.progress import LiveProgress

    sizes = []
    for flag, text in (("--from", args.from_size), ("--to", args.to_size)):
        try:
            sizes.append(parse_bytes(text))
        except FusePlanError as err:
            raise FusePlanError(f"{flag}: {err}") from None
    from_bytes, to_bytes = sizes
    check_range(from_bytes, to_bytes)
    if args.workers < 1:
        raise FusePlanError(f"--workers must be at least 1 (got {args.workers})")
    out_dir = _out_dir(args.out)
    if args.plot:
        from fuseplan.models.fileio import IMAGE_SUFFIXES, check_output_path

        check_output_path(args.plot, what="drawing", suffixes=IMAGE_SUFFIXES)
    graph = load_net(args)
    load = net_load(args, graph)
    frontiers = []
    for scheme in args.scheme:
        progress = None if args.quiet or args.json else LiveProgress()
        model = make_cost_model(scheme, graph, args.bytes_per_element)
        limits = Limits(time_limit_s=args.time_limit, workers=args.workers, progress=progress)
        try:
            frontiers.append(compute_frontier(graph, model, scheme, from_bytes, to_bytes,
                                              limits=limits))
        finally:
            if progress is not None:
                progress.close()
    files = [_write_plans(f, graph, load, out_dir) for f in frontiers]
    doc = frontier_json(frontiers, files, shlex.join(["fuseplan", *sys.argv[1:]]))
    plots = [p for p in (args.plot, out_dir and out_dir / "frontier.png") if p]
    if plots:
        from fuseplan.solver.plot_frontier import plot_frontiers

        for path in plots:
            plot_frontiers(frontiers, path)
    if out_dir is not None:
        from fuseplan.models.fileio import write_json_atomic

        write_json_atomic(out_dir / "frontier.json", doc)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for f, names in zip(frontiers, files):
        _print_frontier(f, names)
    for path in plots:
        print(f"plot: {path}")
    if out_dir is not None:
        print(f"JSON: {out_dir / 'frontier.json'}")
    return 0


def frontier_json(frontiers: list[Any], files: list[list[str | None]], command: str
                  ) -> dict[str, Any]:
    """The document ``--json`` prints and ``--out`` writes (models/schemas/frontier.schema.json)."""
    from fuseplan.solver.frontier import frontier_to_dict

    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "frontiers": [frontier_to_dict(f, names) for f, names in zip(frontiers, files)],
    }


def _out_dir(text: str | None) -> Path | None:
    from fuseplan.models.errors import FusePlanError

    if text is None:
        return None
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise FusePlanError(f"--out {text!r} is a file: give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FusePlanError(f"--out {text!r}: cannot create the folder ({err.strerror})") from None
    return path


def _write_plans(frontier: Any, graph: Any, load: Any, out_dir: Path | None) -> list[str | None]:
    """Each row's plan, validated, as ``plan_<scheme>_<bytes>.json``; the names (relative to
    the folder), or Nones without --out."""
    if out_dir is None:
        return [None] * len(frontier.steps)
    from fuseplan.models.plan_build import with_graph_load
    from fuseplan.models.plan_io import write_plan_json

    names: list[str | None] = []
    for step in frontier.steps:
        result = step.result
        name = f"plan_{frontier.scheme}_{step.buffer_bytes}.json"
        write_plan_json(with_graph_load(result.plan, load), graph, result.model, out_dir / name)
        names.append(name)
    return names


def _print_frontier(f: Any, files: list[str | None]) -> None:
    from fuseplan.models.units import format_bytes, format_mb

    rows = []
    for k, (s, name) in enumerate(zip(f.steps, files)):
        until = f.steps[k + 1].buffer_bytes - 1 if k + 1 < len(f.steps) else f.to_bytes
        rows.append((fmt_int(s.buffer_bytes), fmt_int(until), format_mb(s.all_ops_bytes),
                     format_mb(s.fusible_bytes), s.groups, s.status, name or "-"))
    title = (f"{f.net}: {f.scheme.upper()} frontier, {format_bytes(f.from_bytes)} to "
             f"{format_bytes(f.to_bytes)}, {f.bytes_per_element} B/element")
    how = (f"bisection over {f.candidate_values:,} candidate values, {f.evaluated:,} evaluated"
           if f.method == "bisection" else
           f"{f.candidate_values:,} distinct candidate values, all evaluated by an incremental "
           "shortest path")
    caption = (f"{len(f.steps)} steps; {f.candidates:,} candidate groups enumerated once at "
               f"{format_bytes(f.to_bytes)}; {how}; {f.solves:,} exact solves; "
               f"{f.seconds:.1f} s; lower bound {format_mb(f.lower_bound_bytes)} MB"
               + ("" if f.complete else "; NOT all rows proven optimal"))
    print_table(title, ("buffer B", "until B", "all-ops MB", "fusible MB", "groups", "status",
                        "plan file"), rows, right_align=(0, 1, 2, 3, 4), caption=caption)
