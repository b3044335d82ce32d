"""The fast paths of candidate enumeration equal their references (issue 14).

- BRR's :meth:`BrrFast.evaluate` returns the same :class:`Compact` record as
  :meth:`BrrFast.evaluate_reference` on every group enumeration asks about (the candidates
  and the groups the lower bound prunes), on zoo nets and random DAGs.
- BRR's price (``least_dram``, whose search for the fewest tiles looks at n = hi first)
  equals a scan over every tiling.
- The enumeration (its growth loop inlines the convexity test and the candidate record)
  finds exactly the connected, convex, fitting groups a brute force over every subset of a
  small random DAG finds, with the same costs and before/after masks, both schemes (it
  runs with the cyclic garbage collector off, and turns it back on).
"""

from __future__ import annotations

from typing import Any

import pytest

from brute_force import random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.cost.brr_fast import input_traffic, least_dram, tile_bytes
from fuseplan.models.graph import Graph
from fuseplan.models.group import is_convex, is_weakly_connected
from fuseplan.models.zoo import build
from fuseplan.solver.candidates import enumerate_candidates
from fuseplan.solver.problem import make_problem


class Recorder:
    """A cost model that remembers every group whose lower bound or price was asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked: set[int] = set()

    def buffer_lower_bound(self, group: int) -> int:
        self.asked.add(group)
        return self.inner.buffer_lower_bound(group)

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        self.asked.add(group)
        return self.inner.dram_bytes(group, buffer_bytes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def asked_groups(graph: Graph, scheme: str, buffer: int) -> tuple[Any, set[int]]:
    model = make_cost_model(scheme, graph, 1)
    recorder = Recorder(model)
    enumerate_candidates(make_problem(graph, recorder, buffer))  # type: ignore[arg-type]
    return model, recorder.asked


@pytest.mark.parametrize(
    ("net", "kb"), [("googlenet", 128), ("inception_v3", 64), ("resnet50", 512),
                    ("mobilenet_v2", 256)],
)
def test_brr_fast_record_equals_reference_on_zoo(net: str, kb: int) -> None:
    model, asked = asked_groups(build(net), "brr", kb * 1024)
    fast = model._fast
    assert len(asked) > 1000
    for mask in asked:
        assert fast.evaluate(mask) == fast.evaluate_reference(mask), mask


@pytest.mark.parametrize("seed", range(12))
def test_brr_fast_record_equals_reference_on_random_dags(seed: int) -> None:
    graph = random_dag(14, seed, fan_in=3)
    for kb in (1, 2, 4, 64):
        model, asked = asked_groups(graph, "brr", kb * 1024)
        fast = model._fast
        for mask in asked:
            assert fast.evaluate(mask) == fast.evaluate_reference(mask), (kb, mask)


def brute_candidates(graph: Graph, model: Any, buffer: int) -> dict[int, tuple[int, int, int]]:
    """Every group of 2+ fusable ops that is connected, convex and fits: mask -> (F_D,
    ops that must run before, ops that must run after)."""
    n = graph.num_ops
    problem = make_problem(graph, model, buffer)
    found = {}
    for mask in range(1, 1 << n):
        if mask.bit_count() < 2 or mask & problem.unfusable:
            continue
        if not (is_weakly_connected(graph, mask) and is_convex(graph, mask)):
            continue
        cost = model.dram_bytes(mask, buffer)
        if cost is None:
            continue
        anc = desc = 0
        for v in range(n):
            if mask >> v & 1:
                anc |= problem.ancestors[v]
                desc |= problem.descendants[v]
        found[mask] = (cost, anc & ~mask, desc & ~mask)
    return found


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("seed", range(6))
def test_enumeration_equals_brute_force_on_random_dags(scheme: str, seed: int) -> None:
    graph = random_dag(11, seed, fan_in=3)
    for kb in (1, 2, 8):
        model = make_cost_model(scheme, graph, 1)
        cands = enumerate_candidates(make_problem(graph, model, kb * 1024))
        got = {
            mask: (cost, before, after)
            for mask, cost, before, after in zip(cands.masks, cands.costs, cands.before,
                                                 cands.after)
            if mask.bit_count() >= 2
        }
        assert len(got) == sum(1 for m in cands.masks if m.bit_count() >= 2)  # no repeats
        assert got == brute_candidates(graph, model, kb * 1024)


def scanned_dram(c: Any, beta: int) -> int | None:
    """F_D by trying every tiling (n, mode) of a Compact record (no search)."""
    best = None
    for n in range(1, c.n_max + 1):
        tiles = tile_bytes(c.terms, n)
        for w_buf, w_traffic in ((c.weight_sum, c.weight_sum), (c.weight_max, n * c.weight_sum)):
            if w_buf + tiles < beta:
                d = w_traffic + input_traffic(c, n) + c.output_bytes
                best = d if best is None or d < best else best
    return best


@pytest.mark.parametrize(("net", "kb"), [("googlenet", 128), ("inception_v3", 64)])
def test_brr_price_equals_a_scan_over_every_tiling(net: str, kb: int) -> None:
    """least_dram (bisection with the n = hi shortcut) against every (n, mode), at the
    enumeration's buffer and at every buffer where some tiling starts to fit."""
    model, asked = asked_groups(build(net), "brr", kb * 1024)
    fast = model._fast
    for mask in sorted(asked)[::23]:
        c = fast.evaluate(mask)
        betas = {kb * 1024, c.buffer_bytes * 2}
        for n in range(1, c.n_max + 1):  # every buffer where some tiling starts to fit
            for w in (c.weight_sum, c.weight_max):
                betas.update((w + tile_bytes(c.terms, n), w + tile_bytes(c.terms, n) + 1))
        for beta in betas:
            assert least_dram(c, beta) == scanned_dram(c, beta), (mask, beta)


def test_enumeration_turns_the_garbage_collector_back_on() -> None:
    import gc

    graph = random_dag(8, 0)
    problem = make_problem(graph, make_cost_model("brr", graph, 1), 4096)
    assert gc.isenabled()
    enumerate_candidates(problem)
    assert gc.isenabled()
    gc.disable()
    try:
        enumerate_candidates(problem)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
