"""Small hand-built graphs with known costs, shared by the cost-model tests and by other
tests (validator, solvers, cost command). Every builder returns a fresh :class:`Graph`;
op ids follow the order the ops are added (listed in each docstring)."""

from __future__ import annotations

from fractions import Fraction

from fuseplan.models.graph import Graph, GraphBuilder


def conv_params(c_in: int, c_out: int, k: int, *, groups: int = 1, bias: bool = True) -> int:
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def residual_block(relu: bool = False) -> Graph:
    """The worked example of docs/cost-models.md: x = 64x56x56, c1 and c2 3x3 convs
    64->64 (pad 1, folded bias, W = 36,928 each), add(c2, x).
    Ops: 0 c1, [1 relu], then c2, add."""
    g = GraphBuilder("residual_relu" if relu else "residual")
    x = g.input("x", 64, 56, 56)
    t = g.op("c1", "Conv", [x], (64, 56, 56), params=conv_params(64, 64, 3), k=3)
    if relu:
        t = g.op("relu", "Relu", [t], (64, 56, 56))
    t = g.op("c2", "Conv", [t], (64, 56, 56), params=conv_params(64, 64, 3), k=3)
    y = g.op("add", "Add", [t, x], (64, 56, 56))
    g.output(y)
    return g.build()


def conv_chain() -> Graph:
    """x = 16x32x32 -> c1 3x3 -> c2 3x3 (16->16, pad 1, W = 2,320 each). Ops: 0 c1, 1 c2."""
    g = GraphBuilder("conv_chain")
    x = g.input("x", 16, 32, 32)
    t = g.op("c1", "Conv", [x], (16, 32, 32), params=conv_params(16, 16, 3), k=3)
    y = g.op("c2", "Conv", [t], (16, 32, 32), params=conv_params(16, 16, 3), k=3)
    g.output(y)
    return g.build()


def depthwise_separable() -> Graph:
    """x = 32x112x112 -> dw 3x3 (W = 320) -> relu -> pw 1x1 32->64 (W = 2,112).
    Ops: 0 dw, 1 relu, 2 pw."""
    g = GraphBuilder("dw_separable")
    x = g.input("x", 32, 112, 112)
    t = g.op("dw", "Conv", [x], (32, 112, 112), params=conv_params(32, 32, 3, groups=32), k=3)
    t = g.op("relu", "Relu", [t], (32, 112, 112))
    y = g.op("pw", "Conv", [t], (64, 112, 112), params=conv_params(32, 64, 1))
    g.output(y)
    return g.build()


def se_block() -> Graph:
    """Squeeze-excite: x = 16x8x8 -> c1 1x1 (W = 272) -> a; a -> gap (global, k = 8) ->
    fc1 1x1 16->4 (W = 68) -> relu -> fc2 4->16 (W = 80) -> sigmoid -> s; mul(a, s).
    Ops: 0 c1, 1 gap, 2 fc1, 3 relu, 4 fc2, 5 sigmoid, 6 mul."""
    g = GraphBuilder("se_block")
    x = g.input("x", 16, 8, 8)
    a = g.op("c1", "Conv", [x], (16, 8, 8), params=conv_params(16, 16, 1))
    t = g.op("gap", "GlobalAveragePool", [a], (16, 1, 1), k=8, is_global=True)
    t = g.op("fc1", "Conv", [t], (4, 1, 1), params=conv_params(16, 4, 1))
    t = g.op("relu", "Relu", [t], (4, 1, 1))
    t = g.op("fc2", "Conv", [t], (16, 1, 1), params=conv_params(4, 16, 1))
    s = g.op("sigmoid", "Sigmoid", [t], (16, 1, 1))
    y = g.op("mul", "Mul", [a, s], (16, 8, 8))
    g.output(y)
    return g.build()


def concat_block() -> Graph:
    """Inception-like: x = 8x16x16; b1 1x1 8->4 (W = 36); b2 3x3 8->4 (W = 292);
    b3a 1x1 8->4 (W = 36) -> b3b 5x5 4->4 (W = 404); concat(b1, b2, b3b) = 12x16x16.
    Ops: 0 b1, 1 b2, 2 b3a, 3 b3b, 4 concat."""
    g = GraphBuilder("concat_block")
    x = g.input("x", 8, 16, 16)
    p1 = g.op("b1", "Conv", [x], (4, 16, 16), params=conv_params(8, 4, 1))
    p2 = g.op("b2", "Conv", [x], (4, 16, 16), params=conv_params(8, 4, 3), k=3)
    p3 = g.op("b3a", "Conv", [x], (4, 16, 16), params=conv_params(8, 4, 1))
    p3 = g.op("b3b", "Conv", [p3], (4, 16, 16), params=conv_params(4, 4, 5), k=5)
    y = g.op("concat", "Concat", [p1, p2, p3], (12, 16, 16))
    g.output(y)
    return g.build()


def upsample_block() -> Graph:
    """x = 4x7x7 -> up (nearest x2, k = 1, s = 1/2) -> u = 4x14x14 -> c 2x2 conv 4->4
    ('same', W = 68) -> add(c, u). Path weights from x are fractional: through c,
    (2 - 1) * 7/14 = 1/2. Ops: 0 up, 1 c, 2 add."""
    g = GraphBuilder("upsample_block")
    x = g.input("x", 4, 7, 7)
    u = g.op("up", "Resize", [x], (4, 14, 14), s=Fraction(1, 2))
    c = g.op("c", "Conv", [u], (4, 14, 14), params=conv_params(4, 4, 2), k=2)
    y = g.op("add", "Add", [c, u], (4, 14, 14))
    g.output(y)
    return g.build()


def dilated_chain() -> Graph:
    """x = 8x32x32 -> c1 3x3 dilation 2 (k = 5, W = 584) -> c2 3x3 (W = 584).
    Ops: 0 c1, 1 c2."""
    g = GraphBuilder("dilated_chain")
    x = g.input("x", 8, 32, 32)
    t = g.op("c1", "Conv", [x], (8, 32, 32), params=conv_params(8, 8, 3), k=5,
             attrs=[("dilations", (2, 2))])
    y = g.op("c2", "Conv", [t], (8, 32, 32), params=conv_params(8, 8, 3), k=3)
    g.output(y)
    return g.build()


def down_up_block() -> Graph:
    """The BRR counterexample to a monotone F_beta: x = 64x56x56 -> down (2x2 conv, stride
    2, 64->1, W = 256, no bias) -> y = 1x28x28 -> up (nearest x2) -> z = 1x56x56.
    Ops: 0 down, 1 up."""
    g = GraphBuilder("down_up")
    x = g.input("x", 64, 56, 56)
    y = g.op("down", "Conv", [x], (1, 28, 28), params=256, k=2, s=2)
    z = g.op("up", "Resize", [y], (1, 56, 56), s=Fraction(1, 2))
    g.output(z)
    return g.build()


def wide_then_thin() -> Graph:
    """The BRR counterexample to a subadditive F_D: x = 256x56x56 -> a 3x3 256->1
    (W = 2,305) -> y = 1x56x56 -> b 3x3 1->1 (W = 10) -> z = 1x56x56. Ops: 0 a, 1 b."""
    g = GraphBuilder("wide_then_thin")
    x = g.input("x", 256, 56, 56)
    y = g.op("a", "Conv", [x], (1, 56, 56), params=conv_params(256, 1, 3), k=3)
    z = g.op("b", "Conv", [y], (1, 56, 56), params=conv_params(1, 1, 3), k=3)
    g.output(z)
    return g.build()


ALL_BUILDERS = {
    "residual": residual_block,
    "residual_relu": lambda: residual_block(relu=True),
    "conv_chain": conv_chain,
    "dw_separable": depthwise_separable,
    "se_block": se_block,
    "concat_block": concat_block,
    "upsample_block": upsample_block,
    "dilated_chain": dilated_chain,
    "down_up": down_up_block,
    "wide_then_thin": wide_then_thin,
}
