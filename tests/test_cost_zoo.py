"""The fast cost paths against the plain reference on real nets (random connected groups of
MobileNetV2 and ResNet-50, several buffers)."""

from __future__ import annotations

import random

import pytest
from test_cost_properties import ref_brr, ref_lbdf

from fuseplan.models import zoo
from fuseplan.models.cost import BrrModel, LbdfModel, is_weakly_connected
from fuseplan.models.cost.tables import tables_for
from fuseplan.models.graph import Graph


def random_connected_groups(graph: Graph, count: int, max_ops: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    nbr = tables_for(graph).nbr_mask
    groups = []
    for _ in range(count):
        v = rng.randrange(graph.num_ops)
        mask = 1 << v
        for _ in range(rng.randrange(max_ops)):
            frontier = 0
            for u in range(graph.num_ops):
                if mask >> u & 1:
                    frontier |= nbr[u]
            frontier &= ~mask
            if not frontier:
                break
            mask |= 1 << rng.choice([u for u in range(graph.num_ops) if frontier >> u & 1])
        groups.append(mask)
    return groups


@pytest.mark.parametrize("net", ["mobilenet_v2", "resnet50"])
def test_fast_paths_match_the_reference_on_zoo_nets(net: str) -> None:
    graph = zoo.build(net)
    lbdf, brr = LbdfModel(graph), BrrModel(graph)
    for mask in random_connected_groups(graph, 150, 8, seed=3):
        assert is_weakly_connected(graph, mask)
        assert (lbdf.buffer_bytes(mask), lbdf.dram_bytes(mask, 1 << 62)) == ref_lbdf(graph, 1, mask)
        f_beta = brr.buffer_bytes(mask)
        for beta in (f_beta, f_beta + 1, 2 * f_beta, 256 * 1024, 1 << 30):
            want_fbeta, chosen = ref_brr(graph, 1, mask, beta)
            assert f_beta == want_fbeta
            assert brr.dram_bytes(mask, beta) == (None if chosen is None else chosen[2])
            tiling = brr.tiling(mask, beta)
            assert (None if tiling is None else
                    (tiling.tiles, tiling.weights, tiling.dram_bytes)) == chosen
        assert brr.buffer_lower_bound(mask) <= f_beta
