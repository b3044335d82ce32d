"""NAS-style cell nets: DARTS-like or NASNet-like cells stacked, with a seeded genotype.

Follows the DARTS ImageNet network (Liu et al., 2019), with batch-norm folded and activations
as separate ops:

* stem0 = Conv 3x3 s2 (3 -> C/2), Relu, Conv 3x3 s2 (C/2 -> C); stem1 = Relu, Conv 3x3 s2.
* ``cells`` cells; the cells at ``cells // 3`` and ``2 * cells // 3`` are reduction cells
  (stride 2 on the ops that read the cell inputs, channels doubled).
* A cell reads the outputs of the two cells before it. Preprocessing: Relu + Conv 1x1 to the
  cell's channels, or a FactorizedReduce (Relu, two Conv 1x1 stride 2 to half the channels
  each, Concat) when the input has twice the resolution. The real FactorizedReduce feeds its
  second conv a one-pixel-shifted slice; here both convs read the same map (same shapes).
* Intermediate nodes (4 for ``darts``, 5 for ``nasnet``): each is the Add of two ops applied
  to two distinct earlier states (the two cell inputs or earlier nodes).
  DARTS op set: sep_conv 3x3/5x5 (Relu, depthwise, pointwise, twice), dil_conv 3x3/5x5
  (Relu, depthwise dilation 2, pointwise), max/avg pool 3x3, skip (identity; a
  FactorizedReduce when it must reduce). NASNet op set: sep_conv 3x3/5x5/7x7, max/avg pool
  3x3, identity.
* Cell output: Concat of all nodes (``darts``) or of the nodes no other node reads
  (``nasnet``; a single such node is the output itself).
* head: GlobalAveragePool, Gemm to 1000 classes.

The genotype (one for normal cells, one for reduction cells, as in DARTS) is drawn from
``random.Random(seed)``.
"""

from __future__ import annotations

import random

from .gen_layers import Layers
from .graph import Graph, GraphBuilder

OP_SETS = {
    "darts": ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
              "max_pool_3x3", "avg_pool_3x3", "skip_connect"),
    "nasnet": ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
               "max_pool_3x3", "avg_pool_3x3", "skip_connect"),
}
NODES = {"darts": 4, "nasnet": 5}
CLASSES = 1000

Genotype = list[tuple[tuple[str, int], tuple[str, int]]]  # per node: two (op, input state)


def draw_genotype(cell: str, rng: random.Random) -> Genotype:
    """Per node, two (op, state) pairs with distinct states among the earlier ones."""
    genotype = []
    for node in range(NODES[cell]):
        a, b = rng.sample(range(2 + node), 2)
        genotype.append(((rng.choice(OP_SETS[cell]), a), (rng.choice(OP_SETS[cell]), b)))
    return genotype


def _factorized_reduce(layers: Layers, scope: str, x: int, cout: int) -> int:
    r = layers.relu(scope, x)
    half = cout // 2
    return layers.concat(
        scope,
        [layers.conv(scope, r, half, 1, stride=2), layers.conv(scope, r, cout - half, 1, stride=2)],
    )


def _apply(layers: Layers, scope: str, op: str, x: int, stride: int) -> int:
    c = layers.shape(x)[0]
    if op.startswith("sep_conv"):
        k = int(op[-1])
        y = layers.depthwise(scope, layers.relu(scope, x), k, stride=stride)
        y = layers.conv(scope, y, c, 1)
        y = layers.depthwise(scope, layers.relu(scope, y), k)
        return layers.conv(scope, y, c, 1)
    if op.startswith("dil_conv"):
        k = int(op[-1])
        y = layers.depthwise(scope, layers.relu(scope, x), k, stride=stride, dilation=2)
        return layers.conv(scope, y, c, 1)
    if op == "max_pool_3x3":
        return layers.pool(scope, x, "MaxPool", stride=stride)
    if op == "avg_pool_3x3":
        return layers.pool(scope, x, "AveragePool", stride=stride)
    return x if stride == 1 else _factorized_reduce(layers, scope, x, c)


def _cell(
    layers: Layers,
    scope: str,
    s0: int,
    s1: int,
    channels: int,
    reduction: bool,
    reduction_prev: bool,
    genotype: Genotype,
    cell: str,
) -> int:
    if reduction_prev:
        s0 = _factorized_reduce(layers, f"{scope}/pre0", s0, channels)
    else:
        s0 = layers.conv(f"{scope}/pre0", layers.relu(f"{scope}/pre0", s0), channels, 1)
    s1 = layers.conv(f"{scope}/pre1", layers.relu(f"{scope}/pre1", s1), channels, 1)
    states = [s0, s1]
    used: set[int] = set()
    for node, pairs in enumerate(genotype):
        ys = []
        for j, (op, src) in enumerate(pairs):
            stride = 2 if reduction and src < 2 else 1
            ys.append(_apply(layers, f"{scope}/node{node}/op{j}", op, states[src], stride))
            used.add(src)
        states.append(layers.add(f"{scope}/node{node}", ys[0], ys[1]))
    nodes = list(range(2, len(states)))
    if cell == "nasnet":
        nodes = [i for i in nodes if i not in used]
    if len(nodes) == 1:
        return states[nodes[0]]
    return layers.concat(f"{scope}/out", [states[i] for i in nodes])


def build_cells(name: str, *, cell: str, cells: int, channels: int, seed: int, res: int) -> Graph:
    """The cell net of a spec (see the module docstring); ``name`` is the canonical spec."""
    rng = random.Random(seed)
    normal, reduce = draw_genotype(cell, rng), draw_genotype(cell, rng)
    builder = GraphBuilder(name, source=name)
    layers = Layers(builder)
    x = builder.input("input", 3, res, res)
    x = layers.relu("stem0", layers.conv("stem0", x, channels // 2, 3, stride=2))
    s0 = layers.conv("stem0", x, channels, 3, stride=2)
    s1 = layers.conv("stem1", layers.relu("stem1", s0), channels, 3, stride=2)
    c, reduction_prev = channels, True
    for i in range(cells):
        reduction = i in (cells // 3, 2 * cells // 3)
        c = 2 * c if reduction else c
        out = _cell(layers, f"cell{i}", s0, s1, c, reduction, reduction_prev,
                    reduce if reduction else normal, cell)
        s0, s1, reduction_prev = s1, out, reduction
    x = layers.gemm("head", layers.global_pool("head", s1), CLASSES)
    builder.output(x)
    return builder.build()
