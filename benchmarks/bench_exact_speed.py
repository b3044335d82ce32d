"""Time to proof of ``fuseplan solve --method auto``, old code against new (issue 14).

Each case runs as a whole process (imports, warm start and all), the old code (a git
revision, ``--baseline``, extracted with ``git archive`` and run through ``PYTHONPATH``)
and the new one back to back, so both see the same load. Per run: the status, the fusible
objective, the candidate groups, the wall time, the CPU time (user + sys) and the peak
RSS of the process, and the 1-minute load average at its start. ``--cold`` adds, for the
first case, one run of the new code with an empty numba cache (the JIT compile counted).
Example::

    .venv/bin/python benchmarks/bench_exact_speed.py --cases googlenet:brr:512KB

``--workers 1,2`` runs each side with both ``--workers`` values; ``--warmup`` first runs
each side once untimed (the baseline's extracted tree compiles its numba cache then).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "592388f"  # main before the compiled kernel
HARD = ("googlenet:brr:512KB,googlenet:brr:1MB,googlenet:brr:2MB,inception_v3:lbdf:1MB,"
        "inception_v3:lbdf:2MB,inception_v3:brr:512KB")


def old_tree(rev: str, where: Path) -> Path:
    """The code of ``rev`` laid out as an importable ``fuseplan`` package under ``where``."""
    data = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,
                          capture_output=True).stdout
    src = where / "src"
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(src, filter="data")
    pkg = where / "path" / "fuseplan"
    pkg.mkdir(parents=True)
    for name in ("__init__.py", "__main__.py"):
        (pkg / name).write_bytes((src / "fuseplan" / name).read_bytes())
    for sub in ("models", "explain", "solver"):
        (pkg / sub).symlink_to(src / sub)
    return where / "path"


def check_old(old_path: Path, env: dict[str, str]) -> None:
    """The old side imports the old tree (``python -m`` puts its working directory first
    on sys.path: run there, not in the repository, whose fuseplan/ would win)."""
    where = subprocess.run(
        [sys.executable, "-c", "import fuseplan.solver.candidates as c; print(c.__file__)"],
        env=env, cwd=old_path, check=True, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(old_path.parent.resolve()):
        raise SystemExit(f"the old side imports {where}, not the baseline tree")


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> dict:
    """One process: wall, CPU and peak RSS (its own rusage), status, objective, candidates."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=cwd)
    out = proc.stdout.read() if proc.stdout else ""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    wall = time.perf_counter() - start
    status = re.search(r"status: ([A-Z]+)", out)
    gap = re.search(r"proven within ([\d.]+ %)", out)
    objective = re.search(r"DRAM traffic, fusible groups: ([\d,]+) B", out)
    cands = re.search(r"candidate groups: ([\d,]+)", out)
    method = re.search(r"^method: (\S+)", out, re.M)
    return {
        "status": (status.group(1) if status else "?") + (f" {gap.group(1)}" if gap else ""),
        "objective": objective.group(1) if objective else "?",
        "candidates": cands.group(1) if cands else "-",
        "method": method.group(1) if method else "?",
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=HARD, help="net:scheme:buffer,...")
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--sides", default="old,new")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--workers", default="1",
                        help="--workers values to run each side with, e.g. 1,2")
    parser.add_argument("--warmup", action="store_true",
                        help="first run each side once, untimed, on the first case (the "
                             "baseline tree's numba cache is empty until then)")
    args = parser.parse_args()
    print("command:", shlex.join([".venv/bin/python", "benchmarks/bench_exact_speed.py",
                                  *sys.argv[1:]]))
    print(f"cpu count {os.cpu_count()}; baseline {args.baseline}; time limit "
          f"{args.time_limit:g} s; wall and CPU of the whole process")
    print("| net | scheme | buffer | code | method | status | fusible B | candidates | wall s "
          "| CPU s | peak MB | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        old_path = old_tree(args.baseline, Path(tmp)) if "old" in args.sides else None
        for i, case in enumerate(args.cases.split(",")):
            net, scheme, buffer = case.split(":")
            base = ["solve", net, "--buffer", buffer, "--scheme", scheme, "--method", "auto",
                    "--time-limit", f"{args.time_limit:g}"]
            sides = args.sides.split(",")
            if args.cold and i == 0:
                sides = ["new (cold)", *sides]
            if args.warmup and i == 0:
                sides = [f"{side} (warm-up)" for side in sides] + sides
            runs = [(side, w) for side in sides for w in args.workers.split(",")]
            for side, workers in runs:
                solve = [*base, "--workers", workers]
                env = dict(os.environ)
                cwd = ROOT
                if side.startswith("old"):
                    assert old_path is not None
                    env["PYTHONPATH"] = str(old_path)
                    cwd = old_path
                    check_old(old_path, env)
                    cmd = [sys.executable, "-m", "fuseplan", *solve]
                else:
                    cmd = [str(ROOT / ".venv" / "bin" / "fuseplan"), *solve]
                if side == "new (cold)":
                    env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba-cold")
                r = run(cmd, env, cwd)
                if side.endswith("(warm-up)"):
                    continue
                if args.workers != "1":
                    side = f"{side} w{workers}"
                print(f"| {net} | {scheme} | {buffer} | {side} | {r['method']} | {r['status']} | "
                      f"{r['objective']} | {r['candidates']} | {r['wall']:.1f} | "
                      f"{r['cpu']:.1f} | {r['rss_mb']:.0f} | {r['load']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
