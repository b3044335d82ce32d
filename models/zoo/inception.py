"""torchvision's Inception-v3 at 299x299, without the auxiliary head and with
transform_input=False (what ``inception_v3(weights=None, aux_logits=False)`` builds: the first
op is Conv2d_1a_3x3's Conv, with no input rescaling).

The exporter flattens InceptionE's nested ``torch.cat`` into one Concat of six branches.
"""

from __future__ import annotations

from ..graph import Graph
from .googlenet import basic_conv2d
from .netbuilder import NetBuilder


def inception_v3() -> tuple[Graph, int]:
    b = NetBuilder("inception_v3", (3, 299, 299))
    x = basic_conv2d(b, b.input, "Conv2d_1a_3x3", 32, 3, 2)
    x = basic_conv2d(b, x, "Conv2d_2a_3x3", 32, 3)
    x = basic_conv2d(b, x, "Conv2d_2b_3x3", 64, 3, pad=1)
    with b.scope("maxpool1"):
        x = b.maxpool(x, 3, 2)
    x = basic_conv2d(b, x, "Conv2d_3b_1x1", 80, 1)
    x = basic_conv2d(b, x, "Conv2d_4a_3x3", 192, 3)
    with b.scope("maxpool2"):
        x = b.maxpool(x, 3, 2)
    for attr, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        with b.scope(attr):
            x = _inception_a(b, x, pool_features)
    with b.scope("Mixed_6a"):
        x = _inception_b(b, x)
    for attr, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        with b.scope(attr):
            x = _inception_c(b, x, c7)
    with b.scope("Mixed_7a"):
        x = _inception_d(b, x)
    for attr in ("Mixed_7b", "Mixed_7c"):
        with b.scope(attr):
            x = _inception_e(b, x)
    y = b.classifier_head(x, 1000, pool=("avgpool",), linear=("fc",))
    return b.build(y), b.params_before_folding


def _avg_pool_branch(b: NetBuilder, x: int, cout: int) -> int:
    """F.avg_pool2d(x, 3, 1, 1) in the block's scope, then BasicConv2d ``branch_pool``."""
    return basic_conv2d(b, b.avgpool(x, 3, 1, 1), "branch_pool", cout, 1)


def _inception_a(b: NetBuilder, x: int, pool_features: int) -> int:
    branch1x1 = basic_conv2d(b, x, "branch1x1", 64, 1)
    branch5x5 = basic_conv2d(b, x, "branch5x5_1", 48, 1)
    branch5x5 = basic_conv2d(b, branch5x5, "branch5x5_2", 64, 5, pad=2)
    dbl = basic_conv2d(b, x, "branch3x3dbl_1", 64, 1)
    dbl = basic_conv2d(b, dbl, "branch3x3dbl_2", 96, 3, pad=1)
    dbl = basic_conv2d(b, dbl, "branch3x3dbl_3", 96, 3, pad=1)
    return b.concat([branch1x1, branch5x5, dbl, _avg_pool_branch(b, x, pool_features)])


def _inception_b(b: NetBuilder, x: int) -> int:
    branch3x3 = basic_conv2d(b, x, "branch3x3", 384, 3, 2)
    dbl = basic_conv2d(b, x, "branch3x3dbl_1", 64, 1)
    dbl = basic_conv2d(b, dbl, "branch3x3dbl_2", 96, 3, pad=1)
    dbl = basic_conv2d(b, dbl, "branch3x3dbl_3", 96, 3, 2)
    return b.concat([branch3x3, dbl, b.maxpool(x, 3, 2)])  # F.max_pool2d in the block's scope


def _inception_c(b: NetBuilder, x: int, c7: int) -> int:
    branch1x1 = basic_conv2d(b, x, "branch1x1", 192, 1)
    b7 = basic_conv2d(b, x, "branch7x7_1", c7, 1)
    b7 = basic_conv2d(b, b7, "branch7x7_2", c7, (1, 7), pad=(0, 3))
    b7 = basic_conv2d(b, b7, "branch7x7_3", 192, (7, 1), pad=(3, 0))
    dbl = basic_conv2d(b, x, "branch7x7dbl_1", c7, 1)
    dbl = basic_conv2d(b, dbl, "branch7x7dbl_2", c7, (7, 1), pad=(3, 0))
    dbl = basic_conv2d(b, dbl, "branch7x7dbl_3", c7, (1, 7), pad=(0, 3))
    dbl = basic_conv2d(b, dbl, "branch7x7dbl_4", c7, (7, 1), pad=(3, 0))
    dbl = basic_conv2d(b, dbl, "branch7x7dbl_5", 192, (1, 7), pad=(0, 3))
    return b.concat([branch1x1, b7, dbl, _avg_pool_branch(b, x, 192)])


def _inception_d(b: NetBuilder, x: int) -> int:
    b3 = basic_conv2d(b, x, "branch3x3_1", 192, 1)
    b3 = basic_conv2d(b, b3, "branch3x3_2", 320, 3, 2)
    b7 = basic_conv2d(b, x, "branch7x7x3_1", 192, 1)
    b7 = basic_conv2d(b, b7, "branch7x7x3_2", 192, (1, 7), pad=(0, 3))
    b7 = basic_conv2d(b, b7, "branch7x7x3_3", 192, (7, 1), pad=(3, 0))
    b7 = basic_conv2d(b, b7, "branch7x7x3_4", 192, 3, 2)
    return b.concat([b3, b7, b.maxpool(x, 3, 2)])


def _inception_e(b: NetBuilder, x: int) -> int:
    branch1x1 = basic_conv2d(b, x, "branch1x1", 320, 1)
    b3 = basic_conv2d(b, x, "branch3x3_1", 384, 1)
    b3a = basic_conv2d(b, b3, "branch3x3_2a", 384, (1, 3), pad=(0, 1))
    b3b = basic_conv2d(b, b3, "branch3x3_2b", 384, (3, 1), pad=(1, 0))
    dbl = basic_conv2d(b, x, "branch3x3dbl_1", 448, 1)
    dbl = basic_conv2d(b, dbl, "branch3x3dbl_2", 384, 3, pad=1)
    dbl_a = basic_conv2d(b, dbl, "branch3x3dbl_3a", 384, (1, 3), pad=(0, 1))
    dbl_b = basic_conv2d(b, dbl, "branch3x3dbl_3b", 384, (3, 1), pad=(1, 0))
    pool = _avg_pool_branch(b, x, 192)
    return b.concat([branch1x1, b3a, b3b, dbl_a, dbl_b, pool])  # nested cats flattened
