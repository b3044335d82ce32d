"""torchvision's EfficientNet B0-B3 (MBConv blocks with SiLU and squeeze-excitation)."""

from __future__ import annotations

import math

from ..graph import Graph
from .mobilenet_v3 import make_divisible
from .netbuilder import IntPair, NetBuilder

# B0 stages: expand ratio, kernel, first stride, input channels, output channels, layers
_B0_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1))

# name -> (width_mult, depth_mult, input H = W); the zoo fixes b1/b2 at 224 (docs/zoo.md)
_VARIANTS = {
    "efficientnet_b0": (1.0, 1.0, 224),
    "efficientnet_b1": (1.0, 1.1, 224),
    "efficientnet_b2": (1.1, 1.2, 224),
    "efficientnet_b3": (1.2, 1.4, 300),
}


def efficientnet(name: str) -> tuple[Graph, int]:
    width, depth, size = _VARIANTS[name]
    b = NetBuilder(name, (3, size, size))
    stages = [
        (ratio, k, s, make_divisible(cin * width), make_divisible(cout * width),
         int(math.ceil(n * depth)))
        for ratio, k, s, cin, cout, n in _B0_STAGES
    ]
    with b.scope("features"):
        x = _conv_bn_silu(b, b.input, 0, stages[0][3], 3, 2)
    for index, (ratio, k, stride, cin, cout, layers) in enumerate(stages, start=1):
        for i in range(layers):
            with b.scope("features", index, i):
                x = _mbconv(b, x, ratio, k, stride if i == 0 else 1, cout)
    with b.scope("features"):
        x = _conv_bn_silu(b, x, len(stages) + 1, 4 * stages[-1][4], 1)
    y = b.classifier_head(x, 1000, pool=("avgpool",), linear=("classifier", 1))
    return b.build(y), b.params_before_folding


def _conv_bn_silu(
    b: NetBuilder, x: int, attr: int, cout: int, k: IntPair, stride: int = 1, groups: int = 1
) -> int:
    """Conv2dNormActivation with nn.SiLU: ``attr.0`` conv (BN folded), ``attr.2`` SiLU."""
    with b.scope(attr):
        with b.scope(0):
            y = b.conv(x, cout, k, stride, groups=groups, bn=True)
        with b.scope(2):
            return b.silu(y)


def _mbconv(b: NetBuilder, x: int, ratio: int, k: int, stride: int, cout: int) -> int:
    """torchvision MBConv: [1x1 expand], kxk depthwise, SE (squeeze = cin // 4, SiLU, sigmoid),
    1x1 project; ``result += input`` (StochasticDepth leaves nothing) when the shape stays."""
    cin = b.shape(x)[0]
    expanded = make_divisible(cin * ratio)
    y, j = x, 0
    with b.scope("block"):
        if expanded != cin:
            y = _conv_bn_silu(b, y, j, expanded, 1)
            j += 1
        y = _conv_bn_silu(b, y, j, expanded, k, stride, groups=expanded)
        y = b.squeeze_excitation(y, j + 1, max(1, cin // 4), "SiLU", "Sigmoid")
        y = b.conv_bn_act(y, j + 2, cout, 1, act=None)
    if stride == 1 and cin == cout:
        y = b.add(y, x)
    return y
