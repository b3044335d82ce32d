"""torchvision's ConvNeXt-Tiny (legacy export at opset 17, as the importer reads it).

Each CNBlock is a depthwise 7x7 conv, then channels-last LayerNorm, Linear 4C, GELU, Linear C
between two permutes, a layer scale and the residual add. The importer folds the permutes (the
ops between them carry ``channels_last = 1``), a Linear's bias Add into its MatMul and the Erf
form of GELU into one ``Gelu`` op; LayerNorm2d (stem, downsampling, head) is a Transpose pair
around a LayerNormalization.
"""

from __future__ import annotations

import struct

from ..graph import Graph
from .netbuilder import NetBuilder

_EPS = struct.unpack("f", struct.pack("f", 1e-6))[0]  # as the file stores it (float32)
_STAGES = ((96, 3), (192, 3), (384, 9), (768, 3))  # (channels, blocks)
_CL = ("channels_last", 1)


def convnext_tiny() -> tuple[Graph, int]:
    b = NetBuilder("convnext_tiny", (3, 224, 224))
    with b.scope("features"):
        with b.scope(0):
            with b.scope(0):
                x = b.conv(b.input, 96, 4, 4, 0, bias=True)
            with b.scope(1):
                x = _layer_norm_2d(b, x)
        index = 1
        for stage, (c, blocks) in enumerate(_STAGES):
            if stage > 0:
                with b.scope(index):
                    with b.scope(0):
                        x = _layer_norm_2d(b, x)
                    with b.scope(1):
                        x = b.conv(x, c, 2, 2, 0, bias=True)
                index += 1
            for j in range(blocks):
                with b.scope(index, j):
                    x = _cn_block(b, x)
            index += 1
    with b.scope("avgpool"):
        x = b.global_avgpool(x)
    with b.scope("classifier", 0):
        x = _layer_norm_2d(b, x)
    with b.scope("classifier", 1):
        x = b.flatten(x)
    with b.scope("classifier", 2):
        y = b.linear(x, 1000)
    return b.build(y), b.params_before_folding


def _layer_norm(b: NetBuilder, x: int) -> int:
    """nn.LayerNorm(C, eps=1e-6) over channels (channels last): 2C parameters, k = 1."""
    c = b.shape(x)[0]
    b.params_before_folding += 2 * c
    return b.composite("LayerNormalization", [x], b.shape(x), node="LayerNormalization",
                       params=2 * c, param_shapes=[(c,), (c,)],
                       attrs=[("axis", -1), _CL, ("epsilon", _EPS)])


def _layer_norm_2d(b: NetBuilder, x: int) -> int:
    """torchvision's LayerNorm2d: permute, LayerNorm, permute back, all in its own scope."""
    b.absorb_next(x, "Transpose")
    y = _layer_norm(b, x)
    b.absorb_next(y, "Transpose")
    return y


def _linear(b: NetBuilder, x: int, cout: int) -> int:
    """nn.Linear on a channels-last map: MatMul with a C x C' weight, its bias Add folded."""
    c, h, w = b.shape(x)
    b.params_before_folding += c * cout + cout
    return b.composite("MatMul", [x], (cout, h, w), node="MatMul", after=("Add",),
                       params=c * cout + cout, param_shapes=[(c, cout), (cout,)], attrs=[_CL])


def _cn_block(b: NetBuilder, x: int) -> int:
    c = b.shape(x)[0]
    with b.scope("block"):
        with b.scope(0):
            y = b.conv(x, c, 7, 1, 3, groups=c, bias=True)
        with b.scope(1):
            b.absorb_next(y, "Transpose")
        with b.scope(2):
            y = _layer_norm(b, y)
        with b.scope(3):
            y = _linear(b, y, 4 * c)
        with b.scope(4):  # nn.GELU: x * 0.5 * (1 + erf(x / sqrt 2))
            y = b.composite("Gelu", [y], b.shape(y), node="Erf", before=("Constant", "Div"),
                            after=("Constant", "Add", "Mul", "Constant", "Mul"), attrs=[_CL])
        with b.scope(5):
            y = _linear(b, y, c)
        with b.scope(6):
            b.absorb_next(y, "Transpose")
    b.params_before_folding += c  # layer_scale (C, 1, 1)
    y = b.composite("Mul", [y], b.shape(y), node="Mul", params=c, param_shapes=[(c, 1, 1)])
    return b.add(y, x)
