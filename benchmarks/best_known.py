"""Best-known plans of the hard instances of issue 14: the yardstick of bench_hybrid.py.

``benchmarks/results/best_known.jsonl`` holds one line per long run (a whole ``fuseplan
solve`` process): the net, its label, scheme, buffer, the plan's fusible bytes, its status
(OPTIMAL or FEASIBLE), the bound the run proved, the method, the time limit, the wall time,
the exact command, the date and the 1-minute load average at start and end. The best known
of an instance is its least fusible total over every line (an OPTIMAL line is the optimum);
the best bound is the greatest bound over every line (each is a valid lower bound).

Commands::

    .venv/bin/python benchmarks/best_known.py run googlenet brr 512 --method auto --time-limit 600
    .venv/bin/python benchmarks/best_known.py table      # the best known per instance
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "best_known.jsonl"

Key = tuple[str, str, int]  # (net as fuseplan accepts it, scheme, buffer KB)


@dataclass(frozen=True)
class Entry:
    """One long run, as recorded in ``best_known.jsonl``."""

    net: str
    instance: str
    scheme: str
    buffer_kb: int
    fusible: int
    status: str
    bound: int | None
    method: str
    time_limit_s: float
    wall_s: float
    command: str
    date: str
    load: str
    peak_rss_mb: float | None

    @property
    def key(self) -> Key:
        return (self.net, self.scheme, self.buffer_kb)


@dataclass(frozen=True)
class BestKnown:
    """The yardstick of one instance: its best plan and the best bound of every run."""

    entry: Entry  # the run with the least fusible total (OPTIMAL first, then the latest)
    bound: int | None  # the greatest bound over every run of the instance
    runs: int

    @property
    def fusible(self) -> int:
        return self.entry.fusible

    @property
    def proven(self) -> bool:
        return self.entry.status == "OPTIMAL"

    @property
    def gap_percent(self) -> float | None:
        """How far the best plan may be above the optimum, from the best bound."""
        if self.proven:
            return 0.0
        if self.bound is None or self.fusible == 0:
            return None
        return 100 * (self.fusible - self.bound) / self.fusible


def read_entries(path: Path = RESULTS) -> list[Entry]:
    if not path.exists():
        return []
    return [Entry(**json.loads(line)) for line in path.read_text().splitlines() if line]


def best_known(path: Path = RESULTS) -> dict[Key, BestKnown]:
    """The best known of every instance with at least one run in ``path``."""
    by_key: dict[Key, list[Entry]] = {}
    for entry in read_entries(path):
        by_key.setdefault(entry.key, []).append(entry)
    known = {}
    for key, entries in by_key.items():  # at a full tie the later run (re-measured) counts
        best = min(reversed(entries), key=lambda e: (e.fusible, e.status != "OPTIMAL"))
        bounds = [e.bound for e in entries if e.bound is not None]
        known[key] = BestKnown(best, max(bounds) if bounds else None, len(entries))
    return known


def entry_from_plan(plan: dict, net: str, instance: str, method: str, time_limit_s: float,
                    wall_s: float, command: str, date: str, load: str,
                    peak_rss_mb: float | None) -> Entry:
    """The entry of one run from the plan JSON it printed (``fuseplan solve --json``)."""
    solve = plan["solve"]
    return Entry(net=net, instance=instance, scheme=plan["scheme"],
                 buffer_kb=plan["buffer_bytes"] // 1024,
                 fusible=int(plan["totals"]["fusible_dram_bytes"]), status=solve["status"],
                 bound=solve.get("bound_bytes"), method=method, time_limit_s=time_limit_s,
                 wall_s=round(wall_s, 1), command=command, date=date, load=load,
                 peak_rss_mb=peak_rss_mb)


def append(entry: Entry, path: Path = RESULTS) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(asdict(entry)) + "\n")


def run(net: str, scheme: str, buffer_kb: int, method: str, time_limit_s: float, seed: int,
        instance: str) -> Entry:
    """One whole ``fuseplan solve`` process; its plan is re-validated by the CLI."""
    args = ["solve", net, "--buffer", f"{buffer_kb}KB", "--scheme", scheme, "--method", method,
            "--time-limit", f"{time_limit_s:g}", "--seed", str(seed), "--json", "--quiet"]
    load_start = os.getloadavg()[0]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "fuseplan", *args], capture_output=True,
                          text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"error: {net} {scheme} {buffer_kb} KB {method}: "
                         f"{done.stderr.strip().splitlines()[-1:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return entry_from_plan(json.loads(done.stdout), net, instance, method, time_limit_s, wall,
                           "fuseplan " + shlex.join(args), date,
                           f"{load_start:.2f} -> {os.getloadavg()[0]:.2f}", round(peak, 1))


def markdown(known: dict[Key, BestKnown]) -> str:
    lines = ["| instance | scheme, KB | best known B | status | best bound B | gap % | "
             "method, limit s | wall s | load | date | runs |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (_, scheme, kb), best in sorted(known.items(), key=lambda item: item[0]):
        e = best.entry
        gap = best.gap_percent
        lines.append(f"| {e.instance} | {scheme.upper()} {kb} | {e.fusible:,} | {e.status} | "
                     f"{'-' if best.bound is None else f'{best.bound:,}'} | "
                     f"{'-' if gap is None else f'{gap:.1f}'} | {e.method}, {e.time_limit_s:g} | "
                     f"{e.wall_s:g} | {e.load} | {e.date} | {best.runs} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="one long run, appended to the results file")
    one.add_argument("net")
    one.add_argument("scheme", choices=("lbdf", "brr"))
    one.add_argument("buffer_kb", type=int)
    one.add_argument("--method", default="auto")
    one.add_argument("--time-limit", type=float, default=600.0)
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--instance", help="label for tables (default: the net)")
    sub.add_parser("table", help="the best known per instance, as markdown")
    parser.add_argument("--file", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.command == "run":
        entry = run(args.net, args.scheme, args.buffer_kb, args.method, args.time_limit,
                    args.seed, args.instance or args.net)
        append(entry, args.file)
        print(json.dumps(asdict(entry)))
        return 0
    print(markdown(best_known(args.file)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
