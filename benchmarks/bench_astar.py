"""Method ``astar`` against ``ideals``: each run is a whole `fuseplan solve` process.

For every net x scheme x buffer: status, fusible total, wall time of the whole process
(start, imports, search) and its peak memory (ru_maxrss of that child, via wait4), the
ideals expanded and groups listed, and the same for ``--method ideals`` (killed at
``--ideals-timeout``; ``--no-ideals`` skips it). ``--cases net:scheme:KB,...`` runs those
rows instead of the grid (say, the rows ``auto`` sends to A*: ``fuseplan solve NET
--method auto`` prints the method). ``equal`` says whether both proved the same
optimum. The 1-minute load average is printed beside every row: the machine is shared.
Example::

    .venv/bin/python benchmarks/bench_astar.py --nets googlenet --buffers 256 --schemes lbdf
    .venv/bin/python benchmarks/bench_astar.py --cases inception_v3:lbdf:2048 --timeout 120
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_exact import Run, fmt_status, run_solve  # noqa: E402

NETS = ("googlenet", "inception_v3", "densenet121", "mobilenet_v2", "resnet50", "efficientnet_b0")
BUFFERS_KB = (128, 256, 512, 1024, 2048)
SCHEMES = ("lbdf", "brr")
HARD_NETS = ("googlenet", "inception_v3", "densenet121")


def _objective(run: Run) -> int | None:
    return None if run.data is None else run.data["totals"]["fusible_dram_bytes"]


def _status(run: Run) -> str:
    return "killed at timeout" if run.error == "killed at timeout" else fmt_status(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--buffers", default=",".join(str(b) for b in BUFFERS_KB))
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    parser.add_argument("--timeout", type=float, default=600.0, help="astar run kill (s)")
    parser.add_argument("--ideals-timeout", type=float, default=120.0)
    parser.add_argument("--no-ideals", action="store_true")
    parser.add_argument("--cases", default="", help="net:scheme:KB,... (instead of the grid)")
    args = parser.parse_args()
    print("command: " + shlex.join(["python", *sys.argv]))
    print("| net | scheme | buffer | astar status | fusible B | astar wall s | peak MB "
          "| expanded | groups listed | ideals status | ideals wall s | equal | load 1m | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    if args.cases:
        cases = [(net, scheme, int(kb)) for net, scheme, kb in
                 (case.split(":") for case in args.cases.split(","))]
    else:
        cases = [(net, scheme, kb) for net in args.nets.split(",")
                 for scheme in args.schemes.split(",")
                 for kb in (int(b) for b in args.buffers.split(","))]
    for net, scheme, kb in cases:
        load = os.getloadavg()[0]
        run = run_solve(net, kb, scheme, ["--method", "astar", "--quiet"], args.timeout)
        details = run.data["solve"]["details"] if run.data else {}
        if args.no_ideals:
            ideals_status, ideals_wall, equal = "skipped", "-", "-"
        else:
            ref = run_solve(net, kb, scheme, ["--method", "ideals", "--quiet"],
                            args.ideals_timeout)
            ideals_status, ideals_wall = _status(ref), f"{ref.wall_s:.2f}"
            both = run.data is not None and ref.data is not None
            equal = "yes" if both and _objective(run) == _objective(ref) else (
                "NO" if both else "-")
        target = 10.0 if net in HARD_NETS else 2.0
        solved = run.data is not None and run.data["solve"]["status"] == "OPTIMAL"
        met = "met" if solved and run.wall_s < target else "MISSED"
        print(
            f"| {net} | {scheme} | {kb} KB | {_status(run)} | {_objective(run) or '-'} "
            f"| {run.wall_s:.2f} | {run.peak_mb:.0f} "
            f"| {details.get('ideals_expanded', '-')} | {details.get('sets_listed', '-')} "
            f"| {ideals_status} | {ideals_wall} | {equal} | {load:.1f} "
            f"| {met} (<{target:g} s) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
