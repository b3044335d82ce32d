"""BRR's forced weight streaming, for the multicut bound (:mod:`.multicut_bound`).

Under BRR (``cost-models.md``) a group G tiled in n tiles costs
``D(n, mode) >= W(G) + S(In) + S(Out) + (n - 1) W(G)`` when its weights are streamed, and
no more than the floor ``W + S(In) + S(Out)`` otherwise. A group that can neither keep its
weights resident nor run in one tile therefore pays at least ``W(G)`` above the floor:
- resident at any n needs ``B >= W(G) + sum_{t in T(G)} min(H, 1 + halo) rows``, that is
  ``buffer_lower_bound(G) - max W + W(G)`` (the lower bound is ``max W`` plus those rows);
- one tile (n = 1, either mode) holds every tensor it reads whole:
  ``B >= max W + sum_{t in T(G)} S(t)``.
Both grow with G (sums over more ops and tensors; the rows term as the lower bound's), so
when they reach the buffer on the hull of a weakly connected S', every group holding S'
streams in two or more tiles, and each of its ops v pays ``W(v)`` more, once: the op
elements of the multicut (price W(v)) stand for that, and the constraint
``y(tree of S') + s_v >= 1`` (v in S') is valid.
"""

from __future__ import annotations

from fuseplan.models.group import mask_ops

from .problem import Problem


class StreamTest:
    """``forced(hull)``: every group holding ``hull`` streams with n >= 2 (BRR only)."""

    def __init__(self, problem: Problem) -> None:
        graph = problem.graph
        b = problem.model.bytes_per_element
        self.problem = problem
        self.weight = [op.params * b for op in graph.ops]
        self.size = [t.elements * b for t in graph.tensors]
        self.inputs = [tuple(dict.fromkeys(op.inputs)) for op in graph.ops]

    def forced(self, hull: int) -> bool:
        problem = self.problem
        ops = mask_ops(hull)
        heaviest = max(self.weight[v] for v in ops)
        total = sum(self.weight[v] for v in ops)
        rows = problem.model.buffer_lower_bound(hull) - heaviest
        if total + rows < problem.buffer_bytes:
            return False  # resident may fit
        read = {t for v in ops for t in self.inputs[v]}
        return heaviest + sum(self.size[t] for t in read) >= problem.buffer_bytes

    def heaviest(self, ops: int) -> int:
        return max(mask_ops(ops), key=lambda v: (self.weight[v], -v))
