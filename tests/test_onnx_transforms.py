"""fold_activations: which activations fold, into what, and what the folded graph looks like."""

from __future__ import annotations

from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.transforms import fold_activations


def _net() -> Graph:
    b = GraphBuilder("net")
    x = b.input("x", 2, 4, 4)
    c = b.op("conv", "Conv", [x], (2, 4, 4), params=8, param_shapes=[(2, 2, 1, 1)])
    r = b.op("relu", "Relu", [c], (2, 4, 4), absorbed=["shape_op"])
    q = b.op("clip", "Clip", [r], (2, 4, 4), attrs=[("max", 6.0), ("min", 0.0)])
    c2 = b.op("conv2", "Conv", [q], (2, 4, 4), params=4, param_shapes=[(2, 2, 1, 1)])
    s = b.op("sig", "Sigmoid", [c2], (2, 4, 4))  # conv2's output has two readers: no fold
    m = b.op("mul", "Mul", [c2, s], (2, 4, 4))
    p = b.op("prelu", "PRelu", [x], (2, 4, 4), params=2, param_shapes=[(2, 1, 1)])  # reads an input
    a = b.op("add", "Add", [m, p], (2, 4, 4))
    b.output(b.op("relu2", "Relu", [a], (2, 4, 4)))
    return b.build()


def test_what_folds() -> None:
    g = fold_activations(_net())
    assert [(op.name, op.absorbed) for op in g.ops] == [
        ("conv", ("relu", "shape_op", "clip")),  # a chain folds one after the other
        ("conv2", ()), ("sig", ()), ("mul", ()), ("prelu", ()),
        ("add", ("relu2",)),
    ]
    names = {t.id: t.name for t in g.tensors}
    assert [names[t] for t in g.ops[g.op_id("conv2")].inputs] == ["conv_output_0"]
    assert [names[t] for t in g.ops[g.op_id("mul")].inputs] == ["conv2_output_0", "sig_output_0"]
    assert [names[t] for t in g.outputs] == ["add_output_0"]  # relu2's role passes to add
    assert [t.name for t in g.tensors] == [
        "x", "conv_output_0", "conv2_output_0", "sig_output_0", "mul_output_0",
        "prelu_output_0", "add_output_0"]
    assert g.total_params == _net().total_params == 14


def test_prelu_slopes_move_into_the_producer() -> None:
    b = GraphBuilder("p")
    x = b.input("x", 2, 4, 4)
    c = b.op("conv", "Conv", [x], (2, 4, 4), params=8, param_shapes=[(2, 2, 1, 1)])
    b.output(b.op("prelu", "PRelu", [c], (2, 4, 4), params=2, param_shapes=[(2, 1, 1)]))
    (op,) = fold_activations(b.build()).ops
    assert (op.params, op.param_shapes, op.absorbed) == (10, ((2, 2, 1, 1), (2, 1, 1)), ("prelu",))


def test_nothing_to_fold_returns_the_same_graph() -> None:
    b = GraphBuilder("n")
    x = b.input("x", 2, 4, 4)
    b.output(b.op("relu", "Relu", [x], (2, 4, 4)))
    g = b.build()
    assert fold_activations(g) is g


def test_activation_whose_input_is_a_network_output_stays() -> None:
    b = GraphBuilder("o")
    x = b.input("x", 2, 4, 4)
    c = b.op("conv", "Conv", [x], (2, 4, 4), params=8, param_shapes=[(2, 2, 1, 1)])
    b.output(c)
    b.output(b.op("relu", "Relu", [c], (2, 4, 4)))
    assert [op.name for op in fold_activations(b.build()).ops] == ["conv", "relu"]
