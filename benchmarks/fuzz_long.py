"""The long fuzz: at least 10,000 random CNN-like graphs through the planners' properties.

Graph i is ``random_cnn(Random(i), n)`` (tests/fuzz_graphs.py) with n in 1..60, one scheme
and one buffer drawn from the same seed, so any failure is reproduced by its seed alone:

    .venv/bin/python benchmarks/fuzz_long.py --graphs 10000 --jobs 2 --out runs/fuzz-long
    .venv/bin/python benchmarks/fuzz_long.py --only 1234          # re-check one seed, verbose
    .venv/bin/python benchmarks/fuzz_long.py --learned 200 --jobs 2 --out runs/fuzz-learned

Per graph: ``auto`` (exact) and one more exact method in turn (ideals, astar, cpsat-partition,
cpsat-flow, milp; the set partitions only up to 30 ops); brute force when it has <= 9 ops; two searches in turn over rs, ls, nsga2
(each with ``cost`` and ``random`` repair), greedy and the hybrid when it is registered; the
relabelled graph (another topological order, other names) solved again; every plan through
the validator and a JSON round trip. One JSON line per graph goes to ``OUT/results.jsonl`` as it
finishes (a stopped run resumes where it left off, checking failed seeds again); the summary
is printed at the end and written to ``OUT/summary.md``.

``--learned N`` runs the smaller sample of the learned repairs instead (issue 16): N graphs
of 1..30 ops (seeds as above), each through ``auto`` (and brute force on <= 9 ops) and four
searches, one per learned strategy (gnnexplainer, pgexplainer, rgexplainer, ig; the search
in turn over rs, ls, nsga2) with ``--learned-evaluations`` each (default 10) and a
``--learned-time`` limit (default 20 s; a search stopped by it still returns a plan, which is
checked the same). Checked: every plan passes the validator and survives JSON, and none is
below the optimum. Rows go to ``OUT/learned.jsonl`` and the summary to
``OUT/learned-summary.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz_graphs import (  # noqa: E402
    SCHEMES, Outcome, check_instance, heuristic_methods, hybrid_available, learned_methods,
    pick_buffer, random_cnn,
)

EXACT_OTHERS = ("ideals", "astar", "cpsat-partition", "cpsat-flow", "milp")
SET_PARTITION_OPS = 30  # above: cpsat-partition and milp (slow on a shared machine) sit out


LEARNED_OPS = 30  # the learned sample's largest graph (each proposal runs an explainer)


def instance(seed: int, max_ops: int = 60) -> tuple[random.Random, int, str]:
    rng = random.Random(seed)
    n = rng.randint(1, 9) if rng.random() < 0.3 else rng.randint(10, max_ops)
    return rng, n, SCHEMES[seed % 2]


def _row(seed: int, scheme: str, check: Callable[[], dict]) -> dict:
    """One seed's JSON row: ``ok`` and what ``check()`` returns, or the failure it raised
    (an assertion, or any crash with its traceback); timed."""
    start = time.perf_counter()
    row: dict = {"seed": seed, "scheme": scheme}
    try:
        row.update(ok=True, **check())
    except AssertionError as err:
        row.update(ok=False, error=str(err)[:500])
    except Exception as err:  # a crash is a failure too
        row.update(ok=False, error=f"{type(err).__name__}: {err}"[:300],
                   trace=traceback.format_exc()[-1500:])
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def _counts(out: Outcome) -> dict:
    return dict(ops=out.ops, buffer=out.buffer, optimum=out.optimum, proven=out.proven,
                brute_forced=out.brute_forced, plans=out.plans_checked)


def check_seed(seed: int, evaluations: int) -> dict:
    searches = heuristic_methods() + (["hybrid"] if hybrid_available() else [])
    rng, n, scheme = instance(seed)

    def check() -> dict:
        graph = random_cnn(rng, n, name=f"fuzz{seed}")
        buffer = pick_buffer(graph, scheme, rng)
        picked = (searches[(2 * seed) % len(searches)], searches[(2 * seed + 1) % len(searches)])
        others = EXACT_OTHERS if graph.num_ops <= SET_PARTITION_OPS else EXACT_OTHERS[:2] + ("cpsat-flow",)
        other = others[seed % len(others)]
        out = check_instance(
            graph, scheme, buffer, exact=("auto", other),
            heuristics=picked, evaluations=evaluations, time_limit_s=30.0, relabel_rng=rng)
        return dict(_counts(out), methods=["auto", other, *picked])

    return _row(seed, scheme, check)


def check_learned_seed(seed: int, evaluations: int, time_limit_s: float) -> dict:
    """One graph of the learned sample: auto, then one search per learned strategy."""
    methods = learned_methods()
    strategies = sorted({m.split(":")[1] for m in methods})
    rng, n, scheme = instance(seed, LEARNED_OPS)

    def check() -> dict:
        graph = random_cnn(rng, n, name=f"learned{seed}")
        buffer = pick_buffer(graph, scheme, rng)
        picked = []
        for i, strategy in enumerate(strategies):
            searches = [m for m in methods if m.endswith(f":{strategy}")]
            picked.append(searches[(seed + i) % len(searches)])
        out = check_instance(graph, scheme, buffer, exact=("auto",), heuristics=tuple(picked),
                             evaluations=evaluations, search_time_s=time_limit_s)
        return dict(_counts(out), methods=["auto", *picked], repaired=out.repaired)

    return _row(seed, scheme, check)


def summary(rows: list[dict], wall_s: float, command: str, jobs: int,
            title: str = "Long fuzz") -> str:
    ok = [r for r in rows if r.get("ok")]
    bad = [r for r in rows if not r.get("ok")]
    methods = Counter(m for r in ok for m in r.get("methods", []))
    load = os.getloadavg()
    lines = [
        f"# {title}",
        "",
        f"`{command}`",
        "",
        f"- graphs checked: **{len(rows):,}** ({len(ok):,} clean, {len(bad):,} failed)",
        f"- ops per graph: {min((r['ops'] for r in ok), default=0)}-"
        f"{max((r['ops'] for r in ok), default=0)}; "
        f"brute-forced (<= 9 ops): {sum(r.get('brute_forced', False) for r in ok):,}; "
        f"optimum proven: {sum(r.get('proven', False) for r in ok):,}",
        f"- plans validated and round-tripped through JSON: {sum(r.get('plans', 0) for r in ok):,}",
        f"- schemes: " + ", ".join(f"{s} {sum(r['scheme'] == s for r in rows):,}" for s in SCHEMES),
        "- methods (graphs each ran on): " + ", ".join(f"{m} {c:,}" for m, c in sorted(methods.items())),
        *_repaired_line(ok),
        f"- wall time of this call: {wall_s:,.0f} s with {jobs} worker(s); sum of per-graph "
        f"times {sum(r['seconds'] for r in rows):,.0f} s",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
    ]
    if bad:
        lines += ["", "Failures (reproduce with `--only SEED`):", ""]
        lines += [f"- seed {r['seed']}: {r['error']}" for r in bad[:50]]
    return "\n".join(lines) + "\n"


def _repaired_line(rows: list[dict]) -> list[str]:
    """Groups each repair strategy split, summed over the rows (learned rows only)."""
    groups: Counter[str] = Counter()
    graphs: Counter[str] = Counter()
    for r in rows:
        for method, n in r.get("repaired", {}).items():
            strategy = method.split(":")[-1]
            groups[strategy] += n
            graphs[strategy] += n > 0
    if not groups:
        return []
    return ["- groups repaired (graphs where the strategy repaired at least one): "
            + ", ".join(f"{s} {groups[s]:,} ({graphs[s]:,})" for s in sorted(groups))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=10_000)
    parser.add_argument("--start", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--evaluations", type=int, default=60,
                        help="budget of each search per graph (default 60)")
    parser.add_argument("--out", default="runs/fuzz-long")
    parser.add_argument("--only", type=int, help="check this one seed and print the row")
    parser.add_argument("--learned", type=int, metavar="N",
                        help="instead: the learned repairs' sample of N graphs (docstring)")
    parser.add_argument("--learned-evaluations", type=int, default=10,
                        help="budget of each learned search per graph (default 10)")
    parser.add_argument("--learned-time", type=float, default=20.0,
                        help="--time-limit of each learned search, seconds (default 20)")
    args = parser.parse_args()
    learned = args.learned is not None
    if learned:
        args.graphs = args.learned
        check = partial(check_learned_seed, evaluations=args.learned_evaluations,
                        time_limit_s=args.learned_time)
    else:
        check = partial(check_seed, evaluations=args.evaluations)
    if args.only is not None:
        row = check(args.only)
        print(json.dumps(row, indent=2))
        return 0 if row["ok"] else 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / ("learned.jsonl" if learned else "results.jsonl")
    done: dict[int, dict] = {}
    if results.exists():
        for line in results.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill
            if row.get("ok"):  # a failed seed is checked again (after a fix)
                done[row["seed"]] = row
    seeds = [s for s in range(args.start, args.start + args.graphs) if s not in done]
    command = " ".join(["python", "benchmarks/fuzz_long.py", *sys.argv[1:]])
    print(f"{args.graphs} graphs: {args.graphs - len(seeds)} already checked, {len(seeds)} to go",
          flush=True)
    start = time.perf_counter()
    with open(results, "a", encoding="utf-8") as fh, ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(check, s) for s in seeds]
        for i, future in enumerate(as_completed(futures), 1):
            row = future.result()
            done[row["seed"]] = row
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            if not row["ok"]:
                print(f"FAIL seed {row['seed']}: {row['error']}", flush=True)
            if i % 100 == 0:
                elapsed = time.perf_counter() - start
                print(f"{i}/{len(seeds)} in {elapsed:.0f} s", flush=True)
    rows = [done[s] for s in range(args.start, args.start + args.graphs) if s in done]
    text = summary(rows, time.perf_counter() - start, command, args.jobs,
                   "Long fuzz: learned repairs" if learned else "Long fuzz")
    (out / ("learned-summary.md" if learned else "summary.md")).write_text(text)
    print(text)
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
