"""torchvision's MobileNetV3 (large and small) and its feature extractor, which DeepLabV3 reuses."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Graph
from .netbuilder import NetBuilder


@dataclass(frozen=True, slots=True)
class BneckConfig:
    """One row of torchvision's ``_mobilenet_v3_conf`` (width 1.0): an InvertedResidual."""

    cin: int
    kernel: int
    expanded: int
    cout: int
    use_se: bool
    hardswish: bool  # "HS" (Hardswish) or "RE" (ReLU)
    stride: int
    dilation: int = 1


def _row(cin: int, k: int, exp: int, cout: int, se: bool, act: str, s: int, d: int = 1) -> BneckConfig:
    return BneckConfig(cin, k, exp, cout, se, act == "HS", s, d)


def large_setting(dilated: bool = False) -> tuple[tuple[BneckConfig, ...], int]:
    """The large net's blocks and last_channel; ``dilated``: the C4 stage uses dilation 2
    (DeepLabV3's backbone, output stride 16)."""
    d = 2 if dilated else 1
    rows = (
        _row(16, 3, 16, 16, False, "RE", 1),
        _row(16, 3, 64, 24, False, "RE", 2),
        _row(24, 3, 72, 24, False, "RE", 1),
        _row(24, 5, 72, 40, True, "RE", 2),
        _row(40, 5, 120, 40, True, "RE", 1),
        _row(40, 5, 120, 40, True, "RE", 1),
        _row(40, 3, 240, 80, False, "HS", 2),
        _row(80, 3, 200, 80, False, "HS", 1),
        _row(80, 3, 184, 80, False, "HS", 1),
        _row(80, 3, 184, 80, False, "HS", 1),
        _row(80, 3, 480, 112, True, "HS", 1),
        _row(112, 3, 672, 112, True, "HS", 1),
        _row(112, 5, 672, 160, True, "HS", 2, d),
        _row(160, 5, 960, 160, True, "HS", 1, d),
        _row(160, 5, 960, 160, True, "HS", 1, d),
    )
    return rows, 1280


def small_setting() -> tuple[tuple[BneckConfig, ...], int]:
    rows = (
        _row(16, 3, 16, 16, True, "RE", 2),
        _row(16, 3, 72, 24, False, "RE", 2),
        _row(24, 3, 88, 24, False, "RE", 1),
        _row(24, 5, 96, 40, True, "HS", 2),
        _row(40, 5, 240, 40, True, "HS", 1),
        _row(40, 5, 240, 40, True, "HS", 1),
        _row(40, 5, 120, 48, True, "HS", 1),
        _row(48, 5, 144, 48, True, "HS", 1),
        _row(48, 5, 288, 96, True, "HS", 2),
        _row(96, 5, 576, 96, True, "HS", 1),
        _row(96, 5, 576, 96, True, "HS", 1),
    )
    return rows, 1024


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible`` (min_value = divisor)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def features(b: NetBuilder, x: int, rows: tuple[BneckConfig, ...], container: str) -> int:
    """MobileNetV3.features (stem, blocks, last 1x1 conv) as children ``container.0`` ...;
    ``container`` is "features", or "backbone" inside DeepLabV3's IntermediateLayerGetter."""
    with b.scope(container):
        x = b.conv_bn_act(x, 0, rows[0].cin, 3, 2, act="HardSwish")
    for index, cnf in enumerate(rows, start=1):
        with b.scope(container, index):
            x = _inverted_residual(b, x, cnf)
    with b.scope(container):
        return b.conv_bn_act(x, len(rows) + 1, 6 * rows[-1].cout, 1, act="HardSwish")


def _inverted_residual(b: NetBuilder, x: int, cnf: BneckConfig) -> int:
    """torchvision InvertedResidual: block = [1x1 expand], kxk depthwise, [SE], 1x1 project;
    ``result += input`` when the shape stays."""
    act = "HardSwish" if cnf.hardswish else "Relu"
    stride = 1 if cnf.dilation > 1 else cnf.stride
    y, j = x, 0
    with b.scope("block"):
        if cnf.expanded != cnf.cin:
            y = b.conv_bn_act(y, j, cnf.expanded, 1, act=act)
            j += 1
        y = _conv_bn_act_dilated(b, y, j, cnf.expanded, cnf.kernel, stride, cnf.dilation, act)
        j += 1
        if cnf.use_se:
            y = b.squeeze_excitation(y, j, make_divisible(cnf.expanded // 4), "Relu", "HardSigmoid")
            j += 1
        y = b.conv_bn_act(y, j, cnf.cout, 1, act=None)
    if cnf.stride == 1 and cnf.cin == cnf.cout:
        y = b.add(y, x)
    return y


def _conv_bn_act_dilated(
    b: NetBuilder, x: int, attr: int, cout: int, k: int, stride: int, dilation: int, act: str
) -> int:
    """The depthwise Conv2dNormActivation (padding (k - 1) // 2 * dilation, as torchvision)."""
    with b.scope(attr):
        with b.scope(0):
            y = b.conv(x, cout, k, stride, groups=cout, dilation=dilation, bn=True)
        with b.scope(2):
            return b.act(y, act)


def _mobilenet_v3(name: str, rows: tuple[BneckConfig, ...], last_channel: int) -> tuple[Graph, int]:
    b = NetBuilder(name, (3, 224, 224))
    x = features(b, b.input, rows, "features")
    with b.scope("avgpool"):
        x = b.global_avgpool(x)
    x = b.flatten(x)
    with b.scope("classifier", 0):
        x = b.linear(x, last_channel)
    with b.scope("classifier", 1):
        x = b.act(x, "HardSwish")
    with b.scope("classifier", 3):
        x = b.linear(x, 1000)
    return b.build(x), b.params_before_folding


def mobilenet_v3_large() -> tuple[Graph, int]:
    return _mobilenet_v3("mobilenet_v3_large", *large_setting())


def mobilenet_v3_small() -> tuple[Graph, int]:
    return _mobilenet_v3("mobilenet_v3_small", *small_setting())
