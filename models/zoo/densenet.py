"""torchvision's DenseNet-121 (growth 32, bn_size 4, blocks 6-12-24-16, 64 initial features).

Pre-activation BatchNorms (each dense layer's norm1, each transition's norm, norm5) follow no
conv, so they stay BatchNormalization ops; norm0 and each layer's norm2 fold into the conv
before them.
"""

from __future__ import annotations

from ..graph import Graph
from .netbuilder import NetBuilder

_BLOCKS = (6, 12, 24, 16)  # dense layers per block
_GROWTH = 32
_BOTTLENECK = 4 * _GROWTH  # bn_size * growth_rate: conv1's output channels


def densenet121() -> tuple[Graph, int]:
    b = NetBuilder("densenet121", (3, 224, 224))
    with b.scope("features"):
        with b.scope("conv0"):
            x = b.conv(b.input, 64, 7, 2, 3, bn=True)
        with b.scope("relu0"):
            x = b.act(x, "Relu")
        with b.scope("pool0"):
            x = b.maxpool(x, 3, 2, 1)
        for i, layers in enumerate(_BLOCKS, start=1):
            with b.scope(f"denseblock{i}"):
                x = _dense_block(b, x, layers)
            if i < len(_BLOCKS):
                with b.scope(f"transition{i}"):
                    x = _transition(b, x)
        with b.scope("norm5"):
            x = b.batch_norm(x)
    x = b.act(x, "Relu")  # F.relu, F.adaptive_avg_pool2d, torch.flatten in DenseNet.forward
    y = b.classifier_head(x, 1000, pool=(), linear=("classifier",))
    return b.build(y), b.params_before_folding


def _dense_block(b: NetBuilder, x: int, layers: int) -> int:
    """_DenseBlock: each layer reads the concat of all earlier features; the block returns
    the concat of all of them."""
    features = [x]
    for j in range(1, layers + 1):
        with b.scope(f"denselayer{j}"):
            features.append(_dense_layer(b, features))
    return b.concat(features)


def _dense_layer(b: NetBuilder, features: list[int]) -> int:
    x = b.concat(features)  # a Concat of one tensor in the first layer, as exported
    with b.scope("norm1"):
        x = b.batch_norm(x)
    with b.scope("relu1"):
        x = b.act(x, "Relu")
    with b.scope("conv1"):
        x = b.conv(x, _BOTTLENECK, 1, bn=True)  # norm2 folds in
    with b.scope("relu2"):
        x = b.act(x, "Relu")
    with b.scope("conv2"):
        return b.conv(x, _GROWTH, 3)


def _transition(b: NetBuilder, x: int) -> int:
    with b.scope("norm"):
        x = b.batch_norm(x)
    with b.scope("relu"):
        x = b.act(x, "Relu")
    with b.scope("conv"):
        x = b.conv(x, b.shape(x)[0] // 2, 1)
    with b.scope("pool"):
        return b.avgpool(x, 2, 2)
