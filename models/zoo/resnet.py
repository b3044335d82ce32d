"""torchvision's ResNets: resnet18/34 (BasicBlock) and resnet50/101/152 (Bottleneck)."""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import NetBuilder

# blocks per stage
_DEPTHS = {
    "resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3), "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3), "resnet152": (3, 8, 36, 3),
}
_BOTTLENECK = {"resnet18": False, "resnet34": False}


def resnet(name: str) -> tuple[Graph, int]:
    bottleneck = _BOTTLENECK.get(name, True)
    expansion = 4 if bottleneck else 1
    b = NetBuilder(name, (3, 224, 224))
    with b.scope("conv1"):
        x = b.conv(b.input, 64, 7, 2, 3, bn=True)
    with b.scope("relu"):
        x = b.act(x, "Relu")
    with b.scope("maxpool"):
        x = b.maxpool(x, 3, 2, 1)
    for stage, blocks in enumerate(_DEPTHS[name]):
        planes = 64 * 2**stage
        for i in range(blocks):
            stride = 2 if stage > 0 and i == 0 else 1
            with b.scope(f"layer{stage + 1}", i):
                if bottleneck:
                    x = _bottleneck(b, x, planes, stride, planes * expansion)
                else:
                    x = _basic_block(b, x, planes, stride)
    y = b.classifier_head(x, 1000, pool=("avgpool",), linear=("fc",))
    return b.build(y), b.params_before_folding


def _downsample(b: NetBuilder, x: int, cout: int, stride: int) -> int:
    if stride == 1 and b.shape(x)[0] == cout:
        return x
    with b.scope("downsample", 0):
        return b.conv(x, cout, 1, stride, bn=True)


def _basic_block(b: NetBuilder, x: int, planes: int, stride: int) -> int:
    with b.scope("conv1"):
        y = b.conv(x, planes, 3, stride, bn=True)
    with b.scope("relu", again=True):
        y = b.act(y, "Relu")
    with b.scope("conv2"):
        y = b.conv(y, planes, 3, bn=True)
    y = b.add(y, _downsample(b, x, planes, stride))
    with b.scope("relu", again=True):
        return b.act(y, "Relu")


def _bottleneck(b: NetBuilder, x: int, planes: int, stride: int, cout: int) -> int:
    with b.scope("conv1"):
        y = b.conv(x, planes, 1, bn=True)
    with b.scope("relu", again=True):
        y = b.act(y, "Relu")
    with b.scope("conv2"):
        y = b.conv(y, planes, 3, stride, bn=True)
    with b.scope("relu", again=True):
        y = b.act(y, "Relu")
    with b.scope("conv3"):
        y = b.conv(y, cout, 1, bn=True)
    y = b.add(y, _downsample(b, x, cout, stride))
    with b.scope("relu", again=True):
        return b.act(y, "Relu")
