"""Limits on large inputs: a 5,000-op wide graph and VGG-16 as a real-size ONNX file.

Targets (issue 16): the 5,000-op graph imports within 30 s and 2 GB, every search returns
within its time budget, the exact solver stops at its time limit and says what it proved,
and no process peaks above 8 GB; VGG-16 written by our own exporter with random float32
weights of real size (about 528 MB, nothing downloaded) imports within 30 s and 2 GB.

Every figure is one whole process (start, imports, work), timed from outside, with its own
peak resident memory (``os.wait4``); the table prints each row's command and the load.

    .venv/bin/python benchmarks/bench_limits_large.py --out runs/limits-large
    .venv/bin/python benchmarks/bench_limits_large.py --out runs/limits-large --skip-vgg --budget 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from process_run import measure  # noqa: E402
PY = sys.executable
WIDE = dict(ops=5000, width=8, seed=0, res=224, channels=32)
IMPORT_S, IMPORT_MB, PEAK_MB = 30.0, 2048.0, 8192.0
SLACK_S = 3.0  # process start, imports and printing around a solver's own time limit


@dataclass
class Row:
    what: str
    command: str
    code: int
    wall_s: float
    peak_mb: float
    load: float
    note: str
    target: str
    ok: bool


def row(what: str, argv: list[str], timeout_s: float, target_s: float, target_mb: float,
        note_of=lambda out: "") -> Row:
    code, wall, peak, out, err = measure(argv, timeout_s, cwd=ROOT)
    shown = shlex.join(["fuseplan" if a.endswith("fuseplan") else a for a in argv[2:]]
                       if argv[:2] == [PY, "-m"] else argv)
    note = note_of(out) if code == 0 else (err.strip().splitlines() or ["no message"])[-1][:160]
    ok = code == 0 and wall <= target_s and peak <= target_mb
    r = Row(what, shown, code, wall, peak, os.getloadavg()[0], note,
            f"<= {target_s:g} s, <= {target_mb / 1024:g} GB", ok)
    print(f"{what}: exit {code}, {wall:.1f} s, {peak:,.0f} MB, {note} [{'ok' if ok else 'MISSED'}]",
          flush=True)
    return r


def solve_note(out: str) -> str:
    plan = json.loads(out)
    solve, totals = plan["solve"], plan["totals"]
    gap = solve.get("gap")
    details = solve.get("details") or {}
    parts = [solve["status"], f"all-ops {totals['all_dram_bytes'] / 2**20:.2f} MB",
             f"solver {solve['wall_time_s']:.1f} s", f"{len(plan['groups'])} groups"]
    if gap is not None:
        parts.append(f"gap {100 * gap:.1f} %")
    if details.get("evaluations") is not None:
        parts.append(f"{details['evaluations']} evaluations")
    return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/limits-large")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="--time-limit of every search and of the exact solver (default 60)")
    parser.add_argument("--buffer", default="256KB")
    parser.add_argument("--skip-vgg", action="store_true")
    parser.add_argument("--skip-wide", action="store_true")
    parser.add_argument("--methods", help="only these solve methods on the wide graph "
                        "(comma-separated; default: greedy, the searches, hybrid, auto)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    fp = [PY, "-m", "fuseplan"]
    if not args.skip_wide:
        spec = "wide:" + ",".join(f"{k}={v}" for k, v in WIDE.items())
        graph_json = out / "wide5000.json"
        make = ("from fuseplan.models.gen_wide import build_wide; "
                "from fuseplan.models.graph_json import write_graph_json; "
                f"write_graph_json(build_wide({spec!r}, **{WIDE!r}), {str(graph_json)!r})")
        rows.append(row("wide 5,000 ops: generate + write graph JSON", [PY, "-c", make], 600,
                        IMPORT_S, IMPORT_MB, lambda _: f"{graph_json.stat().st_size / 2**20:.1f} MB JSON"))
        rows.append(row("wide 5,000 ops: import (fuseplan graph)",
                        [*fp, "graph", str(graph_json), "--json", str(out / "again.json")], 600,
                        IMPORT_S, IMPORT_MB, lambda _: "read, checked, written again"))
        from fuseplan.solver.api import METHODS

        searches = ["greedy", "rs:cost", "ls:cost", "nsga2:cost", "rs:random"]
        if "hybrid" in METHODS and (ROOT / "solver" / "hybrid").exists():
            searches.append("hybrid")
        wanted = None if args.methods is None else args.methods.split(",")
        for method in searches if wanted is None else [m for m in searches if m in wanted]:
            argv = [*fp, "solve", str(graph_json), "--buffer", args.buffer, "--method", method,
                    "--time-limit", f"{args.budget:g}", "--reference-time", "0", "--quiet", "--json"]
            rows.append(row(f"wide 5,000 ops: {method}, --time-limit {args.budget:g}", argv,
                            args.budget * 3 + 120, args.budget + SLACK_S + 30, PEAK_MB, solve_note))
        argv = [] if wanted is not None and "auto" not in wanted else [
                *fp, "solve", str(graph_json), "--buffer", args.buffer, "--method", "auto",
                "--time-limit", f"{args.budget:g}", "--quiet", "--json"]
        if argv:
            rows.append(row(f"wide 5,000 ops: exact (auto), --time-limit {args.budget:g}", argv,
                            args.budget * 3 + 120, args.budget + SLACK_S + 30, PEAK_MB, solve_note))
    if not args.skip_vgg:
        onnx_path = out / "vgg16.onnx"
        make = ("from fuseplan.models.zoo import build; from fuseplan.models.onnx_export import "
                f"export_onnx; export_onnx(build('vgg16'), {str(onnx_path)!r})")
        rows.append(row("VGG-16 ONNX: export, random weights", [PY, "-c", make], 900, 300, PEAK_MB,
                        lambda _: f"{onnx_path.stat().st_size / 2**20:,.0f} MB file"))
        rows.append(row("VGG-16 ONNX: import (fuseplan graph)",
                        [*fp, "graph", str(onnx_path), "--json", str(out / "vgg16.json")], 600,
                        IMPORT_S, IMPORT_MB, lambda _: "37 ops"))
    load = os.getloadavg()
    lines = [
        f"`{shlex.join(['python', 'benchmarks/bench_limits_large.py', *sys.argv[1:]])}` "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end)",
        "",
        "| what | wall s | peak MB | target | met | result | load | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.what} | {r.wall_s:.1f} | {r.peak_mb:,.0f} | {r.target} | "
                     f"{'yes' if r.ok else '**no**'} | {r.note} | {r.load:.1f} | `{r.command}` |")
    text = "\n".join(lines) + "\n"
    (out / "limits.md").write_text(text)
    print(text)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
