"""Benchmarks of the exact solvers: each run is a whole `fuseplan solve` process.

Three parts (``--part``):

* ``zoo``: every zoo net x buffers x schemes with ``--method auto``: status, fusible total,
  ideals, candidates, wall time of the whole process (start, imports, enumeration, solve)
  and its peak memory (ru_maxrss of that child);
* ``wide``: the frozen hard instances of ``benchmarks/instances.py`` (wide DAGs, cell
  nets) with a time limit: status, proven gap, ideals, candidates;
* ``methods``: ideals vs cpsat-flow vs cpsat-partition vs milp on the same instances: time
  to the proof and time to a plan within 1 % of the optimum (from the anytime curve).

Every row prints the exact command that produced it. Example::

    .venv/bin/python benchmarks/bench_exact.py --part zoo --nets googlenet --buffers 256
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUSEPLAN = [sys.executable, "-m", "fuseplan"]
sys.path.insert(0, str(ROOT / "benchmarks"))
from process_run import measure  # noqa: E402
BUFFERS_KB = (128, 256, 512, 1024, 2048)
SCHEMES = ("lbdf", "brr")
HARD_NETS = ("googlenet", "inception_v3", "densenet121")
METHOD_INSTANCES = (
    ("mobilenet_v2", 1024),
    ("resnet50", 512),
    ("googlenet", 128),
    ("squeezenet1_1", 512),
    ("wide:ops=200,width=4,seed=0", 128),
)


@dataclass(frozen=True)
class Run:
    command: str
    returncode: int
    wall_s: float
    peak_mb: float
    data: dict | None
    error: str


def run_solve(net: str, buffer_kb: int, scheme: str, extra: list[str], timeout_s: float) -> Run:
    """One `fuseplan solve ... --json` process: wall time, its own peak RSS (wait4), its plan."""
    args = ["solve", net, "--buffer", f"{buffer_kb}KB", "--scheme", scheme, "--json", *extra]
    command = shlex.join(["fuseplan", *args])
    code, wall, peak_mb, out, err_text = measure([*FUSEPLAN, *args], timeout_s, cwd=ROOT)
    err = err_text.strip()
    data = json.loads(out) if code == 0 else None
    return Run(command, code, wall, peak_mb, data,
               "killed at timeout" if code == -9 else (err.splitlines()[-1] if err else ""))


def fmt_status(run: Run) -> str:
    if run.data is None:
        return f"ERROR ({run.error})"
    solve = run.data["solve"]
    if solve["status"] == "FEASIBLE":
        gap = solve["gap"]
        return "FEASIBLE gap " + ("none" if gap is None else f"{100 * gap:.2f}%")
    return solve["status"]


def part_zoo(args: argparse.Namespace) -> None:
    from fuseplan.models.zoo import entries

    nets = _split_nets(args.nets) if args.nets else [e.info.name for e in entries() if e.built]
    print("| net | ops | scheme | buffer | status | fusible B | ideals | candidates | wall s | peak MB | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for net in nets:
        for scheme in args.schemes.split(","):
            for kb in (int(b) for b in args.buffers.split(",")):
                extra = ["--workers", str(args.workers)]
                if args.time_limit:
                    extra += ["--time-limit", str(args.time_limit)]
                run = run_solve(net, kb, scheme, extra, args.timeout)
                details = run.data["solve"]["details"] if run.data else {}
                target = 10.0 if net in HARD_NETS else 2.0
                ok = run.data is not None and run.data["solve"]["status"] == "OPTIMAL" and run.wall_s < target
                print(
                    f"| {net} | {run.data['graph']['ops'] if run.data else '-'} | {scheme} | {kb} KB "
                    f"| {fmt_status(run)} "
                    f"| {run.data['totals']['fusible_dram_bytes'] if run.data else '-'} "
                    f"| {details.get('ideals', '-')} | {details.get('candidates', '-')} "
                    f"| {run.wall_s:.2f} | {run.peak_mb:.0f} | {'met' if ok else 'MISSED'} (<{target:g} s) |",
                    flush=True,
                )
                if args.show_commands:
                    print(f"|   `{run.command}` |", flush=True)


def part_wide(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from instances import CELL_INSTANCES, WIDE_INSTANCES

    print("| instance | spec | scheme | buffer | status | fusible B | candidates | complete | wall s | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for inst in (*WIDE_INSTANCES, *CELL_INSTANCES):
        if args.nets and inst.name not in args.nets.split(","):
            continue
        for scheme in args.schemes.split(","):
            for kb in inst.buffers_kb:
                extra = ["--time-limit", str(args.time_limit or 60), "--workers", str(args.workers)]
                run = run_solve(inst.spec, kb, scheme, extra, args.timeout)
                d = run.data["solve"]["details"] if run.data else {}
                print(
                    f"| {inst.name} | {inst.spec} | {scheme} | {kb} KB | {fmt_status(run)} "
                    f"| {run.data['totals']['fusible_dram_bytes'] if run.data else '-'} "
                    f"| {d.get('candidates', '-')} | {d.get('candidates_complete', '-')} "
                    f"| {run.wall_s:.1f} | {run.peak_mb:.0f} |",
                    flush=True,
                )
                if args.show_commands:
                    print(f"|   `{run.command}` |", flush=True)


def _time_to_within(curve: list[list[float]], optimum: int, rel: float) -> float | None:
    for seconds, value in curve:
        if value <= optimum * (1 + rel):
            return seconds
    return None


def _split_nets(text: str) -> list[str]:
    """Nets are comma-separated, or ';'-separated when a generator spec (with its own
    commas) is among them: ``--nets "wide:ops=200,width=4,seed=0;googlenet"``."""
    return text.split(";") if ";" in text or ":" in text else text.split(",")


def part_methods(args: argparse.Namespace) -> None:
    instances = METHOD_INSTANCES
    if args.nets:
        instances = tuple((n, int(b)) for n in _split_nets(args.nets) for b in args.buffers.split(","))
    methods = ("ideals", "cpsat-flow", "cpsat-partition", "milp")
    print("| net | buffer | scheme | method | status | fusible B | to 1 % (s) | solver wall (s) | process wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for net, kb in instances:
        for scheme in args.schemes.split(","):
            runs = {}
            for method in methods:
                extra = ["--method", method, "--time-limit", str(args.time_limit or 60),
                         "--workers", str(args.workers)]
                runs[method] = run_solve(net, kb, scheme, extra, args.timeout)
            optimal = [r.data["totals"]["fusible_dram_bytes"] for r in runs.values()
                       if r.data and r.data["solve"]["status"] == "OPTIMAL"]
            best = min(optimal) if optimal else None
            for method, run in runs.items():
                solve = run.data["solve"] if run.data else {}
                curve = solve.get("details", {}).get("curve", [])
                within = _time_to_within(curve, best, 0.01) if best and curve else None
                print(
                    f"| {net} | {kb} KB | {scheme} | {method} | {fmt_status(run)} "
                    f"| {run.data['totals']['fusible_dram_bytes'] if run.data else '-'} "
                    f"| {'-' if within is None else f'{within:.2f}'} "
                    f"| {solve.get('wall_time_s', float('nan')):.2f} | {run.wall_s:.2f} |",
                    flush=True,
                )
            if len(set(optimal)) > 1:
                print(f"| {net} | {kb} KB | {scheme} | DISAGREEMENT | {sorted(set(optimal))} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("zoo", "wide", "methods"), default="zoo")
    parser.add_argument("--nets", help="comma-separated nets (zoo names or specs; wide: labels)")
    parser.add_argument("--buffers", default=",".join(map(str, BUFFERS_KB)), help="KB, comma-separated")
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, help="passed to fuseplan solve")
    parser.add_argument("--timeout", type=float, default=900, help="kill a run after this many s")
    parser.add_argument("--show-commands", action="store_true", help="print each run's command")
    args = parser.parse_args(argv)
    print(f"# {shlex.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])}  "
          f"(cpu count {os.cpu_count()}, load {os.getloadavg()[0]:.1f})")
    {"zoo": part_zoo, "wide": part_wide, "methods": part_methods}[args.part](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
