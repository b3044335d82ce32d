"""A capacity term for the A* estimate: cuts the buffer forces along the net's spine.

An *articulation op* is comparable with every op (each op is its ancestor, itself or its
descendant); in topological order they are a_1 < a_2 < ... < a_m (the spine: the stem,
the concat closing each Inception module, each dense layer's concat, ...). A group holding
a_i and a_j holds every op between them (convexity), so when that hull cannot form a group
(its ``buffer_lower_bound`` reaches the buffer, or it holds an unfusable op, a forbidden
pair or too many ops) a_i and a_j lie in different groups. Then some consecutive pair
a_c, a_c+1 (i <= c < j) lies in different groups, and every path from a_c to a_c+1 has an
edge between groups: a tensor produced in the region R_c (a_c and the ops between a_c and
a_c+1) that is written by its group (Out) and read by another (In), 2 S(t) beyond what the
base estimate counts (S(t) when the base already counts it as a network output). The least
such cost is a minimum vertex cut of the region, ``cut[c]``. Regions are disjoint, so the
cut costs add: the cheapest set of cut positions hitting every interval [i, reach(i)] (the
farthest a_j that can share a group with a_i) is a lower bound on what the remaining plan
pays on top of the base estimate, for the intervals that start outside the ideal. Regions
holding an unfusable op count 0 (its traffic is outside the fusible total).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from fuseplan.models.group import mask_ops

from .problem import Problem


class SpineCuts:
    """``extra(ideal)``: the least cost of the forced cuts after ``ideal``."""

    def __init__(
        self, problem: Problem, leaves: list[bool], out_size: list[int],
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """``should_stop()``, asked before each cut and each reach, ends the work early:
        the cuts not computed count 0 and the reaches not computed are the whole spine (no
        cut forced), so ``extra`` is smaller but still a lower bound."""
        self.problem = problem
        n = problem.num_ops
        full = problem.all_ops
        anc, desc = problem.ancestors, problem.descendants
        self.spine = [v for v in range(n) if anc[v] | desc[v] | 1 << v == full]
        m = len(self.spine)
        self.stopped = False
        if m == n:  # a total order: astar takes the plan of runs, exact there
            self.cut, self.reach, self.best = [0] * m, list(range(m)), [0] * (m + 1)
            return
        self._should_stop = should_stop or (lambda: False)
        self.cut = []
        for c in range(m - 1):
            self.stopped = self.stopped or self._should_stop()
            self.cut.append(0 if self.stopped else self._cut_cost(c, leaves, out_size))
        self.reach = self._reach()
        self.best = self._suffix_costs()

    def _hull(self, i: int, j: int) -> int:
        a, b = self.spine[i], self.spine[j]
        return (self.problem.descendants[a] & self.problem.ancestors[b]) | 1 << a | 1 << b

    def _can_share(self, i: int, j: int) -> bool:
        problem = self.problem
        hull = self._hull(i, j)
        if hull & problem.unfusable:
            return False
        if problem.max_group_ops is not None and hull.bit_count() > problem.max_group_ops:
            return False
        for a, b in problem.forbids:
            if hull >> a & 1 and hull >> b & 1:
                return False
        return problem.model.buffer_lower_bound(hull) < problem.buffer_bytes

    def _reach(self) -> list[int]:
        """Per spine index i, the largest j with a_i, a_j able to share a group (two
        pointers: the hull of (i + 1, j) lies inside the hull of (i, j))."""
        m = len(self.spine)
        reach = []
        j = 0
        for i in range(m):
            j = max(j, i)
            while not self.stopped and j + 1 < m and self._can_share(i, j + 1):
                j += 1
                self.stopped = self._should_stop()  # large hulls are slow to bound
            if self.stopped:
                reach.append(m - 1)  # not computed: no cut forced from here
                continue
            reach.append(j)
        return reach

    def _cut_cost(self, c: int, leaves: list[bool], out_size: list[int]) -> int:
        """Least cost of edges between groups on every path a_c -> a_c+1 (a vertex cut:
        the tensor of each cut op crosses)."""
        problem = self.problem
        a, b = self.spine[c], self.spine[c + 1]
        region = (problem.descendants[a] & problem.ancestors[b]) | 1 << a
        if (region | 1 << b) & problem.unfusable:
            return 0
        # op v is split into node 2v (in) and 2v + 1 (out); cutting v costs its tensor
        cap: dict[int, dict[int, int]] = {}
        costs = {v: out_size[v] if leaves[v] else 2 * out_size[v] for v in mask_ops(region)}
        infinite = sum(costs.values()) + 1
        for v, cost in costs.items():
            _add_arc(cap, 2 * v, 2 * v + 1, cost)
            for w in mask_ops(problem.succs[v] & (region | 1 << b)):
                _add_arc(cap, 2 * v + 1, 2 * w, infinite)
        return _max_flow(cap, 2 * a, 2 * b)

    def _suffix_costs(self) -> list[int]:
        """best[k]: least total cut cost hitting every interval [i, reach[i]] with i >= k
        that ends before the last spine op (interval hitting on a line)."""
        m = len(self.spine)
        best = [0] * (m + 1)
        for k in range(m - 1, -1, -1):
            ends = [self.reach[i] for i in range(k, m) if self.reach[i] < m - 1]
            if not ends:
                continue
            deadline = min(ends)
            best[k] = min(self.cut[p] + best[p + 1] for p in range(k, deadline + 1))
        return best

    def extra(self, ideal: int) -> int:
        for k, v in enumerate(self.spine):
            if not ideal >> v & 1:
                return self.best[k]
        return 0

    def after_next_group(self, ideal: int) -> int:
        """A floor on ``extra`` once one more group follows ``ideal``: that group holds
        spine ops up to reach(k) at most, k the first spine op outside ``ideal``."""
        for k, v in enumerate(self.spine):
            if not ideal >> v & 1:
                return self.best[min(self.reach[k] + 1, len(self.spine))]
        return 0


def _add_arc(cap: dict[int, dict[int, int]], u: int, w: int, capacity: int) -> None:
    cap.setdefault(u, {})[w] = cap.get(u, {}).get(w, 0) + capacity
    cap.setdefault(w, {}).setdefault(u, 0)  # the residual arc


def _max_flow(cap: dict[int, dict[int, int]], source: int, sink: int) -> int:
    """The maximum flow (= the minimum cut) from ``source`` to ``sink`` by shortest
    augmenting paths (Edmonds-Karp); ``cap`` is consumed as the residual graph. The regions
    are small (an Inception module, a few dozen ops), so this beats importing networkx,
    which costs 0.3 s and more on a loaded machine."""
    total = 0
    while True:
        parent = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            u = queue.popleft()
            for w, left in cap.get(u, {}).items():
                if left > 0 and w not in parent:
                    parent[w] = u
                    queue.append(w)
        if sink not in parent:
            return total
        push = min(cap[parent[w]][w] for w in _path(parent, source, sink))
        for w in _path(parent, source, sink):
            cap[parent[w]][w] -= push
            cap[w][parent[w]] += push
        total += push


def _path(parent: dict[int, int], source: int, sink: int) -> list[int]:
    """The nodes after ``source`` on the augmenting path to ``sink``."""
    nodes = []
    w = sink
    while w != source:
        nodes.append(w)
        w = parent[w]
    return nodes
