"""The hybrid against the exact methods on the instances of issue 14, whole processes.

Each run is one ``fuseplan solve NET --method M --time-limit T --json`` process; its wall
time covers start, imports, warm start and solve. From the plan JSON: status, fusible bytes,
the bound, and the anytime curve (seconds inside the solve), shifted by the process's own
overhead (wall time minus the solve's), so "time to 1 %" is measured from process start.

Parts (``--part``):

* ``zoo``: the zoo cases where auto needed more than 10 s (googlenet BRR 512 KB-2 MB,
  inception_v3 LBDF 1-2 MB, inception_v3 BRR 512 KB-2 MB);
* ``wide``: the frozen wide and cell instances (``benchmarks/instances.py``) at 128 and
  512 KB, both schemes (``--instances`` picks a subset by label);
* ``pruning``: safe vs aggressive pruning (hybrid, no hand-over) where auto proves the
  optimum (GoogLeNet 128/256 KB, Inception-v3 128 KB, LBDF; GoogLeNet BRR 128 KB);
* ``handover``: GoogLeNet 128/256/512 KB, LBDF and BRR, ``--method hybrid`` (the
  hand-over probe decides) and ``auto``, whole processes;
* ``easy``: mobilenet_v2 at 128 KB, auto vs hybrid, median of ``--repeat`` runs (the
  hand-over must cost no more than max(10 %, 0.2 s)).
* ``listing``: for the ``wide`` cases, whether the candidate groups can be listed
  completely within ``--time-limit`` seconds (one fresh process per case, as the hybrid's
  probe would list them: count, complete, seconds, peak memory).

Methods: those of ``fuseplan solve`` and ``cpsat-partition+hint``, cpsat-partition given a
short ``ls:random`` plan as its complete hint (``--hinted``, one process per run).

"Best known" is the yardstick of ``benchmarks/results/best_known.jsonl`` (long runs, up to
600-1,500 s, ``benchmarks/best_known.py``), or the least fusible total of the runs printed
where that is lower or the instance has no long run (the table says which); "t1%" is the
first time a method's plan was within 1 % of it, from process start; "proof" the time to
OPTIMAL. Under each table a verdict: the hybrid's median t1% over its seeds against the best
t1% of the other methods ("3x sooner" or not). The load average is printed with every table.
Example::

    .venv/bin/python benchmarks/bench_hybrid.py --part wide --instances w8-200,darts-5 \\
        --schemes lbdf --buffers 128 --time-limit 30
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from best_known import BestKnown, best_known  # noqa: E402  (benchmarks/ is not a package)

FUSEPLAN = [sys.executable, "-m", "fuseplan"]
ZOO_CASES = (("googlenet", "brr", 512), ("googlenet", "brr", 1024), ("googlenet", "brr", 2048),
             ("inception_v3", "lbdf", 1024), ("inception_v3", "lbdf", 2048),
             ("inception_v3", "brr", 512), ("inception_v3", "brr", 1024),
             ("inception_v3", "brr", 2048))
HINTED = "cpsat-partition+hint"  # cpsat-partition hinted with a short ls:random plan
METHODS = ("auto", "astar", "cpsat-partition", HINTED, "hybrid")
HANDOVER_CASES = tuple(("googlenet", scheme, kb) for kb in (128, 256, 512)
                       for scheme in ("lbdf", "brr"))
HINT_SHARE = 0.1  # of the time limit for the ls:random hint, at most (as the hybrid's warm
HINT_EVALUATIONS = 300  # start: 10 % of the time or 300 evaluations)
# --tree DIR: run fuseplan from DIR (a package laid out as installed, e.g. one commit's
# ``git archive`` with a sitecustomize.py that drops the editable finder), for before/after
TREE: Path | None = None


@dataclass(frozen=True)
class Run:
    net: str
    scheme: str
    buffer_kb: int
    method: str
    seed: int
    command: str
    wall_s: float
    status: str
    fusible: int | None
    bound: int | None
    curve: tuple[tuple[float, int], ...]
    why: str
    load: float | None = None  # 1-minute load average when the run started (older files: -)


def solve(net: str, scheme: str, buffer_kb: int, method: str, seed: int,
          time_limit: float) -> Run:
    if method == HINTED:
        args = ["--hinted", net, scheme, str(buffer_kb), str(time_limit), str(seed)]
        program = [sys.executable, str(Path(__file__).resolve())]
        command = "python benchmarks/bench_hybrid.py " + shlex.join(args)
    else:
        args = ["solve", net, "--buffer", f"{buffer_kb}KB", "--scheme", scheme, "--method",
                method, "--time-limit", str(time_limit), "--seed", str(seed), "--json",
                "--quiet"]
        program = FUSEPLAN
        command = "fuseplan " + shlex.join(args)
    load = round(os.getloadavg()[0], 2)
    env, cwd = None, ROOT
    if TREE is not None:
        env, cwd = {**os.environ, "PYTHONPATH": str(TREE)}, TREE
        command = f"PYTHONPATH={TREE} (cwd) {command}"
    started = time.perf_counter()
    done = subprocess.run(program + args, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=time_limit * 3 + 120)
    wall = time.perf_counter() - started
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        return Run(net, scheme, buffer_kb, method, seed, command, wall, "ERROR", None, None,
                   (), done.stderr.strip().splitlines()[-1:][0] if done.stderr else "", load)
    info = data["solve"]
    overhead = max(0.0, wall - info["wall_time_s"])
    curve = tuple((round(t + overhead, 3), int(b)) for t, b in info["details"].get("curve", []))
    return Run(net, scheme, buffer_kb, method, seed, command, wall, info["status"],
               data["totals"]["fusible_dram_bytes"], info.get("bound_bytes"), curve,
               str(info["details"].get("why", ""))[:90], load)


def hinted(net: str, scheme: str, buffer_kb: int, time_limit: float, seed: int) -> int:
    """One whole-process run of cpsat-partition hinted with a short ls:random plan: the
    local search gets ``HINT_SHARE`` of the time limit (at most ``HINT_EVALUATIONS``), its
    plan is the complete hint of ``solve_cpsat_partition(hint=...)`` (the hook the hybrid
    has), which gets the rest of the same deadline. Prints the plan JSON, as ``fuseplan
    solve --json`` does, the hint's time and cost in ``solve.details``."""
    import dataclasses

    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.models.plan_io import plan_to_dict
    from fuseplan.solver.api import solve_problem
    from fuseplan.solver.exact.cpsat_partition import solve_cpsat_partition
    from fuseplan.solver.problem import Limits, make_problem
    from fuseplan.solver.progress import Deadline
    from fuseplan.solver.search.run import SearchSettings

    graph = load_graph(net)
    problem = make_problem(graph, make_cost_model(scheme, graph, 1), buffer_kb * 1024)
    limits = Limits(time_limit_s=time_limit, seed=seed)
    deadline = Deadline(limits)
    search = SearchSettings(repair="random", evaluations=HINT_EVALUATIONS, reference_time_s=0)
    hint = solve_problem(problem, Limits(time_limit_s=HINT_SHARE * time_limit, seed=seed),
                         "ls:random", search)
    run = solve_cpsat_partition(problem, limits, hint=list(hint.groups), deadline=deadline,
                                why="hinted with ls:random")
    result = run.result
    details = {**result.plan.solve.details, "hint_bytes": hint.objective_bytes,
               "hint_s": round(hint.wall_time_s, 3),
               "hint_feasible": run.stats.hint_feasible,
               # the hint is a valid plan in hand from its end on
               "curve": [[round(hint.wall_time_s, 4), hint.objective_bytes],
                         *result.plan.solve.details.get("curve", [])]}
    plan = dataclasses.replace(result.plan, solve=dataclasses.replace(result.plan.solve,
                                                                      details=details))
    print(json.dumps(plan_to_dict(plan, graph)))
    return 0


def listed(net: str, scheme: str, buffer_kb: int, time_limit: float) -> int:
    """One enumeration of the candidate groups, in this process (``--listed``): prints a
    JSON line with the count, whether it is complete, the seconds and the peak RSS."""
    import resource

    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.solver.candidates import enumerate_candidates
    from fuseplan.solver.problem import Limits, make_problem
    from fuseplan.solver.progress import Deadline

    graph = load_graph(net)
    problem = make_problem(graph, make_cost_model(scheme, graph, 1), buffer_kb * 1024)
    found = enumerate_candidates(problem, Deadline(Limits(time_limit_s=time_limit)))
    print(json.dumps({"candidates": len(found), "complete": found.complete,
                      "seconds": round(found.seconds, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           / 1024, 1)}))
    return 0


def listing(cases, time_limit: float) -> None:
    """``--part listing``: one fresh process per case (``--listed``)."""
    print(f"\n### listing every candidate group within {time_limit:g} s, one process per case")
    print("| instance | scheme, KB | groups | complete | seconds | peak MB | load |")
    print("|---|---|---|---|---|---|---|")
    for net, scheme, kb in cases:
        load = os.getloadavg()[0]
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--listed", net,
                               scheme, str(kb), str(time_limit)], capture_output=True,
                              text=True, cwd=ROOT, timeout=time_limit * 3 + 60)
        row = json.loads(done.stdout)
        print(f"| {net.split(',seed')[0]} | {scheme.upper()} {kb} | {row['candidates']:,} | "
              f"{'yes' if row['complete'] else 'no'} | {row['seconds']:.1f} | "
              f"{row['peak_rss_mb']:.0f} | {load:.1f} |", flush=True)


def time_within(run: Run, target: int) -> float | None:
    """Seconds from process start to a plan within 1 % of ``target``. A method whose final
    plan is not within 1 % never had one (a curve point below its final plan is a number
    reported for another buffer: auto's warm solves at beta/8..beta/2, priced there)."""
    if run.fusible is None or run.fusible > target * 1.01:
        return None
    for t, b in run.curve:
        if b <= target * 1.01:
            return t
    if run.fusible is not None and run.fusible <= target * 1.01:
        return run.wall_s
    return None


def yardstick(runs: list[Run], known: BestKnown | None) -> tuple[int, str]:
    """The best known fusible total for the runs' instance and where it comes from."""
    here = min(r.fusible for r in runs if r.fusible is not None)
    if known is None:
        return here, "best of these runs: no long run recorded"
    said = (f"{known.entry.status} by {known.entry.method} in {known.entry.wall_s:g} s"
            + ("" if known.proven or known.gap_percent is None
               else f", proven within {known.gap_percent:.1f} %"))
    if here < known.fusible:
        return here, f"a run here beats the long run's {known.fusible:,} B ({said})"
    return known.fusible, said


def median_time(times: list[float | None]) -> float | None:
    """The median with 'never' (None) as the largest value; None if the median is never."""
    ordered = sorted(times, key=lambda t: float("inf") if t is None else t)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def verdict(runs: list[Run], best: int) -> str:
    """The hybrid's median t1% over its seeds against the best t1% of every other method."""
    hybrid = [time_within(r, best) for r in runs if r.method == "hybrid"]
    others = {r.method: time_within(r, best) for r in runs if r.method != "hybrid"}
    if not hybrid or not others:
        return "verdict: needs hybrid and at least one other method"
    mine = median_time(hybrid)
    reached = sum(t is not None for t in hybrid)
    timed = {m: t for m, t in others.items() if t is not None}
    rival = min(timed.items(), key=lambda item: item[1]) if timed else None
    head = (f"verdict: hybrid median t1% {'never' if mine is None else f'{mine:.1f} s'} "
            f"({reached}/{len(hybrid)} seeds within 1 %); best other "
            f"{'none within 1 %' if rival is None else f'{rival[0]} {rival[1]:.1f} s'}")
    if mine is None:
        return head + ": hybrid NOT 3x sooner (its median seed never within 1 %)"
    if rival is None:
        return head + ": hybrid 3x sooner (no other method gets within 1 %)"
    ratio = rival[1] / mine if mine > 0 else float("inf")
    return head + f": ratio {ratio:.1f}x, hybrid {'' if ratio >= 3 else 'NOT '}3x sooner"


def summary(groups: list[list[Run]], known: dict[tuple[str, str, int], BestKnown]) -> None:
    """One row per instance: each method's gap to the best known and t1%; the hybrid's
    seeds as median (range) and how many got within 1 %."""
    methods = list(dict.fromkeys(r.method for runs in groups for r in runs))
    print("\n| instance | scheme, KB | best known MB | "
          + " | ".join(f"{m}: gap %, t1% s" for m in methods) + " | 3x sooner |")
    print("|---|---|---|" + "---|" * len(methods) + "---|")
    for runs in groups:
        first = runs[0]
        key = (first.net, first.scheme, first.buffer_kb)
        best, _ = yardstick(runs, known.get(key))
        status = "" if key not in known else (" OPTIMAL" if known[key].proven else
                                              f" (within {known[key].gap_percent:.1f} %)")
        cells = []
        for m in methods:
            mine = [r for r in runs if r.method == m and r.fusible is not None]
            if not mine:
                cells.append("-")
                continue
            gaps = sorted(100 * (r.fusible - best) / best for r in mine)
            times = [time_within(r, best) for r in mine]
            t1 = median_time(times)
            t1_text = "-" if t1 is None else f"{t1:.1f}"
            if len(mine) == 1:
                cells.append(f"{gaps[0]:+.1f}, {t1_text}")
            else:
                reached = sum(t is not None for t in times)
                cells.append(f"{statistics.median(gaps):+.1f} ({gaps[0]:+.1f}..{gaps[-1]:+.1f}),"
                             f" {t1_text} ({reached}/{len(mine)})")
        said = verdict(runs, best)
        short = ("-" if said.startswith("verdict: needs") else
                 "yes" if said.endswith("hybrid 3x sooner") or "no other method" in said else "no")
        print(f"| {first.net.split(',seed')[0]} | {first.scheme.upper()} {first.buffer_kb} | "
              f"{best / 2**20:.3f}{status} | " + " | ".join(cells) + f" | {short} |")


def table(runs: list[Run], known: BestKnown | None = None) -> None:
    best, source = yardstick(runs, known)
    loads = [r.load for r in runs if r.load is not None]
    load = (f"load {min(loads):.1f}-{max(loads):.1f} at the runs' starts" if loads
            else f"load {os.getloadavg()[0]:.2f} now, not recorded with these runs")
    print(f"\n### {runs[0].net}, {runs[0].scheme.upper()}, {runs[0].buffer_kb} KB "
          f"(best known {best:,} B: {source}; {load})")
    print("| method | seed | status | fusible B | gap to best % | proven gap % | t1% s | "
          "proof s | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        t1 = time_within(r, best)
        gap = None if r.fusible is None else 100 * (r.fusible - best) / best
        proven = (None if r.fusible is None or r.bound is None or r.fusible == 0
                  else 100 * (r.fusible - r.bound) / r.fusible)
        print(f"| {r.method} | {r.seed} | {r.status} | "
              f"{'-' if r.fusible is None else f'{r.fusible:,}'} | "
              f"{'-' if gap is None else f'{gap:.2f}'} | "
              f"{'-' if proven is None else f'{proven:.1f}'} | "
              f"{'-' if t1 is None else f'{t1:.1f}'} | "
              f"{f'{r.wall_s:.1f}' if r.status == 'OPTIMAL' else '-'} | {r.wall_s:.1f} |")
    print(verdict(runs, best))
    for r in runs:
        print(f"    {r.command}   # {r.why}")


def run_instances(cases, methods, seeds: int, time_limit: float, out: Path | None) -> None:
    for net, scheme, kb in cases:
        runs = []
        for method in methods:
            for seed in range(seeds if method == "hybrid" else 1):
                runs.append(solve(net, scheme, kb, method, seed, time_limit))
        table(runs, best_known().get((net, scheme, kb)))
        if out is not None:
            with out.open("a") as handle:
                for r in runs:
                    handle.write(json.dumps(r.__dict__) + "\n")
        sys.stdout.flush()


def easy(repeat: int) -> None:
    print(f"\n### easy: mobilenet_v2, LBDF, 128 KB, median of {repeat} "
          f"(load {os.getloadavg()[0]:.2f})")
    walls: dict[str, list[float]] = {"auto": [], "hybrid": []}
    for _ in range(repeat):
        for method in walls:  # interleaved, so both see the same load
            walls[method].append(solve("mobilenet_v2", "lbdf", 128, method, 0, 60).wall_s)
    a, h = statistics.median(walls["auto"]), statistics.median(walls["hybrid"])
    print(f"auto {a:.2f} s, hybrid {h:.2f} s: hybrid - auto = {h - a:+.2f} s "
          f"({100 * (h - a) / a:+.1f} %); allowed max(10 %, 0.2 s) = {max(0.1 * a, 0.2):.2f} s")


def plot(runs: list[Run], keys: list[tuple[str, str, int]], path: Path,
         known: dict[tuple[str, str, int], BestKnown]) -> None:
    """Anytime panels: each method's best plan (step line) and final bound (dashed) against
    seconds from process start, relative to the best known of the instance."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    cols = 4
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    colours = {"auto": "tab:blue", "astar": "tab:green", "cpsat-partition": "tab:red",
               HINTED: "tab:purple", "hybrid": "tab:orange"}
    for ax, key in zip(axes.flat, keys):
        mine = [r for r in runs if (r.net, r.scheme, r.buffer_kb) == key and r.fusible]
        best, _ = yardstick(mine, known.get(key))
        for r in mine:
            colour = colours.get(r.method, "black")
            points = [(t, b) for t, b in r.curve if b >= r.fusible] or [(r.wall_s, r.fusible)]
            xs = [max(0.1, t) for t, _ in points] + [r.wall_s]
            ys = [b / best for _, b in points] + [r.fusible / best]
            ax.step(xs, ys, where="post", color=colour, label=r.method)
            if len(points) == 1 and points[0][0] == r.wall_s:  # only the final plan is known
                ax.plot([r.wall_s], [r.fusible / best], "o", color=colour, markersize=4)
            if r.bound:
                ax.axhline(r.bound / best, color=colour, linestyle="dashed", linewidth=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylim(0.2, 1.6)
        ax.set_title(f"{key[0].split(',seed')[0]} {key[1].upper()} {key[2]} KB", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    labelled = {}  # every method of any panel, once
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    axes.flat[0].legend(labelled.values(), labelled.keys(), fontsize=7)
    fig.supxlabel("seconds from process start (log)")
    fig.supylabel("fusible DRAM / best known (dashed: bound)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


PRUNING_CASES = (("googlenet", "lbdf", 128), ("googlenet", "lbdf", 256),
                 ("inception_v3", "lbdf", 128), ("googlenet", "brr", 128))


def pruning(time_limit: float) -> None:
    """Safe vs aggressive pruning (in this process) where auto proves the optimum."""
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.load import load_graph
    from fuseplan.solver.exact import auto
    from fuseplan.solver.hybrid.method import HybridSettings
    from fuseplan.solver.hybrid.method import solve as hybrid
    from fuseplan.solver.problem import Limits, make_problem

    print(f"\n### safe vs aggressive pruning, hybrid {time_limit:g} s, no hand-over "
          f"(load {os.getloadavg()[0]:.2f})")
    for net, scheme, kb in PRUNING_CASES:
        graph = load_graph(net)
        problem = make_problem(graph, make_cost_model(scheme, graph, 1), kb * 1024)
        best = auto.solve(problem, Limits(time_limit_s=60))
        line = [f"{net} {scheme} {kb} KB: optimum {best.objective_bytes:,} ({best.status})"]
        for prune in ("safe", "aggressive"):
            result = hybrid(problem, Limits(time_limit_s=time_limit),
                            settings=HybridSettings(handover=False, prune=prune))
            over = 100 * (result.objective_bytes - best.objective_bytes) / best.objective_bytes
            said = result.details.get("pruning") or {}
            extra = (f", {said['pairs']} pairs from {said['hulls_explained']} hulls in "
                     f"{said['seconds']:.2f} s, {said['kept_by_incumbent']} kept by the "
                     f"incumbent" if "hulls_explained" in said else "")
            line.append(f"{prune} {result.objective_bytes:,} {result.status} (+{over:.2f} %"
                        f"{extra}; plan from {result.details.get('plan_from')})")
        print("; ".join(line), flush=True)


def main() -> int:
    from instances import CELL_INSTANCES, WIDE_INSTANCES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("zoo", "wide", "easy", "pruning", "handover",
                                           "listing"),
                        default="wide")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, default=1, help="hybrid seeds (issue: 5 on hard)")
    parser.add_argument("--instances", help="wide part: labels, e.g. w8-200,darts-5")
    parser.add_argument("--schemes", default="lbdf,brr")
    parser.add_argument("--buffers", default="128,512", help="wide part, KB")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="append every run as a JSON line")
    parser.add_argument("--plot", type=Path, help="with --reprint: one anytime panel per "
                        "instance (plan and bound against time, every method) into this PNG")
    parser.add_argument("--reprint", type=Path, nargs="+", help="print the tables of --out "
                        "files again (the last run of a method on an instance counts)")
    parser.add_argument("--hinted", nargs=5, metavar=("NET", "SCHEME", "KB", "S", "SEED"),
                        help="one run of cpsat-partition hinted by ls:random (what the "
                        f"{HINTED} rows run, in their own process); prints its plan JSON")
    parser.add_argument("--tree", type=Path, help="run fuseplan from this directory (its "
                        "PYTHONPATH and cwd): a commit's package, for before/after runs")
    parser.add_argument("--listed", nargs=4, metavar=("NET", "SCHEME", "KB", "S"),
                        help="one enumeration within S seconds (what --part listing runs, "
                        "in its own process); prints a JSON line")
    args = parser.parse_args()
    if args.listed:
        net, scheme, kb, limit = args.listed
        return listed(net, scheme, int(kb), float(limit))
    global TREE
    TREE = args.tree
    if args.hinted:
        net, scheme, kb, limit, seed = args.hinted
        return hinted(net, scheme, int(kb), float(limit), int(seed))
    print("command:", "python benchmarks/bench_hybrid.py " + shlex.join(sys.argv[1:]))
    methods = [m for m in args.methods.split(",") if m]
    if args.reprint:  # the tables again from --out files, without running anything
        last = {}
        for path in args.reprint:
            for r in map(json.loads, path.read_text().splitlines()):
                run = Run(**{**r, "curve": tuple(map(tuple, r["curve"]))})
                last[(run.net, run.scheme, run.buffer_kb, run.method, run.seed)] = run
        runs = list(last.values())
        keys = list(dict.fromkeys((r.net, r.scheme, r.buffer_kb) for r in runs))
        known = best_known()
        groups = [[r for r in runs if (r.net, r.scheme, r.buffer_kb) == key] for key in keys]
        for group, key in zip(groups, keys):
            table(group, known.get(key))
        summary(groups, known)
        if args.plot:
            plot(runs, keys, args.plot, known)
        return 0
    if args.part == "easy":
        easy(args.repeat)
        return 0
    if args.part == "pruning":
        pruning(args.time_limit)
        return 0
    if args.part == "zoo":
        cases = list(ZOO_CASES)
    elif args.part == "handover":
        cases = list(HANDOVER_CASES)
    else:
        wanted = set(args.instances.split(",")) if args.instances else None
        cases = [(inst.spec, scheme, int(kb))
                 for inst in (*WIDE_INSTANCES, *CELL_INSTANCES)
                 if wanted is None or inst.name in wanted
                 for scheme in args.schemes.split(",") for kb in args.buffers.split(",")]
    if args.part == "listing":
        listing(cases, args.time_limit)
        return 0
    run_instances(cases, methods, args.seeds, args.time_limit, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
