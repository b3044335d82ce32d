"""Every search x every repair strategy on every zoo net, each plan verified (issue 13: "the
three searches and every repair strategy run on every zoo net").

For each zoo net (``models/zoo``, ``NAMES``) and scheme at ``--buffer`` (128 KB: every net has
segment parts that do not fit, so the repairs run), first the reference: ``auto`` within
``--reference-time`` (10 s), whose proven optimum (when it proves one) bounds every run from
below. Then ``greedy`` once and ``rs``, ``ls``, ``nsga2`` with every repair strategy, each at
``--evaluations`` (10) and ``--time-limit`` (4 s, whichever comes first; the searches' own
reference solve is off, ``reference_time_s=0``: the optimum above is computed once). Each run
is checked:

- it returns a plan with status FEASIBLE (OPTIMAL only where its objective equals the bound
  it reports), and ``validate_plan`` (``models/validate.py``) finds nothing wrong;
- independently of the validator: the groups partition the ops, every group passes
  ``check_group`` (or is a single op that does not fit alone, marked unfusable), the graph of
  groups has no cycle (networkx), and the objective is the sum of the fusible groups' DRAM;
- its fusible DRAM is not below the proven optimum (where ``auto`` proved one), and it
  scored no more plans than its evaluation budget.

Reproducibility, on a sample (``--repeat``: one net per search, LBDF, every repair): the run
twice with the same seed and no time limit (evaluations only), in one process; the plans and
their DRAM must be equal.

A run that raises or fails a check is a failure (exit code 1). Rows go to ``OUT.jsonl`` as
they finish; a second call skips the rows already there (resumable), ``--retry-failed``
runs the failed ones again. ``--jobs N`` runs N processes. Times: each worker first runs
every (scheme, learned repair) once, untimed, on resnet18 (it loads torch and the
checkpoints); learned strategies use one torch thread.

    .venv/bin/python benchmarks/search_zoo.py --jobs 2 --out benchmarks/results/search_zoo
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any

SEARCHES = ("greedy", "rs", "ls", "nsga2")
REPEAT = "rs=resnet18,ls=vgg16,nsga2=squeezenet1_0"
MB = 1024 * 1024

Task = dict[str, Any]


def _problem(net: str, scheme: str, buffer_bytes: int):
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.zoo import build
    from fuseplan.solver.problem import make_problem

    graph = build(net)
    return make_problem(graph, make_cost_model(scheme, graph, 1), buffer_bytes)


def plan_problems(result, problem) -> list[str]:
    """What is wrong with a search's answer, checked apart from the solver's own code path:
    ``validate_plan`` plus a partition, check_group, acyclicity and total check of our own."""
    import networkx as nx

    from fuseplan.models.group import check_group, graph_masks, mask_ops
    from fuseplan.models.validate import validate_plan

    graph, model, beta = problem.graph, problem.model, problem.buffer_bytes
    out: list[str] = []
    if result.plan is None:
        return [f"no plan (status {result.status})"]
    bound = result.bound_bytes
    if not (result.status == "FEASIBLE"
            or (result.status == "OPTIMAL" and bound is not None
                and result.objective_bytes == bound)):
        out.append(f"status {result.status} (objective {result.objective_bytes}, bound {bound})")
    out += [f"validate: {p}" for p in validate_plan(result.plan, graph, model)[:3]]
    groups = list(result.groups)
    seen = 0
    for g in groups:
        if g & seen:
            out.append("partition: an op is in two groups")
        seen |= g
    if seen != (1 << graph.num_ops) - 1:
        out.append("partition: some op is in no group")
    fusible_total = 0
    for g in groups:
        check = check_group(model, g, beta)
        if check.valid:
            fusible_total += model.dram_bytes(g, beta)
        elif g.bit_count() != 1 or not check.structural:
            out.append(f"group {mask_ops(g)[:5]}...: invalid ({check.reason})")
    owner = {v: i for i, g in enumerate(groups) for v in mask_ops(g)}
    succ = graph_masks(graph).succ_mask
    quotient = nx.DiGraph()
    quotient.add_nodes_from(range(len(groups)))
    quotient.add_edges_from((owner[u], owner[v]) for u in range(graph.num_ops)
                            for v in mask_ops(succ[u]) if owner[u] != owner[v])
    if not nx.is_directed_acyclic_graph(quotient):
        out.append("the groups depend on each other in a cycle")
    if fusible_total != result.objective_bytes:
        out.append(f"objective {result.objective_bytes} != fusible DRAM {fusible_total}")
    if result.plan.totals.fusible_dram_bytes != result.objective_bytes:
        out.append("the plan's fusible total differs from the objective")
    return out


def _search(problem, method: str, repair: str | None, evaluations: int,
            time_limit: float | None, seed: int):
    from fuseplan.solver.api import solve_problem
    from fuseplan.solver.problem import Limits
    from fuseplan.solver.search.run import SearchSettings

    settings = SearchSettings(repair=repair or "cost", evaluations=evaluations,
                              reference_time_s=0)
    spec = method if repair is None else f"{method}:{repair}"
    return solve_problem(problem, Limits(time_limit_s=time_limit, seed=seed), spec, settings)


_WARM: set[tuple[str, str]] = set()


def _warm_up(scheme: str, repair: str | None, buffer_bytes: int) -> None:
    """Loads torch and the strategy's checkpoint once per process, untimed."""
    from fuseplan.explain.registry import LEARNED_STRATEGIES

    if repair not in LEARNED_STRATEGIES or (scheme, repair) in _WARM:
        return
    _WARM.add((scheme, repair))
    _search(_problem("resnet18", scheme, buffer_bytes), "rs", repair, 1, 30.0, 0)


def run_task(task: Task) -> dict[str, Any]:
    """One row: the reference, a checked run, or a same-seed pair."""
    row: dict[str, Any] = {k: task[k] for k in ("kind", "net", "scheme", "search", "repair")}
    row["time_limit"] = task.get("time_limit")
    load = os.getloadavg()[0]
    try:
        problem = _problem(task["net"], task["scheme"], task["buffer_bytes"])
        row["ops"] = problem.num_ops
        row["unfusable_ops"] = problem.unfusable.bit_count()
        if task["kind"] == "reference":
            from fuseplan.solver.api import solve_problem
            from fuseplan.solver.problem import Limits

            started = time.perf_counter()
            result = solve_problem(problem, Limits(time_limit_s=task["reference_time"]), "auto")
            row.update(status=result.status, objective_bytes=result.objective_bytes,
                       bound_bytes=result.bound_bytes,
                       wall_s=round(time.perf_counter() - started, 3))
            return row | {"load": round(load, 2), "problems": []}
        _warm_up(task["scheme"], task["repair"], task["buffer_bytes"])
        if task["kind"] == "repeat":
            runs = [_search(problem, task["search"], task["repair"], task["evaluations"],
                            None, task["seed"]) for _ in range(2)]
            problems = [f"run {i + 1}: {p}" for i, r in enumerate(runs)
                        for p in plan_problems(r, problem)]
            same = (sorted(runs[0].groups) == sorted(runs[1].groups)
                    and runs[0].objective_bytes == runs[1].objective_bytes)
            if not same:
                problems.append(f"same seed, different plans ({runs[0].objective_bytes} vs "
                                f"{runs[1].objective_bytes} B)")
            row.update(same=same, objective_bytes=runs[0].objective_bytes,
                       evaluations=runs[0].details["evaluations"],
                       search_time_s=[r.details["search_time_s"] for r in runs])
            return row | {"load": round(load, 2), "problems": problems}
        started = time.perf_counter()
        result = _search(problem, task["search"], task["repair"], task["evaluations"],
                         task["time_limit"], task["seed"])
        wall = time.perf_counter() - started
        problems = plan_problems(result, problem)
        optimum = task.get("optimum")
        if task["search"] != "greedy" and result.details["evaluations"] > task["evaluations"]:
            problems.append(f"{result.details['evaluations']} evaluations, budget "
                            f"{task['evaluations']}")
        if optimum is not None and result.objective_bytes < optimum:
            problems.append(f"below the proven optimum ({result.objective_bytes} < {optimum})")
        row.update(status=result.status, objective_bytes=result.objective_bytes,
                   optimum_bytes=optimum, evaluations=result.details["evaluations"],
                   proposals=result.details["repaired_groups"], groups=len(result.groups),
                   search_time_s=result.details["search_time_s"], wall_s=round(wall, 3))
        return row | {"load": round(load, 2), "problems": problems}
    except Exception as err:  # a crash is a failure row, with its type
        return row | {"load": round(load, 2),
                      "problems": [f"{err.__class__.__name__}: {str(err)[:200]}"]}


def _key(row: dict[str, Any]) -> tuple:
    return (row["kind"], row["net"], row["scheme"], row["search"], row["repair"])


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _optima(rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {(r["net"], r["scheme"]): r["objective_bytes"] for r in rows
            if r["kind"] == "reference" and r.get("status") == "OPTIMAL"}


def _run_all(tasks: list[Task], jobs: int, path: Path) -> Iterator[dict[str, Any]]:
    """Runs the tasks (``jobs`` processes), appending each row to ``path`` as it finishes."""
    with path.open("a") as sink:
        def keep(row: dict[str, Any]) -> dict[str, Any]:
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            mark = "FAIL " + "; ".join(row["problems"]) if row["problems"] else "ok"
            print(f"{row['kind']} {row['net']} {row['scheme']} {row['search']}:{row['repair']}"
                  f" {row.get('wall_s', row.get('search_time_s'))} {mark}",
                  file=sys.stderr, flush=True)
            return row

        if jobs <= 1:
            for task in tasks:
                yield keep(run_task(task))
            return
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            pending: set[Future] = {pool.submit(run_task, t) for t in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield keep(future.result())


def summary(rows: list[dict[str, Any]], header: list[str]) -> str:
    runs = [r for r in rows if r["kind"] == "run"]
    refs = [r for r in rows if r["kind"] == "reference"]
    repeats = [r for r in rows if r["kind"] == "repeat"]
    failures = [r for r in rows if r["problems"]]
    lines = [*header, "",
             f"runs: {len(runs)} checked searches, {len(refs)} reference solves, "
             f"{len(repeats)} same-seed pairs; **failures: {len(failures)}**", ""]
    for r in failures:
        lines.append(f"- FAIL {r['kind']} {r['net']} {r['scheme']} {r['search']}:{r['repair']}:"
                     f" {'; '.join(r['problems'])}")
    if failures:
        lines.append("")
    lines += ["Time per run by repair (s, the whole solve call incl. building the plan; "
              "`cut` = runs the time limit stopped before the evaluation budget or mid-repair; "
              "proposals = distinct invalid groups the strategy was asked to cut):", "",
              "| search:repair | runs | mean s | median s | max s | cut by time | "
              "most s past the limit | mean evaluations | mean (fewest) proposals | "
              "mean gap to optimum |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        if "wall_s" in r:
            by["greedy" if r["search"] == "greedy" else f"*:{r['repair']}"].append(r)
            if r["search"] != "greedy":
                by[f"{r['search']}:*"].append(r)
    for name in sorted(by, key=lambda n: (n.startswith("*"), n)):
        rs = by[name]
        walls = [r["wall_s"] for r in rs]
        cut = sum(1 for r in rs if r.get("time_limit") is not None
                  and r["search_time_s"] >= 0.95 * r["time_limit"])
        gaps = [r["objective_bytes"] / r["optimum_bytes"] - 1 for r in rs
                if r.get("optimum_bytes")]
        past = max((r["wall_s"] - r["time_limit"] for r in rs
                    if r.get("time_limit") is not None), default=0.0)
        lines.append(
            f"| {name} | {len(rs)} | {statistics.mean(walls):.2f} | "
            f"{statistics.median(walls):.2f} | {max(walls):.2f} | {cut} | {max(past, 0):.2f} | "
            f"{statistics.mean(r['evaluations'] for r in rs):.1f} | "
            f"{statistics.mean(r['proposals'] for r in rs):.1f} "
            f"({min(r['proposals'] for r in rs)}) | "
            + ("-" if not gaps else f"{100 * statistics.mean(gaps):.1f} %") + " |")
    lines += ["", "Per instance: the reference (`auto` within the reference time), the best "
              "and worst run, greedy (fusible MB), and the rs:cost run's proposals (the parts "
              "repaired: > 0 means the buffer leaves groups to repair):", "",
              "| net | scheme | ops | unfusable | optimum MB | best run MB | worst run MB | "
              "greedy MB | rs:cost proposals |", "|---|---|---|---|---|---|---|---|---|"]
    optima = _optima(rows)
    per: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        if r.get("objective_bytes") is not None:
            per[(r["net"], r["scheme"])].append(r)
    from fuseplan.models.zoo import NAMES

    order = {n: i for i, n in enumerate(NAMES)}
    for ref in sorted(refs, key=lambda r: (order.get(r["net"], len(order)), r["net"],
                                           r["scheme"] != "lbdf")):
        inst = (ref["net"], ref["scheme"])
        rs = per.get(inst, [])
        values = [r["objective_bytes"] / MB for r in rs if r["search"] != "greedy"]
        greedy = [r["objective_bytes"] / MB for r in rs if r["search"] == "greedy"]
        proposals = [r["proposals"] for r in rs if (r["search"], r["repair"]) == ("rs", "cost")]
        opt = optima.get(inst)
        lines.append(
            f"| {inst[0]} | {inst[1]} | {ref.get('ops', '-')} | {ref.get('unfusable_ops', '-')} | "
            + (f"{opt / MB:.3f}" if opt is not None
               else f"no proof ({ref.get('status', 'error')}, {ref.get('wall_s', '-')} s)")
            + " | " + (f"{min(values):.3f} | {max(values):.3f}" if values else "- | -")
            + " | " + (f"{greedy[0]:.3f}" if greedy else "-") + " | "
            + (str(proposals[0]) if proposals else "-") + " |")
    if repeats:
        lines += ["", "Same seed twice (no time limit, evaluations only, one process):", "",
                  "| net | scheme | search:repair | same plan | MB | evaluations | "
                  "search s (1st, 2nd) |", "|---|---|---|---|---|---|---|"]
        for r in sorted(repeats, key=_key):
            times = r.get("search_time_s") or []
            lines.append(
                f"| {r['net']} | {r['scheme']} | {r['search']}:{r['repair']} | "
                f"{'yes' if r.get('same') else 'NO'} | "
                + ("-" if r.get("objective_bytes") is None else f"{r['objective_bytes'] / MB:.3f}")
                + f" | {r.get('evaluations', '-')} | "
                + ", ".join(f"{t:.2f}" for t in times) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from fuseplan.explain.registry import STRATEGIES
    from fuseplan.models.units import parse_bytes
    from fuseplan.models.zoo import NAMES

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default=",".join(NAMES))
    ap.add_argument("--schemes", default="lbdf,brr")
    ap.add_argument("--searches", default=",".join(SEARCHES))
    ap.add_argument("--repairs", default=",".join(STRATEGIES))
    ap.add_argument("--buffer", default="128KB")
    ap.add_argument("--evaluations", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=4.0, help="seconds per search run")
    ap.add_argument("--reference-time", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", default=REPEAT,
                    help="same-seed sample: search=net,... (LBDF, every repair); '' for none")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--retry-failed", action="store_true",
                    help="drop the failed rows of OUT.jsonl and run them again (after a fix)")
    ap.add_argument("--out", required=True, help="writes OUT.jsonl (rows) and OUT.md")
    args = ap.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/search_zoo.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    print(command, flush=True)
    buffer_bytes = parse_bytes(args.buffer)
    nets = [n for n in args.nets.split(",") if n]
    schemes = [s for s in args.schemes.split(",") if s]
    searches = [s for s in args.searches.split(",") if s]
    repairs = [r for r in args.repairs.split(",") if r]
    path = Path(f"{args.out}.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    common = {"buffer_bytes": buffer_bytes, "evaluations": args.evaluations,
              "seed": args.seed, "reference_time": args.reference_time}
    load0, start = os.getloadavg()[0], time.perf_counter()
    if args.retry_failed and path.exists():
        kept = [r for r in _read(path) if not r["problems"]]
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def todo(tasks: list[Task]) -> list[Task]:
        done = {_key(r) for r in _read(path)}
        return [t for t in tasks if _key(t) not in done]

    references = [{"kind": "reference", "net": n, "scheme": s, "search": "auto",
                   "repair": None, **common} for n in nets for s in schemes]
    list(_run_all(todo(references), args.jobs, path))
    optima = _optima(_read(path))
    runs = []
    for n in nets:
        for s in schemes:
            for search in searches:
                for repair in ([None] if search == "greedy" else repairs):
                    runs.append({"kind": "run", "net": n, "scheme": s, "search": search,
                                 "repair": repair, "time_limit": args.time_limit,
                                 "optimum": optima.get((n, s)), **common})
    repeat = dict(p.split("=") for p in args.repeat.split(",") if p)
    runs += [{"kind": "repeat", "net": net, "scheme": "lbdf", "search": search,
              "repair": repair, **common}
             for search, net in repeat.items() for repair in repairs]
    pending = todo(runs)
    for row in _run_all(pending, args.jobs, path):
        pass
    rows = _read(path)
    header = [
        "# Every search x every repair on every zoo net, each plan verified",
        "",
        f"command: `{command}`",
        f"machine: {platform.machine()}, {os.cpu_count()} cores; this call: {len(pending)} "
        f"runs in {time.perf_counter() - start:.0f} s, load {load0:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (rows from earlier calls are kept: see each row's "
        "`load` in the jsonl)",
        f"settings: buffer {args.buffer}, {args.evaluations} evaluations and a "
        f"{args.time_limit:g} s time limit per search run (whichever first), seed {args.seed}, "
        f"reference `auto` within {args.reference_time:g} s, same-seed sample {args.repeat}",
    ]
    text = summary(rows, header)
    Path(f"{args.out}.md").write_text(text)
    print(text)
    return 1 if any(r["problems"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
