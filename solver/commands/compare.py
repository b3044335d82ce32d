"""``fuseplan compare``: every method on one net and buffer, side by side, the exact row as
the yardstick (``docs/hybrid.md``, "fuseplan compare").

Methods run one after another through the library (``api.solve_problem``), never through the
CLI: no signal handler is installed, so this runs from any thread. Each method gets the time
limit and, for searches, the evaluation budget; searches and the hybrid run once per seed
and report their best plan. Every plan is validated before it is written.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._common import add_net_argument, load_net, net_load, print_table
from ._hw import add_hw_arguments, resolve_hw

NAME = "compare"
HELP = "run exact, hybrid and the searches on one net and compare their plans"
BEST_REPAIR = "cost"  # best first-cut rate in benchmarks/results/rectify_rates_*.md (docs/hybrid.md)
DEFAULT_METHODS = ("exact", "hybrid", "greedy",
                   "rs:random", f"rs:{BEST_REPAIR}", "ls:random", f"ls:{BEST_REPAIR}",
                   "nsga2:random", f"nsga2:{BEST_REPAIR}")
SCHEMA = "fuseplan.compare/1"
MB = 1 << 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_net_argument(parser)
    add_hw_arguments(parser)
    parser.add_argument("--time-limit", type=float, default=30.0, metavar="S",
                        help="seconds per method and seed (default 30)")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="seeds 0..N-1 for the searches and the hybrid (best kept; "
                        "default 1)")
    parser.add_argument("--evaluations", type=int, default=2_000, metavar="N",
                        help="plans scored per search and seed (default 2000)")
    parser.add_argument("--methods", metavar="METHOD[:REPAIR],...",
                        help="default: " + ",".join(DEFAULT_METHODS) + "; 'all' adds every "
                        "available repair strategy to rs, ls and nsga2")
    parser.add_argument("--out", metavar="DIR",
                        help="write the plans, compare.csv, compare.json and anytime.png here")


@dataclass
class Row:
    """One method's best run over the seeds."""

    method: str
    status: str = "ERROR"
    fusible_bytes: int | None = None
    all_bytes: int | None = None
    bound_bytes: int | None = None
    wall_time_s: float = 0.0
    evaluations: int | None = None
    seeds: int = 0
    error: str | None = None
    curve: list[list[float]] = field(default_factory=list)
    result: Any = None
    gap: float | None = None


def method_list(text: str | None) -> list[str]:
    """The method specs asked for (see ``--methods``)."""
    from fuseplan.explain.registry import STRATEGIES, available
    from fuseplan.solver.api import split_method

    if not text:
        return list(DEFAULT_METHODS)
    specs: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part == "all":
            specs += DEFAULT_METHODS
            specs += [f"{search}:{name}" for search in ("rs", "ls", "nsga2")
                      for name in STRATEGIES if available(name)]
        else:
            split_method(part)
            specs.append(part)
    return list(dict.fromkeys(specs))


def run_compare(problem, specs: list[str], *, time_limit_s: float, seeds: int,
                evaluations: int, stop=None) -> list[Row]:
    """Runs every spec on ``problem`` (library calls only) and returns the rows."""
    from fuseplan.models.errors import FusePlanError
    from fuseplan.solver.api import METHODS, solve_problem, split_method
    from fuseplan.solver.problem import Limits
    from fuseplan.solver.search.run import SearchSettings

    rows = []
    for spec in specs:
        name, _ = split_method(spec)
        runs = seeds if (METHODS[name].kind == "heuristic" and name != "greedy") \
            or name == "hybrid" else 1
        row = Row(spec)
        times = []
        for seed in range(runs):
            limits = Limits(time_limit_s=time_limit_s, seed=seed, stop=stop)
            settings = SearchSettings(evaluations=evaluations, reference_time_s=0)
            started = time.perf_counter()
            try:
                result = solve_problem(problem, limits, spec, settings)
            except FusePlanError as err:
                row.error = str(err)
                continue
            times.append(time.perf_counter() - started)
            row.seeds += 1
            if result.plan is None:
                continue
            if row.fusible_bytes is None or result.objective_bytes < row.fusible_bytes:
                row.result = result
                row.status = result.status
                row.fusible_bytes = result.objective_bytes
                row.all_bytes = result.plan.totals.all_dram_bytes
                row.bound_bytes = result.bound_bytes
                row.evaluations = result.details.get("evaluations")
                row.curve = [list(p) for p in result.curve]
        row.wall_time_s = sorted(times)[len(times) // 2] if times else 0.0
        rows.append(row)
    _gaps(rows)
    return rows


def _gaps(rows: list[Row]) -> None:
    """Gap of each row to the exact row's plan (the optimum when it is OPTIMAL). When the
    exact row is OPTIMAL no row may be below it: that would be a bug, reported loudly."""
    exact = next((r for r in rows if r.method in ("exact", "auto")), None)
    if exact is None or exact.fusible_bytes is None:
        return
    for row in rows:
        if row.fusible_bytes is None or exact.fusible_bytes <= 0:
            continue
        row.gap = (row.fusible_bytes - exact.fusible_bytes) / exact.fusible_bytes
        if exact.status == "OPTIMAL" and row.fusible_bytes < exact.fusible_bytes:
            raise AssertionError(f"{row.method} found {row.fusible_bytes:,} B, below the "
                                 f"proven optimum {exact.fusible_bytes:,} B")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.errors import FusePlanError
    from fuseplan.solver.problem import make_problem

    if args.seeds < 1:
        raise FusePlanError(f"--seeds must be at least 1 (got {args.seeds})")
    if not 0 < args.time_limit < float("inf"):
        raise FusePlanError(f"--time-limit must be a positive number (got {args.time_limit})")
    specs = method_list(args.methods)
    hw = resolve_hw(args)
    graph = load_net(args)
    model = make_cost_model(hw.scheme, graph, hw.bytes_per_element)
    problem = make_problem(graph, model, hw.buffer_bytes)
    started = time.perf_counter()
    rows = run_compare(problem, specs, time_limit_s=args.time_limit, seeds=args.seeds,
                       evaluations=args.evaluations)
    total = time.perf_counter() - started
    exact = next((r for r in rows if r.method in ("exact", "auto")), None)
    yard = "the proven optimum" if exact and exact.status == "OPTIMAL" else "the exact row"
    print_table(
        f"{graph.name}, {hw.buffer_bytes // 1024} KB, {hw.scheme.upper()}",
        ["method", "fusible MB", "all-ops MB", "gap %", "status", "time s", "evaluations"],
        [[r.method, _mb(r.fusible_bytes), _mb(r.all_bytes),
          "-" if r.gap is None else f"{100 * r.gap:.2f}", r.status if not r.error
          else f"ERROR: {r.error}", f"{r.wall_time_s:.2f}",
          "-" if r.evaluations is None else f"{r.evaluations:,}"] for r in rows],
        right_align=(1, 2, 3, 5, 6),
        caption=f"gap: fusible DRAM above {yard}; MB = 2^20 B; {total:.1f} s in all, "
                f"load average {os.getloadavg()[0]:.2f}",
    )
    for row in rows:
        if row.result is not None and row.method.startswith("hybrid"):
            print(f"{row.method}: {row.result.details.get('why', '')}")
    if args.out:
        written = write_outputs(Path(args.out), rows, graph, model, net_load(args, graph),
                                args, hw, total)
        print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:.3f}"


def write_outputs(folder: Path, rows: list[Row], graph, model, load, args, hw,
                  total: float) -> list[Path]:
    """The plans (validated), compare.csv, compare.json and anytime.png in ``folder``."""
    import csv

    from fuseplan.models.fileio import write_text_atomic
    from fuseplan.models.plan_build import with_graph_load
    from fuseplan.models.plan_io import write_plan_json

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    records = []
    for row in rows:
        plan_file = None
        if row.result is not None and row.result.plan is not None:
            plan_file = f"plan-{row.method.replace(':', '-')}.json"
            write_plan_json(with_graph_load(row.result.plan, load), graph, model,
                            folder / plan_file)
        records.append({
            "method": row.method, "status": row.status, "error": row.error,
            "fusible_dram_bytes": row.fusible_bytes, "all_dram_bytes": row.all_bytes,
            "fusible_mb": None if row.fusible_bytes is None else round(row.fusible_bytes / MB, 3),
            "all_mb": None if row.all_bytes is None else round(row.all_bytes / MB, 3),
            "gap_to_exact": row.gap, "bound_bytes": row.bound_bytes,
            "wall_time_s": round(row.wall_time_s, 4), "evaluations": row.evaluations,
            "seeds": row.seeds, "plan_file": plan_file, "curve": row.curve,
        })
    exact = next((r for r in rows if r.method in ("exact", "auto")), None)
    document = {
        "schema": SCHEMA, "net": graph.name, "buffer_bytes": hw.buffer_bytes,
        "scheme": hw.scheme, "bytes_per_element": hw.bytes_per_element,
        "time_limit_s": args.time_limit, "seeds": args.seeds, "evaluations": args.evaluations,
        "yardstick": None if exact is None else {"method": exact.method,
                                                 "status": exact.status,
                                                 "fusible_dram_bytes": exact.fusible_bytes},
        "total_time_s": round(total, 3), "load_average": round(os.getloadavg()[0], 2),
        "rows": records,
    }
    path = folder / "compare.json"
    write_text_atomic(path, json.dumps(document, indent=2) + "\n")
    written.append(path)
    path = folder / "compare.csv"
    columns = ["method", "fusible_mb", "all_mb", "gap_to_exact", "status", "wall_time_s",
               "evaluations", "fusible_dram_bytes", "all_dram_bytes", "bound_bytes", "seeds",
               "plan_file"]
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    write_text_atomic(path, text.getvalue())
    written.append(path)
    written.append(plot_anytime(folder / "anytime.png", rows, f"{graph.name}, "
                                f"{hw.buffer_bytes // 1024} KB, {hw.scheme.upper()}"))
    return written


def plot_anytime(path: Path, rows: list[Row], title: str) -> Path:
    """Fusible DRAM of the best plan so far against time, one step line per method; the
    exact row's bound as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    end = max([r.wall_time_s for r in rows] + [1e-3])
    for row in rows:
        if not row.curve:
            continue
        xs = [max(1e-3, p[0]) for p in row.curve] + [max(1e-3, row.wall_time_s)]
        ys = [p[1] / MB for p in row.curve] + [row.curve[-1][1] / MB]
        ax.step(xs, ys, where="post", label=row.method)
        if row.bound_bytes is not None and row.method in ("exact", "auto", "hybrid"):
            ax.hlines(row.bound_bytes / MB, 1e-3, end, linestyles="dashed", linewidth=0.8,
                      colors=ax.lines[-1].get_color())
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log)")
    ax.set_ylabel("fusible DRAM, MB (dashed: proven bound)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
