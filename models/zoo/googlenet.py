"""torchvision's GoogLeNet without auxiliary heads, transform_input=False (what
``googlenet(weights=None)`` builds: its first op is conv1's Conv, with no input rescaling)."""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import IntPair, NetBuilder

# Inception(ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) or a "maxpoolN" (3/2; 2/2 for 4)
_LAYERS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("inception3a", (64, 96, 128, 16, 32, 32)),
    ("inception3b", (128, 128, 192, 32, 96, 64)),
    ("maxpool3", (3,)),
    ("inception4a", (192, 96, 208, 16, 48, 64)),
    ("inception4b", (160, 112, 224, 24, 64, 64)),
    ("inception4c", (128, 128, 256, 24, 64, 64)),
    ("inception4d", (112, 144, 288, 32, 64, 64)),
    ("inception4e", (256, 160, 320, 32, 128, 128)),
    ("maxpool4", (2,)),
    ("inception5a", (256, 160, 320, 32, 128, 128)),
    ("inception5b", (384, 192, 384, 48, 128, 128)),
)


def googlenet() -> tuple[Graph, int]:
    b = NetBuilder("googlenet", (3, 224, 224))
    x = basic_conv2d(b, b.input, "conv1", 64, 7, 2, 3)
    with b.scope("maxpool1"):
        x = b.maxpool(x, 3, 2, ceil_mode=True)
    x = basic_conv2d(b, x, "conv2", 64, 1)
    x = basic_conv2d(b, x, "conv3", 192, 3, pad=1)
    with b.scope("maxpool2"):
        x = b.maxpool(x, 3, 2, ceil_mode=True)
    for attr, spec in _LAYERS:
        with b.scope(attr):
            if attr.startswith("maxpool"):
                x = b.maxpool(x, spec[0], 2, ceil_mode=True)
            else:
                x = _inception(b, x, *spec)
    y = b.classifier_head(x, 1000, pool=("avgpool",), linear=("fc",))
    return b.build(y), b.params_before_folding


def basic_conv2d(
    b: NetBuilder, x: int, attr: str | int, cout: int, k: IntPair, stride: int = 1, pad: IntPair = 0
) -> int:
    """BasicConv2d ``attr`` (GoogLeNet's and Inception-v3's): conv (+ folded BN), then F.relu
    in the BasicConv2d's scope."""
    with b.scope(attr):
        with b.scope("conv"):
            x = b.conv(x, cout, k, stride, pad, bn=True)
        return b.act(x, "Relu")


def _inception(
    b: NetBuilder, x: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
    pool_proj: int,
) -> int:
    """Inception: four branches concatenated (branch3's "5x5" is 3x3, as in torchvision)."""
    branch1 = basic_conv2d(b, x, "branch1", ch1x1, 1)
    with b.scope("branch2"):
        y = basic_conv2d(b, x, 0, ch3x3red, 1)
        branch2 = basic_conv2d(b, y, 1, ch3x3, 3, pad=1)
    with b.scope("branch3"):
        y = basic_conv2d(b, x, 0, ch5x5red, 1)
        branch3 = basic_conv2d(b, y, 1, ch5x5, 3, pad=1)
    with b.scope("branch4"):
        with b.scope(0):
            y = b.maxpool(x, 3, 1, 1, ceil_mode=True)
        branch4 = basic_conv2d(b, y, 1, pool_proj, 1)
    return b.concat([branch1, branch2, branch3, branch4])
