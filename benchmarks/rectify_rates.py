"""The rectify-rate table (the paper's Table V, made honest): every repair strategy on the same
fixed invalid groups.

Groups, fixed before measuring: the weakly connected parts of the segments of 100 random
segmentations (K = 10, ``random.Random(0)``, ``models/group_sampling.segment_parts``) that the
cost model finds invalid, distinct, with at least 2 ops; MobileNetV2 and ResNet-50 (never seen
by the GNN), LBDF and BRR, 128 KB, 1 byte per element. ``--first-cut-sample`` and
``--repair-sample`` measure every strategy on the same seeded subsets (``random.Random(1)`` and
``random.Random(2)``), so the slow learned ones fit the time.

Per strategy:
- first-cut rate: share of groups whose first cut (the shared cut rule on the strategy's
  scores) leaves both halves valid (``check_group``), over the groups where some cut does,
  found exhaustively over the group's cut space (every ideal; exact on these nets);
- repair quality: the DRAM that recursive splitting (``solver/search/splitting.py``, 3 cuts
  per group, as the searches run it) reaches with the strategy, divided by the group's optimal
  split: an exact partition of G's ops into valid groups (each priced in the full graph, so a
  tensor that leaves G is an output), by a shortest path over the ideals of G (``optimal_split``);
  unfusable singletons count 0 in both, as in the searches;
- ms per explanation (scoring one group) and per repaired group (the whole recursive split).
Also how often the GNN calls an invalid group valid (P(valid) >= 0.5): the learned strategies
explain toward "invalid" all the same.

    .venv/bin/python benchmarks/rectify_rates.py --out benchmarks/results/rectify_rates.json
    (--first-cut-sample N / --repair-sample M: the same seeded N and M groups for every
    strategy, so the slow learned ones fit the time)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuseplan.explain.cut_rule import top_cuts
from fuseplan.explain.cuts import MAX_IDEALS, cut_space, ideals
from fuseplan.explain.registry import make_strategy
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import check_group, components_in, graph_masks
from fuseplan.models.group_sampling import segment_parts
from fuseplan.models.units import parse_bytes
from fuseplan.models.zoo import build
from fuseplan.solver.problem import make_problem
from fuseplan.solver.search.splitting import RecursiveSplitter, ValidGroupPrices

STRATEGIES = ("cost", "random", "gnnexplainer", "pgexplainer", "rgexplainer",
              "rgexplainer-untrained", "ig")


def invalid_parts(graph, model, buffer_bytes: int, segmentations: int) -> list[int]:
    rng = random.Random(0)
    parts = [p for _ in range(segmentations) for p in segment_parts(graph, rng)]
    out = []
    for p in dict.fromkeys(parts):
        if p.bit_count() >= 2 and not check_group(model, p, buffer_bytes).valid:
            out.append(p)
    return out


def optimal_partition(graph, group: int, prices: ValidGroupPrices
                      ) -> tuple[int, tuple[int, ...]] | None:
    """The least fusible DRAM of a partition of ``group`` into valid groups, and the groups:
    a shortest path over the ideals of G (a chain of ideals {} < I1 < ... < G whose differences
    are the groups; any partition of a convex G into groups with an acyclic quotient is such a
    chain). None when G has too many ideals to list."""
    found = ideals(graph, group, 1 << 16)
    if found is None:
        return None
    order = sorted([0, *found, group], key=lambda m: (m.bit_count(), m))
    nbr = graph_masks(graph).nbr_mask
    best: dict[int, tuple[int, int]] = {0: (0, 0)}  # ideal -> (DRAM, the ideal before it)
    for hi in order[1:]:
        value = None
        for lo in order:
            if lo.bit_count() >= hi.bit_count():
                break
            if lo & ~hi or lo not in best:
                continue
            diff = hi & ~lo
            if len(components_in(diff, nbr)) != 1:
                continue
            price = prices.price(diff)
            if price is not None and (value is None or best[lo][0] + price < value[0]):
                value = (best[lo][0] + price, lo)
        if value is not None:
            best[hi] = value
    if group not in best:
        return None
    parts, hi = [], group
    while hi:
        lo = best[hi][1]
        parts.append(hi & ~lo)
        hi = lo
    return best[group][0], tuple(reversed(parts))


def optimal_split(graph, group: int, prices: ValidGroupPrices) -> int | None:
    """The DRAM of :func:`optimal_partition` (None when there is none)."""
    found = optimal_partition(graph, group, prices)
    return None if found is None else found[0]


def settings(args: argparse.Namespace, buffer_bytes: int):
    """(net, scheme, graph, cost model, problem, invalid parts) for every net and scheme of
    ``args`` (``--nets``, ``--schemes``, ``--segmentations``)."""
    for net in args.nets.split(","):
        graph = build(net)
        for scheme in args.schemes.split(","):
            model = make_cost_model(scheme, graph)
            problem = make_problem(graph, model, buffer_bytes)
            yield net, scheme, graph, model, problem, invalid_parts(graph, model, buffer_bytes,
                                                                    args.segmentations)


@dataclass
class Row:
    strategy: str
    groups: int = 0
    with_cut: int = 0
    first_ok: int = 0
    ratios: list[float] = field(default_factory=list)
    explain_s: list[float] = field(default_factory=list)
    repair_s: list[float] = field(default_factory=list)
    error: str | None = None


def strategy_for(label: str, seed: int, args: argparse.Namespace, scheme: str):
    name = label.replace("-untrained", "")
    opts: dict[str, Any] = {"seed": seed}
    if args.gnn_dir and name not in ("cost", "random"):
        opts["checkpoint"] = Path(args.gnn_dir) / f"{scheme}.json"
    if args.explainer_dir and name in ("pgexplainer", "rgexplainer"):
        opts["explainer_checkpoint"] = Path(args.explainer_dir) / f"{name}-{scheme}.json"
    if label.endswith("-untrained"):
        opts["untrained"] = True
    return make_strategy(name, **opts)


def measure(label: str, graph, model, problem, cut_groups, repair_groups, optimum, args,
            scheme) -> Row:
    row = Row(label, len(repair_groups))
    algorithm = strategy_for(label, 0, args, scheme)
    explain_s: list[float] = []

    def propose(group: int) -> list[tuple[int, int]]:
        space = cut_space(graph, group)
        explanation = algorithm(model, group, problem.buffer_bytes, space=space)
        explain_s.append(explanation.time_s)
        return [(c.first, c.second) for c in top_cuts(space, explanation.edge_scores, 3)]

    for g in cut_groups:  # every one has a both-valid cut
        space = cut_space(graph, g)
        row.with_cut += 1
        explanation = algorithm(model, g, problem.buffer_bytes, space=space)
        row.explain_s.append(explanation.time_s)
        cuts = top_cuts(space, explanation.edge_scores, 1, model)
        if cuts and all(check_group(model, h, problem.buffer_bytes).valid
                        for h in (cuts[0].first, cuts[0].second)):
            row.first_ok += 1
    for g in repair_groups:
        splitter = RecursiveSplitter(problem, propose)
        t = time.perf_counter()
        split = splitter.repair(g)
        row.repair_s.append(time.perf_counter() - t)
        if optimum[g]:
            row.ratios.append(split.dram_bytes / optimum[g])
    row.explain_s += explain_s
    return row


def gnn_missed(graph, groups, buffer_bytes, scheme, args) -> tuple[int, int] | None:
    try:
        from fuseplan.explain import predict_validity

        ck = Path(args.gnn_dir) / f"{scheme}.json" if args.gnn_dir else None
        p = predict_validity(graph, groups, buffer_bytes, scheme, checkpoint=ck)
    except Exception as err:  # no GNN for this scheme: say so in the table
        print(f"# {graph.name} {scheme}: no GNN prediction ({err})", file=sys.stderr)
        return None
    return int((p >= 0.5).sum()), len(groups)


def fmt_row(net, scheme, row: Row) -> str:
    if row.error:
        return f"| {net} | {scheme} | {row.strategy} | - | - | - | - | {row.error} |"
    first = f"{100 * row.first_ok / row.with_cut:.1f} % ({row.first_ok}/{row.with_cut})" \
        if row.with_cut else "-"
    q = row.ratios
    quality = f"{sum(q) / len(q):.3f} (max {max(q):.2f})" if q else "-"
    ms_e = f"{1000 * sum(row.explain_s) / len(row.explain_s):.1f}" if row.explain_s else "-"
    ms_r = f"{1000 * sum(row.repair_s) / len(row.repair_s):.1f}" if row.repair_s else "-"
    return f"| {net} | {scheme} | {row.strategy} | {row.groups} | {first} | {quality} | " \
           f"{ms_e} | {ms_r} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default="mobilenet_v2,resnet50")
    ap.add_argument("--schemes", default="lbdf,brr")
    ap.add_argument("--buffer", default="128KB")
    ap.add_argument("--segmentations", type=int, default=100)
    ap.add_argument("--first-cut-sample", type=int, default=0,
                    help="first-cut rate on N of the groups with a both-valid cut (0: all)")
    ap.add_argument("--repair-sample", type=int, default=0,
                    help="repair quality and time on N of the invalid groups (0: all)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--gnn-dir", default=None, help="GNN checkpoints SCHEME.json (default: shipped)")
    ap.add_argument("--explainer-dir", default=None,
                    help="explainer checkpoints ALGO-SCHEME.json (default: shipped)")
    ap.add_argument("--out", default=None, help="write the rows as JSON")
    args = ap.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/rectify_rates.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    buffer_bytes = parse_bytes(args.buffer)
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    lines, records = [], []
    for net, scheme, graph, model, problem, groups in settings(args, buffer_bytes):
        total = len(groups)
        prices = ValidGroupPrices(problem)
        exists = {g: any(check_group(model, c.first, buffer_bytes).valid
                         and check_group(model, c.second, buffer_bytes).valid
                         for c in cut_space(graph, g, MAX_IDEALS).cuts) for g in groups}
        missed = gnn_missed(graph, groups, buffer_bytes, scheme, args)
        cut_groups = [g for g in groups if exists[g]]
        repair_groups = list(groups)
        if 0 < args.first_cut_sample < len(cut_groups):
            cut_groups = sorted(random.Random(1).sample(cut_groups, args.first_cut_sample))
        if 0 < args.repair_sample < len(repair_groups):
            repair_groups = sorted(random.Random(2).sample(repair_groups, args.repair_sample))
        optimum = {g: optimal_split(graph, g, prices) for g in repair_groups}
        miss = f"{missed[0]}/{missed[1]}" if missed else "no GNN"
        print(f"# {net} {scheme}: {total} invalid parts, {sum(exists.values())} with a "
              f"both-valid cut; GNN called valid: {miss}", file=sys.stderr, flush=True)
        for label in args.strategies.split(","):
            try:
                row = measure(label, graph, model, problem, cut_groups, repair_groups,
                              optimum, args, scheme)
            except Exception as err:  # a strategy without its checkpoint: say why
                row = Row(label, len(repair_groups), error=str(err).split(";")[0][:120])
            lines.append(fmt_row(net, scheme, row))
            print(lines[-1], file=sys.stderr, flush=True)
            records.append({"net": net, "scheme": scheme, "strategy": label,
                            "groups": row.groups, "with_cut": row.with_cut,
                            "first_ok": row.first_ok, "ratios": row.ratios,
                            "explain_ms": [1000 * s for s in row.explain_s],
                            "repair_ms": [1000 * s for s in row.repair_s],
                            "invalid_parts": total, "gnn_called_valid": missed,
                            "error": row.error})
    header = ("| net | scheme | strategy | repaired groups | first-cut rate | repair quality (mean) | "
              "ms / explanation | ms / repaired group |\n|---|---|---|---|---|---|---|---|")
    print(f"command: {command}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load0:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end; {time.perf_counter() - start:.0f} s")
    print(header)
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps({"command": command, "rows": records}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
