"""Hand-checked structure of the VGG, SqueezeNet, GoogLeNet, DenseNet and Inception zoo nets.

Every number here is counted by hand from torchvision's module definitions (vgg.py cfgs["D"],
squeezenet.py, googlenet.py, densenet.py, inception.py), not read back from the builders.
Op-for-op equality with the exports is tests/test_zoo.py's job.
"""

from __future__ import annotations

from collections import Counter

import pytest

from fuseplan.models import zoo


def _kinds(name: str) -> Counter[str]:
    return Counter(op.kind for op in zoo.build(name).ops)


def test_vgg16_counts_and_global_first_linear() -> None:
    kinds = _kinds("vgg16")
    # 13 convs + 2 classifier ReLUs; 5 max pools; AdaptiveAvgPool2d((7, 7)) on 7x7; 3 Linears
    assert (kinds["Conv"], kinds["Relu"], kinds["MaxPool"]) == (13, 15, 5)
    assert (kinds["AveragePool"], kinds["Gemm"], zoo.build("vgg16").num_ops) == (1, 3, 37)
    g = zoo.build("vgg16")
    pool = g.ops[g.op_id("/avgpool/AveragePool")]
    assert g.output_tensor(pool).shape == (512, 7, 7) and (pool.k, pool.s) == (1, 1)
    fc = g.ops[g.op_id("/classifier/classifier.0/Gemm")]
    # 512 * 7 * 7 = 25,088 inputs: 25,088 * 4,096 + 4,096 = 102,764,544 parameters
    assert fc.params == 102_764_544 and fc.param_shapes == ((4096, 25088), (4096,))
    assert (fc.k, fc.s, fc.is_global, fc.absorbed) == (7, 7, True, ("/Flatten",))
    # no BatchNorm: nothing folds
    assert g.total_params == zoo.params_before_folding("vgg16") == 138_357_544


@pytest.mark.parametrize(
    ("name", "stem", "sizes"),
    [
        # 7x7/2 on 224: (224 - 7) // 2 + 1 = 109; ceil-mode 3/2 pools: 54, 27, 13
        ("squeezenet1_0", (96, 109), (54, 27, 13)),
        # 3x3/2 on 224: 111; then 55, 27, 13
        ("squeezenet1_1", (64, 111), (55, 27, 13)),
    ],
)
def test_squeezenet_shapes(name: str, stem: tuple[int, int], sizes: tuple[int, ...]) -> None:
    g = zoo.build(name)
    conv0 = g.ops[g.op_id("/features/features.0/Conv")]
    assert g.output_tensor(conv0).shape == (stem[0], stem[1], stem[1])
    pools = [op for op in g.ops if op.kind == "MaxPool"]
    assert [g.output_tensor(op).shape[1] for op in pools] == list(sizes)
    assert all(op.attr("ceil_mode") == 1 for op in pools)
    # stem conv + ReLU, 3 pools, 8 Fire modules of 7 ops, classifier conv + ReLU + pool
    assert g.num_ops == 2 + 3 + 8 * 7 + 3 == 64
    last = g.ops[-1]
    assert last.name == "/classifier/classifier.3/GlobalAveragePool"
    assert g.output_tensor(last).shape == (1000, 1, 1) and last.absorbed[-1] == "/Flatten"
    fire = g.ops[g.op_id("/features/features.3/Concat")]
    assert g.output_tensor(fire).shape[0] == 64 + 64


def test_googlenet_counts_and_bn_folding() -> None:
    kinds = _kinds("googlenet")
    # 3 stem convs + 9 Inception blocks x 6 BasicConv2d; 4 stage pools + 9 branch4 pools
    assert (kinds["Conv"], kinds["Relu"], kinds["MaxPool"], kinds["Concat"]) == (57, 57, 13, 9)
    assert zoo.build("googlenet").num_ops == 57 + 57 + 13 + 9 + 2 == 138
    # each BN folds into a bias-free conv: -C parameters per BN. Channels of the 57 convs:
    # stem 64 + 64 + 192 = 320; blocks 368 + 640 + 624 + 648 + 664 + 704 + 1024 + 1024 + 1264
    assert zoo.build("googlenet").total_params == 6_624_904 - 320 - 6_960 == 6_617_624
    g = zoo.build("googlenet")
    assert g.ops[0].name == "/conv1/conv/Conv"  # transform_input=False: no input rescaling ops
    assert g.ops[1].name == "/conv1/Relu"  # F.relu in BasicConv2d's scope
    concat = g.ops[g.op_id("/inception5b/Concat")]
    assert g.output_tensor(concat).shape == (384 + 384 + 128 + 128, 7, 7)


def test_densenet121_counts_and_unfolded_batch_norms() -> None:
    kinds = _kinds("densenet121")
    layers = 6 + 12 + 24 + 16
    # BN ops: norm1 of every layer, 3 transition norms, norm5; norm0 and every norm2 fold
    assert kinds["BatchNormalization"] == layers + 3 + 1 == 62
    assert kinds["Concat"] == layers + 4 and kinds["Conv"] == 1 + 2 * layers + 3
    assert kinds["Relu"] == 1 + 2 * layers + 3 + 1 and kinds["AveragePool"] == 3
    assert zoo.build("densenet121").num_ops == 371
    g = zoo.build("densenet121")
    first = g.ops[g.op_id("/features/denseblock1/denselayer1/Concat")]
    assert len(first.inputs) == 1  # torch.cat of a one-tensor list
    norm5 = g.ops[g.op_id("/features/norm5/BatchNormalization")]
    # 64 + 6*32 = 256 -> 128; +12*32 = 512 -> 256; +24*32 = 1024 -> 512; +16*32 = 1024
    assert g.output_tensor(norm5).shape == (1024, 7, 7)
    assert norm5.params == 2 * 1024 and norm5.param_shapes == ((1024,), (1024,))
    # folding removes C per folded BN: norm0 (64) and 58 norm2 (128 each)
    assert g.total_params == 7_978_856 - 64 - 58 * 128 == 7_971_368
    assert [op.name for op in g.ops[-4:]] == [
        "/features/norm5/BatchNormalization", "/Relu", "/GlobalAveragePool", "/classifier/Gemm",
    ]


def test_inception_v3_shapes_and_bn_folding() -> None:
    g = zoo.build("inception_v3")
    kinds = _kinds("inception_v3")
    assert (kinds["Conv"], kinds["AveragePool"], kinds["MaxPool"], kinds["Concat"]) == (94, 9, 4, 11)
    # 299 -> 149 -> 147 -> 147 -> pool 73 -> 73 -> 71 -> pool 35 -> 17 (Mixed_6a) -> 8 (Mixed_7a)
    sizes = {n: g.output_tensor(g.ops[g.op_id(n)]).shape for n in (
        "/Conv2d_1a_3x3/Relu", "/maxpool1/MaxPool", "/maxpool2/MaxPool", "/Mixed_6a/Concat",
        "/Mixed_7a/Concat", "/Mixed_7c/Concat")}
    assert list(sizes.values()) == [(32, 149, 149), (64, 73, 73), (192, 35, 35), (768, 17, 17),
                                    (1280, 8, 8), (2048, 8, 8)]
    # InceptionE's nested torch.cat is one Concat of six branches: 320 + 2*384 + 2*384 + 192
    assert len(g.ops[g.op_id("/Mixed_7b/Concat")].inputs) == 6
    conv = g.ops[g.op_id("/Mixed_6b/branch7x7_2/conv/Conv")]
    assert conv.attr("kernel_shape") == (1, 7) and conv.attr("pads") == (0, 3, 0, 3)
    # 94 folded BNs over 17,216 channels: stem 400, A 464 + 496 + 496, B 640,
    # C 768 + 6*c7 for c7 = 128, 160, 160, 192, D 1280, E 2 x 3264
    assert 400 + 1456 + 640 + (4 * 768 + 6 * 640) + 1280 + 2 * 3264 == 17_216
    assert g.total_params == 23_834_568 - 17_216
