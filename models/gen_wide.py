"""Wide CNN-like DAGs with an exact op count and an exact width.

Layout (ONNX-like ops, activations as separate ops, batch-norm folded):
stem (Conv 3x3 stride 2, Relu, MaxPool stride 2) -> 4 stages -> GlobalAveragePool -> Gemm.
Between stages a Conv 3x3 stride 2 doubles the channels (+ Relu). A stage is a sequence of
*blocks*: the block input fans out to ``nb`` parallel branches (2 <= nb <= width, at least one
block has nb = width), each branch a chain of units (Conv 1x1/3x3/5x5 + Relu, depthwise 3x3
+ Relu, separable = depthwise + pointwise + Relu, a residual unit Conv-Relu-Conv-Add, a bare
pointwise Conv, Max/AveragePool 3x3), merged by

* ``concat``: Concat (sometimes with the block input too, DenseNet-like), Conv 1x1, Relu;
* ``concat_res``: Concat, Conv 1x1, Add with the block input, Relu;
* ``add``: a chain of Adds over the branches (all at the block's channels), Relu.

Ops of different branches of a block are incomparable and everything else is ordered, so the
largest antichain is exactly ``width`` (the tests check it with Dilworth's theorem). The op
count is exact: the fixed ops and every block's minimum (one op per branch plus its merge)
are laid out first, then the remaining ops lengthen randomly chosen branches.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import FusePlanError
from .gen_layers import Layers
from .graph import Graph, GraphBuilder

STAGES = 4
FIXED_OPS = 3 + 2 * (STAGES - 1) + 2  # stem, transitions, head
CLASSES = 1000

# unit name -> ops it adds; weights say how often a branch picks it
UNIT_OPS = {
    "conv1": 2, "conv3": 2, "conv5": 2, "dw3": 2, "sep3": 3, "res": 4,
    "pw": 1, "maxpool": 1, "avgpool": 1,
}
UNIT_WEIGHT = {
    "conv1": 2, "conv3": 3, "conv5": 1, "dw3": 2, "sep3": 2, "res": 1,
    "pw": 1, "maxpool": 1, "avgpool": 1,
}
MERGES = ("concat", "concat_res", "add")


@dataclass
class BlockPlan:
    stage: int
    merge: str
    lengths: list[int]  # ops per branch
    branch_channels: list[int]  # divisor of the block's channels per branch (1 = same)
    dense: bool  # concat also takes the block input

    def merge_ops(self) -> int:
        return {"concat": 3, "concat_res": 4, "add": len(self.lengths)}[self.merge]

    def ops(self) -> int:
        return sum(self.lengths) + self.merge_ops()


def plan_blocks(ops: int, width: int, rng: random.Random) -> list[BlockPlan]:
    """Blocks whose ops, with the fixed ones, add up to exactly ``ops``."""
    budget = ops - FIXED_OPS
    low = max(2, width // 2)
    mean_len = rng.choice((2, 3, 4))
    per_block = (low + width) / 2 * mean_len + 3.5
    count = max(STAGES, round(budget / per_block))
    while True:
        blocks = _draw_blocks(count, width, low, rng)
        spare = budget - sum(b.ops() for b in blocks)
        if spare >= 0:
            break
        if count == STAGES:  # cannot happen for ops >= 100, width <= 16
            raise FusePlanError(f"wide: {ops} ops are too few for width {width}")
        count -= 1
    branches = [(b, i) for b in blocks for i in range(len(b.lengths))]
    weights = [rng.uniform(0.3, 2.0) for _ in branches]
    for block, i in rng.choices(branches, weights, k=spare):
        block.lengths[i] += 1
    return blocks


def _draw_blocks(count: int, width: int, low: int, rng: random.Random) -> list[BlockPlan]:
    stages = list(range(STAGES)) + [rng.randrange(STAGES) for _ in range(count - STAGES)]
    stages.sort()
    widest = rng.randrange(count)
    blocks = []
    for j, stage in enumerate(stages):
        nb = width if j == widest else rng.randint(low, width)
        merge = rng.choices(MERGES, (3, 2, 1))[0]
        divisors = [1 if merge == "add" else rng.choice((1, 2, 4)) for _ in range(nb)]
        dense = merge == "concat" and rng.random() < 0.3
        blocks.append(BlockPlan(stage, merge, [1] * nb, divisors, dense))
    return blocks


def _units(length: int, rng: random.Random) -> list[str]:
    """A random sequence of units adding exactly ``length`` ops."""
    units = []
    while length:
        fit = [u for u in UNIT_OPS if UNIT_OPS[u] <= length]
        unit = rng.choices(fit, [UNIT_WEIGHT[u] for u in fit])[0]
        units.append(unit)
        length -= UNIT_OPS[unit]
    return units


def _branch(layers: Layers, scope: str, x: int, units: list[str], cout: int) -> int:
    for unit in units:
        if unit in ("conv1", "conv3", "conv5"):
            x = layers.relu(scope, layers.conv(scope, x, cout, int(unit[-1])))
        elif unit == "dw3":
            x = layers.relu(scope, layers.depthwise(scope, x, 3))
        elif unit == "sep3":
            x = layers.relu(scope, layers.conv(scope, layers.depthwise(scope, x, 3), cout, 1))
        elif unit == "res":
            c = layers.shape(x)[0]
            y = layers.conv(scope, layers.relu(scope, layers.conv(scope, x, c, 3)), c, 3)
            x = layers.add(scope, x, y)
        elif unit == "pw":
            x = layers.conv(scope, x, cout, 1)
        else:
            x = layers.pool(scope, x, "MaxPool" if unit == "maxpool" else "AveragePool")
    return x


def _block(layers: Layers, scope: str, x: int, plan: BlockPlan, rng: random.Random) -> int:
    c = layers.shape(x)[0]
    outs = [
        _branch(layers, f"{scope}/br{i}", x, _units(n, rng), max(4, c // d))
        for i, (n, d) in enumerate(zip(plan.lengths, plan.branch_channels))
    ]
    if plan.merge == "add":
        y = outs[0]
        for other in outs[1:]:
            y = layers.add(f"{scope}/merge", y, other)
        return layers.relu(f"{scope}/merge", y)
    y = layers.concat(f"{scope}/merge", outs + ([x] if plan.dense else []))
    y = layers.conv(f"{scope}/merge", y, c, 1)
    if plan.merge == "concat_res":
        y = layers.add(f"{scope}/merge", x, y)
    return layers.relu(f"{scope}/merge", y)


def build_wide(name: str, *, ops: int, width: int, seed: int, res: int, channels: int) -> Graph:
    """The wide net of a spec (see the module docstring); ``name`` is the canonical spec."""
    rng = random.Random(seed)
    blocks = plan_blocks(ops, width, rng)
    builder = GraphBuilder(name, source=name)
    layers = Layers(builder)
    x = builder.input("input", 3, res, res)
    x = layers.relu("stem", layers.conv("stem", x, channels, 3, stride=2))
    x = layers.pool("stem", x, "MaxPool", stride=2)
    stage = 0
    for j, plan in enumerate(blocks):
        while stage < plan.stage:
            stage += 1
            c = layers.shape(x)[0]
            x = layers.relu(f"down{stage}", layers.conv(f"down{stage}", x, 2 * c, 3, stride=2))
        x = _block(layers, f"stage{stage}/block{j}", x, plan, rng)
    x = layers.gemm("head", layers.global_pool("head", x), CLASSES)
    builder.output(x)
    graph = builder.build()
    if graph.num_ops != ops:  # a bug, not a user error: the plan above is exact
        raise AssertionError(f"wide generator built {graph.num_ops} ops, not {ops}")
    return graph
