"""A whole-problem lower bound from the must-separate pairs: a multicut over tensors
(issue 14, item 8; the wide and cell nets, where the candidate groups cannot be listed).

Accounting (``cost-models.md``). In both schemes every group's F_D is at least
``W(G) + S(In(G)) + S(Out(G))`` (BRR: ``min(nH, H + (n-1) halo) >= H``, streamed weights
``n W >= W``). Summed over the fusible groups of a plan, the weights and, per tensor t, S(t)
times the groups that write or read it across a boundary. Let the *pins* of t be its fusible
producer (if any) and its fusible readers, and ``lambda(t)`` the number of groups they lie
in. Then t costs at least what the *base* counts for it: ``bounds.Estimate.base(0)`` (S(t)
for a network input, a network output or a tensor a fusible op writes for an unfusable
reader) and, since ``Estimate.base(0)`` leaves it to A*'s later ideals, S(t) for a tensor an
unfusable op writes and a fusible op reads (In of that reader's group: ``unfusable_reads``).
Beyond the base t costs exactly, under LBDF (a floor under BRR):
- ``S(t) lambda(t)`` when t has a fusible producer and is neither a network output nor read
  by an unfusable op, and ``lambda(t) >= 2`` (written once, Out, and read once by each of
  the ``lambda - 1`` other groups, In);
- ``S(t) (lambda(t) - 1)`` otherwise (each group but one reads it, or writes it out).
That is ``c(t) [lambda >= 2] + S(t) max(0, lambda - 2)``, ``c(t)`` = 2 S(t) or S(t) the *cut
price*. So every plan costs at least ``base + c(C)``, C its cut tensors (``lambda >= 2``);
the LP below prices only that; the integer multicut (:mod:`.multicut_integer`) prices the
``S(t) (lambda - 2)`` too, exactly, from which pins are separated.

Must-separate pairs (``hybrid/separate.py``): ``u`` an ancestor of ``v`` whose hull cannot
fit (``buffer_lower_bound(hull) >= beta``), and the pairs inherited along paths, are in
different groups in every plan. Then every undirected path from u to v through the pins of
tensors holds a cut tensor (the group changes somewhere along it; more precisely, two
consecutive ops of the path, both pins of one tensor, lie in different groups: the pin
pairs the integer multicut constrains). So C is a multicut of
those pairs and ``c(C)`` is at least the multicut LP ``min c.y, y >= 0, y(P) >= 1`` for all
such paths P; by LP duality at least the value of ANY packing of u-v paths ``f_P >= 0``
with ``sum_{P holds t} f_P <= c(t)`` (each P holds a tensor of C, so ``c(C) >= sum f_P``).

Under BRR a third kind (:mod:`.multicut_stream`): a weakly connected S' whose every group
must stream its weights in two or more tiles, paying W(v) more for each op v; elements
"v streams" of price W(v) join the multicut, and ``y(tree of S') + s_v >= 1`` for v the
heaviest op of S'.

The bound returned is ``base`` + the larger of ``floor(packing)`` and the integer bound.
The LP is solved by cutting planes (GLOP; shortest paths under the current y find violated
paths), its duals are the packing, scaled down until every capacity holds in exact
arithmetic. So a stop at any point (the deadline)
still returns a valid bound, whatever GLOP's tolerances.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
from dataclasses import dataclass
from fractions import Fraction

from .bounds import Estimate
from .hybrid.separate import separate_pairs
from .multicut_integer import integer_multicut
from .problem import Problem
from .progress import Deadline

VIOLATION = 1e-6  # a path of y-length below 1 - VIOLATION is violated
MAX_ROUNDS = 200
INTEGER_SHARE = 0.5  # of the time left, for the integer multicut (with a deadline)
LP_GRACE_S = 0.5  # an LP solved after the deadline (the first one) gets this long


@dataclass(frozen=True)
class MulticutBound:
    """``value``: a lower bound on every plan's fusible total (bytes), ``base`` +
    ``packing``; ``base``: ``Estimate.base(0)`` (weights, inputs, outputs) plus
    ``unfusable_reads``; ``packing``: the
    path packing's value, floored; ``lp_value``: the last restricted LP optimum (bytes,
    informational); ``pairs``: must-separate pairs used; ``paths``: path constraints added;
    ``rounds``; ``converged``: no violated path left (the packing is then the multicut LP
    optimum, up to GLOP's tolerance); ``seconds``; ``integer``: CP-SAT's bound on the
    integer multicut (:mod:`.multicut_integer`; None when not run), ``integer_optimal``:
    that multicut solved with every piece fitting; ``integer_cut``: its first stage's bound
    (every cut tensor at its cut price, no extra groups; informational). ``value`` =
    ``base`` + the larger of ``packing`` and ``integer``."""

    value: int
    base: int
    packing: int
    lp_value: float
    pairs: int
    paths: int
    rounds: int
    converged: bool
    seconds: float
    integer: int | None = None
    integer_optimal: bool = False
    integer_cut: int | None = None


@dataclass(frozen=True)
class TensorCuts:
    """The hypergraph of the module docstring: ``pins[i]`` the fusible ops of tensor
    ``tensors[i]`` (two or more; its fusible producer first when ``produced[i]``),
    ``price[i]`` its cut price in bytes; ``of_op[v]`` the indices of the tensors op v is a
    pin of; ``size[i]`` S(t), the price of each group beyond the second among the pins.
    Under BRR, ``price`` goes on with one element per op (index ``len(tensors) + v``, price
    W(v)): "v streams in two or more tiles" (:mod:`.multicut_stream`)."""

    tensors: tuple[int, ...]
    pins: tuple[tuple[int, ...], ...]
    produced: tuple[bool, ...]
    price: tuple[int, ...]
    of_op: tuple[tuple[int, ...], ...]
    size: tuple[int, ...] = ()


# A constraint found: its elements (tensor indices, and under BRR an op element) for the
# LP, and the pin pairs (v, w) along it, one of which is separated, for the integer multicut.
Found = tuple[tuple[int, ...], tuple[tuple[int, int], ...]]


def unfusable_reads(problem: Problem) -> int:
    """S(t) of each tensor an unfusable op writes and a fusible op reads: some fusible group
    reads it (In), a cost ``Estimate.base(0)`` does not count (module docstring)."""
    graph, unfusable = problem.graph, problem.unfusable
    b = problem.model.bytes_per_element
    total = 0
    for t, tensor in enumerate(graph.tensors):
        producer = tensor.producer
        if producer is not None and unfusable >> producer & 1 and any(
                not unfusable >> c & 1 for c in graph.consumers[t]):
            total += tensor.elements * b
    return total


def tensor_cuts(problem: Problem) -> TensorCuts:
    """The tensors that can be cut between fusible ops, with their prices."""
    graph = problem.graph
    b = problem.model.bytes_per_element
    unfusable = problem.unfusable
    outputs = set(graph.outputs)
    tensors, pins, produced, price, size = [], [], [], [], []
    of_op: list[list[int]] = [[] for _ in range(problem.num_ops)]
    for t, tensor in enumerate(graph.tensors):
        readers = [c for c in dict.fromkeys(graph.consumers[t]) if not unfusable >> c & 1]
        producer = tensor.producer
        fusible_producer = producer is not None and not unfusable >> producer & 1
        group = ([producer] if fusible_producer else []) + [c for c in readers if c != producer]
        if len(group) < 2:
            continue
        counted = (not fusible_producer or t in outputs
                   or any(unfusable >> c & 1 for c in graph.consumers[t]))
        for v in group:
            of_op[v].append(len(tensors))
        tensors.append(t)
        pins.append(tuple(group))
        produced.append(fusible_producer)
        price.append(tensor.elements * b * (1 if counted else 2))
        size.append(tensor.elements * b)
    if problem.model.name == "brr":
        price += [0 if unfusable >> v & 1 else op.params * b for v, op in enumerate(graph.ops)]
    return TensorCuts(tuple(tensors), tuple(pins), tuple(produced), tuple(price),
                      tuple(map(tuple, of_op)), tuple(size))


def multicut_bound(problem: Problem, deadline: Deadline | None = None, *,
                   pairs: list[tuple[int, int]] | None = None,
                   overflow: bool = True, integer: bool = True) -> MulticutBound:
    """The bound of the module docstring. ``pairs``: must-separate pairs already known
    (else the minimal pairs of ``separate_pairs``: measured on w8-200 and darts-5, adding
    the inherited ones gave the same bound 2-10x slower, the overflow trees cover them); any
    pairs that truly must be separated give a valid bound. ``overflow``: also add the overflow-tree
    constraints (:func:`_overflow_trees`); ``integer``: then the integer multicut over the
    constraints found (:mod:`.multicut_integer`), with ``INTEGER_SHARE`` of the time left
    when there is a deadline (the LP stops at the other share)."""
    from ortools.linear_solver import pywraplp

    started = time.perf_counter()
    base = Estimate(problem, should_stop=lambda: True).base(0) + unfusable_reads(problem)
    if pairs is None:
        pairs = list(separate_pairs(problem, deadline).minimal)
    cuts = tensor_cuts(problem)
    targets: dict[int, set[int]] = {}
    for u, v in pairs:
        targets.setdefault(u, set()).add(v)
    m = len(cuts.price)
    scale = float(max(cuts.price, default=1))
    solver = pywraplp.Solver.CreateSolver("GLOP")
    y = [solver.NumVar(0.0, solver.infinity(), "") for _ in range(m)]
    objective = solver.Objective()
    for i in range(m):
        objective.SetCoefficient(y[i], cuts.price[i] / scale)
    objective.SetMinimization()
    rows: list[tuple[object, tuple[int, ...]]] = []  # (constraint, its tensor indices)
    pinned: list[tuple[tuple[int, ...], tuple[tuple[int, int], ...]]] = []  # for the integer
    seen: set[frozenset[int]] = set()
    seen_pinned: set[tuple[frozenset[int], frozenset[tuple[int, int]]]] = set()
    lengths = [0.0] * m
    lp_value, rounds, converged = 0.0, 0, False
    packing = 0
    whole, deadline = deadline, _share(deadline, 1 - INTEGER_SHARE if integer else 1.0)
    for rounds in range(1, MAX_ROUNDS + 1):
        found = []
        for u, vs in targets.items():
            if _expired(deadline) and rounds > 1:
                break
            found += _short_paths(cuts, lengths, u, vs)
        if overflow and not (_expired(deadline) and rounds > 1):
            found += _overflow_trees(problem, cuts, lengths, deadline)
            if len(cuts.price) > len(cuts.tensors):
                found += _stream_trees(problem, cuts, lengths, deadline)
        added = 0
        for tensors, along in found:
            key = frozenset(tensors)
            if (key, frozenset(along)) not in seen_pinned:
                seen_pinned.add((key, frozenset(along)))
                pinned.append((tuple(key), along))
            if key in seen:
                continue
            seen.add(key)
            row = solver.Constraint(1.0, solver.infinity())
            for i in key:
                row.SetCoefficient(y[i], 1.0)
            rows.append((row, tuple(key)))
            added += 1
        if added == 0:
            converged = not _expired(deadline)
            break
        if _expired(deadline) and rounds > 1:
            break  # keep the packing of the last LP solved
        if deadline is not None and deadline.end is not None:
            left = deadline.end - time.perf_counter()
            solver.SetTimeLimit(int(1000 * max(LP_GRACE_S, left)))
        if solver.Solve() != pywraplp.Solver.OPTIMAL:
            break  # stopped by the time limit: the packing of the last LP solved
        lp_value = objective.Value() * scale
        lengths = [var.solution_value() for var in y]
        packing = _packing(cuts, [(row.dual_value(), path) for row, path in rows], scale)
    integral = None
    if integer and pinned and not (_expired(whole) and rounds > 1):
        integral = integer_multicut(problem, cuts, pinned, whole, pairs)
    extra = max(packing, 0 if integral is None else integral.bound)
    return MulticutBound(base + extra, base, packing, lp_value, len(pairs), len(rows), rounds,
                         converged, time.perf_counter() - started,
                         None if integral is None else integral.bound,
                         integral is not None and integral.optimal,
                         None if integral is None else integral.first)


def _share(deadline: Deadline | None, share: float) -> Deadline | None:
    """A deadline at ``share`` of the time left on ``deadline`` (same stop signal)."""
    if deadline is None or deadline.end is None or share >= 1.0:
        return deadline
    early = Deadline(dataclasses.replace(deadline.limits, time_limit_s=None))
    early.end = time.perf_counter() + share * (deadline.remaining() or 0.0)
    return early


def _expired(deadline: Deadline | None) -> bool:
    return deadline is not None and deadline.expired()


def _overflow_trees(problem: Problem, cuts: TensorCuts, lengths: list[float],
                    deadline: Deadline | None,
                    pin_lengths: dict[tuple[int, int], float] | None = None) -> list[Found]:
    """Violated tree constraints. From every fusible op, a set S' is grown like Prim's tree
    along producer-reader edges (the shortest tensor first, then the dearer one) until
    ``buffer_lower_bound(hull(S')) >= beta``. S' is weakly connected, so its hull is too and
    every group holding S' grows from that hull one neighbour at a time: the bound never
    drops (LBDF, BRR), so no group holds all of S', some tensor of the tree joining S' is
    cut in every plan (some edge of the tree joins two groups), and ``y(tree) >= 1`` is
    valid. Kept when the tree is shorter than 1. ``pin_lengths``: lengths per pin pair
    (the integer multicut's separations) instead of per tensor."""
    model, beta = problem.model, problem.buffer_bytes
    return _grown_trees(problem, cuts, lengths, deadline,
                        lambda hull: model.buffer_lower_bound(hull) >= beta, None, pin_lengths)


def _stream_trees(problem: Problem, cuts: TensorCuts, lengths: list[float],
                  deadline: Deadline | None,
                  pin_lengths: dict[tuple[int, int], float] | None = None) -> list[Found]:
    """BRR: trees grown the same way until every group holding S' must stream in two or
    more tiles (:mod:`.multicut_stream`); the constraint is ``y(tree) + s_v >= 1`` with v
    the heaviest op of S'."""
    from .multicut_stream import StreamTest

    test = StreamTest(problem)
    return _grown_trees(problem, cuts, lengths, deadline, test.forced, test.heaviest,
                        pin_lengths)


def pair(v: int, w: int) -> tuple[int, int]:
    """The key of the pin pair {v, w}."""
    return (v, w) if v < w else (w, v)


def _grown_trees(problem: Problem, cuts: TensorCuts, lengths: list[float],
                 deadline: Deadline | None, stop, op_element,
                 pin_lengths: dict[tuple[int, int], float] | None) -> list[Found]:
    """The growth of :func:`_overflow_trees`, until ``stop(hull(S'))``; with
    ``op_element``, the element ``len(cuts.tensors) + op_element(S')`` joins the tree.
    An edge's length is its tensor's (counted once per tree), or with ``pin_lengths`` its
    pin pair's."""
    fusible = problem.all_ops & ~problem.unfusable

    def edge_length(i: int, v: int, w: int) -> float:
        return lengths[i] if pin_lengths is None else pin_lengths.get(pair(v, w), 0.0)

    found: list[Found] = []
    for start in range(problem.num_ops):
        if not fusible >> start & 1:
            continue
        if _expired(deadline) and found:
            break
        chosen, tree, edges, length = 1 << start, [], [], 0.0
        heap: list[tuple[float, int, int, int, int]] = []
        _push_edges(cuts, edge_length, start, chosen, heap)
        while not stop(problem.hull(chosen)):
            while heap and chosen >> heap[0][4] & 1:
                heapq.heappop(heap)
            if not heap:
                break
            d, _, i, v, w = heapq.heappop(heap)
            chosen |= 1 << w
            edges.append(pair(v, w))
            if pin_lengths is not None:
                length += d
                if i not in tree:
                    tree.append(i)
            elif i not in tree:
                tree.append(i)
                length += d
            if length >= 1.0 - VIOLATION:
                break
            _push_edges(cuts, edge_length, w, chosen, heap)
        else:
            if op_element is not None:
                element = len(cuts.tensors) + op_element(chosen)
                tree.append(element)
                length += lengths[element]
            if tree and length < 1.0 - VIOLATION:
                found.append((tuple(tree), tuple(edges)))
    return found


def _push_edges(cuts: TensorCuts, edge_length, v: int, chosen: int,
                heap: list[tuple[float, int, int, int, int]]) -> None:
    """The producer-reader edges from op v to ops not chosen yet, as (length, -price,
    tensor, v, op)."""
    for i in cuts.of_op[v]:
        pins = cuts.pins[i]
        if not cuts.produced[i]:
            continue  # readers of an outside tensor: no edge between them
        ends = pins[1:] if pins[0] == v else pins[:1]
        for w in ends:
            if not chosen >> w & 1:
                heapq.heappush(heap, (edge_length(i, v, w), -cuts.price[i], i, v, w))


def _short_paths(cuts: TensorCuts, lengths: list[float], source: int,
                 targets: set[int]) -> list[Found]:
    """For every target whose shortest path from ``source`` (a path alternates ops and the
    tensors they are pins of; entering tensor i costs ``lengths[i]``) is shorter than 1,
    that path's tensors and pin pairs. Dijkstra over ops, with the tensors as hyperedges."""
    dist = {source: 0.0}
    via: dict[int, tuple[int, int]] = {}  # op -> (previous op, tensor index)
    heap = [(0.0, source)]
    done: set[int] = set()
    while heap:
        d, v = heapq.heappop(heap)
        if v in done:
            continue
        done.add(v)
        if d >= 1.0 - VIOLATION:
            break
        for i in cuts.of_op[v]:
            nd = d + lengths[i]
            for w in cuts.pins[i]:
                if w not in done and nd < dist.get(w, math.inf):
                    dist[w] = nd
                    via[w] = (v, i)
                    heapq.heappush(heap, (nd, w))
    found: list[Found] = []
    for target in targets:
        if target in done and dist[target] < 1.0 - VIOLATION:
            path, pairs, w = [], [], target
            while w != source:
                v, i = via[w]
                path.append(i)
                pairs.append(pair(v, w))
                w = v
            found.append((tuple(path), tuple(pairs)))
    return found


def _packing(cuts: TensorCuts, duals: list[tuple[float, tuple[int, ...]]], scale: float) -> int:
    """The value of the path packing given by the LP duals (clipped at 0), scaled down in
    exact arithmetic until no tensor carries more than its price; floored to bytes."""
    flows = [(Fraction(d) * Fraction(scale), path) for d, path in duals if d > 0]
    if not flows:
        return 0
    load = [Fraction(0)] * len(cuts.price)
    for f, path in flows:
        for i in set(path):
            load[i] += f
    shrink = min([Fraction(1)] + [Fraction(cuts.price[i]) / load[i]
                                  for i in range(len(load)) if load[i] > cuts.price[i]])
    return math.floor(shrink * sum(f for f, _ in flows))
