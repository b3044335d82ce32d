"""Which fusion group every node of an ONNX model belongs to (``fuseplan export``'s map).

A plan names the ops of the graph fuseplan imported; the file has more nodes than that graph
has ops. Each node of the file gets one *role* (docs/export.md):

* ``op``: the node is an op of the plan (its name is the op's name; a Split along channels is
  the ops ``<name>:<output position>``); group: its op's group (a Split whose Slices are in
  several groups: the first of them in execution order).
* ``absorbed``: a data node the importer folded into an op (BatchNormalization, an activation
  under --fold-activations, Identity, Dropout, Reshape and Flatten on data, Transpose pairs,
  the layout helpers fuseplan's own exporter adds); group: the op's group. A node read by
  ops of several groups (a Reshape two groups read) goes to the first of those groups, so
  that no group reads a value a later group makes.
* ``constant``: a node whose value depends on no model input (Constant, arithmetic on
  initializers); no group.
* ``shape``: a node whose value depends only on the static shapes of data tensors (Shape,
  Size and what computes on them); no group.
* ``dead``: a data node whose value reaches no model output; no group.

Groups run in the plan's order (a validated plan lists them in an execution order) unless a
shape node makes a group wait for a later one (a Reshape whose shape is the Shape of a value
a later group makes): ``group_order`` is then a topological order of the groups, the plan's
wherever it can be. ``order`` is every node's position in one execution order of the whole
model in which the data nodes run group after group in ``group_order`` (constant and shape
nodes run as soon as their inputs exist, dead nodes last).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import onnx

from .errors import FusePlanError
from .graph import Graph
from .onnx_load import _node_names, _topological_order
from .plan import Plan

ROLES = ("op", "absorbed", "constant", "shape", "dead")
_SHAPE_READERS = ("Shape", "Size")  # they read a tensor's shape, never its values
_RANDOM = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
           "Multinomial", "Bernoulli"}  # no inputs, yet not constant


@dataclass(frozen=True)
class NodeEntry:
    """One node of the file: ``index`` is its position in the file."""

    index: int
    name: str
    op_type: str
    role: str
    group: int | None
    ops: tuple[str, ...]
    order: int
    position: int | None  # its position among its group's nodes in ``order``


@dataclass(frozen=True)
class ExportMap:
    """Every node of the model with its role and group; ``groups[g]`` lists the indices of
    group g's nodes in execution order."""

    nodes: tuple[NodeEntry, ...]  # in file order
    groups: tuple[tuple[int, ...], ...]
    group_order: tuple[int, ...]  # the groups in execution order (the plan's, unless shape
    # nodes make a group wait for a later one)

    def in_order(self) -> list[NodeEntry]:
        return sorted(self.nodes, key=lambda n: n.order)

    def count(self, role: str) -> int:
        return sum(1 for n in self.nodes if n.role == role)


def node_reads(node: onnx.NodeProto) -> list[str]:
    """The values a node reads: its inputs, then the outer values its subgraphs use."""
    reads = [x for x in node.input if x]
    for attr in node.attribute:
        for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
            reads += sorted(_outer_values(sub) - set(reads))
    return reads


def _outer_values(graph: onnx.GraphProto) -> set[str]:
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    defined |= {o for n in graph.node for o in n.output if o}
    return {x for n in graph.node for x in node_reads(n)} - defined


def build_export_map(model: onnx.ModelProto, graph: Graph, plan: Plan, source: Path) -> ExportMap:
    """The map of ``model`` (read from ``source``, the file ``graph`` was imported from) for
    ``plan``, which must be valid for ``graph``."""
    nodes = list(model.graph.node)
    names = _node_names(nodes)
    topo = _topological_order(source, nodes, names)
    roles = _roles(model, nodes, topo)
    group_of_op = {graph.ops[v].name: g for g, grp in enumerate(plan.groups) for v in grp.ops}
    absorbed_by = {a: op.name for op in graph.ops for a in op.absorbed}
    placed = _place(nodes, names, topo, roles, group_of_op, absorbed_by)
    _check_every_op_placed(graph, placed)
    group_order = _group_order(nodes, topo, placed, len(plan.groups))
    order = _execution_order(nodes, topo, roles, placed, group_order)
    position: dict[int, int] = {}
    members: dict[int, list[int]] = {g: [] for g in range(len(plan.groups))}
    for i in sorted(range(len(nodes)), key=lambda i: order[i]):
        if i in placed:
            g = placed[i][0]
            position[i] = len(members[g])
            members[g].append(i)
    entries = tuple(
        NodeEntry(
            index=i, name=names[i], op_type=nodes[i].op_type, role=roles[i],
            group=placed[i][0] if i in placed else None,
            ops=placed[i][1] if i in placed else (),
            order=order[i], position=position.get(i),
        )
        for i in range(len(nodes))
    )
    return ExportMap(nodes=entries, groups=tuple(tuple(members[g]) for g in range(len(plan.groups))),
                     group_order=tuple(group_order))


def _roles(model: onnx.ModelProto, nodes: Sequence[onnx.NodeProto], topo: Sequence[int]) -> list[str]:
    """Each node's role before the plan is consulted: data (``op`` for now), constant, shape
    or dead."""
    inits = {t.name for t in model.graph.initializer}
    data = {i.name for i in model.graph.input if i.name not in inits}
    shaped: set[str] = set()
    roles = ["op"] * len(nodes)
    for i in topo:
        node = nodes[i]
        reads = node_reads(node)
        if node.op_type in _SHAPE_READERS and node.domain in ("", "ai.onnx"):
            role = "shape" if any(x in data or x in shaped for x in reads) else "constant"
        elif node.op_type in _RANDOM or any(x in data for x in reads):
            role = "op"
        else:
            role = "shape" if any(x in shaped for x in reads) else "constant"
        roles[i] = role
        outs = [o for o in node.output if o]
        (data if role == "op" else shaped if role == "shape" else set()).update(outs)
    live = _reaching_outputs(model, nodes)
    return [("dead" if r == "op" and i not in live else r) for i, r in enumerate(roles)]


def _reaching_outputs(model: onnx.ModelProto, nodes: Sequence[onnx.NodeProto]) -> set[int]:
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    live: set[int] = set()
    todo = [producer[o.name] for o in model.graph.output if o.name in producer]
    while todo:
        i = todo.pop()
        if i not in live:
            live.add(i)
            todo += [producer[x] for x in node_reads(nodes[i]) if x in producer]
    return live


def _place(
    nodes: Sequence[onnx.NodeProto], names: Sequence[str], topo: Sequence[int], roles: list[str],
    group_of_op: dict[str, int], absorbed_by: dict[str, str],
) -> dict[int, tuple[int, tuple[str, ...]]]:
    """(group, op names) of every data node that reaches an output; sets ``absorbed`` roles."""
    data = [i for i in topo if roles[i] == "op"]
    producer = {o: i for i in data for o in nodes[i].output if o}
    readers: dict[int, list[int]] = {i: [] for i in data}
    for i in data:
        for x in dict.fromkeys(node_reads(nodes[i])):
            if x in producer:
                readers[producer[x]].append(i)
    placed: dict[int, tuple[int, tuple[str, ...]]] = {}
    for i in reversed(data):
        ops = _own_ops(names[i], nodes[i], group_of_op)
        if ops:
            placed[i] = (min(group_of_op[o] for o in ops), ops)
            continue
        roles[i] = "absorbed"
        later = sorted((placed[r][0], r) for r in readers[i] if r in placed)
        owner = absorbed_by.get(names[i])
        if owner is not None and owner in group_of_op and (
                not later or group_of_op[owner] <= later[0][0]):
            placed[i] = (group_of_op[owner], (owner,))
        elif later:
            g, r = later[0]
            placed[i] = (g, placed[r][1][:1])
    for i in data:  # what no node reads (a layout helper before an output) joins its producer
        if i in placed:
            continue
        before = sorted((placed[producer[x]][0], producer[x]) for x in node_reads(nodes[i])
                        if x in producer and producer[x] in placed)
        if not before:
            raise FusePlanError(
                f"node {names[i]!r} ({nodes[i].op_type}) maps to no op of the plan: it neither "
                "feeds nor follows an op (is the plan for this model?)"
            )
        g, p = before[-1]
        placed[i] = (g, placed[p][1][:1])
    for i in data:  # every value flows forward in group order (the placement rules ensure it)
        for x in node_reads(nodes[i]):
            if x in producer and placed[producer[x]][0] > placed[i][0]:
                raise FusePlanError(
                    f"node {names[i]!r} in group {placed[i][0]} reads {x!r} from group "
                    f"{placed[producer[x]][0]}, which runs later: the plan's groups are not in "
                    "an execution order for this model"
                )
    return placed


def _own_ops(name: str, node: onnx.NodeProto, group_of_op: dict[str, int]) -> tuple[str, ...]:
    """The plan ops this node is: itself, or the Slices of a Split (``<name>:<position>``)."""
    if name in group_of_op:
        return (name,)
    return tuple(f"{name}:{j}" for j in range(len(node.output)) if f"{name}:{j}" in group_of_op)


def _check_every_op_placed(graph: Graph, placed: dict[int, tuple[int, tuple[str, ...]]]) -> None:
    seen = {o for _, ops in placed.values() for o in ops}
    missing = [op.name for op in graph.ops if op.name not in seen]
    if missing:
        raise FusePlanError(
            f"op(s) {', '.join(map(repr, missing[:5]))} of the plan are no node of the model: "
            "the plan is for another model"
        )


def _group_order(
    nodes: Sequence[onnx.NodeProto], topo: Sequence[int],
    placed: dict[int, tuple[int, tuple[str, ...]]], num_groups: int,
) -> list[int]:
    """The groups in a topological order of what they read from each other, directly or
    through constant and shape nodes (a Reshape's shape can be a Shape of another group's
    value); the plan's order wherever it is one. A cycle is an error."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    reads_from: dict[int, set[int]] = {}  # node -> the groups whose values it needs
    for i in topo:
        found: set[int] = set()
        for x in node_reads(nodes[i]):
            p = producer.get(x)
            if p is not None and p in placed:
                found.add(placed[p][0])
            elif p is not None:
                found |= reads_from[p]
        reads_from[i] = found
    edges = {(h, placed[i][0]) for i in placed for h in reads_from[i] if h != placed[i][0]}
    dag = nx.DiGraph(edges)
    dag.add_nodes_from(range(num_groups))
    try:
        return list(nx.lexicographical_topological_sort(dag))
    except nx.NetworkXUnfeasible:
        stuck = sorted({u for u, _ in nx.find_cycle(dag)})
        raise FusePlanError(
            f"groups {', '.join(map(str, stuck[:5]))} read each other's values through shape "
            "nodes (a Shape of a value another group makes): no execution order runs each "
            "group whole; cut the model's shape arithmetic or plan those ops together"
        ) from None


def _execution_order(
    nodes: Sequence[onnx.NodeProto], topo: Sequence[int], roles: Sequence[str],
    placed: dict[int, tuple[int, tuple[str, ...]]], group_order: Sequence[int],
) -> dict[int, int]:
    """Node index -> position in an execution order: data nodes group after group (in
    ``group_order``, then in topological order), constant and shape nodes as soon as they
    can run, dead nodes last."""
    rank = {i: pos for pos, i in enumerate(topo)}
    group_rank = {g: pos for pos, g in enumerate(group_order)}
    last = len(nodes) + 1

    def key(i: int) -> tuple[int, int]:
        if i in placed:
            return (group_rank[placed[i][0]], rank[i])
        return (last if roles[i] == "dead" else -1, rank[i])

    return topological_positions(nodes, key)


def topological_positions(
    nodes: Sequence[onnx.NodeProto], key: Callable[[int], tuple[int, int]]
) -> dict[int, int]:
    """Node index -> position in a topological order that runs the ready node with the
    smallest ``key(i)`` first."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    dag = nx.DiGraph((producer[x], i) for i, n in enumerate(nodes) for x in node_reads(n)
                     if x in producer and producer[x] != i)
    dag.add_nodes_from(range(len(nodes)))
    try:
        return {i: pos for pos, i in enumerate(nx.lexicographical_topological_sort(dag, key=key))}
    except nx.NetworkXUnfeasible:
        raise FusePlanError("the model's nodes cannot be put in an execution order (a cycle)") from None
