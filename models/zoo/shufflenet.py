"""torchvision's ShuffleNetV2 x1.0 (legacy export at opset 17, as the importer reads it).

A stride-2 unit concatenates two branches; a stride-1 unit splits its input in two halves
(``x.chunk(2, dim=1)``: two Slice ops whose sizes the exporter computes from Shape, Gather,
Add, Div, Mul nodes, absorbed), keeps one and transforms the other. Every unit ends in a
channel shuffle (Reshape, Transpose, Reshape: one ``ChannelShuffle`` op). The head is
``x.mean([2, 3])`` (ReduceMean) and ``fc``.
"""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import NetBuilder

_STAGES = ((116, 4), (232, 8), (464, 4))  # (output channels, units) of stage2..stage4


def shufflenet_v2_x1_0() -> tuple[Graph, int]:
    b = NetBuilder("shufflenet_v2_x1_0", (3, 224, 224))
    x = b.conv_bn_act(b.input, "conv1", 24, 3, 2)
    with b.scope("maxpool"):
        x = b.maxpool(x, 3, 2, 1)
    for stage, (c, units) in enumerate(_STAGES, start=2):
        for j in range(units):
            with b.scope(f"stage{stage}", j):
                x = _unit(b, x, c, 2 if j == 0 else 1)
    x = b.conv_bn_act(x, "conv5", 1024, 1)
    c, h, _ = b.shape(x)
    y = b.composite("ReduceMean", [x], (c, 1, 1), node="ReduceMean", k=h, s=h, is_global=True,
                    attrs=[("axes", (2, 3)), ("keepdims", 0)])
    with b.scope("fc"):
        y = b.linear(y, 1000)
    return b.build(y), b.params_before_folding


def _unit(b: NetBuilder, x: int, cout: int, stride: int) -> int:
    """torchvision's InvertedResidual of ShuffleNetV2."""
    half = cout // 2
    cin, h, w = b.shape(x)
    if stride == 1:
        keep = _channels(b, x, 0, half, ("Shape", "Constant", "Gather", "Constant", "Constant",
                                        "Add", "Constant", "Div", "Constant", "Mul"))
        rest = _channels(b, x, half, cin, ("Constant", "Mul"))
        branches = [keep, _branch2(b, rest, half, 1)]
    else:
        with b.scope("branch1"):  # dw conv, BN, conv 1x1, BN, ReLU
            y = _conv_bn(b, x, 0, cin, 3, stride, groups=cin)
            y = _conv_bn(b, y, 2, half, 1, 1, relu_at=4)
        branches = [y, _branch2(b, x, half, stride)]
    y = b.concat(branches)
    return b.composite("ChannelShuffle", [y], b.shape(y), node="Transpose",
                       before=("Constant", "Reshape"), after=("Constant", "Reshape"),
                       attrs=[("groups", 2)])


def _channels(b: NetBuilder, x: int, start: int, end: int, before: tuple[str, ...]) -> int:
    """One half of ``x.chunk(2, dim=1)``: a Slice of channels [start, end)."""
    _, h, w = b.shape(x)
    return b.composite("Slice", [x], (end - start, h, w), node="Slice", before=before,
                       attrs=[("axes", (1,)), ("ends", (end,)), ("starts", (start,))])


def _conv_bn(b: NetBuilder, x: int, at: int, cout: int, k: int, stride: int, *,
             groups: int = 1, relu_at: int | None = None) -> int:
    """Children ``at`` (conv), ``at + 1`` (BN, folded) and ``relu_at`` of a flat Sequential."""
    with b.scope(at):
        y = b.conv(x, cout, k, stride, groups=groups, bn=True)
    if relu_at is not None:
        with b.scope(relu_at):
            y = b.act(y, "Relu")
    return y


def _branch2(b: NetBuilder, x: int, cout: int, stride: int) -> int:
    """conv 1x1, BN, ReLU, dw conv 3x3, BN, conv 1x1, BN, ReLU."""
    with b.scope("branch2"):
        y = _conv_bn(b, x, 0, cout, 1, 1, relu_at=2)
        y = _conv_bn(b, y, 3, cout, 3, stride, groups=cout)
        return _conv_bn(b, y, 5, cout, 1, 1, relu_at=7)
