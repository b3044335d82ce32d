"""A repair strategy (``explain/``) as the cut proposer recursive splitting asks for.

For a group G the proposer builds G's cut space (``explain/cuts.py``), lets the strategy score
G's edges, and reads its first cuts with the shared cut rule (``explain/cut_rule.top_cuts``),
in rank order. Learned strategies explain toward "invalid" at the problem's buffer.
"""

from __future__ import annotations

from fuseplan.explain.cut_rule import top_cuts
from fuseplan.explain.cuts import cut_space
from fuseplan.explain.registry import make_strategy

from ..problem import Problem
from .splitting import MAX_CUTS, CutProposer


def make_proposer(problem: Problem, repair: str, seed: int, k: int = MAX_CUTS) -> CutProposer:
    """The cut proposer of strategy ``repair`` (seeded) on ``problem``'s model and buffer."""
    algorithm = make_strategy(repair, seed=seed)
    model, beta, graph = problem.model, problem.buffer_bytes, problem.graph

    def propose(group: int) -> list[tuple[int, int]]:
        space = cut_space(graph, group)
        explanation = algorithm(model, group, beta, space=space)
        return [(c.first, c.second) for c in top_cuts(space, explanation.edge_scores, k)]

    return propose
