"""The fuzz properties with the learned repairs (issue 16: "the learned repairs run on a
smaller sample"): on a handful of small random CNN-like graphs, each search with gnnexplainer,
pgexplainer, rgexplainer and ig repair (the shipped checkpoints) returns a plan that passes
the validator, survives JSON, and is never below the exact optimum. The long run is
``benchmarks/fuzz_long.py --learned N``."""

from __future__ import annotations

import random
from collections import Counter

import pytest

pytest.importorskip("torch")

from fuzz_graphs import SCHEMES, check_instance, learned_methods, pick_buffer, random_cnn  # noqa: E402
from fuseplan.explain.registry import LEARNED_STRATEGIES, available  # noqa: E402

# seeds whose graph (5-12 ops) has invalid segment parts at its buffer, so the learned
# strategies are called (the count below checks it); both schemes
SEEDS = (11, 12, 24, 27)


def learned_instance(seed: int):
    """Graph ``seed`` of the learned sample: 5-12 ops, scheme by parity, a drawn buffer."""
    rng = random.Random(seed)
    graph = random_cnn(rng, rng.randint(5, 12), name=f"learned{seed}")
    scheme = SCHEMES[seed % 2]
    return graph, scheme, pick_buffer(graph, scheme, rng)


@pytest.mark.slow
def test_learned_repairs_keep_the_fuzz_properties() -> None:
    if not all(available(s) for s in LEARNED_STRATEGIES):
        pytest.skip("the learned strategies are not registered")
    methods = learned_methods()
    by_strategy = {s: [m for m in methods if m.endswith(f":{s}")] for s in LEARNED_STRATEGIES}
    repaired: Counter[str] = Counter()
    for i, seed in enumerate(SEEDS):
        graph, scheme, buffer = learned_instance(seed)
        picked = tuple(ms[(i + j) % len(ms)] for j, ms in enumerate(by_strategy.values()))
        out = check_instance(graph, scheme, buffer, exact=("auto",), heuristics=picked,
                             evaluations=3)
        assert out.proven
        for method, groups in out.repaired.items():
            repaired[method.split(":")[1]] += groups
    assert all(repaired[s] >= 1 for s in LEARNED_STRATEGIES), repaired  # each one was used
