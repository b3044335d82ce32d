"""Explanation-driven overflow sets for the hybrid's Benders cuts.

A group S of a master solution does not fit. The explainer ranks S's ops by how much of the
buffer they are responsible for; the set S' is grown from the top-ranked op, always adding
the best-ranked neighbour inside S, until ``buffer_lower_bound(S') >= beta``, then shrunk by
dropping ops from the lowest-ranked up while it stays weakly connected and over the buffer.
S' is weakly connected, so every group that holds it grows from it one neighbour at a time,
and the lower bound, which never drops when an op joins a connected group (LBDF, BRR), keeps
every such group over the buffer: the cut "not all of S' in one group" loses no valid plan.
Every S' is verified before it is returned (:func:`verified`). When S's own lower bound is
below the buffer (BRR: F_beta above its bound), no such S' exists and None is returned.

Rankings: ``cost`` (no torch) scores an op by the bytes it holds in S's buffer (its weights
plus the rows of the tensors it reads, from the model's ``buffer_breakdown``). Any other
repair strategy scores an op by the sum of its edges' scores in the strategy's explanation
(``explain/``), the same explanation the searches' repair uses.
"""

from __future__ import annotations

from collections.abc import Callable

from fuseplan.models.group import connected_in, mask_ops

from ..problem import Problem

OpRanker = Callable[[int], dict[int, float]]  # group -> op id -> score (higher: more to blame)


def make_ranker(problem: Problem, repair: str, seed: int) -> OpRanker:
    """The op ranking of repair strategy ``repair`` (module docstring)."""
    model, beta, graph = problem.model, problem.buffer_bytes, problem.graph
    if repair == "cost":
        def by_buffer(group: int) -> dict[int, float]:
            scores = {v: 0.0 for v in mask_ops(group)}
            breakdown = model.buffer_breakdown(group, beta)
            for v, held in breakdown.weights:
                scores[v] += held
            for rows in breakdown.tensors:
                readers = [c for c in graph.consumers[rows.tensor] if group >> c & 1]
                producer = graph.tensors[rows.tensor].producer
                owners = readers or ([producer] if producer is not None else [])
                for c in owners:
                    scores[c] += rows.bytes / len(owners)
            return scores
        return by_buffer

    from fuseplan.explain.registry import make_strategy

    algorithm = make_strategy(repair, seed=seed)

    def by_edges(group: int) -> dict[int, float]:
        explanation = algorithm(model, group, beta)
        scores = {v: 0.0 for v in mask_ops(group)}
        for edge, score in zip(explanation.edges, explanation.edge_scores):
            if score != float("-inf"):
                for v in (edge.producer, edge.consumer):
                    if v in scores:
                        scores[v] += score
        return scores
    return by_edges


def overflow_set(problem: Problem, group: int, rank: OpRanker) -> int | None:
    """A weakly connected S' inside ``group`` with buffer_lower_bound(S') >= beta, small,
    found in the explainer's order; None when the group's own bound is below the buffer."""
    model, beta, nbr = problem.model, problem.buffer_bytes, problem.neighbours
    if model.buffer_lower_bound(group) < beta:
        return None
    scores = rank(group)
    order = sorted(mask_ops(group), key=lambda v: (-scores.get(v, 0.0), v))
    top = order[0]
    chosen = 1 << top
    while model.buffer_lower_bound(chosen) < beta:
        frontier = [v for v in order if not chosen >> v & 1 and nbr[v] & chosen]
        chosen |= 1 << frontier[0]  # the group is connected: a neighbour is left
    for v in reversed(order):  # drop the least to blame first
        smaller = chosen & ~(1 << v)
        if (chosen >> v & 1 and smaller and connected_in(smaller, nbr)
                and model.buffer_lower_bound(smaller) >= beta):
            chosen = smaller
    if not verified(problem, chosen, group):
        raise AssertionError(f"overflow set {chosen:#x} failed its own check")
    return chosen


def verified(problem: Problem, ops: int, group: int | None = None) -> bool:
    """S' is a cut that loses no valid plan: two or more ops, weakly connected, its lower
    bound at or over the buffer (and inside ``group`` when given)."""
    return (ops.bit_count() >= 2 and connected_in(ops, problem.neighbours)
            and problem.model.buffer_lower_bound(ops) >= problem.buffer_bytes
            and (group is None or ops & ~group == 0))
