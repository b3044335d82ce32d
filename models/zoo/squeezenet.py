"""torchvision's SqueezeNet 1.0 and 1.1 (Fire modules, ceil-mode max pools, conv classifier)."""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import NetBuilder

# Fire(squeeze, expand1x1, expand3x3) or "M" (MaxPool 3/2, ceil_mode), after the stem's conv+ReLU
_FIRE_1_0 = ((16, 64, 64), (16, 64, 64), (32, 128, 128), "M", (32, 128, 128), (48, 192, 192),
             (48, 192, 192), (64, 256, 256), "M", (64, 256, 256))
_FIRE_1_1 = ((16, 64, 64), (16, 64, 64), "M", (32, 128, 128), (32, 128, 128), "M",
             (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256))
# version -> (stem conv channels, kernel, Fire table)
_VERSIONS = {"squeezenet1_0": (96, 7, _FIRE_1_0), "squeezenet1_1": (64, 3, _FIRE_1_1)}


def squeezenet(name: str) -> tuple[Graph, int]:
    stem, k, table = _VERSIONS[name]
    b = NetBuilder(name, (3, 224, 224))
    with b.scope("features"):
        with b.scope(0):
            x = b.conv(b.input, stem, k, 2, 0, bias=True)
        with b.scope(1):
            x = b.act(x, "Relu")
        with b.scope(2):
            x = b.maxpool(x, 3, 2, ceil_mode=True)
        for index, fire in enumerate(table, start=3):
            with b.scope(index):
                x = b.maxpool(x, 3, 2, ceil_mode=True) if fire == "M" else _fire(b, x, *fire)
    with b.scope("classifier"):  # Dropout, final conv, ReLU, AdaptiveAvgPool2d((1, 1))
        with b.scope(1):
            x = b.conv(x, 1000, 1, bias=True)
        with b.scope(2):
            x = b.act(x, "Relu")
        with b.scope(3):
            x = b.global_avgpool(x)
    return b.build(b.flatten(x)), b.params_before_folding


def _fire(b: NetBuilder, x: int, squeeze: int, expand1x1: int, expand3x3: int) -> int:
    with b.scope("squeeze"):
        x = b.conv(x, squeeze, 1, bias=True)
    with b.scope("squeeze_activation"):
        x = b.act(x, "Relu")
    with b.scope("expand1x1"):
        y1 = b.conv(x, expand1x1, 1, bias=True)
    with b.scope("expand1x1_activation"):
        y1 = b.act(y1, "Relu")
    with b.scope("expand3x3"):
        y3 = b.conv(x, expand3x3, 3, bias=True)
    with b.scope("expand3x3_activation"):
        y3 = b.act(y3, "Relu")
    return b.concat([y1, y3])
