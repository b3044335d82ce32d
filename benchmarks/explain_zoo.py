"""Every repair strategy on every zoo net through the same call (issue 12: "every strategy runs
on every zoo net through the same call").

For each zoo net (``models/zoo``, ``NAMES``) and scheme, one invalid group is fixed before
measuring: the largest weakly connected part of the segments of seeded random segmentations
(K = 10, ``random.Random(f"explain-zoo:{net}")``, ``models/group_sampling.segment_parts``)
with at most ``--max-ops`` ops that the cost model finds invalid at ``--buffer`` (32 KB: small,
so that every net has one). Every strategy then runs through the one entry point the command
and the searches use, ``explain.explainer.explain_group(model, group, buffer,
make_strategy(name))``, and the answer is checked:

- a cut: ``first`` and ``second`` partition the group, ``first`` is one of the group's cuts
  (``explain/cuts.py``: closed under predecessors, both halves connected), both halves pass
  ``check_group``'s structural checks and no edge runs from ``second`` back into ``first``
  (no two-group cycle);
- or no cut, only where the group's cut space has none (the documented "no cut exists").

A strategy that raises, returns a cut outside the space or no cut where one exists is a
failure (exit code 1). Also reported: whether the cut leaves both halves valid (not required:
it is the first cut, not a repair) and the ms of the call (one torch thread; the learned ones
pay their GNN and checkpoint loading on each net's first call of each scheme, not counted:
one untimed warm-up call on the first net).

    .venv/bin/python benchmarks/explain_zoo.py --out benchmarks/results/explain_zoo.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sys
import time
from pathlib import Path

from fuseplan.explain.cuts import cut_space
from fuseplan.explain.explainer import explain_group
from fuseplan.explain.registry import STRATEGIES, make_strategy
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import check_group, graph_masks
from fuseplan.models.group_sampling import segment_parts
from fuseplan.models.units import parse_bytes
from fuseplan.models.zoo import NAMES, build


def invalid_group(graph, model, buffer_bytes: int, max_ops: int, tries: int = 50) -> int | None:
    """The largest invalid segment part with 2..max_ops ops over ``tries`` seeded
    segmentations (ties: the smaller mask)."""
    rng = random.Random(f"explain-zoo:{graph.name}")
    best: int | None = None
    for _ in range(tries):
        for part in segment_parts(graph, rng):
            if not 2 <= part.bit_count() <= max_ops:
                continue
            if best is not None and (part.bit_count(), -part) <= (best.bit_count(), -best):
                continue
            if not check_group(model, part, buffer_bytes).valid:
                best = part
    return best


def check_answer(graph, model, group: int, buffer_bytes: int, result) -> str | None:
    """None when the answer is a correct cut or a correct "no cut"; else what is wrong."""
    space = cut_space(graph, group)
    cut = result.cut
    if cut is None:
        return None if not space.cuts else f"no cut, but the space has {len(space.cuts)}"
    a, b = cut.cut.first, cut.cut.second
    if a & b or a | b != group or not a or not b:
        return "the halves do not partition the group"
    if a not in {c.first for c in space.cuts}:
        return "the cut is not one of the group's cuts"
    succ = graph_masks(graph).succ_mask
    if any(succ[v] & a for v in range(graph.num_ops) if b >> v & 1):
        return "an edge runs from the second half into the first (a cycle)"
    for half in (a, b):
        check = check_group(model, half, buffer_bytes)
        if not check.structural:
            return f"a half fails check_group's structural checks ({check.reason})"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default=",".join(NAMES))
    ap.add_argument("--schemes", default="lbdf,brr")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--buffer", default="32KB")
    ap.add_argument("--max-ops", type=int, default=40)
    ap.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = ap.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/explain_zoo.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    buffer_bytes = parse_bytes(args.buffer)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    algorithms = {s: make_strategy(s, seed=0) for s in strategies}
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    rows, failures, warmed = [], 0, set()
    for net in args.nets.split(","):
        graph = build(net)
        for scheme in args.schemes.split(","):
            model = make_cost_model(scheme, graph)
            group = invalid_group(graph, model, buffer_bytes, args.max_ops)
            if group is None:
                rows.append(f"| {net} | {scheme} | - | - | " + " | ".join(
                    "no invalid group" for _ in strategies) + " |")
                continue
            cells = []
            n_cuts = len(cut_space(graph, group).cuts)
            for name in strategies:
                if (name, scheme) not in warmed:  # untimed: loads the GNN and checkpoint
                    explain_group(model, group, buffer_bytes, algorithms[name])
                    warmed.add((name, scheme))
                t = time.perf_counter()
                try:
                    result = explain_group(model, group, buffer_bytes, algorithms[name])
                    ms = 1000 * (time.perf_counter() - t)
                    problem = check_answer(graph, model, group, buffer_bytes, result)
                except Exception as err:  # a crash is a failure row, reported with its type
                    ms, problem = 1000 * (time.perf_counter() - t), \
                        f"{err.__class__.__name__}: {str(err)[:80]}"
                if problem:
                    failures += 1
                    cells.append(f"FAIL {problem}")
                elif result.cut is None:
                    cells.append(f"no cut, {ms:.0f}")
                else:
                    cells.append(f"{'valid' if result.cut.valid else 'cut'}, {ms:.0f}")
            rows.append(f"| {net} | {scheme} | {group.bit_count()} | {n_cuts} | "
                        + " | ".join(cells) + " |")
            print(rows[-1], file=sys.stderr, flush=True)
    header = (f"| net | scheme | ops | cuts | {' | '.join(strategies)} |\n"
              f"|---|---|---|---|{'---|' * len(strategies)}")
    text = "\n".join([
        f"command: {command}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load0:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end; {time.perf_counter() - start:.0f} s; "
        f"buffer {args.buffer}; failures: {failures}",
        "cell: `valid` (a cut whose halves are both valid), `cut` (a correct cut, a half "
        "still too big), `no cut` (the group has none), then ms for the explain_group call",
        "", header, *rows, ""])
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
