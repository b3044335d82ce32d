"""The LP bound (``solver/lp_bound.py``) on the frozen wide and cell instances: how tight,
how fast, against the bounds quoted today (issue 14, item 8).

Each instance runs in its own process (``--one``), timed whole with its peak memory
(``process_run.measure``). The child builds the problem, runs ``lp_lower_bound`` under
``--time-limit`` (omit it for an unbounded run: enumeration up to the 6 M candidate cap),
then, untimed, ``bounds.whole_problem_bound`` (A*'s estimate from the empty ideal), and
prints one JSON line. The driver adds the best known plan and the best bound quoted so far
(``auto``'s A* estimate, the hybrid's master bound: the runs recorded in
``benchmarks/results/hyb_*.jsonl`` and ``wide_exact_rows.csv``; for zoo nets the optimum
``auto`` proved in ``exact_zoo.md`` is the best known plan) and prints a table:
gap = (best known plan - bound) / best known plan.

    .venv/bin/python benchmarks/bench_lp_bound.py --instances w8-200,darts-5 \\
        --schemes lbdf --buffers 128 --time-limit 60 --out /tmp/lp.jsonl

``--multicut --baseline DIR`` runs each multicut row twice, the second time with
``PYTHONPATH=DIR`` (an export of an older commit, ``mkdir -p DIR/fuseplan && git archive
C | tar -x -C DIR/fuseplan``), and prints old against new beside the best known plan.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results"
BOUNDS_BEFORE = "2026-12-03T06:41Z"  # later runs' bounds may hold the multicut bound (the
# hybrid quotes it since 58cdc61): "bound before" takes only the bounds of earlier runs
KNOWN_FILES = ("hyb_wide.jsonl", "hyb_wide512.jsonl", "hyb_zoo.jsonl", "hyb2_wide_hybrid.jsonl",
               "best_known.jsonl")


def multicut_one(spec: str, scheme: str, buffer_kb: int, time_limit: float | None) -> dict:
    """The child of ``--multicut``: the multicut bound (``solver/multicut_bound.py``) under
    the time limit, the whole-problem bound beside it (untimed)."""
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.solver.bounds import whole_problem_bound
    from fuseplan.solver.multicut_bound import multicut_bound
    from fuseplan.solver.problem import Limits, make_problem
    from fuseplan.solver.progress import Deadline

    graph = load_graph(spec)
    problem = make_problem(graph, make_cost_model(scheme, graph, 1), buffer_kb * 1024)
    found = multicut_bound(problem, Deadline(Limits(time_limit_s=time_limit)))
    return {
        "code": "baseline" if os.environ.get("PYTHONPATH") else "current",
        "integer": found.integer, "integer_cut": getattr(found, "integer_cut", None),
        "integer_optimal": found.integer_optimal,
        "net": spec, "scheme": scheme, "buffer_kb": buffer_kb, "time_limit_s": time_limit,
        "multicut": found.value, "base": found.base, "packing": found.packing,
        "pairs": found.pairs, "paths": found.paths, "rounds": found.rounds,
        "converged": found.converged, "multicut_s": round(found.seconds, 2),
        "whole_problem_bound": whole_problem_bound(problem),
        "load": round(os.getloadavg()[0], 2),
    }


def multicut_table(rows: list[dict]) -> None:
    best = known()
    print("| instance | scheme, KB | limit s | pairs / constraints / rounds | multicut s "
          "| whole-problem bound | best bound before | multicut bound | best known plan "
          "| gap before | gap now | wall s, RSS MB, load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        plan, before, limit = _context(best, r)
        now = max(before, r["multicut"])
        done = "" if r["converged"] else " (stopped)"
        print(f"| {r['net']} | {r['scheme'].upper()} {r['buffer_kb']} | {limit} | "
              f"{r['pairs']:,} / {r['paths']:,} / {r['rounds']}{done} | {r['multicut_s']} | "
              f"{r['whole_problem_bound']:,} | {before:,} | {r['multicut']:,} | "
              f"{'-' if plan is None else f'{plan:,}'} | {gap(plan, before)} | {gap(plan, now)} | "
              f"{r.get('wall_s', '-')}, {r.get('rss_mb', '-')}, {r['load']} |")


def compare_table(rows: list[dict], plans: dict[tuple[str, str, int], int]) -> None:
    """Old (``code`` baseline) against new (current) multicut bound per instance, with the
    best known plan (recorded, or ``plans``: measured for this table) and both gaps."""
    best = known()
    by_key: dict[tuple[str, str, int], dict[str, dict]] = {}
    for r in rows:
        by_key.setdefault((r["net"], r["scheme"], r["buffer_kb"]), {})[r.get("code", "baseline")] = r
    print("| instance | scheme, KB | limit s | old bound | new bound: base + max(packing, "
          "integer) | integer (cut price only) | best known plan | gap old | gap new "
          "| new s, load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, pair in by_key.items():
        old, new = pair.get("baseline"), pair.get("current")
        if new is None:
            continue
        plan = best.get(key, (None, 0))[0]
        if key in plans and (plan is None or plans[key] < plan):
            plan = plans[key]
        before = None if old is None else old["multicut"]
        integer = "-" if new["integer"] is None else f"{new['integer']:,}"
        cut = "-" if new["integer_cut"] is None else f"{new['integer_cut']:,}"
        print(f"| {key[0]} | {key[1].upper()} {key[2]} | {new['time_limit_s']:g} | "
              f"{'-' if before is None else f'{before:,}'} | {new['multicut']:,}: "
              f"{new['base']:,} + max({new['packing']:,}, {integer}) | {cut} | "
              f"{'-' if plan is None else f'{plan:,}'} | {gap(plan, before)} | "
              f"{gap(plan, new['multicut'])} | {new['multicut_s']}, {new['load']} |")


def one(spec: str, scheme: str, buffer_kb: int, time_limit: float | None,
        methods: str = "") -> dict:
    """The child: the LP bound of one instance, and the whole-problem bound beside it;
    then each ``method:seconds`` of ``methods`` (``solve_problem``, one worker): its status,
    plan and bound, to compare the LP with the optimum and with the solvers' own bounds."""
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.solver.bounds import whole_problem_bound
    from fuseplan.solver.lp_bound import lp_lower_bound
    from fuseplan.solver.problem import Limits, make_problem
    from fuseplan.solver.progress import Deadline

    graph = load_graph(spec)
    problem = make_problem(graph, make_cost_model(scheme, graph, 1), buffer_kb * 1024)
    deadline = Deadline(Limits(time_limit_s=time_limit))
    found = lp_lower_bound(problem, deadline)
    started = time.perf_counter()
    whole = whole_problem_bound(problem)
    whole_s = round(time.perf_counter() - started, 2)
    solved = {}
    for item in filter(None, methods.split(",")):
        from fuseplan.solver.api import solve_problem

        method, seconds = item.rsplit(":", 1)
        result = solve_problem(problem, Limits(time_limit_s=float(seconds)), method)
        solved[method] = {"status": result.status, "fusible": result.objective_bytes,
                          "bound": result.bound_bytes, "seconds": round(result.wall_time_s, 1)}
    return {
        "net": spec, "scheme": scheme, "buffer_kb": buffer_kb, "time_limit_s": time_limit,
        "lp_bound": found.value, "proven": found.proven, "candidates": found.candidates,
        "complete": found.candidates_complete, "first_relaxed": found.first_relaxed,
        "ops": problem.num_ops, "columns": found.columns, "iterations": found.iterations,
        "enumerate_s": round(found.enumerate_seconds, 2), "lp_s": round(found.lp_seconds, 2),
        "bound_s": round(found.seconds, 2), "lp_value": found.lp_value, "why": found.why,
        "whole_problem_bound": whole, "whole_s": whole_s, "solved": solved,
        "load": round(os.getloadavg()[0], 2),
    }


def known() -> dict[tuple[str, str, int], tuple[int, int]]:
    """(net, scheme, KB) -> (best known plan, best bound quoted) over the recorded runs."""
    best: dict[tuple[str, str, int], tuple[int, int]] = {}

    def note(key: tuple[str, str, int], plan: int | None, bound: int | None) -> None:
        old_plan, old_bound = best.get(key, (None, 0))
        if plan is not None and (old_plan is None or plan < old_plan):
            old_plan = plan
        best[key] = (old_plan, max(old_bound, bound or 0))

    for name in KNOWN_FILES:
        path = RESULTS / name
        if path.exists():
            for line in path.read_text().splitlines():
                r = json.loads(line)
                bound = r.get("bound") if r.get("date", "") < BOUNDS_BEFORE else None
                note((r["net"], r["scheme"], r["buffer_kb"]), r.get("fusible"), bound)
    zoo = RESULTS / "exact_zoo.md"  # proven optima of the zoo (the plan only: auto took 1-60 s)
    if zoo.exists():
        for line in zoo.read_text().splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) > 5 and cells[4] == "OPTIMAL":
                note((cells[0], cells[2], int(cells[3].split()[0])), int(cells[5]), None)
    rows = RESULTS / "wide_exact_rows.csv"
    if rows.exists():
        for r in csv.DictReader(rows.open()):
            plan = int(r["fusible_dram_bytes"]) if r["fusible_dram_bytes"] else None
            bound = int(r["bound_bytes"]) if r["bound_bytes"] else None
            note((r["net"], r["scheme"], int(r["buffer_bytes"]) // 1024), plan, bound)
    return best


def _context(best: dict, r: dict) -> tuple[int | None, int, str]:
    """(best known plan, best bound before: recorded or A*'s estimate, the limit as text)."""
    plan, before = best.get((r["net"], r["scheme"], r["buffer_kb"]), (None, 0))
    limit = "none" if r["time_limit_s"] is None else f"{r['time_limit_s']:g}"
    return plan, max(before, r["whole_problem_bound"]), limit


def gap(plan: int | None, bound: int | None) -> str:
    if not plan or bound is None:
        return "-"
    return f"{100 * (plan - bound) / plan:.2f} %"


def table(rows: list[dict]) -> None:
    best = known()
    print("| instance | scheme, KB | limit s | candidates | relaxed from op | columns / iters "
          "| enum s / LP s | LP bound | whole-problem bound | best bound before | best known "
          "plan | gap LP | gap before | wall s, RSS MB, load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        plan, before, limit = _context(best, r)
        complete = "complete" if r["complete"] else "cut"
        relaxed = "-" if r["first_relaxed"] >= r["ops"] else str(r["first_relaxed"])
        proven = "" if r["proven"] else " (not LP opt.)"
        print(f"| {r['net']} | {r['scheme'].upper()} {r['buffer_kb']} | {limit} | "
              f"{r['candidates']:,} {complete} | {relaxed} | {r['columns']:,} / "
              f"{r['iterations']} | {r['enumerate_s']} / {r['lp_s']} | {r['lp_bound']:,}"
              f"{proven} | {r['whole_problem_bound']:,} | {before:,} | "
              f"{'-' if plan is None else f'{plan:,}'} | {gap(plan, r['lp_bound'])} | "
              f"{gap(plan, before)} | {r.get('wall_s', '-')}, {r.get('rss_mb', '-')}, "
              f"{r['load']} |")


def main() -> None:
    from instances import CELL_INSTANCES, WIDE_INSTANCES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="w8-200,w12-200,w16-200,darts-5,nasnet-5",
                        help="labels of benchmarks/instances.py, zoo names or generator specs "
                        "(';'-separated when a spec holds commas)")
    parser.add_argument("--schemes", default="lbdf,brr")
    parser.add_argument("--buffers", default="128,512")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds for the whole bound (none: enumerate up to the cap)")
    parser.add_argument("--methods", default="",
                        help="also solve with these, e.g. auto:600,hybrid:60 (method:seconds)")
    parser.add_argument("--multicut", action="store_true",
                        help="the multicut bound instead of the LP bound")
    parser.add_argument("--baseline", type=Path,
                        help="with --multicut: also run each row with PYTHONPATH=this (an "
                        "export of an older commit) and print old against new")
    parser.add_argument("--plan", action="append", default=[], metavar="LABEL:SCHEME:KB:BYTES",
                        help="a plan measured for this table where none is recorded")
    parser.add_argument("--timeout", type=float, default=3600.0, help="kill a child after")
    parser.add_argument("--out", type=Path, help="append the JSON lines here")
    parser.add_argument("--reprint", type=Path, nargs="*", help="print the table of files")
    parser.add_argument("--one", nargs=3, metavar=("SPEC", "SCHEME", "KB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        spec, scheme, kb = args.one
        if args.multicut:
            print(json.dumps(multicut_one(spec, scheme, int(kb), args.time_limit)))
        else:
            print(json.dumps(one(spec, scheme, int(kb), args.time_limit, args.methods)))
        return
    plans = {}
    by_label = {i.name: i for i in WIDE_INSTANCES + CELL_INSTANCES}
    for item in args.plan:
        label, scheme, kb, size = item.rsplit(":", 3)
        spec = by_label[label].spec if label in by_label else label
        plans[(spec, scheme, int(kb))] = int(size)
    if args.reprint:
        rows = [json.loads(line) for p in args.reprint for line in p.read_text().splitlines()]
        if rows and any(r.get("code") == "baseline" for r in rows):
            compare_table(rows, plans)
        else:
            (multicut_table if rows and "multicut" in rows[0] else table)(rows)
        return
    rows = []
    labels = args.instances.split(";" if ";" in args.instances else ",")  # specs hold commas
    for label in filter(None, labels):  # "spec;" names one spec that holds commas
        for scheme in args.schemes.split(","):
            for kb in (int(b) for b in args.buffers.split(",")):
                spec = by_label[label].spec if label in by_label else label  # a zoo name
                argv = [sys.executable, str(Path(__file__).resolve()), "--one", spec, scheme,
                        str(kb)]
                if args.time_limit is not None:
                    argv += ["--time-limit", str(args.time_limit)]
                if args.methods:
                    argv += ["--methods", args.methods]
                if args.multicut:
                    argv += ["--multicut"]
                trees = [None] + ([args.baseline] if args.multicut and args.baseline else [])
                for tree in trees:
                    row = _child(argv, args.timeout, tree)
                    if row is not None:
                        rows.append(row)
                        if args.out is not None:
                            with args.out.open("a") as f:
                                f.write(json.dumps(row) + "\n")
    if args.baseline:
        compare_table(rows, plans)
    else:
        (multicut_table if args.multicut else table)(rows)


def _child(argv: list[str], timeout: float, tree: Path | None) -> dict | None:
    """One ``--one`` child (with ``PYTHONPATH=tree`` when given): its row, timed."""
    from process_run import measure

    env = "" if tree is None else f"PYTHONPATH={shlex.quote(str(tree))} "
    print(f"command: {env}python benchmarks/bench_lp_bound.py " + shlex.join(argv[2:]),
          flush=True)
    saved = os.environ.pop("PYTHONPATH", None)
    if tree is not None:
        os.environ["PYTHONPATH"] = str(tree)
    try:
        code, wall, rss, out, err = measure(argv, timeout, cwd=ROOT)
    finally:
        os.environ.pop("PYTHONPATH", None)
        if saved is not None:
            os.environ["PYTHONPATH"] = saved
    if code != 0:
        print(f"  failed ({code}): {err.strip().splitlines()[-1:] or ''}", flush=True)
        return None
    row = json.loads(out.strip().splitlines()[-1])
    row.update(wall_s=round(wall, 1), rss_mb=round(rss))
    print("  " + json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    main()
