"""MobileNetV1 (1.0-224, torchvision style) and torchvision's MobileNetV2."""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import NetBuilder

# MobileNetV2: expansion t, output channels c, repeats n, first stride s (torchvision's table)
_V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1))

# MobileNetV1: (output channels, stride) of the 13 depthwise-separable blocks
_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenet_v2() -> tuple[Graph, int]:
    b = NetBuilder("mobilenet_v2", (3, 224, 224))
    with b.scope("features"):
        x = b.conv_bn_act(b.input, 0, 32, 3, 2, act="Clip")
    index = 1
    for t, c, n, s in _V2_SETTING:
        for i in range(n):
            with b.scope("features", index):
                x = _inverted_residual(b, x, t, c, s if i == 0 else 1)
            index += 1
    with b.scope("features"):
        x = b.conv_bn_act(x, index, 1280, 1, act="Clip")
    y = b.classifier_head(x, 1000, pool=(), linear=("classifier", 1))
    return b.build(y), b.params_before_folding


def _inverted_residual(b: NetBuilder, x: int, t: int, cout: int, stride: int) -> int:
    """torchvision InvertedResidual: [1x1 expand] -> 3x3 depthwise -> 1x1 linear (+ x)."""
    cin = b.shape(x)[0]
    hidden = cin * t
    y, j = x, 0
    with b.scope("conv"):
        if t != 1:
            y = b.conv_bn_act(y, j, hidden, 1, act="Clip")
            j += 1
        y = b.conv_bn_act(y, j, hidden, 3, stride, groups=hidden, act="Clip")
        with b.scope(j + 1):
            y = b.conv(y, cout, 1, bn=True)
    if stride == 1 and cin == cout:
        y = b.add(x, y)
    return y


def mobilenet_v1() -> tuple[Graph, int]:
    b = NetBuilder("mobilenet_v1", (3, 224, 224))
    with b.scope("features"):
        x = b.conv_bn_act(b.input, 0, 32, 3, 2, act="Clip")
        for n, (cout, stride) in enumerate(_V1_BLOCKS, start=1):
            with b.scope(n):
                cin = b.shape(x)[0]
                x = b.conv_bn_act(x, 0, cin, 3, stride, groups=cin, act="Clip")
                x = b.conv_bn_act(x, 1, cout, 1, act="Clip")
    y = b.classifier_head(x, 1000, pool=("avgpool",), linear=("classifier", 1))
    return b.build(y), b.params_before_folding
