"""``--prune aggressive``: the pairs the ``--repair`` explainer says must be separated, kept
apart without proof.

Each minimal must-separate pair (u, v) of the safe pruning (:mod:`.separate`) names a group
proven not to fit: hull(u, v). Safe pruning only says "u and v apart, somewhere on the way".
The explainer is asked *where*: its first cut of the hull, exactly as recursive splitting
reads it (the hull's cut space, the strategy's edge scores, the shared cut rule; the hybrid's
own proposer, so ``cost`` imports no torch and a learned strategy explains with its
checkpoint). The edges that cut crosses are the pairs the explainer says must be separated;
each becomes ``e = 0`` in the edge model.

Nothing proves them: a good group may hold both ends of such an edge and be cut elsewhere
in the hull. So the master's bound is not used and the plan is never called OPTIMAL
(``method.py``). Two guards keep it cheap and no worse than the plan in hand:

- one proposal per minimal pair (a hull is small: the ops between u and v), and no more
  than ``BUDGET_SHARE`` of the time limit (at most ``BUDGET_MAX_S``); the pairs found by
  then stand;
- an edge the incumbent plan keeps inside one group is not pruned, so the incumbent stays a
  solution of the pruned master and the complete hint stays feasible.

Replaces the first rule, which was not explainer-driven (pairs whose hull's lower bound
reached 0.8 x the buffer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fuseplan.models.group import mask_ops

from ..problem import Problem
from ..progress import Deadline
from ..search.splitting import OutOfTime

BUDGET_SHARE = 0.05  # of the time limit, at most, for the proposals
BUDGET_MAX_S = 3.0
Proposer = Callable[[int], list[tuple[int, int]]]  # group -> cuts (first, second), best first


@dataclass(frozen=True)
class AggressivePairs:
    """``pairs``: edges (p, c) to cut, not proven; ``hulls``: hulls explained; ``complete``:
    False when the budget or the deadline stopped the proposals (the pairs found stand)."""

    pairs: tuple[tuple[int, int], ...]
    hulls: int
    kept_by_incumbent: int
    complete: bool
    seconds: float


def aggressive_pairs(problem: Problem, minimal: Sequence[tuple[int, int]], propose: Proposer,
                     incumbent: Sequence[int], deadline: Deadline | None,
                     budget_s: float | None) -> AggressivePairs:
    """The explainer's pairs (module docstring) for the minimal must-separate ``minimal``
    pairs, leaving out the edges the ``incumbent`` plan (group masks) keeps together."""
    started = time.perf_counter()
    group_of = {v: g for g in incumbent for v in mask_ops(g)}
    anc, desc, succs = problem.ancestors, problem.descendants, problem.succs
    found: dict[tuple[int, int], None] = {}
    kept: set[tuple[int, int]] = set()
    hulls = 0
    complete = True
    for u, v in minimal:
        out_of_budget = budget_s is not None and time.perf_counter() - started >= budget_s
        if out_of_budget or (deadline is not None and deadline.expired()):
            complete = False
            break
        hull = (desc[u] & anc[v]) | 1 << u | 1 << v
        try:
            cuts = propose(hull)
        except OutOfTime:
            complete = False
            break
        hulls += 1
        if not cuts:
            continue
        first, second = cuts[0]
        for p in mask_ops(first):
            for c in mask_ops(succs[p] & second):
                if group_of.get(p) is not None and group_of.get(p) == group_of.get(c):
                    kept.add((p, c))
                    continue
                found[(p, c)] = None
    return AggressivePairs(pairs=tuple(found), hulls=hulls, kept_by_incumbent=len(kept),
                           complete=complete, seconds=time.perf_counter() - started)
