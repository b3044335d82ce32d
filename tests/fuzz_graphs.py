"""Random CNN-like graphs and the properties every planner must keep on them.

:func:`random_cnn` builds a graph of 1..``max_ops`` ops from the blocks CNNs are made of:
convolutions (plain, strided, depthwise, 1x1), activations, pooling, residual blocks,
branches joined by a concat (inception-like), squeeze-excite, upsampling, channel shuffles,
a global pool and a classifier. Every choice is drawn from a ``random.Random``, so a seed
reproduces a graph and hypothesis (``st.randoms()``) can drive and shrink it.

:func:`check_instance` runs the exact methods and the searches on one graph and asserts:
every plan passes the validator; the exact optimum equals brute force on <= ``brute_ops``
ops; no heuristic beats the exact optimum; relabelling the graph (another topological order,
other names) changes neither the optimum nor validity; a plan survives JSON and back.
Shared by tests/test_fuzz.py (fast) and benchmarks/fuzz_long.py (>= 10,000 graphs).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from fractions import Fraction

from brute_force import brute_force_optimum
from fuseplan.models.cost import make_cost_model
from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.plan_io import plan_from_dict, plan_to_dict
from fuseplan.models.validate import validate_plan
from fuseplan.solver.api import METHODS, solve_net
from fuseplan.solver.search.run import SearchSettings

SCHEMES = ("lbdf", "brr")
BLOCKS = ("conv", "dwconv", "act", "pool", "residual", "branches", "se", "upsample", "shuffle")


class _Net:
    """A GraphBuilder with a current tensor and an op budget."""

    def __init__(self, rng: random.Random, max_ops: int, name: str) -> None:
        self.rng = rng
        self.left = max_ops
        self.b = GraphBuilder(name)
        c, h = rng.choice((3, 4, 8, 16)), rng.choice((4, 7, 8, 14, 16))
        self.x = self.b.input("input", c, h, h)
        self.n = 0

    def shape(self, t: int) -> tuple[int, int, int]:
        return self.b.shape(t)

    def op(self, kind: str, inputs: list[int], shape: tuple[int, int, int], *, params: int = 0,
           k: int = 1, s: Fraction | int = 1, is_global: bool = False) -> int:
        self.left -= 1
        self.n += 1
        return self.b.op(f"{kind.lower()}{self.n}", kind, inputs, shape, params=params, k=k, s=s,
                         is_global=is_global)

    def conv(self, x: int, c_out: int | None = None, k: int | None = None, stride: int = 1,
             depthwise: bool = False) -> int:
        c, h, w = self.shape(x)
        k = k if k is not None else self.rng.choice((1, 3, 3, 5))
        c_out = c if depthwise else (c_out if c_out is not None else self.rng.choice((4, 8, 16, 24)))
        ho, wo = -(-h // stride), -(-w // stride)
        params = (c * 9 + c) if depthwise else c * c_out * k * k + c_out
        return self.op("Conv", [x], (c_out, ho, wo), params=params, k=3 if depthwise else k,
                       s=Fraction(h, ho))


def random_cnn(rng: random.Random, max_ops: int, name: str = "fuzz") -> Graph:
    """A CNN-like graph of 1..max_ops ops (see the module docstring)."""
    net = _Net(rng, max_ops, name)
    head = max_ops >= 3 and rng.random() < 0.3
    net.left -= 2 * head  # kept for the head
    while net.left > 0:
        block = rng.choice(BLOCKS)
        need = {"residual": 4, "branches": 4, "se": 6}.get(block, 1)
        if need > net.left:
            block = rng.choice(("conv", "act", "pool", "shuffle"))
        net.x = _block(net, block)
        if net.left > 0 and rng.random() < 0.08 and net.n > 1:  # a side output (aux head)
            net.b.output(net.x)
    if head:
        net.left += 2
        _head(net)
    net.b.output(net.x)
    return net.b.build()


def _block(net: _Net, block: str) -> int:
    rng, x = net.rng, net.x
    c, h, w = net.shape(x)
    if block == "conv":
        return net.conv(x, stride=2 if h >= 4 and rng.random() < 0.25 else 1)
    if block == "dwconv":
        return net.conv(x, depthwise=True, stride=2 if h >= 4 and rng.random() < 0.2 else 1)
    if block == "act":
        return net.op(rng.choice(("Relu", "Sigmoid", "HardSwish")), [x], (c, h, w))
    if block == "pool":
        if h < 2:
            return net.op("Relu", [x], (c, h, w))
        k = rng.choice((2, 3))
        ho = -(-h // 2)
        return net.op("MaxPool", [x], (c, ho, -(-w // 2)), k=k, s=Fraction(h, ho))
    if block == "residual":  # conv -> act -> conv, + x   (bottleneck-free basic block)
        y = net.conv(x, c_out=c, k=3)
        y = net.op("Relu", [y], (c, h, w))
        extra = net.left >= 2 and rng.random() < 0.5
        if extra:
            y = net.conv(y, c_out=c, k=rng.choice((1, 3)))
        return net.op("Add", [y, x], (c, h, w))
    if block == "branches":  # inception-like: 2-3 branches of 1-2 convs, concat
        outs, budget = [], net.left - 1
        for i in range(rng.choice((2, 3))):
            if budget < 1 or (i >= 2 and budget < 2):
                break
            y = net.conv(x, k=rng.choice((1, 3, 5)))
            budget -= 1
            if budget >= 2 and rng.random() < 0.4:
                y = net.conv(y, k=3)
                budget -= 1
            outs.append(y)
        if len(outs) == 1:
            return outs[0]
        return net.op("Concat", outs, (sum(net.shape(t)[0] for t in outs), h, w))
    if block == "se":  # squeeze-excite: global pool, 1x1 down, act, 1x1 up, sigmoid, scale
        s = net.op("GlobalAveragePool", [x], (c, 1, 1), k=h, s=h, is_global=True)
        r = max(1, c // 4)
        s = net.op("Conv", [s], (r, 1, 1), params=c * r + r)
        s = net.op("Relu", [s], (r, 1, 1))
        s = net.op("Conv", [s], (c, 1, 1), params=r * c + c)
        s = net.op("Sigmoid", [s], (c, 1, 1))
        return net.op("Mul", [x, s], (c, h, w))
    if block == "upsample":
        if h > 16:
            return net.op("Relu", [x], (c, h, w))
        return net.op("Resize", [x], (c, 2 * h, 2 * w), k=2, s=Fraction(1, 2))
    if block == "shuffle":
        return net.op("ChannelShuffle", [x], (c, h, w))
    raise ValueError(block)


def _head(net: _Net) -> None:
    c, h, _ = net.shape(net.x)
    if h > 1:
        net.x = net.op("GlobalAveragePool", [net.x], (c, 1, 1), k=h, s=h, is_global=True)
    classes = net.rng.choice((10, 16))
    net.x = net.op("Gemm", [net.x], (classes, 1, 1), params=c * classes + classes)


def relabel(graph: Graph, rng: random.Random) -> Graph:
    """The same graph with its ops in another topological order and every name changed."""
    indeg = [len(p) for p in graph.preds]
    ready = [v for v in range(graph.num_ops) if indeg[v] == 0]
    order: list[int] = []
    while ready:
        v = ready.pop(rng.randrange(len(ready)))
        order.append(v)
        for u in graph.succs[v]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    tag = rng.randrange(10**6)
    b = GraphBuilder(f"relabelled{tag}")
    tid: dict[int, int] = {}
    for t in graph.inputs:
        c, h, w = graph.tensors[t].shape
        tid[t] = b.input(f"in_{tag}_{t}", c, h, w)
    for rank, v in enumerate(order):
        op = graph.ops[v]
        tid[op.output] = b.op(
            f"op_{tag}_{len(order) - rank}", op.kind, [tid[t] for t in op.inputs],
            graph.tensors[op.output].shape, params=op.params, k=op.k, s=op.s,
            is_global=op.is_global, out_name=f"t_{tag}_{rank}")
    for t in graph.outputs:
        b.output(tid[t])
    return b.build()


def pick_buffer(graph: Graph, scheme: str, rng: random.Random) -> int:
    """A buffer between half the smallest op's need and the whole graph's need (log-uniform):
    from everything unfusable to everything fused."""
    model = make_cost_model(scheme, graph)
    singles = [model.buffer_bytes(1 << v) for v in range(graph.num_ops)]
    lo = max(16, min(singles) // 2)
    hi = max(lo + 1, int(model.buffer_lower_bound((1 << graph.num_ops) - 1) * 1.2), max(singles) * 2)
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@dataclass
class Outcome:
    """What one instance checked (counted by the long run)."""

    ops: int
    scheme: str
    buffer: int
    optimum: int | None
    proven: bool
    brute_forced: bool
    plans_checked: int = 0
    heuristics: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)  # groups a search's repair split


def hybrid_available() -> bool:
    """The hybrid method is registered and its module is there (it is being written)."""
    import importlib.util

    info = METHODS.get("hybrid")
    if info is None:
        return False
    try:
        return importlib.util.find_spec(f"fuseplan.solver.{info.module}") is not None
    except ImportError:
        return False


def heuristic_methods(repairs: tuple[str, ...] = ("cost", "random")) -> list[str]:
    """Every registered search with each repair (greedy takes none)."""
    names = []
    for name, info in METHODS.items():
        if info.kind != "heuristic":
            continue
        if name == "greedy":
            names.append(name)
        else:
            names.extend(f"{name}:{r}" for r in repairs)
    return names


def learned_methods() -> list[str]:
    """Every search with each learned repair (``explain/registry.py``), greedy left out."""
    from fuseplan.explain.registry import LEARNED_STRATEGIES

    return [m for m in heuristic_methods(LEARNED_STRATEGIES) if m != "greedy"]


def _solve(graph: Graph, scheme: str, buffer: int, method: str, evaluations: int,
           time_limit_s: float | None, seed: int = 0):
    return solve_net(graph, buffer_bytes=buffer, scheme=scheme, method=method,
                     time_limit_s=time_limit_s, seed=seed,
                     search=SearchSettings(evaluations=evaluations, reference_time_s=0.0))


def _valid(graph: Graph, scheme: str, result, where: str) -> None:
    assert result.plan is not None, f"{where}: no plan ({result.status})"
    model = make_cost_model(scheme, graph)
    failures = validate_plan(result.plan, graph, model)
    assert not failures, f"{where}: invalid plan: {failures[:3]}"
    data = json.loads(json.dumps(plan_to_dict(result.plan, graph)))
    again = plan_from_dict(data, graph)
    assert again == result.plan, f"{where}: the plan changed through JSON"
    assert not validate_plan(data, graph, model), f"{where}: the re-read plan is invalid"


def check_instance(graph: Graph, scheme: str, buffer: int, *, exact: tuple[str, ...],
                   heuristics: tuple[str, ...], brute_ops: int = 9, evaluations: int = 300,
                   time_limit_s: float = 20.0, relabel_rng: random.Random | None = None,
                   hybrid_time_s: float = 5.0, search_time_s: float | None = None) -> Outcome:
    """Checks the properties of the module docstring on one instance (AssertionError with
    the instance and the method on a violation). The searches run within ``evaluations``
    and, when given, ``search_time_s``; the hybrid within ``hybrid_time_s``."""
    where = f"{graph.num_ops} ops, {scheme}, buffer {buffer}"
    first = _solve(graph, scheme, buffer, exact[0], evaluations, time_limit_s)
    _valid(graph, scheme, first, f"{where}, {exact[0]}")
    proven = first.status == "OPTIMAL"
    optimum = first.plan.totals.fusible_dram_bytes if proven else None
    out = Outcome(graph.num_ops, scheme, buffer, optimum, proven, False, 1)
    if graph.num_ops <= brute_ops:
        expected, _ = brute_force_optimum(graph, make_cost_model(scheme, graph), buffer)
        assert proven and optimum == expected, f"{where}: {exact[0]} {optimum} != brute force {expected}"
        out.brute_forced = True
    for method in exact[1:]:
        r = _solve(graph, scheme, buffer, method, evaluations, time_limit_s)
        _valid(graph, scheme, r, f"{where}, {method}")
        out.plans_checked += 1
        if proven and r.status == "OPTIMAL":
            assert r.plan.totals.fusible_dram_bytes == optimum, f"{where}: {method} disagrees"
    for method in heuristics:
        limit = hybrid_time_s if method.startswith("hybrid") else search_time_s
        r = _solve(graph, scheme, buffer, method, evaluations, limit, seed=graph.num_ops)
        _valid(graph, scheme, r, f"{where}, {method}")
        out.plans_checked += 1
        got = r.plan.totals.fusible_dram_bytes
        out.heuristics[method] = got
        out.repaired[method] = int((r.details or {}).get("repaired_groups") or 0)
        if proven:
            assert got >= optimum, f"{where}: {method} found {got} < the optimum {optimum}"
            assert r.status != "OPTIMAL" or got == optimum, \
                f"{where}: {method} claims OPTIMAL at {got}, the optimum is {optimum}"
    if relabel_rng is not None and proven:
        other = relabel(graph, relabel_rng)
        r = _solve(other, scheme, buffer, exact[0], evaluations, time_limit_s)
        _valid(other, scheme, r, f"{where}, relabelled, {exact[0]}")
        out.plans_checked += 1
        assert r.status == "OPTIMAL", f"{where}: relabelled not proven ({r.status})"
        assert r.plan.totals.fusible_dram_bytes == optimum, \
            f"{where}: relabelling changed the optimum {optimum} -> {r.plan.totals.fusible_dram_bytes}"
        assert r.plan.totals.all_dram_bytes == first.plan.totals.all_dram_bytes
    return out
