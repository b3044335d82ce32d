"""torchvision's deeplabv3_mobilenet_v3_large (no aux head, 21 classes, 513x513 input)."""

from __future__ import annotations

from ..graph import Graph
from .mobilenet_v3 import features, large_setting
from .netbuilder import NetBuilder

_SIZE = 513
_CLASSES = 21
_ATROUS_RATES = (12, 24, 36)
_ASPP_CHANNELS = 256


def deeplabv3_mobilenet_v3_large() -> tuple[Graph, int]:
    """backbone: MobileNetV3-Large features, dilated C4 (IntermediateLayerGetter "backbone");
    classifier: DeepLabHead (ASPP, 3x3 conv-BN-ReLU, 1x1 conv); bilinear resize to the input."""
    b = NetBuilder("deeplabv3_mobilenet_v3_large", (3, _SIZE, _SIZE))
    rows, _ = large_setting(dilated=True)
    x = features(b, b.input, rows, "backbone")
    with b.scope("classifier", 0):
        x = _aspp(b, x)
    with b.scope("classifier", 1):
        x = b.conv(x, _ASPP_CHANNELS, 3, bn=True)
    with b.scope("classifier", 3):
        x = b.act(x, "Relu")
    with b.scope("classifier", 4):
        x = b.conv(x, _CLASSES, 1, bias=True)
    y = b.resize_bilinear(x, _SIZE, _SIZE)
    return b.build(y), b.params_before_folding


def _aspp(b: NetBuilder, x: int) -> int:
    """ASPP: convs.0 1x1, convs.1-3 dilated 3x3, convs.4 image pooling (upsampled back),
    concatenated, then project (1x1 conv-BN-ReLU; its Dropout leaves nothing)."""
    _, h, w = b.shape(x)
    # ``convs`` is a ModuleList that ASPP.forward iterates (never calls): no scope of its own,
    # each branch is a direct call from ASPP, module path ``convs.<i>``
    branches = [b.conv_bn_act(x, "convs.0", _ASPP_CHANNELS, 1)]
    for i, rate in enumerate(_ATROUS_RATES, start=1):
        with b.scope(f"convs.{i}"):
            with b.scope(0):
                y = b.conv(x, _ASPP_CHANNELS, 3, dilation=rate, bn=True)
            with b.scope(2):
                branches.append(b.act(y, "Relu"))
    with b.scope("convs.4"):
        with b.scope(0):
            y = b.global_avgpool(x)
        with b.scope(1):
            y = b.conv(y, _ASPP_CHANNELS, 1, bn=True)
        with b.scope(3):
            y = b.act(y, "Relu")
        branches.append(b.resize_bilinear(y, h, w))
    y = b.concat(branches)
    return b.conv_bn_act(y, "project", _ASPP_CHANNELS, 1)
