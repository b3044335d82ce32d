"""Per-op floors for the groups an interrupted enumeration did not reach (the partial LP
bound of :mod:`.lp_bound`).

Enumeration (one process) grows the groups seed by seed in increasing op id, a topological
order; each group belongs to its lowest op. Stopped while growing from seed ``f``, it has
found every group whose lowest op is below ``f``. A group S it may have missed holds ops of
id ``>= f`` only, so every tensor S reads that is produced below ``f`` (or is a network
input) is in In(S), and every output of S that is a network output or read by an
unfusable op is in Out(S). With the contract's ``F_D(S) >= W(S) + S(In) + S(Out)`` (the
same floor ``bounds.py`` and A* rely on):

    F_D(S) >= sum_{v in S} e_v,  e_v = W(v) + [out(v) leaves] S(out(v))
                                     + sum_{t read by v, produced below f} S(t) / r_f(t)

with ``r_f(t)`` the fusible readers of t of id ``>= f`` (a tensor read by several ops of S
counts once in In(S); the shares of its readers in S sum to at most S(t)). So giving every
fusible op ``v >= f`` an extra singleton column of cost ``e_v`` relaxes all the missed
groups at once (a missed S is covered by those singletons at no more than its own cost),
and the LP over the groups found plus these columns is a valid whole-problem bound.
"""

from __future__ import annotations

from fractions import Fraction

from .candidates import CandidateSet
from .problem import Problem


def first_missing_seed(problem: Problem, cands: CandidateSet) -> int:
    """The lowest op whose groups may be missing from ``cands``: ``num_ops`` when complete;
    else the lowest op of the last group of two or more ops found (the seed growth was in;
    singletons come first), or 0 when growth found none."""
    if cands.complete:
        return problem.num_ops
    for mask in reversed(cands.masks):
        if mask.bit_count() > 1:
            return (mask & -mask).bit_length() - 1
        break  # only singletons: growth had found nothing yet
    return 0


def op_floors(problem: Problem, first: int) -> dict[int, Fraction]:
    """``e_v`` (module docstring) of every fusible op ``v >= first``, exactly."""
    graph = problem.graph
    b = problem.model.bytes_per_element
    unfusable = problem.unfusable
    outputs = set(graph.outputs)
    floors: dict[int, Fraction] = {}
    for v in range(first, problem.num_ops):
        if unfusable >> v & 1:
            continue
        op = graph.ops[v]
        floor = Fraction(op.params * b)
        out = op.output
        if out in outputs or any(unfusable >> c & 1 for c in graph.consumers[out]):
            floor += graph.tensors[out].elements * b
        for t in dict.fromkeys(op.inputs):
            producer = graph.tensors[t].producer
            if producer is not None and producer >= first and not unfusable >> producer & 1:
                continue  # the producer may share v's group
            readers = {c for c in graph.consumers[t] if c >= first and not unfusable >> c & 1}
            floor += Fraction(graph.tensors[t].elements * b, len(readers))
        floors[v] = floor
    return floors
