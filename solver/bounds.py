"""Lower bounds valid for the whole problem: the admissible estimate of the cost still to pay
from an ideal, used by A* (``solver/exact/astar.py``), and from the empty ideal, quoted by
every method stopped early.

Estimate ``h(I)`` of the fusible cost of completing ideal ``I`` (every group of the
completion is made of fusible ops outside ``I``; unfusable singletons cost 0):
- the weights of the fusible ops outside ``I`` (each lies in exactly one group, whose F_D
  holds its weights at least once: LBDF once, BRR once or n times);
- ``S(t)`` of every tensor produced in ``I`` (or a network input) that a fusible op outside
  ``I`` reads: it is in In(G) of that op's group;
- ``S(t)`` of every tensor produced by a fusible op outside ``I`` that is a network output or
  is read by an unfusable op: it is in Out(G) of its producer's group.
The three sets are disjoint, and every group's F_D is at least W + S(In) + S(Out) in both
contract schemes (BRR: ``min(nH, H + (n-1) halo) >= H``), so this base never overestimates;
it is also consistent (``base(I) <= F_D(G) + base(I + G)``: what leaves it with ``G`` is G's
weights, tensors of In(G) and tensors of Out(G)). ``h`` adds the spine cuts
(``spine_cuts.SpineCuts``), still admissible but not always consistent. A user's cost
model must keep F_D >= W + S(In) + S(Out) for the estimate to be a bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fuseplan.models.group import mask_ops

from .problem import Problem
from .progress import Deadline
from .spine_cuts import SpineCuts


class Estimate:
    """The admissible, consistent estimate ``h(I)`` described in the module docstring,
    memoised per ideal."""

    def __init__(self, problem: Problem, should_stop: Callable[[], bool] | None = None) -> None:
        """``should_stop`` cuts the spine cuts short (see ``SpineCuts``): a weaker estimate,
        still admissible."""
        graph = problem.graph
        b = problem.model.bytes_per_element
        unfusable = problem.unfusable
        self.weights = [0 if unfusable >> v & 1 else op.params * b
                        for v, op in enumerate(graph.ops)]
        # (producer bit or 0 for a network input, mask of fusible readers, S(t))
        self.read: list[tuple[int, int, int]] = []
        self.leaving = [0] * graph.num_ops  # per fusible op: S(t) of its output if case 3
        outputs = set(graph.outputs)
        for t, tensor in enumerate(graph.tensors):
            size = tensor.elements * b
            readers = 0
            for c in graph.consumers[t]:
                readers |= 1 << c
            fusible_readers = readers & ~unfusable
            producer = tensor.producer
            bit = 0 if producer is None else 1 << producer
            if fusible_readers:
                self.read.append((bit, fusible_readers, size))
            if producer is not None and not unfusable >> producer & 1:
                if t in outputs or readers & unfusable:
                    self.leaving[producer] += size
        self.memo: dict[int, int] = {}
        self.base_memo: dict[int, int] = {}
        self._op_tables(problem)
        self.spine = SpineCuts(problem, self.out_leaves, self.out_size, should_stop)

    def _op_tables(self, problem: Problem) -> None:
        """Per op: its output's size, fusible readers and whether it is a network output or
        read by an unfusable op; its inputs as (producer bit, S(t)) with each tensor once."""
        graph = problem.graph
        b = problem.model.bytes_per_element
        unfusable = problem.unfusable
        outputs = set(graph.outputs)
        self.out_size = []
        self.out_readers = []
        self.out_leaves = []  # network output or read by an unfusable op: in Out(G) always
        self.inputs: list[tuple[tuple[int, int, int], ...]] = []
        for op in graph.ops:
            t = op.output
            readers = 0
            for c in graph.consumers[t]:
                readers |= 1 << c
            self.out_size.append(graph.tensors[t].elements * b)
            self.out_readers.append(readers & ~unfusable)
            self.out_leaves.append(t in outputs or bool(readers & unfusable))
            ins = []
            for x in dict.fromkeys(op.inputs):
                producer = graph.tensors[x].producer
                bit = 0 if producer is None else 1 << producer
                ins.append((x, bit, graph.tensors[x].elements * b))
            self.inputs.append(tuple(ins))

    def group_floor(self, group: int) -> int:
        """W + S(In) + S(Out) of ``group``: no F_D in the contract is below it."""
        total = 0
        seen: set[int] = set()
        for v in mask_ops(group):
            total += self.weights[v]
            if self.out_leaves[v] or self.out_readers[v] & ~group:
                total += self.out_size[v]
            for x, producer, size in self.inputs[v]:
                if producer & group == 0 and x not in seen:
                    seen.add(x)
                    total += size
        return total

    def grow_floor(self, group: int, floor: int, read: int, v: int) -> tuple[int, int]:
        """``group_floor`` and the read tensors (mask over tensor ids) of ``group + v``
        from those of ``group``, when every op of ``group`` has a lower id than ``v`` (so
        none of v's readers is in the group and v's output leaves it)."""
        grown = group | 1 << v
        floor += self.weights[v]
        if self.out_leaves[v] or self.out_readers[v]:
            floor += self.out_size[v]
        for x, producer, size in self.inputs[v]:
            if producer & group:
                p = producer.bit_length() - 1
                if not self.out_leaves[p] and self.out_readers[p] & ~grown == 0:
                    floor -= size  # its last reader joined: no longer leaves the group
            elif not read >> x & 1:
                floor += size
            read |= 1 << x
        return floor, read

    def stranded_open(self, open_ops: int, keep: int) -> int:
        """``stranded`` over ``open_ops`` only (the group's ops whose output has a
        fusible reader outside it); ``keep`` = the group and the ops that may join."""
        total = 0
        while open_ops:
            low = open_ops & -open_ops
            open_ops ^= low
            u = low.bit_length() - 1
            if self.out_readers[u] & ~keep:
                total += self.out_size[u] if self.out_leaves[u] else 2 * self.out_size[u]
        return total

    def stranded(self, group: int, may_join: int) -> int:
        """A floor on what any group grown from ``group`` (by ops of ``may_join`` only)
        adds to ``h``: each output of ``group`` read by a fusible op that can never join is
        written (Out) and read again later (In of the reader's group): 2 S(t), or S(t) if
        ``h`` already counts it (a network output or a tensor read by an unfusable op)."""
        total = 0
        keep = group | may_join
        for v in mask_ops(group):
            if self.out_readers[v] & ~keep:
                total += self.out_size[v] if self.out_leaves[v] else 2 * self.out_size[v]
        return total

    def __call__(self, ideal: int) -> int:
        """The estimate: the base terms plus the cuts the buffer forces along the spine."""
        h = self.memo.get(ideal)
        if h is None:
            h = self.base(ideal) + self.spine.extra(ideal)
            self.memo[ideal] = h
        return h

    def base(self, ideal: int) -> int:
        """Weights, tensors read across the ideal's cut, outputs still to write."""
        h = self.base_memo.get(ideal)
        if h is not None:
            return h
        h = 0
        weights, leaving = self.weights, self.leaving
        rest = ~ideal
        for v in range(len(weights)):
            if rest >> v & 1:
                h += weights[v] + leaving[v]
        for producer, readers, size in self.read:
            if producer & rest == 0 and readers & rest:
                h += size
        self.base_memo[ideal] = h
        return h


BOUND_GRACE_S = 0.25  # for the spine cuts, once the deadline has passed


def whole_problem_bound(problem: Problem, deadline: Deadline | None = None) -> int:
    """A lower bound on the fusible cost of every valid plan: A*'s estimate from the empty
    ideal (weights, tensors that must be read and written, cuts the buffer forces along the
    spine). Valid whatever part of the candidate set was enumerated, and with user
    constraints (they only remove plans), so a method stopped early can quote a real gap.

    With a ``deadline``, the spine cuts get until its end, or ``BOUND_GRACE_S`` seconds
    when it has passed already (time limit or stop: methods call this once stopped); the
    cuts left out count 0, a weaker bound but still a bound."""
    if deadline is None or (deadline.end is None and not deadline.expired()):
        return int(Estimate(problem)(0))
    if deadline.expired() or deadline.end is None:
        until = time.perf_counter() + BOUND_GRACE_S
    else:
        until = deadline.end + BOUND_GRACE_S
    return int(Estimate(problem, lambda: time.perf_counter() > until)(0))
