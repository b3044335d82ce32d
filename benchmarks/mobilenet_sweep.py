"""The README's headline: the MobileNet sweep, exact, both schemes, 16 KB to 2 MB.

Runs (resumable: a second call only redoes missing runs)

    fuseplan bench --nets mobilenets --buffers sweep --schemes lbdf,brr --methods exact \
        --time-limit 60 --jobs 2 --out OUT

then `fuseplan bench report OUT`, and prints the Markdown tables for the README (all-ops DRAM
in MB, * = proven optimal), the machine, the total wall time and the commands. With
`--images DIR` it copies the two DRAM-vs-buffer plots there (the README shows them from
docs/img/).

    .venv/bin/python benchmarks/mobilenet_sweep.py --out runs/mobilenet-sweep --images docs/img
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

MB = 1024 * 1024


def _fuseplan(*args: str) -> list[str]:
    return [sys.executable, "-m", "fuseplan", *args]


def _table(rows: list[dict], scheme: str) -> list[str]:
    buffers = sorted({r["buffer_bytes"] for r in rows if r["scheme"] == scheme})
    nets = list(dict.fromkeys(r["net"] for r in rows))
    label = {r["buffer_bytes"]: r["buffer"] for r in rows}
    out = [
        "| net | " + " | ".join(label[b] for b in buffers) + " |",
        "|---|" + "---|" * len(buffers),
    ]
    cell = {(r["net"], r["buffer_bytes"]): r for r in rows if r["scheme"] == scheme}
    for net in nets:
        values = []
        for b in buffers:
            r = cell.get((net, b))
            if r is None or r.get("all_dram_bytes") is None:
                values.append("—")
            else:
                star = "*" if r["status"] == "OPTIMAL" else ""
                values.append(f"{r['all_dram_bytes'] / MB:.3f}{star}")
        out.append(f"| {net} | " + " | ".join(values) + " |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/mobilenet-sweep")
    parser.add_argument("--jobs", default="2")
    parser.add_argument("--images", help="copy the DRAM plots into this folder")
    args = parser.parse_args()

    bench = ["bench", "--nets", "mobilenets", "--buffers", "sweep", "--schemes", "lbdf,brr",
             "--methods", "exact", "--time-limit", "60", "--jobs", args.jobs, "--out", args.out]
    start = time.perf_counter()
    subprocess.run(_fuseplan(*bench), check=True)
    wall = time.perf_counter() - start
    subprocess.run(_fuseplan("bench", "report", args.out), check=True, stdout=subprocess.DEVNULL)

    rows = [json.loads(line) for line in Path(args.out, "rows.jsonl").read_text().splitlines() if line]
    runs_s = sum(r.get("wall_time_s") or 0 for r in rows)
    slowest = max(rows, key=lambda r: r.get("wall_time_s") or 0)
    print("LBDF, all-ops DRAM (MB), * = proven optimal\n")
    print("\n".join(_table(rows, "lbdf")))
    print("\nBRR, all-ops DRAM (MB), * = proven optimal\n")
    print("\n".join(_table(rows, "brr")))
    optimal = sum(r["status"] == "OPTIMAL" for r in rows)
    print(
        f"\n{len(rows)} runs, {optimal} proven optimal; this call took {wall:.1f} s wall "
        f"(a resumed call skips finished runs); the runs themselves {runs_s:.1f} s in all, the "
        f"slowest {slowest['wall_time_s']:.2f} s ({slowest['net']}, {slowest['scheme']}, "
        f"{slowest['buffer']}), peak memory {max(r.get('peak_rss_mb') or 0 for r in rows):.0f} MB."
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("command: fuseplan " + " ".join(bench))
    print(f"report:  fuseplan bench report {args.out}")
    if args.images:
        folder = Path(args.images)
        folder.mkdir(parents=True, exist_ok=True)
        for scheme in ("lbdf", "brr"):
            shutil.copyfile(Path(args.out, "report", f"{scheme}_dram.png"),
                            folder / f"mobilenet_sweep_{scheme}.png")
        print(f"plots:   {folder}/mobilenet_sweep_lbdf.png, mobilenet_sweep_brr.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
