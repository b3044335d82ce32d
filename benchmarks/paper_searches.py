"""The paper's search tables re-measured against our proven optimum (issue 13).

Tables III/IV: beta = 128 KB, 2,000 evaluations, RS and LS, both schemes; Table II: LBDF,
256 KB, 5,000 evaluations, RS, LS and NSGA-II. Every run goes through `fuseplan bench` (so a
second call resumes, and the rows are kept as they come), 5 seeds per setting:

    fuseplan bench --nets NETS --buffers 128KB --schemes lbdf,brr \
        --methods rs:cost,rs:random,ls:cost,ls:random,greedy --seeds 5 \
        --evaluations 2000 --jobs 2 --out OUT/table34

then prints, per (net, scheme, search, repair): mean and spread (min-max) of the fusible DRAM
over the seeds in MB, the best of the seeds, the proven optimum of the same instance (the
search's reference, `auto` within 10 s), the mean gap of the seeds to it, the paper's figure,
and the mean search time (without the reference solve).

    .venv/bin/python benchmarks/paper_searches.py --table 34 --out runs/paper
    .venv/bin/python benchmarks/paper_searches.py --table 34 --nets mobilenet_v2,resnet50 \
        --repairs cost,random --out runs/paper        # the reduced grid

The learned repairs at a stated, smaller budget (cost and random run again at the same one,
so every comparison is at equal evaluations; a separate --out keeps the 2,000-evaluation rows
apart):

    .venv/bin/python benchmarks/paper_searches.py --table 34 --nets mobilenet_v2,resnet50 \
        --repairs gnnexplainer,pgexplainer,rgexplainer,ig,cost,random --evaluations 200 \
        --seeds 1 --out runs/paper_learned

With more than one seed it also prints, per (net, scheme, search), random's best of the seeds
against the best of the seeds of each other repair and of the best learned one ("GET").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean

MB = 1024 * 1024

# The paper's figures (fusible DRAM, MB); "base" = random repair, "GET" = its best explainer.
PAPER_34 = {  # (scheme, search, repair kind) -> net -> MB
    ("brr", "ls", "random"): {"mobilenet_v2": 15.101, "vgg16": 27.606, "resnet50": 83.685,
                              "resnet18": 27.127, "squeezenet1_0": 8.202},
    ("brr", "ls", "explained"): {"mobilenet_v2": 13.401, "vgg16": 26.975, "resnet50": 83.317,
                                 "resnet18": 26.975, "squeezenet1_0": 6.232},
    ("brr", "rs", "random"): {"mobilenet_v2": 16.195, "vgg16": 29.274, "resnet50": 91.866,
                              "resnet18": 28.525, "squeezenet1_0": 10.249},
    ("brr", "rs", "explained"): {"mobilenet_v2": 12.593, "vgg16": 28.124, "resnet50": 91.669,
                                 "resnet18": 27.599, "squeezenet1_0": 7.601},
    ("lbdf", "ls", "random"): {"mobilenet_v2": 9.803, "vgg16": 5.973, "resnet50": 25.764,
                               "resnet18": 5.974, "squeezenet1_0": 3.839},
    ("lbdf", "ls", "explained"): {"mobilenet_v2": 8.823, "vgg16": 5.973, "resnet50": 24.196,
                                  "resnet18": 5.974, "squeezenet1_0": 3.585},
    ("lbdf", "rs", "random"): {"mobilenet_v2": 13.209, "vgg16": 6.856, "resnet50": 39.092,
                               "resnet18": 6.856, "squeezenet1_0": 10.080},
    ("lbdf", "rs", "explained"): {"mobilenet_v2": 11.432, "vgg16": 6.268, "resnet50": 32.036,
                                  "resnet18": 6.464, "squeezenet1_0": 7.333},
}
PAPER_2 = {  # (search, repair kind) -> net -> MB (LBDF, 256 KB, 5k evaluations)
    ("rs", "random"): {"efficientnet_b3": 172.802, "resnet152": 113.661,
                       "deeplabv3_mobilenet_v3_large": 148.153},
    ("rs", "explained"): {"efficientnet_b3": 162.774, "resnet152": 94.453,
                          "deeplabv3_mobilenet_v3_large": 142.548},
    ("ls", "random"): {"efficientnet_b3": 90.500, "resnet152": 80.733,
                       "deeplabv3_mobilenet_v3_large": 116.644},
    ("ls", "explained"): {"efficientnet_b3": 73.569, "resnet152": 74.461,
                          "deeplabv3_mobilenet_v3_large": 113.942},
    ("nsga2", "random"): {"efficientnet_b3": 77.334, "resnet152": 77.205,
                          "deeplabv3_mobilenet_v3_large": 114.351},
    ("nsga2", "explained"): {"efficientnet_b3": 61.265, "resnet152": 66.621,
                             "deeplabv3_mobilenet_v3_large": 113.602},
}
TABLES = {
    "34": {"nets": "mobilenet_v2,vgg16,resnet50,resnet18,squeezenet1_0", "buffer": "128KB",
           "schemes": "lbdf,brr", "searches": "rs,ls", "evaluations": "2000"},
    "2": {"nets": "efficientnet_b3,resnet152,deeplabv3_mobilenet_v3_large", "buffer": "256KB",
          "schemes": "lbdf", "searches": "rs,ls,nsga2", "evaluations": "5000"},
}


def paper_figure(table: str, scheme: str, search: str, repair: str, net: str) -> float | None:
    kind = "random" if repair == "random" else "explained"
    if table == "34":
        return PAPER_34.get((scheme, search, kind), {}).get(net)
    return PAPER_2.get((search, kind), {}).get(net)


def _rows(out: Path) -> list[dict]:
    path = out / "rows.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarise(rows: list[dict], table: str) -> list[str]:
    """The Markdown table: one line per (net, scheme, method)."""
    cells: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("fusible_dram_bytes") is not None:
            cells[(r["net"], r["scheme"], r["method"])].append(r)
    lines = [
        "| net | scheme | search:repair | seeds | mean MB | min-max MB | best MB | reference MB "
        "| mean gap | paper MB | mean evaluations | mean search s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (net, scheme, method), rs in sorted(cells.items()):
        values = [r["fusible_dram_bytes"] / MB for r in rs]
        reference, label = _reference(rs)
        gaps = [v / reference - 1 for v in values] if reference else []
        search, _, repair = method.partition(":")
        paper = paper_figure(table, scheme, search, repair or "-", net) if repair else None
        times = [r["search_time_s"] for r in rs if r.get("search_time_s") is not None]
        evaluations = [r["evaluations"] for r in rs if r.get("evaluations")]
        lines.append(
            f"| {net} | {scheme} | {method} | {len(rs)} | {mean(values):.3f} | "
            f"{min(values):.3f}-{max(values):.3f} | {min(values):.3f} | "
            + ("-" if reference is None else f"{reference:.3f}{label}") + " | "
            + ("-" if not gaps else f"{100 * mean(gaps):.1f} %") + " | "
            + ("-" if paper is None else f"{paper:.3f}") + " | "
            + ("-" if not evaluations else f"{mean(evaluations):,.0f}") + " | "
            + ("-" if not times else f"{mean(times):.2f}") + " |"
        )
    return lines


LEARNED = ("gnnexplainer", "pgexplainer", "rgexplainer", "ig")


def best_of_seeds(rows: list[dict]) -> list[str]:
    """Per (net, scheme, search) with more than one seed: random's best of the seeds against
    every other repair's best of the seeds, and GET (the best learned repair's best)."""
    best: dict[tuple[str, str, str], dict[str, tuple[float, int]]] = defaultdict(dict)
    for (net, scheme, method), values in _values(rows).items():
        search, _, repair = method.partition(":")
        if repair and len(values) > 1:
            best[(net, scheme, search)][repair] = (min(values), len(values))
    lines = ["| net | scheme | search | seeds | random best MB | cost best MB | "
             + " | ".join(f"{r} best MB" for r in LEARNED) + " | GET best MB | GET vs random |",
             "|---" * (8 + len(LEARNED)) + "|"]
    for (net, scheme, search), by in sorted(best.items()):
        if "random" not in by:
            continue
        learned = [by[r][0] for r in LEARNED if r in by]
        get = min(learned) if learned else None
        cells = [net, scheme, search, str(min(n for _, n in by.values())),
                 f"{by['random'][0]:.3f}"]
        cells += [f"{by[r][0]:.3f}" if r in by else "-" for r in ("cost", *LEARNED)]
        cells.append("-" if get is None else f"{get:.3f}")
        cells.append("-" if get is None else f"{100 * (get / by['random'][0] - 1):+.1f} %")
        lines.append("| " + " | ".join(cells) + " |")
    return lines if len(lines) > 2 else []


def by_search(rows: list[dict]) -> list[str]:
    """One line per (net, scheme, search), one column per repair: mean fusible MB over the
    seeds (gap to the optimum; seeds when more than one), then greedy and the paper's
    base -> GET (the layout of the README's learned-repair table)."""
    values = _values(rows)
    repairs = [r for r in ("cost", "random", *LEARNED)
               if any(m.partition(":")[2] == r for _, _, m in values)]
    keys = sorted({(n, sc, m.partition(":")[0]) for n, sc, m in values if ":" in m})
    head = ["net", "scheme", "search", "optimum MB", *repairs, "greedy", "paper base -> GET"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for net, scheme, search in keys:
        optimum, label = _reference([r for r in rows if r["net"] == net
                                     and r["scheme"] == scheme])
        row = [net, scheme, search, "-" if optimum is None else f"{optimum:.3f}{label}"]
        for method in [f"{search}:{r}" for r in repairs] + ["greedy"]:
            v = values.get((net, scheme, method))
            if not v:
                row.append("-")
                continue
            gap = "" if optimum is None else f" ({100 * (mean(v) / optimum - 1):.1f} %"
            seeds = f", {len(v)} seeds" if len(v) > 1 and gap else ""
            row.append(f"{mean(v):.3f}{gap}{seeds}{')' if gap else ''}")
        base = paper_figure("34", scheme, search, "random", net)
        get = paper_figure("34", scheme, search, "cost", net)
        row.append("-" if base is None else f"{base:.3f} -> {get:.3f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _values(rows: list[dict]) -> dict[tuple[str, str, str], list[float]]:
    out: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r.get("fusible_dram_bytes") is not None:
            out[(r["net"], r["scheme"], r["method"])].append(r["fusible_dram_bytes"] / MB)
    return out


def _reference(rows: list[dict]) -> tuple[float | None, str]:
    """(MB, label): the proven optimum of the instance when some run's reference proved it,
    else the whole-problem lower bound, labelled " (bound)"; (None, "") without either."""
    optima = {r["bound_bytes"] for r in rows if r.get("reference") == "optimum"}
    if optima:
        return min(optima) / MB, ""
    bounds = {r["bound_bytes"] for r in rows if r.get("bound_bytes") is not None}
    return (max(bounds) / MB, " (bound)") if bounds else (None, "")


def compact(rows: list[dict], table: str) -> list[str]:
    """The README's table: per (net, scheme), the proven optimum, then each method's mean
    fusible MB over the seeds with its mean gap, then the paper's base -> GET figures."""
    cells: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get("fusible_dram_bytes") is not None:
            cells[(r["net"], r["scheme"])][r["method"]].append(r)
    methods = sorted({m for by in cells.values() for m in by},
                     key=lambda m: (m == "greedy", m.partition(":")[0], m))
    searches = [s for s in dict.fromkeys(m.partition(":")[0] for m in methods if m != "greedy")
                if any(paper_figure(table, scheme, s, "random", net) is not None
                       for net, scheme in cells)]  # the paper's columns it has figures for
    head = ["net", "scheme", "optimum MB"] + methods + [f"paper {s} base -> GET" for s in searches]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for (net, scheme), by in sorted(cells.items()):
        optimum, label = _reference([r for rs in by.values() for r in rs])
        row = [net, scheme, "-" if optimum is None else f"{optimum:.3f}{label}"]
        for m in methods:
            values = [r["fusible_dram_bytes"] / MB for r in by.get(m, [])]
            if not values:
                row.append("-")
                continue
            gap = "" if optimum is None else f" ({100 * (mean(values) / optimum - 1):.1f} %)"
            row.append(f"{mean(values):.3f}{gap}")
        for search in searches:
            base = paper_figure(table, scheme, search, "random", net)
            get = paper_figure(table, scheme, search, "cost", net)
            row.append("-" if base is None else f"{base:.3f} -> {get:.3f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", choices=sorted(TABLES), default="34")
    parser.add_argument("--out", default="runs/paper")
    parser.add_argument("--nets", help="override the table's nets")
    parser.add_argument("--schemes", help="override the table's schemes")
    parser.add_argument("--repairs", default="cost,random", help="repair strategies to run")
    parser.add_argument("--seeds", default="5")
    parser.add_argument("--jobs", default="2")
    parser.add_argument("--searches", help="override the table's searches, e.g. nsga2")
    parser.add_argument("--evaluations", help="override the table's evaluations per run (a "
                        "smaller stated budget; run every compared repair at it)")
    parser.add_argument("--time-limit", help="seconds per run (with the evaluations, whichever "
                        "comes first; a reduced grid on a loaded machine)")
    parser.add_argument("--report-only", action="store_true", help="summarise existing rows")
    args = parser.parse_args()
    spec = TABLES[args.table]
    nets = args.nets or spec["nets"]
    searches = (args.searches or spec["searches"]).split(",")
    methods = [f"{s}:{r}" for s in searches for r in args.repairs.split(",")]
    methods.append("greedy")
    out = Path(args.out) / f"table{args.table}"
    command = [sys.executable, "-m", "fuseplan", "bench", "--nets", nets,
               "--buffers", spec["buffer"], "--schemes", args.schemes or spec["schemes"],
               "--methods", ",".join(methods), "--seeds", args.seeds,
               "--evaluations", args.evaluations or spec["evaluations"], "--jobs", args.jobs,
               "--out", str(out)]
    if args.time_limit:
        command += ["--time-limit", args.time_limit]
    started = time.perf_counter()
    if not args.report_only:
        print("$ " + " ".join(command[2:]).replace(sys.executable, "python"), flush=True)
        code = subprocess.call(command)
        if code not in (0, 1):
            return code
    rows = _rows(out)
    print("\n".join(summarise(rows, args.table)))
    print("\nREADME table (mean over seeds, gap to the proven optimum):\n")
    print("\n".join(compact(rows, args.table)))
    if any(r.get("method", "").partition(":")[2] in LEARNED for r in rows):
        print("\nBy search, one column per repair (mean over seeds, gap to the optimum):\n")
        print("\n".join(by_search(rows)))
    best = best_of_seeds(rows)
    if best:
        print("\nBest of the seeds (the paper's fair comparison):\n")
        print("\n".join(best))
    load = os.getloadavg()
    print(f"\n{len(rows)} runs; this call {time.perf_counter() - started:.0f} s; "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {load[0]:.2f}")
    print("command: .venv/bin/python benchmarks/paper_searches.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
