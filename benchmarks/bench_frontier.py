"""The exact frontier against a power-of-two sweep of the same range, in one run.

For each net and scheme: the wall time of ``compute_frontier`` (every breakpoint, a proven
plan per row) and of the exact solver (``auto``, from scratch) at each power of two from
--from to --to (16 KB ... 8 MB: 10 buffers), which is what peers report (Optimus sweeps
16 KB-1 MB in powers of two). It checks that the frontier agrees with every sweep point,
prints a Markdown table, the machine, the load before and after, and the command, and
writes them to --results.

    .venv/bin/python benchmarks/bench_frontier.py \
        --results benchmarks/results/frontier_mobilenets.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import load_graph
from fuseplan.models.units import format_bytes, parse_bytes
from fuseplan.solver.api import solve_problem
from fuseplan.solver.frontier import compute_frontier
from fuseplan.solver.problem import Limits, make_problem

NETS = ("mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large")


def powers_of_two(lo: int, hi: int) -> list[int]:
    out = []
    b = lo
    while b <= hi:
        out.append(b)
        b *= 2
    return out


def sweep(net: str, scheme: str, buffers: list[int]) -> tuple[float, dict[int, int]]:
    """Seconds and all-ops optimum per buffer, each solve from scratch (graph loaded once)."""
    graph = load_graph(net)
    model = make_cost_model(scheme, graph, 1)
    start = time.perf_counter()
    values = {}
    for b in buffers:
        result = solve_problem(make_problem(graph, model, b), Limits())
        assert result.status == "OPTIMAL" and result.plan is not None
        values[b] = result.plan.totals.all_dram_bytes
    return time.perf_counter() - start, values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--schemes", default="lbdf,brr")
    parser.add_argument("--from", dest="lo", default="16KB")
    parser.add_argument("--to", dest="hi", default="8MB")
    parser.add_argument("--results", help="write the Markdown report here")
    args = parser.parse_args()
    lo, hi = parse_bytes(args.lo), parse_bytes(args.hi)
    buffers = powers_of_two(lo, hi)
    load_before = os.getloadavg()
    lines = [
        "| net | scheme | steps | candidate groups | candidate values | evaluated | exact "
        "solves | frontier s | power-of-two sweep s (%d buffers) | ratio | sweep agrees |"
        % len(buffers),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for net in args.nets.split(","):
        for scheme in args.schemes.split(","):
            graph = load_graph(net)
            model = make_cost_model(scheme, graph, 1)
            start = time.perf_counter()
            f = compute_frontier(graph, model, scheme, lo, hi)  # type: ignore[arg-type]
            frontier_s = time.perf_counter() - start
            sweep_s, values = sweep(net, scheme, buffers)
            agrees = all(f.at(b).all_ops_bytes == v for b, v in values.items())
            line = (f"| {net} | {scheme} | {len(f.steps)} | {f.candidates:,} | "
                    f"{f.candidate_values:,} | {f.evaluated:,} | {f.solves:,} | "
                    f"{frontier_s:.1f} | {sweep_s:.1f} | {frontier_s / sweep_s:.1f} | "
                    f"{'yes' if agrees and f.complete else 'NO'} |")
            print(line, flush=True)
            lines.append(line)
    load_after = os.getloadavg()
    command = "python benchmarks/bench_frontier.py " + " ".join(sys.argv[1:])
    notes = [
        "",
        f"Range {format_bytes(lo)} to {format_bytes(hi)}, int8. Frontier: every breakpoint "
        "exact, a proven-optimal plan per step (`steps` rows; `exact solves` runs of the "
        "solver). Sweep: `auto` from scratch at each power of two, same process, right after.",
        f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}; load average before {load_before[0]:.2f}, after "
        f"{load_after[0]:.2f}",
        f"command: {command}",
    ]
    print("\n".join(notes))
    if args.results:
        title = "# Exact frontier vs a power-of-two sweep\n\n"
        Path(args.results).write_text(title + "\n".join(lines + notes) + "\n")
        print(f"written: {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
