"""Why the learned repair strategies do not beat ``random``, and why ``cost`` misses repair
quality 1.02: measurements on the rectify-rate table's groups (``benchmarks/rectify_rates.py``:
the same invalid segment parts, the same seeded samples).

``--part why`` (per net and scheme):
- the cut space: cuts per group, and the share of them that leave both halves valid (what a
  uniformly random cut achieves on average), over every group with a both-valid cut;
- the GNN: how often it calls the invalid group valid, and its accuracy on the *halves* of
  every cut of these groups (the thing a cut has to get right), with its balanced accuracy;
- per learned strategy, on the first-cut sample (``--first-cut-sample``, ``random.Random(1)``
  as in the table): the mean Spearman rank correlation of its edge scores with ``cost``'s
  (over the edges some valid cut crosses; groups where either ranking is constant are left
  out and counted), the share of groups whose first cut is ``cost``'s, and its first-cut rate.

``--part split`` (per net and scheme, ``cost`` on every invalid group): Algorithm 1's repair
quality (recursive splitting, 3 cuts) against the optimal split, decomposed: on the groups
where some single cut leaves both halves valid (valid as Algorithm 1 prices them: an
unfusable single op counts as a valid half priced 0) and on the others; on the former, the
best such cut alone over the optimum, and ``cost``'s first cut alone over the optimum; how
many groups the optimum has; how often Algorithm 1 stops at two groups while the optimum has
more.

    .venv/bin/python benchmarks/rectify_why.py --part why --first-cut-sample 30
    .venv/bin/python benchmarks/rectify_why.py --part split
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sys
import time
from statistics import mean, median

import numpy as np
from scipy.stats import spearmanr

from fuseplan.explain.cut_rule import top_cuts
from fuseplan.explain.cuts import MAX_IDEALS, cut_space
from fuseplan.explain.registry import make_strategy
from fuseplan.models.group import check_group
from fuseplan.models.units import parse_bytes
from fuseplan.solver.search.splitting import RecursiveSplitter, ValidGroupPrices

from rectify_rates import optimal_partition, settings, strategy_for

LEARNED = ("gnnexplainer", "pgexplainer", "rgexplainer", "rgexplainer-untrained", "ig")


def both_valid(model, cut, buffer_bytes: int) -> bool:
    return check_group(model, cut.first, buffer_bytes).valid and \
        check_group(model, cut.second, buffer_bytes).valid


def why(net: str, scheme: str, graph, model, buffer_bytes: int, groups: list[int],
        args: argparse.Namespace) -> list[str]:
    from fuseplan.explain import predict_validity

    spaces = {g: cut_space(graph, g, MAX_IDEALS) for g in groups}
    valid_cuts = {g: [c for c in spaces[g].cuts if both_valid(model, c, buffer_bytes)]
                  for g in groups}
    cut_groups = [g for g in groups if valid_cuts[g]]
    n_cuts = [len(spaces[g].cuts) for g in cut_groups]
    share = [len(valid_cuts[g]) / len(spaces[g].cuts) for g in cut_groups]
    p_group = predict_validity(graph, groups, buffer_bytes, scheme)
    halves = [h for g in cut_groups for c in spaces[g].cuts for h in (c.first, c.second)]
    truth = np.array([check_group(model, h, buffer_bytes).valid for h in halves])
    p_half = predict_validity(graph, halves, buffer_bytes, scheme) >= 0.5
    tpr = float((p_half & truth).sum() / max(1, truth.sum()))
    tnr = float((~p_half & ~truth).sum() / max(1, (~truth).sum()))
    cut_pairs = [(c, g) for g in cut_groups for c in spaces[g].cuts]
    pred_both = p_half.reshape(-1, 2).all(1)
    true_both = truth.reshape(-1, 2).all(1)
    out = [f"| {net} | {scheme} | {len(cut_groups)} | {mean(n_cuts):.1f} (median "
           f"{median(n_cuts):.0f}) | {100 * mean(share):.1f} % | "
           f"{int((p_group >= 0.5).sum())}/{len(groups)} | "
           f"{100 * float((p_half == truth).mean()):.1f} % ({len(halves)} halves; valid "
           f"{100 * tpr:.1f} %, invalid {100 * tnr:.1f} %) | "
           f"{100 * float((pred_both == true_both).mean()):.1f} % ({len(cut_pairs)} cuts) |"]
    sample = cut_groups
    if 0 < args.first_cut_sample < len(sample):
        sample = sorted(random.Random(1).sample(sample, args.first_cut_sample))
    cost = make_strategy("cost")
    cost_scores = {g: cost(model, g, buffer_bytes, space=spaces[g]).edge_scores for g in sample}
    cost_first = {g: top_cuts(spaces[g], cost_scores[g], 1, model)[0].first for g in sample}
    for label in args.strategies.split(","):
        algorithm = strategy_for(label, 0, args, scheme)
        rhos, constant, same, ok = [], 0, 0, 0
        for g in sample:
            scores = algorithm(model, g, buffer_bytes, space=spaces[g]).edge_scores
            keep = [i for i, s in enumerate(cost_scores[g]) if np.isfinite(s)]
            a = [scores[i] for i in keep]
            b = [cost_scores[g][i] for i in keep]
            if len(set(a)) < 2 or len(set(b)) < 2:
                constant += 1
            else:
                rhos.append(float(spearmanr(a, b).statistic))
            cut = top_cuts(spaces[g], scores, 1, model)
            same += bool(cut) and cut[0].first == cost_first[g]
            ok += bool(cut) and both_valid(model, cut[0], buffer_bytes)
        rho = f"{mean(rhos):+.2f} (median {median(rhos):+.2f})" if rhos else "-"
        out.append(f"| {net} | {scheme} | {label} | {len(sample)} | {rho} | {constant} | "
                   f"{100 * same / len(sample):.1f} % | {100 * ok / len(sample):.1f} % |")
        print(out[-1], file=sys.stderr, flush=True)
    return out


def split(net: str, scheme: str, graph, model, problem, groups: list[int]) -> str:
    prices = ValidGroupPrices(problem)
    cost = make_strategy("cost")

    def propose(group: int) -> list[tuple[int, int]]:
        space = cut_space(graph, group)
        scores = cost(model, group, problem.buffer_bytes, space=space).edge_scores
        return [(c.first, c.second) for c in top_cuts(space, scores, 3)]

    alg1, best2, first, sizes, early = [], [], [], [], 0
    alg1_two, alg1_none = [], []
    for g in groups:
        found = optimal_partition(graph, g, prices)
        if found is None or found[0] == 0:
            continue
        opt, parts = found
        sizes.append(len(parts))
        result = RecursiveSplitter(problem, propose).repair(g)
        alg1.append(result.dram_bytes / opt)
        early += len(result.groups) == 2 and len(parts) > 2
        space = cut_space(graph, g)
        two = [prices.price(c.first) + prices.price(c.second) for c in space.cuts
               if prices.price(c.first) is not None and prices.price(c.second) is not None]
        (alg1_two if two else alg1_none).append(alg1[-1])
        if two:
            best2.append(min(two) / opt)
            scores = cost(model, g, problem.buffer_bytes, space=space).edge_scores
            cut = top_cuts(space, scores, 1, model)[0]
            pa, pb = prices.price(cut.first), prices.price(cut.second)
            if pa is not None and pb is not None:
                first.append((pa + pb) / opt)
    more = sum(1 for s in sizes if s > 2)
    return (f"| {net} | {scheme} | {len(alg1)} | {mean(alg1):.3f} | {len(best2)} | "
            f"{mean(alg1_two):.3f} | {mean(alg1_none):.3f} | "
            f"{mean(best2):.3f} | {len(first)} | {mean(first):.3f} | "
            f"{100 * more / len(sizes):.1f} % | {early} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("why", "split"), required=True)
    ap.add_argument("--nets", default="mobilenet_v2,resnet50")
    ap.add_argument("--schemes", default="lbdf,brr")
    ap.add_argument("--buffer", default="128KB")
    ap.add_argument("--segmentations", type=int, default=100)
    ap.add_argument("--first-cut-sample", type=int, default=30)
    ap.add_argument("--strategies", default=",".join(LEARNED))
    ap.add_argument("--gnn-dir", default=None)
    ap.add_argument("--explainer-dir", default=None)
    args = ap.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/rectify_why.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    buffer_bytes = parse_bytes(args.buffer)
    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    structure, learned, rows = [], [], []
    for net, scheme, graph, model, problem, groups in settings(args, buffer_bytes):
        if args.part == "why":
            found = why(net, scheme, graph, model, buffer_bytes, groups, args)
            structure.append(found[0])
            learned += found[1:]
        else:
            rows.append(split(net, scheme, graph, model, problem, groups))
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"command: {command}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load0:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end; {time.perf_counter() - start:.0f} s")
    if args.part == "why":
        print("| net | scheme | groups with a both-valid cut | cuts per group (mean) | "
              "both-valid share of cuts (mean) | GNN calls the group valid | GNN right on "
              "halves | GNN right on 'both halves valid' |\n|---|---|---|---|---|---|---|---|")
        print("\n".join(structure))
        print()
        print("| net | scheme | strategy | groups | Spearman vs cost (mean) | constant "
              "ranking | first cut = cost's | first-cut rate |\n|---|---|---|---|---|---|---|---|")
        print("\n".join(learned))
    else:
        print("| net | scheme | groups | Algorithm 1 / optimum | groups with a both-valid cut | "
              "Alg. 1 / optimum there | Alg. 1 / optimum on the others | "
              "best single cut / optimum | cost's first cut both-valid | cost's first cut / "
              "optimum | optimum has > 2 groups | Alg. 1 stops at 2, optimum > 2 |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
