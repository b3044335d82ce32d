"""A repair strategy (``explain/``) as the cut proposer recursive splitting asks for.

For a group G the proposer builds G's cut space (``explain/cuts.py``), lets the strategy score
G's edges, and reads its first cuts with the shared cut rule (``explain/cut_rule.top_cuts``),
in rank order. Learned strategies explain toward "invalid" at the problem's buffer. With a
deadline, both the listing of the cut space and the scoring stop when it passes
(:class:`~.splitting.OutOfTime`).
"""

from __future__ import annotations

from fuseplan.explain.cut_rule import top_cuts
from fuseplan.explain.cuts import ListingStopped, StopCheck, cut_space
from fuseplan.explain.registry import make_strategy

from ..problem import Problem
from ..progress import Deadline
from .splitting import MAX_CUTS, CutProposer, OutOfTime


class _DeadlineModel:
    """The cost model as a strategy sees it, stopping the proposal (:class:`OutOfTime`) at
    the first group it prices past the deadline: scoring the cuts of a group of hundreds of
    ops prices thousands of groups."""

    def __init__(self, model, deadline: Deadline) -> None:
        self._model = model
        self._deadline = deadline

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def _check(self) -> None:
        if self._deadline.expired():
            raise OutOfTime

    def buffer_bytes(self, group):
        self._check()
        return self._model.buffer_bytes(group)

    def dram_bytes(self, group, buffer_bytes):
        self._check()
        return self._model.dram_bytes(group, buffer_bytes)

    def group_cost(self, group, buffer_bytes):
        self._check()
        return self._model.group_cost(group, buffer_bytes)


def make_proposer(problem: Problem, repair: str, seed: int, k: int = MAX_CUTS,
                  deadline: Deadline | None = None) -> CutProposer:
    """The cut proposer of strategy ``repair`` (seeded) on ``problem``'s model and buffer;
    with a ``deadline`` a proposal still running when it passes raises :class:`OutOfTime`
    (unless the problem has pins)."""
    algorithm = make_strategy(repair, seed=seed)
    model, beta, graph = problem.model, problem.buffer_bytes, problem.graph
    should_stop: StopCheck | None = None
    if (deadline is not None and not problem.pins
            and (deadline.end is not None or deadline.limits.stop is not None)):
        # a time limit or Ctrl-C can stop it; not with --pin: the greedy finish of a stopped
        # proposal could split a pin (as in RecursiveSplitter, pins turn the deadline off)
        model = _DeadlineModel(model, deadline)
        should_stop = deadline.expired

    def propose(group: int) -> list[tuple[int, int]]:
        try:  # listing the cuts of a group of hundreds of ops can take many seconds
            space = cut_space(graph, group, should_stop=should_stop)
        except ListingStopped:
            raise OutOfTime from None
        explanation = algorithm(model, group, beta, space=space)
        return [(c.first, c.second) for c in top_cuts(space, explanation.edge_scores, k)]

    return propose
