"""Hand-checked structure of the MobileNetV3, EfficientNet and DeepLabV3 zoo nets.

Every number here is counted by hand from torchvision's config tables (mobilenetv3.py
``_mobilenet_v3_conf``, efficientnet.py ``_efficientnet_conf``, segmentation/deeplabv3.py),
not read back from the builders. Op-for-op equality with the exports is tests/test_zoo.py's job.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest

from fuseplan.models import zoo
from fuseplan.models.zoo.mobilenet_v3 import make_divisible


def _kinds(name: str) -> Counter[str]:
    return Counter(op.kind for op in zoo.build(name).ops)


def test_mobilenet_v3_large_counts() -> None:
    # 15 bnecks: 14 expand (not the first, 16 -> 16), 15 depthwise, 15 project, 8 SE (fc1, fc2);
    # + stem and last 1x1 = 62 convs. Residuals where stride 1 and cin == cout: 10.
    kinds = _kinds("mobilenet_v3_large")
    assert kinds["Conv"] == 1 + 14 + 15 + 15 + 2 * 8 + 1 == 62
    assert (kinds["Add"], kinds["HardSigmoid"], kinds["Mul"]) == (10, 8, 8)
    assert kinds["GlobalAveragePool"] == 8 + 1 and kinds["Gemm"] == 2
    # ReLU: 6 RE bnecks with 2 acts each minus the unexpanded first (11) + 3 SE in RE bnecks
    # + 5 SE in HS bnecks = 19; HardSwish: stem, 9 HS bnecks x 2, last conv, classifier = 21
    assert (kinds["Relu"], kinds["HardSwish"]) == (11 + 8, 1 + 18 + 1 + 1)
    assert zoo.build("mobilenet_v3_large").num_ops == 139


def test_mobilenet_v3_small_counts() -> None:
    # 11 bnecks: 10 expand, 11 depthwise, 11 project, 9 SE; residuals: 6
    kinds = _kinds("mobilenet_v3_small")
    assert kinds["Conv"] == 1 + 10 + 11 + 11 + 2 * 9 + 1 == 52
    assert (kinds["Add"], kinds["HardSigmoid"], kinds["Mul"]) == (6, 9, 9)
    assert zoo.build("mobilenet_v3_small").num_ops == 121


def test_mobilenet_v3_se_names_and_broadcast_mul() -> None:
    g = zoo.build("mobilenet_v3_large")
    mul = g.ops[g.op_id("/features/features.4/block/block.2/Mul")]
    scale, x = (g.tensors[t] for t in mul.inputs)
    # SE of features.4: 72 channels at 28x28 (after the 5x5/2 depthwise), squeeze 24
    assert (scale.shape, x.shape, g.output_tensor(mul).shape) == ((72, 1, 1), (72, 28, 28), (72, 28, 28))
    fc1 = g.ops[g.op_id("/features/features.4/block/block.2/fc1/Conv")]
    assert fc1.param_shapes == ((24, 72, 1, 1), (24,))
    assert make_divisible(72 // 4) == 24 and make_divisible(960 // 4) == 240
    last = g.ops[-1]
    assert last.name == "/classifier/classifier.3/Gemm" and last.param_shapes == ((1000, 1280), (1000,))


@pytest.mark.parametrize(
    ("name", "blocks", "ops", "final"),
    [
        # blocks per stage ceil(n * depth): b0 1,2,2,3,3,4,1; b1/b2 2,3,3,4,4,5,2; b3 2,3,3,5,5,6,2
        ("efficientnet_b0", 16, 238, (1280, 7, 7)),
        ("efficientnet_b1", 23, 340, (1280, 7, 7)),
        ("efficientnet_b2", 23, 340, (1408, 7, 7)),  # 4 * make_divisible(320 * 1.1) = 4 * 352
        ("efficientnet_b3", 26, 385, (1536, 10, 10)),  # 300 -> 150, 75, 38, 19, 10
    ],
)
def test_efficientnet_counts(name: str, blocks: int, ops: int, final: tuple[int, int, int]) -> None:
    g = zoo.build(name)
    kinds = Counter(op.kind for op in g.ops)
    # stage-1 blocks (expand ratio 1) have 11 ops, the others 14 (expand conv + SiLU pair);
    # residual in every block but the first of each of the 7 stages
    stage1 = 1 if name == "efficientnet_b0" else 2
    adds = blocks - 7
    assert kinds["Add"] == adds
    assert g.num_ops == 11 * stage1 + 14 * (blocks - stage1) + adds + 3 + 3 + 2 == ops
    assert kinds["GlobalAveragePool"] == blocks + 1
    last_conv = g.ops[g.op_id("/features/features.8/features.8.0/Conv")]
    assert g.output_tensor(last_conv).shape == final


def test_efficientnet_se_squeeze_is_a_quarter_of_the_block_input() -> None:
    g = zoo.build("efficientnet_b0")
    # features.2.0: input 16 channels, expanded 96, squeeze max(1, 16 // 4) = 4
    fc1 = g.ops[g.op_id("/features/features.2/features.2.0/block/block.2/fc1/Conv")]
    assert fc1.param_shapes == ((4, 96, 1, 1), (4,))
    silu = g.ops[g.op_id("/features/features.2/features.2.0/block/block.2/activation/Mul")]
    assert g.output_tensor(silu).shape == (4, 1, 1)


def test_deeplabv3_output_stride_16_and_resizes() -> None:
    g = zoo.build("deeplabv3_mobilenet_v3_large")
    # 513 -> 257 (stem), 129, 65, 33 (bnecks 2, 4, 7); the C4 stride-2 bneck is dilated instead
    dw = g.ops[g.op_id("/backbone/backbone.13/block/block.1/block.1.0/Conv")]
    assert (dw.k, dw.s, dict(dw.attrs)["pads"]) == (9, 1, (4, 4, 4, 4))  # 5x5, dilation 2
    assert g.output_tensor(dw).shape == (672, 33, 33)
    aspp = g.ops[g.op_id("/classifier/classifier.0/convs.1/convs.1.0/Conv")]
    assert (aspp.k, dict(aspp.attrs)["dilations"]) == (25, (12, 12))  # 3x3, rate 12
    concat = g.ops[g.op_id("/classifier/classifier.0/Concat")]
    assert g.output_tensor(concat).shape == (5 * 256, 33, 33)
    pool_up = g.ops[g.op_id("/classifier/classifier.0/convs.4/Resize")]
    assert (pool_up.k, pool_up.s, g.output_tensor(pool_up).shape) == (2, Fraction(1, 33), (256, 33, 33))
    out = g.ops[-1]
    assert out.name == "/Resize" and g.output_tensor(out).shape == (21, 513, 513)
    assert out.s == Fraction(33, 513) and out.absorbed[0] == "/Shape" and out.absorbed[-1] == "/Concat"


def test_deeplabv3_head_parameters_by_hand() -> None:
    # DeepLabHead on 960 channels, before BN folding: ASPP 1x1 (960*256 + 512), three 3x3
    # (960*256*9 + 512 each), pooling 1x1 (960*256 + 512), project (1280*256 + 512),
    # 3x3 (256*256*9 + 512), classifier 1x1 (256*21 + 21)
    head = (960 * 256 + 512) + 3 * (960 * 256 * 9 + 512) + (960 * 256 + 512) + (1280 * 256 + 512) \
        + (256 * 256 * 9 + 512) + (256 * 21 + 21)
    # the backbone is mobilenet_v3_large's features: the whole classifier net minus its
    # avgpool-free classifier (960*1280 + 1280 and 1280*1000 + 1000)
    backbone = 5_483_032 - (960 * 1280 + 1280) - (1280 * 1000 + 1000)
    assert zoo.params_before_folding("deeplabv3_mobilenet_v3_large") == backbone + head == 11_025_477
