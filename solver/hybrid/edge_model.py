"""The hybrid's compact CP-SAT model: one position per op, one Boolean per edge.

No candidate group is enumerated. For ops numbered in a topological order:

- ``s[v]`` in [0, n): the position of v's group in an order of the groups;
- ``e[u, v]`` for each edge between fusible ops: 1 when u and v share a group. ``e`` forces
  ``s[u] == s[v]``, ``not e`` forces ``s[u] < s[v]`` (edges into or out of an unfusable op are
  always cut). A group is a connected component of the edges with e = 1. Two ops joined by
  such a path have equal positions, so a cut edge between them would be infeasible: every
  edge inside a group has e = 1. Groups are therefore weakly connected and convex (a path
  from u to v through w with s[u] = s[v] has s[w] = s[u], and each of its edges is kept), and
  cut edges strictly increase s, so the graph of groups is acyclic. Every valid plan is a
  solution: number its groups in a topological order.
- The objective is W + S(In) + S(Out) per group, summed, in integer bytes: the LBDF F_D
  exactly, a lower bound of BRR's F_D (``solver/bounds.py``). A tensor counts once as an
  output when some reader is cut off its producer (``out_t``), and once as an input of each
  reader's group that does not hold the producer: reader r_i pays unless it shares a group
  with the producer or with an earlier reader r_j (``q[r_j, r_i]``: an edge Boolean when
  they are joined by an edge, else a Boolean that forces equal positions).
- Equal positions do not make one group: a ``q`` set between two components with equal
  positions undercounts. Such solutions are cut lazily (:meth:`EdgeModel.add_join_cut`:
  q <= the edges leaving the component of one of them). Valid: in a plan numbered with one
  position per group, q = 1 only inside one group, whose path between the two readers leaves
  that component through a kept edge.
- Buffer fit is not modelled: it comes in as cuts (:meth:`EdgeModel.add_overflow_cut`): for a
  weakly connected set S' with buffer_lower_bound(S') >= beta, not every edge of a spanning
  tree of S' is kept (S' in one group keeps every edge inside it, and a group holding S'
  does not fit). Must-separate pairs (u an ancestor of v) become s[u] < s[v].

So the model is a relaxation of the problem: its bound is valid for the whole problem at
every round, and a solution whose components all fit, with no wrong ``q``, is a valid plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fuseplan.models.group import mask_ops

from ..problem import Problem


@dataclass
class EdgeModel:
    """The built model and its variables (see the module docstring)."""

    problem: Problem
    model: Any  # cp_model.CpModel
    s: list[Any]
    e: dict[tuple[int, int], Any]
    q: dict[tuple[int, int], Any]  # reader pairs not joined by an edge
    out: dict[int, Any]  # tensor id -> Boolean
    new: list[tuple[int, int, Any]] = field(default_factory=list)  # (tensor, reader, pays)
    constant: int = 0
    join_cuts: int = 0
    overflow_cuts: int = 0
    overflow_sizes: list[int] = field(default_factory=list)
    cut_keys: set[tuple] = field(default_factory=set)
    price_cuts: int = 0
    z_groups: dict[str, int] = field(default_factory=dict)

    def note_cut(self, key: tuple) -> bool:
        """True the first time a cut is named (each cut is added once)."""
        if key in self.cut_keys:
            return False
        self.cut_keys.add(key)
        return True

    # ----- cuts -----
    def add_overflow_cut(self, ops: int) -> None:
        """Not all of the weakly connected set ``ops`` in one group (its lower bound is
        checked by the caller)."""
        tree = spanning_tree(self.problem, ops)
        if not tree:
            raise ValueError("an overflow cut needs a connected set of two or more ops")
        self.model.add(sum(self.e[edge] for edge in tree) <= len(tree) - 1)
        self.overflow_cuts += 1
        self.overflow_sizes.append(ops.bit_count())

    def add_join_cut(self, pair: tuple[int, int], component: int) -> None:
        """``q[pair]`` only when an edge leaving ``component`` (holding pair[0]) is kept."""
        leaving = [var for (u, v), var in self.e.items()
                   if (component >> u & 1) != (component >> v & 1)]
        self.model.add(self.q[pair] <= sum(leaving))
        self.join_cuts += 1

    # ----- solutions -----
    def groups_of(self, kept: Iterable[tuple[int, int]]) -> list[int]:
        """The groups (masks) of a solution: components of the kept edges, unfusable ops
        alone."""
        parent = list(range(self.problem.num_ops))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for u, v in kept:
            parent[find(u)] = find(v)
        groups: dict[int, int] = {}
        for v in range(self.problem.num_ops):
            root = find(v)
            groups[root] = groups.get(root, 0) | 1 << v
        return list(groups.values())

    def hint_plan(self, groups: Sequence[int]) -> None:
        """A complete hint: the plan ``groups`` with one position per group (topological)."""
        values = plan_values(self, groups)
        self.model.clear_hints()
        for var, value in values:
            self.model.add_hint(var, value)

    def add_exact_cut(self, group: int) -> None:
        """Not exactly ``group`` as a group (for a group that does not fit although its
        lower bound does: under BRR a larger group may fit, so only this set is cut)."""
        tree = spanning_tree(self.problem, group)
        leaving = [var for (u, v), var in self.e.items()
                   if (group >> u & 1) != (group >> v & 1)]
        self.model.add(sum(self.e[edge] for edge in tree) - sum(leaving) <= len(tree) - 1)
        self.overflow_cuts += 1
        self.overflow_sizes.append(group.bit_count())

    def add_price_cut(self, group: int, extra: int) -> None:
        """Logic-based optimality cut: a solution holding exactly ``group`` as a group pays
        ``extra`` more (its F_D above W + S(In) + S(Out), BRR's tiling). Zero for every other
        solution, so the model stays a relaxation and prices that group exactly."""
        tree = spanning_tree(self.problem, group)
        leaving = [var for (u, v), var in self.e.items()
                   if (group >> u & 1) != (group >> v & 1)]
        z = self.model.new_bool_var(f"z{len(self.cost_terms)}")
        self.z_groups[z.name] = group
        self.model.add(z >= sum(self.e[edge] for edge in tree) - sum(leaving) - (len(tree) - 1))
        self.cost_terms.append((extra, z))
        self.model.minimize(sum(size * var for size, var in self.cost_terms) + self.constant)
        self.price_cuts += 1

    def group_floor(self, group: int) -> int:
        """W + S(In) + S(Out) of ``group``: what the objective charges for it."""
        graph, problem = self.problem.graph, self.problem
        b = problem.model.bytes_per_element
        total = 0
        read: set[int] = set()
        outputs = set(graph.outputs)
        for v in mask_ops(group):
            op = graph.ops[v]
            total += op.params * b
            read.update(t for t in op.inputs
                        if graph.tensors[t].producer is None
                        or not group >> graph.tensors[t].producer & 1)
            t = op.output
            if t in outputs or any(not group >> c & 1 for c in graph.consumers[t]):
                total += graph.tensors[t].elements * b
        return total + sum(graph.tensors[t].elements * b for t in read)

    def objective_of(self, groups: Sequence[int]) -> int:
        """The model's objective for plan ``groups`` numbered one position per group."""
        values = dict((id(var), value) for var, value in plan_values(self, groups))
        total = self.constant
        for size, var in self.cost_terms:
            total += size * values[id(var)]
        return total

    cost_terms: list[tuple[int, Any]] = field(default_factory=list)


def build_edge_model(problem: Problem, separate: Iterable[tuple[int, int]] = ()) -> EdgeModel:
    """The model of ``problem`` with must-separate pairs ``separate`` (u an ancestor of v)."""
    from ortools.sat.python import cp_model

    graph = problem.graph
    n = problem.num_ops
    b = problem.model.bytes_per_element
    unfusable = problem.unfusable
    model = cp_model.CpModel()

    # variables
    s = [model.new_int_var(0, max(0, n - 1), f"s{v}") for v in range(n)]
    e: dict[tuple[int, int], Any] = {}
    for v, op in enumerate(graph.ops):
        for t in dict.fromkeys(op.inputs):
            u = graph.tensors[t].producer
            if u is None or (u, v) in e:
                continue
            if (unfusable >> u | unfusable >> v) & 1:
                model.add(s[u] + 1 <= s[v])  # an unfusable op is a singleton
                e[(u, v)] = None
                continue
            var = model.new_bool_var(f"e{u}_{v}")
            model.add(s[u] == s[v]).only_enforce_if(var)
            model.add(s[u] + 1 <= s[v]).only_enforce_if(var.Not())
            e[(u, v)] = var
    e = {edge: var for edge, var in e.items() if var is not None}
    for u, v in separate:
        model.add(s[u] + 1 <= s[v])
        if (u, v) in e:
            model.add(e[(u, v)] == 0)

    built = EdgeModel(problem=problem, model=model, s=s, e=e, q={}, out={})
    # objective: weights are a constant; tensors crossing a group boundary
    built.constant = sum(op.params * b for v, op in enumerate(graph.ops) if not unfusable >> v & 1)
    outputs = set(graph.outputs)
    for t, tensor in enumerate(graph.tensors):
        size = tensor.elements * b
        p = tensor.producer
        readers = sorted(set(graph.consumers[t]))
        fusible = [r for r in readers if not unfusable >> r & 1]
        if p is not None and not unfusable >> p & 1:
            if t in outputs or len(fusible) < len(readers):
                built.constant += size
            elif fusible:
                out = model.new_bool_var(f"out{t}")
                for r in fusible:
                    model.add_bool_or([out, e[(p, r)]])
                built.out[t] = out
                built.cost_terms.append((size, out))
        p_fusible = p is not None and not unfusable >> p & 1
        for i, r in enumerate(fusible):
            shared = [e[(p, r)]] if p_fusible else []
            shared += [_same(built, fusible[j], r) for j in range(i)]
            if not shared:
                built.constant += size
                continue
            pays = model.new_bool_var(f"in{t}_{r}")
            model.add_bool_or([pays, *shared])
            built.new.append((t, r, pays))
            built.cost_terms.append((size, pays))
    model.minimize(sum(size * var for size, var in built.cost_terms) + built.constant)
    return built


def _same(built: EdgeModel, a: int, b: int) -> Any:
    """The Boolean 'a and b share a group' for two readers of one tensor (a < b)."""
    if (a, b) in built.e:
        return built.e[(a, b)]
    var = built.q.get((a, b))
    if var is None:
        var = built.model.new_bool_var(f"q{a}_{b}")
        built.model.add(built.s[a] == built.s[b]).only_enforce_if(var)
        built.q[(a, b)] = var
    return var


def spanning_tree(problem: Problem, ops: int) -> list[tuple[int, int]]:
    """Edges (u, v), u -> v, of a spanning tree of ``ops`` (empty unless connected)."""
    nodes = mask_ops(ops)
    if len(nodes) < 2:
        return []
    seen = 1 << nodes[0]
    stack = [nodes[0]]
    tree: list[tuple[int, int]] = []
    while stack:
        x = stack.pop()
        for y in mask_ops(problem.neighbours[x] & ops & ~seen):
            seen |= 1 << y
            tree.append((x, y) if problem.succs[x] >> y & 1 else (y, x))
            stack.append(y)
    return tree if seen == ops else []


def plan_values(built: EdgeModel, groups: Sequence[int]) -> list[tuple[Any, int]]:
    """Every variable's value for plan ``groups`` (one position per group, topological)."""
    problem = built.problem
    group_of = [0] * problem.num_ops
    for g, mask in enumerate(groups):
        for v in mask_ops(mask):
            group_of[v] = g
    position = _topological_positions(problem, groups, group_of)
    values: list[tuple[Any, int]] = [(built.s[v], position[group_of[v]])
                                     for v in range(problem.num_ops)]
    values += [(var, int(group_of[u] == group_of[v])) for (u, v), var in built.e.items()]
    values += [(var, int(group_of[a] == group_of[b])) for (a, b), var in built.q.items()]
    values += [(var, int(_holds_exactly(built, var, groups))) for _, var in built.cost_terms
               if var.name.startswith("z")]
    graph = problem.graph
    for t, var in built.out.items():
        p = graph.tensors[t].producer
        values.append((var, int(any(group_of[r] != group_of[p] for r in graph.consumers[t]))))
    for t, r, var in built.new:
        p = graph.tensors[t].producer
        earlier = [c for c in set(graph.consumers[t]) if c < r and not problem.unfusable >> c & 1]
        shares = (p is not None and not problem.unfusable >> p & 1
                  and group_of[p] == group_of[r]) or any(group_of[c] == group_of[r]
                                                         for c in earlier)
        values.append((var, int(not shares)))
    return values


def _holds_exactly(built: EdgeModel, var: Any, groups: Sequence[int]) -> bool:
    return built.z_groups[var.name] in set(groups)


def _topological_positions(problem: Problem, groups: Sequence[int],
                           group_of: list[int]) -> list[int]:
    """Per group, its index in a topological order of the graph of groups."""
    k = len(groups)
    succ: list[set[int]] = [set() for _ in range(k)]
    indegree = [0] * k
    for v in range(problem.num_ops):
        for w in mask_ops(problem.succs[v]):
            a, c = group_of[v], group_of[w]
            if a != c and c not in succ[a]:
                succ[a].add(c)
                indegree[c] += 1
    ready = [g for g in range(k) if indegree[g] == 0]
    position = [0] * k
    index = 0
    while ready:
        g = ready.pop()
        position[g] = index
        index += 1
        for c in succ[g]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if index != k:
        raise ValueError("the plan's graph of groups has a cycle")
    return position
