"""Fuzzing the planners on random CNN-like graphs (tests/fuzz_graphs.py): every plan valid,
exact = brute force on <= 9 ops, exact <= every heuristic, relabelling changes nothing, plans
survive JSON. The fast version: 16 graphs (about 15 s on an idle machine); the long run of
>= 10,000 graphs is benchmarks/fuzz_long.py."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzz_graphs import (
    SCHEMES, check_instance, heuristic_methods, hybrid_available, pick_buffer, random_cnn, relabel,
)
from fuseplan.models.cost import make_cost_model

FAST = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEARCHES = tuple(heuristic_methods()) + (("hybrid",) if hybrid_available() else ())


@settings(FAST, max_examples=10)
@given(rng=st.randoms(use_true_random=False), n=st.integers(1, 9), scheme=st.sampled_from(SCHEMES))
def test_small_graphs_against_brute_force(rng: random.Random, n: int, scheme: str) -> None:
    """<= 9 ops: every exact method equals brute force; every search and the hybrid."""
    graph = random_cnn(rng, n)
    buffer = pick_buffer(graph, scheme, rng)
    check_instance(graph, scheme, buffer,
                   exact=("auto", "ideals", "astar", "cpsat-partition", "cpsat-flow", "milp"),
                   heuristics=SEARCHES, evaluations=40, relabel_rng=rng)


@settings(FAST, max_examples=6)
@given(rng=st.randoms(use_true_random=False), n=st.integers(10, 60), scheme=st.sampled_from(SCHEMES))
def test_larger_graphs(rng: random.Random, n: int, scheme: str) -> None:
    """10-60 ops: the exact methods agree, no search beats them, relabelling keeps the
    optimum (a small budget per search: validity and order are what is checked)."""
    graph = random_cnn(rng, n)
    buffer = pick_buffer(graph, scheme, rng)
    check_instance(graph, scheme, buffer, exact=("auto", "astar", "cpsat-partition"),
                   heuristics=("rs:random", "ls:cost", "nsga2:cost", "greedy")
                   + (("hybrid",) if hybrid_available() else ()),
                   evaluations=30, relabel_rng=rng)


def test_generator_covers_every_block_and_size() -> None:
    """The generator makes what it says: 1..60 ops, joins, global pools, upsampling, and
    relabelling keeps ops, shapes and costs of the whole graph."""
    kinds: set[str] = set()
    sizes = set()
    for seed in range(60):
        rng = random.Random(seed)
        n = rng.randint(1, 60)
        g = random_cnn(rng, n)
        assert 1 <= g.num_ops <= n
        sizes.add(g.num_ops)
        kinds |= {op.kind for op in g.ops}
        other = relabel(g, rng)
        assert sorted(op.kind for op in other.ops) == sorted(op.kind for op in g.ops)
        assert {op.name for op in other.ops}.isdisjoint(op.name for op in g.ops)
        for scheme in SCHEMES:
            whole = (1 << g.num_ops) - 1
            assert (make_cost_model(scheme, g).buffer_bytes(whole)
                    == make_cost_model(scheme, other).buffer_bytes(whole))
    assert {"Conv", "Add", "Concat", "GlobalAveragePool", "Mul", "Resize", "ChannelShuffle",
            "MaxPool", "Gemm"} <= kinds
    assert min(sizes) == 1 and max(sizes) >= 55


def test_a_wrong_solver_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself can fail: a plan whose totals were changed by one byte is caught
    (validator), and a method that is not optimal, posing as exact, is caught (brute force)."""
    import fuzz_graphs

    rng = random.Random(3)
    graph = random_cnn(rng, 7)
    buffer = pick_buffer(graph, "lbdf", rng)
    real = fuzz_graphs.solve_net

    def lying(*args, **kwargs):
        result = real(*args, **kwargs)
        totals = result.plan.totals
        plan = result.plan.__class__(**{**result.plan.__dict__,
                                       "totals": totals.__class__(**{**totals.__dict__,
                                       "fusible_dram_bytes": totals.fusible_dram_bytes - 1})})
        return result.__class__(**{**result.__dict__, "plan": plan})

    monkeypatch.setattr(fuzz_graphs, "solve_net", lying)
    with pytest.raises(AssertionError, match="invalid plan"):
        check_instance(graph, "lbdf", buffer, exact=("auto",), heuristics=())
    monkeypatch.setattr(fuzz_graphs, "solve_net", real)
    caught = 0
    for seed in range(20):  # greedy is not optimal on some of these
        rng = random.Random(seed)
        graph = random_cnn(rng, 9)
        try:
            check_instance(graph, "lbdf", pick_buffer(graph, "lbdf", rng), exact=("greedy",),
                           heuristics=())
        except AssertionError as err:
            assert "brute force" in str(err)
            caught += 1
    assert caught >= 1
