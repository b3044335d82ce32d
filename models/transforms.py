"""Graph-to-graph transforms.

``fold_activations``: an activation (Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu,
Tanh, Elu, ...; see ``onnx_ops.ACTIVATIONS``) that is the only reader of its producer's output
(and whose input is not a network output) is folded into that producer: the producer keeps
its name, its kind and its output tensor (name included), takes the activation's readers and
network-output role, adds the activation's parameters (PRelu slopes) and records the
activation (and what the activation had absorbed) in ``absorbed``. Chains fold one after the
other (Conv -> Relu -> Clip becomes one Conv).
"""

from __future__ import annotations

from dataclasses import replace

from .graph import Graph, GraphBuilder, Op
from .onnx_ops import ACTIVATIONS


def fold_activations(graph: Graph) -> Graph:
    ops: dict[int, Op] = {op.id: op for op in graph.ops}
    redirect: dict[int, int] = {}  # folded activation's output tensor -> producer's output
    outputs = set(graph.outputs)
    for op in graph.ops:
        if op.kind not in ACTIVATIONS or len(set(op.inputs)) != 1:
            continue
        t = op.inputs[0]
        producer = graph.tensors[t].producer
        if producer is None or len(graph.consumers[t]) != 1 or t in outputs:
            continue
        host_id = _host(graph, producer, redirect)
        host = ops[host_id]
        if host.barrier:  # a barrier stays what the file has: nothing joins it
            continue
        ops[host_id] = replace(
            host,
            params=host.params + op.params,
            param_shapes=host.param_shapes + op.param_shapes,
            absorbed=host.absorbed + (op.name,) + op.absorbed,
        )
        del ops[op.id]
        redirect[op.output] = graph.ops[producer].output
    if not redirect:
        return graph
    return _rebuild(graph, ops, redirect)


def _host(graph: Graph, producer: int, redirect: dict[int, int]) -> int:
    """The op that now owns ``producer``'s output (itself unless it was folded away)."""
    t = graph.ops[producer].output
    while t in redirect:
        t = redirect[t]
    return graph.tensors[t].producer  # type: ignore[return-value]


def _rebuild(graph: Graph, ops: dict[int, Op], redirect: dict[int, int]) -> Graph:
    def resolve(t: int) -> int:
        while t in redirect:
            t = redirect[t]
        return t

    b = GraphBuilder(graph.name, source=graph.source)
    new_id: dict[int, int] = {}
    for t in graph.tensors:
        if t.producer is None:
            new_id[t.id] = b.input(t.name, t.c, t.h, t.w)
            continue
        op = ops.get(t.producer)
        if op is None:
            continue
        out = graph.tensors[op.output]
        final = graph.tensors[_last_folded(graph, op.output, redirect)]
        new_id[t.id] = b.op(
            op.name, op.kind, [new_id[resolve(x)] for x in op.inputs], final.shape,
            params=op.params, k=op.k, s=op.s, is_global=op.is_global, attrs=op.attrs,
            param_shapes=op.param_shapes, absorbed=op.absorbed, out_name=out.name,
            barrier=op.barrier,
        )
    for t in graph.outputs:
        b.output(new_id[resolve(t)])
    return b.build()


def _last_folded(graph: Graph, t: int, redirect: dict[int, int]) -> int:
    """The last tensor of the folded chain that starts at ``t`` (its shape is the op's shape)."""
    back = {v: k for k, v in redirect.items()}
    while t in back:
        t = back[t]
    return t
