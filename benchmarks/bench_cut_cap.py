"""How much does the cut-space cap cost? (docs/explain.md, "Listing the cuts")

Above ``MAX_IDEALS`` ideals a group's cut space is a per-edge subset. This compares, on the
segment parts of 20 random segmentations (seed 0) of Inception-v3 and GoogLeNet that have
300 to 4,096 cuts, the ``cost`` strategy's first cut from the full space and from the subset
(``max_ideals=0``): how often the subset's larger half is as small as the best over all cuts,
the worst ratio, and the scoring time of each (fresh cost models, so no cache is shared). It
also checks that every part of 100 random segmentations of MobileNetV2 and ResNet-50 is listed
exactly under the default cap. The machine may be shared: times are indicative.

    .venv/bin/python benchmarks/bench_cut_cap.py
"""

from __future__ import annotations

import random
import time

from fuseplan.explain.cut_rule import choose_cut, larger_half_bytes
from fuseplan.explain.cuts import cut_space
from fuseplan.explain.registry import make_strategy
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group_sampling import segment_parts
from fuseplan.models.load import load_graph


def parts_of(net: str, segmentations: int) -> tuple[object, list[int]]:
    graph = load_graph(net)
    rng = random.Random(0)
    parts = [p for _ in range(segmentations) for p in segment_parts(graph, rng)]
    return graph, [p for p in parts if p.bit_count() > 1]


def main() -> None:
    for net in ("mobilenet_v2", "resnet50"):
        graph, parts = parts_of(net, 100)
        capped = sum(not cut_space(graph, p).exact for p in parts)
        print(f"{net}: {len(parts)} parts of 2+ ops, {capped} over the cap")
    cost = make_strategy("cost")
    total = equal = 0
    worst = 1.0
    full_s = subset_s = 0.0
    for net in ("inception_v3", "googlenet"):
        graph, parts = parts_of(net, 20)
        for scheme in ("lbdf", "brr"):
            for part in parts:
                full = cut_space(graph, part, max_ideals=4096)
                if not full.exact or len(full.cuts) < 300:
                    continue
                subset = cut_space(graph, part, max_ideals=0)
                m_full, m_subset = make_cost_model(scheme, graph), make_cost_model(scheme, graph)
                start = time.perf_counter()
                a = larger_half_bytes(choose_cut(full, cost(m_full, part, 1, space=full).edge_scores,
                                                 m_full), m_full)
                full_s += time.perf_counter() - start
                start = time.perf_counter()
                b = larger_half_bytes(choose_cut(subset, cost(m_subset, part, 1, space=subset)
                                                 .edge_scores, m_subset), m_subset)
                subset_s += time.perf_counter() - start
                best = min(larger_half_bytes(c, m_full) for c in full.cuts)
                assert a == best, "cost's cut on the full space is not the best"
                total += 1
                equal += b == best
                worst = max(worst, b / best)
    print(f"{total} parts: subset cut as good as the best in {equal}, worst ratio {worst:.4f}; "
          f"scoring {full_s:.1f} s full, {subset_s:.1f} s subset")


if __name__ == "__main__":
    main()
