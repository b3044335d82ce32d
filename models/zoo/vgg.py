"""torchvision's VGG-16 (configuration "D", no BatchNorm)."""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import NetBuilder

# torchvision's cfgs["D"]: output channels of each 3x3 conv, "M" a 2x2/2 max pool
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16() -> tuple[Graph, int]:
    b = NetBuilder("vgg16", (3, 224, 224))
    x, index = b.input, 0
    with b.scope("features"):
        for v in _VGG16:
            if v == "M":
                with b.scope(index):
                    x = b.maxpool(x, 2, 2)
                index += 1
                continue
            with b.scope(index):
                x = b.conv(x, int(v), 3, bias=True)
            with b.scope(index + 1):
                x = b.act(x, "Relu")
            index += 2
    with b.scope("avgpool"):  # AdaptiveAvgPool2d((7, 7)) on a 7x7 map
        x = b.adaptive_avgpool(x, 7)
    x = b.flatten(x)
    with b.scope("classifier"):  # Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
        for index, cout in ((0, 4096), (3, 4096), (6, 1000)):
            with b.scope(index):
                x = b.linear(x, cout)
            if index < 6:
                with b.scope(index + 1):
                    x = b.act(x, "Relu")
    return b.build(x), b.params_before_folding

