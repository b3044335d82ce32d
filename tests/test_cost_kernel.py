"""The compiled kernels (numba) against the pure-Python models and growth (issue 14).

- Pricing: ``brr_price`` and ``lbdf_price`` return the Python model's numbers (BRR: the
  lower bound, and F_D when the bound is below the buffer; LBDF: F_beta and F_D), as exact
  integers, on every group the enumeration asks about on zoo nets, on random CNNs with
  strides, pools, global ops, squeeze-excite and residual blocks, and on random DAGs.
- Growth: the kernel finds the same candidate set as the Python loop (masks, costs, before
  and after masks, in the same order, the same count of evaluated sets), with pins, forbids,
  a size cap and unfusable ops, when its arrays start small (so it enlarges them) and when
  it is called back every few steps; a cut-short run stays cut short.
- It applies to the built-in models only: a subclass keeps its own rules in Python.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from brute_force import random_dag
from fuzz_graphs import pick_buffer, random_cnn
from test_enumeration_speed import Recorder
from fuseplan.models.cost import LbdfModel, make_cost_model
from fuseplan.models.cost.brr_kernel import brr_price
from fuseplan.models.cost.kernel_data import mask_words, model_kernel
from fuseplan.models.cost.lbdf_kernel import lbdf_price
from fuseplan.models.graph import Graph
from fuseplan.models.zoo import build
from fuseplan.solver import candidates, candidates_kernel
from fuseplan.solver.candidates import enumerate_candidates
from fuseplan.solver.problem import make_problem


def asked_groups(graph: Graph, scheme: str, buffer: int, monkeypatch) -> set[int]:
    """Every group the (Python) enumeration prices at ``buffer``, plus each op alone."""
    monkeypatch.setattr(candidates, "USE_KERNEL", False)
    recorder = Recorder(make_cost_model(scheme, graph, 1))
    enumerate_candidates(make_problem(graph, recorder, buffer))  # type: ignore[arg-type]
    return recorder.asked | {1 << v for v in range(graph.num_ops)}


def check_prices(graph: Graph, scheme: str, groups: set[int], buffers: list[int]) -> int:
    """Kernel against a fresh pure-Python model on every group at every buffer; returns
    how many groups were compared with a price (not only a bound)."""
    model = make_cost_model(scheme, graph, 1)
    found = model_kernel(model)
    assert found is not None and found[0] == scheme
    data = found[1]
    price = brr_price if scheme == "brr" else lbdf_price
    priced = 0
    for mask in sorted(groups):
        words = mask_words(mask, data.words)
        for beta in buffers:
            lower, cost = price(data.arrays, words, beta)
            assert lower == model.buffer_lower_bound(mask), (mask, beta)
            if scheme == "lbdf":
                assert lower == model.buffer_bytes(mask), (mask, beta)
            if lower < beta:
                want = model.dram_bytes(mask, beta)
                assert cost == (-1 if want is None else want), (mask, beta)
                priced += cost >= 0
    return priced


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
@pytest.mark.parametrize(("net", "kb"), [("googlenet", 128), ("inception_v3", 128),
                                         ("resnet50", 512), ("mobilenet_v3_large", 256),
                                         ("efficientnet_b0", 256)])
def test_kernel_price_equals_the_model_on_zoo_nets(net: str, kb: int, scheme: str,
                                                   monkeypatch) -> None:
    graph = build(net)
    groups = asked_groups(graph, scheme, kb * 1024, monkeypatch)
    assert len(groups) > 900
    priced = check_prices(graph, scheme, groups, [kb * 1024, kb * 512, kb * 4096])
    assert priced > 300


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
@pytest.mark.parametrize("seed", range(16))
def test_kernel_price_equals_the_model_on_random_cnns(scheme: str, seed: int,
                                                      monkeypatch) -> None:
    rng = random.Random(seed)
    graph = random_cnn(rng, 18)
    buffers = sorted({pick_buffer(graph, scheme, rng) for _ in range(3)} | {1 << 50})
    groups: set[int] = set()
    for beta in buffers[:-1]:
        groups |= asked_groups(graph, scheme, beta, monkeypatch)
    check_prices(graph, scheme, groups, buffers)


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
@pytest.mark.parametrize("seed", range(8))
def test_kernel_price_equals_the_model_on_every_group_of_random_dags(scheme: str,
                                                                     seed: int) -> None:
    graph = random_dag(10, seed, fan_in=3)
    every = set(range(1, 1 << graph.num_ops))  # connected or not, convex or not
    check_prices(graph, scheme, every, [512, 2048, 8192])


def key(c: Any) -> tuple:
    return (c.masks, c.costs, c.before, c.after, c.evaluated, c.complete)


def both_ways(graph: Graph, scheme: str, buffer: int, monkeypatch, **constraints) -> tuple:
    """(Python growth, kernel growth) candidate sets of one problem."""
    def run(kernel: bool):
        monkeypatch.setattr(candidates, "USE_KERNEL", kernel)
        monkeypatch.setattr(candidates, "PYTHON_SECONDS", 0.0)
        model = make_cost_model(scheme, graph, 1)
        return key(enumerate_candidates(make_problem(graph, model, buffer, **constraints)))

    return run(False), run(True)


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
@pytest.mark.parametrize(("net", "kb"), [("googlenet", 256), ("inception_v3", 256),
                                         ("densenet121", 512)])
def test_kernel_growth_equals_python_growth_on_zoo_nets(net: str, kb: int, scheme: str,
                                                        monkeypatch) -> None:
    python, kernel = both_ways(build(net), scheme, kb * 1024, monkeypatch)
    assert len(python[0]) > 1000
    assert kernel == python


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
@pytest.mark.parametrize("seed", range(10))
def test_kernel_growth_equals_python_growth_on_random_cnns(scheme: str, seed: int,
                                                          monkeypatch) -> None:
    rng = random.Random(100 + seed)
    graph = random_cnn(rng, 40)
    buffer = pick_buffer(graph, scheme, rng)
    python, kernel = both_ways(graph, scheme, buffer, monkeypatch)
    assert kernel == python


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
def test_kernel_growth_with_pins_forbids_and_a_size_cap(scheme: str, monkeypatch) -> None:
    graph = build("googlenet")
    names = [op.name for op in graph.ops]
    constraints = {"pins": [names[5:7]], "forbids": [[names[10], names[12]],
                                                     [names[20], names[24]]],
                   "max_group_ops": 6}
    python, kernel = both_ways(graph, scheme, 256 * 1024, monkeypatch, **constraints)
    assert len(python[0]) > 100
    assert kernel == python


def tiny_kernel_arrays(monkeypatch, steps: int) -> None:
    """Every kernel grower starts with arrays that must grow many times, and hands back
    every ``steps`` steps."""
    original = candidates_kernel.KernelGrower.__init__

    def small(self, *args) -> None:
        original(self, *args)
        self.stack = self.stack[:8].copy()
        self.found = self.found[:4].copy()
        self.costs = self.costs[:4].copy()
        self.keys, self.kstamp, self.kflag = (a[:256].copy() for a in
                                              (self.keys, self.kstamp, self.kflag))

    monkeypatch.setattr(candidates_kernel.KernelGrower, "__init__", small)
    monkeypatch.setattr(candidates_kernel, "STEPS_PER_CALL", steps)


def test_kernel_growth_with_tiny_arrays_and_short_calls(monkeypatch) -> None:
    """Arrays that must grow many times and a call back every 7 steps: the same set."""
    graph = build("googlenet")
    tiny_kernel_arrays(monkeypatch, 7)
    python, kernel = both_ways(graph, "brr", 256 * 1024, monkeypatch)
    assert kernel == python


def test_kernel_growth_stops_at_the_candidate_cap(monkeypatch) -> None:
    """Cut short by the cap: incomplete, and a prefix of the whole set (same order)."""
    graph = build("googlenet")
    _, whole = both_ways(graph, "lbdf", 256 * 1024, monkeypatch)
    monkeypatch.setattr(candidates, "MAX_CANDIDATES", 5000)
    monkeypatch.setattr(candidates_kernel, "STEPS_PER_CALL", 100)
    python, kernel = both_ways(graph, "lbdf", 256 * 1024, monkeypatch)
    assert whole[5] and not kernel[5] and not python[5]
    n = len(kernel[0])
    assert 5000 < n < len(whole[0])
    assert kernel[:4] == tuple(part[:n] for part in whole[:4])


def test_the_kernel_applies_to_the_built_in_models_only() -> None:
    graph = build("resnet18")

    class Halved(LbdfModel):
        def buffer_bytes(self, group: int) -> int:
            return super().buffer_bytes(group) // 2

    assert model_kernel(make_cost_model("lbdf", graph))[0] == "lbdf"
    assert model_kernel(make_cost_model("brr", graph))[0] == "brr"
    assert model_kernel(Halved(graph)) is None


def test_word_masks_round_trip() -> None:
    from fuseplan.models.cost.kernel_bits import group_ops
    from fuseplan.models.cost.kernel_data import masks_words, words_to_masks

    rng = random.Random(0)
    masks = [rng.getrandbits(250) | 1 << 63 | 1 << 127 for _ in range(50)] + [1, 1 << 255]
    rows = masks_words(masks, 4)
    assert words_to_masks(rows) == masks
    out = np.zeros(256, dtype=np.int64)
    for m, row in zip(masks, rows):
        n = group_ops(row, out)
        assert out[:n].tolist() == [i for i in range(256) if m >> i & 1]


def test_kernel_growth_in_forked_workers(monkeypatch) -> None:
    """Two forked workers, each growing its seeds in the kernel: the one-process set."""
    graph = build("googlenet")
    monkeypatch.setattr(candidates, "PYTHON_SECONDS", 0.0)
    model = make_cost_model("brr", graph, 1)
    problem = make_problem(graph, model, 256 * 1024)
    one = key(enumerate_candidates(problem))
    two = key(enumerate_candidates(problem, workers=2))
    assert len(one[0]) > 1000
    assert two == one


@pytest.mark.parametrize("scheme", ["brr", "lbdf"])
def test_python_hands_over_to_the_kernel_mid_enumeration(scheme: str, monkeypatch) -> None:
    """Python grows for 0.05 s CPU, the seed under way starts again in the kernel: the
    set of Python alone."""
    graph = build("googlenet")
    python, _ = both_ways(graph, scheme, 256 * 1024, monkeypatch)
    calls = []
    original = candidates_kernel.kernel_grower

    def counted(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(candidates_kernel, "kernel_grower", counted)
    monkeypatch.setattr(candidates, "USE_KERNEL", True)
    monkeypatch.setattr(candidates, "PYTHON_SECONDS", 0.05)
    monkeypatch.setattr(candidates, "_python_seconds", 0.0)
    monkeypatch.setattr(candidates, "_KERNEL_MODULE", "not loaded")
    model = make_cost_model(scheme, graph, 1)
    mixed = key(enumerate_candidates(make_problem(graph, model, 256 * 1024)))
    assert calls and candidates._python_seconds >= 0.05
    assert mixed == python


def test_numbers_beyond_int64_stay_in_python(monkeypatch) -> None:
    """A graph whose byte counts could overflow int64: no kernel, Python grows (same set
    with the kernel asked for as without)."""
    from brute_force import _with_outputs
    from fuseplan.models.graph import GraphBuilder

    gb = GraphBuilder("huge")
    x = gb.input("x", 1 << 50, 64, 8)
    a = gb.op("a", "Conv", [x], (1 << 50, 64, 8), params=16, k=3)
    b = gb.op("b", "Conv", [a], (1 << 50, 64, 8), params=16, k=3)
    gb.op("c", "Add", [a, b], (1 << 50, 64, 8))
    graph = _with_outputs(gb)
    for scheme in ("brr", "lbdf"):
        assert model_kernel(make_cost_model(scheme, graph)) is None
        python, kernel = both_ways(graph, scheme, 1 << 62, monkeypatch)
        assert kernel == python and len(python[0]) > 3
