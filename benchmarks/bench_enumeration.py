"""Candidate enumeration, old code against new, in one process (issue 14).

The baseline is the code of a git revision (``--baseline``): its ``solver/candidates.py``,
``models/cost/lbdf.py`` and ``models/cost/brr_fast.py`` are loaded from ``git show`` as
modules beside the current ones. Each net x scheme x buffer is enumerated ``--rounds``
times by each side, alternating, on fresh models (empty caches); the figure is the least
CPU time (``time.process_time``) of each side, and the sets must be identical (masks,
costs, before/after masks, groups evaluated, complete). The 1-minute load average is
printed with every row: the machine is shared. Example::

    .venv/bin/python benchmarks/bench_enumeration.py --nets googlenet --buffers 256
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from fuseplan.models.cost import make_cost_model
from fuseplan.models.cost.tables import tables_for
from fuseplan.models.load import load_graph
from fuseplan.solver.candidates import CandidateSet, enumerate_candidates
from fuseplan.solver.problem import make_problem

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "592388f"  # main before the compiled kernel (4ff5c75: before the Python speed-up)


def load_old(rev: str, path: str, module: str) -> ModuleType:
    """The file ``path`` as it was at ``rev``, as module ``module`` (relative imports
    resolve in the package its name is in)."""
    source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(module, loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = module.rpartition(".")[0]
    sys.modules[module] = mod
    exec(compile(source, f"{rev}:{path}", "exec"), mod.__dict__)
    return mod


def key(c: CandidateSet) -> tuple:
    return (c.masks, c.costs, c.before, c.after, c.evaluated, c.complete)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="googlenet,inception_v3")
    parser.add_argument("--schemes", default="lbdf,brr")
    parser.add_argument("--buffers", default="256,512", help="KB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    old_cands = load_old(args.baseline, "solver/candidates.py", "fuseplan.solver._old_candidates")
    old_lbdf = load_old(args.baseline, "models/cost/lbdf.py", "fuseplan.models.cost._old_lbdf")
    old_brr = load_old(args.baseline, "models/cost/brr_fast.py",
                       "fuseplan.models.cost._old_brr_fast")
    print("command:", shlex.join([".venv/bin/python", "benchmarks/bench_enumeration.py",
                                  *sys.argv[1:]]))
    print(f"baseline: {args.baseline}; CPU seconds, least of {args.rounds} rounds each")
    print("| net | scheme | buffer | candidates | evaluated | old s | new s | speed-up "
          "| old groups/s | new groups/s | identical | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for net in args.nets.split(","):
        graph = load_graph(net)
        for scheme in args.schemes.split(","):
            for kb in (int(b) for b in args.buffers.split(",")):
                best = {"old": float("inf"), "new": float("inf")}
                results = {}
                for _ in range(args.rounds):
                    for side in ("old", "new"):
                        model = make_cost_model(scheme, graph)
                        if side == "old":
                            if scheme == "lbdf":
                                model = old_lbdf.LbdfModel(graph)
                            else:
                                model._fast = old_brr.BrrFast(tables_for(graph), 1)
                        problem = make_problem(graph, model, kb * 1024)
                        run = old_cands.enumerate_candidates if side == "old" else \
                            enumerate_candidates
                        start = time.process_time()
                        cands = run(problem)
                        best[side] = min(best[side], time.process_time() - start)
                        results.setdefault(side, key(cands))
                        if key(cands) != results[side]:
                            raise SystemExit(f"{net} {scheme} {kb} KB: {side} not repeatable")
                same = results["old"] == results["new"]
                n, evaluated = len(results["new"][0]), results["new"][4]
                print(f"| {net} | {scheme} | {kb} KB | {n:,} | {evaluated:,} "
                      f"| {best['old']:.2f} | {best['new']:.2f} "
                      f"| {best['old'] / best['new']:.2f}x | {n / best['old']:,.0f} "
                      f"| {n / best['new']:,.0f} | {'yes' if same else 'NO'} "
                      f"| {os.getloadavg()[0]:.2f} |", flush=True)
                if not same:
                    raise SystemExit(f"{net} {scheme} {kb} KB: the sets differ")


if __name__ == "__main__":
    main()
