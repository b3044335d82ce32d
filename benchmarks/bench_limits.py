"""Do time limits hold? Every exact method, whole `fuseplan solve` processes, a time limit.

Goal (issue 9): with ``--time-limit L`` every exact method returns within L + 1 s of solver
time (the ``wall_time_s`` the result reports: from the graph loaded to the answer) and the
whole process within L + 2 s (start, imports, loading, solving, printing), on every frozen
instance of ``benchmarks/instances.py`` (both schemes, 128 KB and 512 KB) and on GoogLeNet
and Inception-v3 at 1 MB. A method that refuses an instance (``ideals`` and ``cpsat-flow``
over their ideal caps) must refuse within the same bounds: such a row reads "refused".

Each row prints the command that produced it; the header gives the machine and each row
the 1-minute load average when it ran (the machine may be shared). Runs are sequential.
The process CPU time (user + system, workers included) is printed too: on a loaded
machine the wall time includes waiting for a core, the CPU time is the work done.

    .venv/bin/python benchmarks/bench_limits.py --limits 1
    .venv/bin/python benchmarks/bench_limits.py --limits 10 --subset
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_exact import FUSEPLAN, ROOT  # noqa: E402
from instances import ALL_INSTANCES, BUFFERS_KB  # noqa: E402

SCHEMES = ("lbdf", "brr")
ZOO = (("googlenet", 1024), ("inception_v3", 1024))
# the 10 s subset: easy, medium, hard and cell nets, and the two zoo nets, one buffer each
SUBSET = (
    ("wide:ops=200,width=4,seed=0", 512),
    ("wide:ops=200,width=8,seed=0", 128),
    ("wide:ops=1000,width=16,seed=0", 512),
    ("cells:cell=nasnet,cells=5,seed=0", 512),
    ("googlenet", 1024),
    ("inception_v3", 1024),
)
SOLVER_SLACK_S = 1.0
PROCESS_SLACK_S = 2.0


@dataclass(frozen=True)
class Run:
    command: str
    returncode: int
    wall_s: float
    cpu_s: float  # user + system time of the process and its children (forked workers)
    data: dict | None
    error: str


def run_solve(net: str, kb: int, scheme: str, extra: list[str], timeout_s: float) -> Run:
    """One whole `fuseplan solve ... --json` process: wall and CPU time, its answer. On a
    loaded machine the wall time includes waiting for a core; the CPU time does not."""
    args = ["solve", net, "--buffer", f"{kb}KB", "--scheme", scheme, "--json", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run([*FUSEPLAN, *args], capture_output=True, text=True, cwd=ROOT,
                              timeout=timeout_s)
        code, out, err = proc.returncode, proc.stdout, proc.stderr.strip()
    except subprocess.TimeoutExpired:
        code, out, err = -9, "", "killed at timeout"
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    data = json.loads(out) if code == 0 else None
    return Run(shlex.join(["fuseplan", *args]), code, wall, cpu, data,
               err.splitlines()[-1] if err else "")


def exact_methods() -> list[str]:
    """The registered exact methods, one name per module (``exact`` is ``auto``)."""
    from fuseplan.solver.api import METHODS

    names, modules = [], set()
    for name, info in METHODS.items():
        if info.kind == "exact" and info.module not in modules:
            modules.add(info.module)
            names.append(name)
    return names


def instances(subset: bool, schemes: tuple[str, ...]) -> list[tuple[str, int, str]]:
    if subset:
        return [(net, kb, "lbdf") for net, kb in SUBSET]
    out = [(i.spec, kb, s) for i in ALL_INSTANCES for kb in BUFFERS_KB for s in schemes]
    return out + [(net, kb, s) for net, kb in ZOO for s in schemes]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def row(limit: float, method: str, net: str, kb: int, scheme: str, run: Run) -> tuple[str, bool]:
    """The markdown row of one run and whether it is within both bounds."""
    if run.data is not None:
        solve = run.data["solve"]
        status = solve["status"]
        solver_s = float(solve["wall_time_s"])
    else:
        status = "refused" if run.returncode == 2 else f"ERROR ({run.error})"
        solver_s = None
    solver_ok = solver_s is None or solver_s <= limit + SOLVER_SLACK_S
    process_ok = run.wall_s <= limit + PROCESS_SLACK_S
    ok = solver_ok and process_ok and (run.data is not None or run.returncode == 2)
    solver_text = "-" if solver_s is None else f"{solver_s:.2f}"
    text = (f"| {limit:g} | {method} | {net} | {scheme} | {kb} KB | {status} | {solver_text} "
            f"| {run.wall_s:.2f} | {run.cpu_s:.2f} | {os.getloadavg()[0]:.2f} "
            f"| {'ok' if ok else 'OVER'} | `{run.command}` |")
    if not ok and run.error and run.data is None and run.returncode != 2:
        text += f" {run.error}"
    return text, ok


def over_rows(output: Path) -> list[tuple[float, str, str, int, str]]:
    """(limit, method, net, buffer KB, scheme) of the rows marked OVER in an output."""
    rows = []
    for line in output.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if line.startswith("| ") and len(cells) > 11 and cells[11] == "OVER":
            rows.append((float(cells[1]), cells[2], cells[3], int(cells[5].split()[0]),
                         cells[4]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", default="1,10", help="time limits in s (default 1,10)")
    parser.add_argument("--methods", help="comma-separated (default: every exact method)")
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    parser.add_argument("--subset", action="store_true",
                        help="only the representative subset (for the 10 s rows)")
    parser.add_argument("--nets", help="only these nets (';'-separated specs)")
    parser.add_argument("--rerun", metavar="OUTPUT",
                        help="run again only the rows marked OVER in an earlier output")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="kill a process after this many seconds beyond its limit")
    args = parser.parse_args()
    methods = args.methods.split(",") if args.methods else exact_methods()
    todo = instances(args.subset, tuple(args.schemes.split(",")))
    if args.nets:
        keep = set(args.nets.split(";"))
        todo = [t for t in todo if t[0] in keep]
    plan = [(float(limit), method, net, kb, scheme)
            for limit in args.limits.split(",") for method in methods
            for net, kb, scheme in todo]
    if args.rerun:
        plan = over_rows(Path(args.rerun))
    print(f"machine: {machine()}; load average at start {os.getloadavg()}")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print("| limit s | method | net | scheme | buffer | status | solver s | process s "
          "| process CPU s | load 1 min | within | command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    over = total = 0
    worst: tuple[float, str] = (0.0, "")
    # runs, within, max solver s, max process s, max process CPU s, CPU within limit + 2 s
    summary: dict[tuple[float, str], list[float]] = {}
    for limit, method, net, kb, scheme in plan:
        extra = ["--method", method, "--time-limit", f"{limit:g}",
                 "--workers", str(args.workers)]
        run = run_solve(net, kb, scheme, extra, limit + args.timeout)
        text, ok = row(limit, method, net, kb, scheme, run)
        print(text, flush=True)
        total += 1
        over += not ok
        solver_s = run.data["solve"]["wall_time_s"] if run.data else 0.0
        entry = summary.setdefault((limit, method), [0, 0, 0.0, 0.0, 0.0, 0])
        entry[0] += 1
        entry[1] += ok
        entry[2] = max(entry[2], solver_s)
        entry[3] = max(entry[3], run.wall_s)
        entry[4] = max(entry[4], run.cpu_s)
        entry[5] += run.cpu_s <= limit + PROCESS_SLACK_S
        if run.wall_s - limit > worst[0]:
            worst = (run.wall_s - limit, text)
    print(f"\n{total} runs, {over} over limit + {SOLVER_SLACK_S:g} s (solver) or "
          f"+ {PROCESS_SLACK_S:g} s (process); load average at end {os.getloadavg()}")
    print(f"largest process overrun: {worst[0]:.2f} s: {worst[1]}")
    print("\n| limit s | method | runs | within both | max solver s | max process s "
          "| max process CPU s | CPU within limit + 2 s |")
    print("|---|---|---|---|---|---|---|---|")
    for (limit, method), (runs, within, solver_max, wall_max, cpu_max, cpu_ok) in summary.items():
        print(f"| {limit:g} | {method} | {runs} | {within} | {solver_max:.2f} "
              f"| {wall_max:.2f} | {cpu_max:.2f} | {cpu_ok} |")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
