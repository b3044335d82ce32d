"""The zoo: each net equals the importer's view of torchvision's export (fixtures), has the
published parameter count, survives an ONNX round trip, and `fuseplan zoo` lists them.

Fixtures (tests/fixtures/zoo/) are made by ``benchmarks/zoo_fixtures.py`` from torchvision
itself; ``params.json`` there is ``sum(p.numel() for p in model.parameters())`` of each torch
module, counted by torch, not by our code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuseplan.models import zoo
from fuseplan.models.errors import FusePlanError
from fuseplan.models.zoo.compare import graph_differences
from fuseplan.models.zoo.netbuilder import NetBuilder, pool_out
from fuseplan.solver.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "zoo"
ALL = list(zoo.NAMES)
BUILT = ALL


def test_every_zoo_net_has_a_builder() -> None:
    assert set(zoo.BUILDERS) == set(zoo.NAMES)


# ----- against torchvision's export (the fixtures) -----
@pytest.mark.parametrize("name", ALL)
def test_equal_to_torchvision_export_op_for_op(name: str) -> None:
    from fuseplan.models.graph_json import read_graph_json

    graph = zoo.build(name)

    reference = read_graph_json(FIXTURES / f"{name}.json")
    diffs = graph_differences(reference, graph)
    assert not diffs, f"{name} differs from its export; first: {diffs[0]} ({len(diffs)} lines)"


@pytest.mark.parametrize("name", ALL)
def test_params_before_folding_are_torchs_count(name: str) -> None:
    counted_by_torch = json.loads((FIXTURES / "params.json").read_text())[name]
    assert zoo.params_before_folding(name) == counted_by_torch
    assert zoo.info(name).params_before_folding == counted_by_torch


def test_published_counts_hand_checked() -> None:
    # torchvision's weights meta num_params; Keras' trainable count for MobileNet 1.0-224
    assert zoo.info("mobilenet_v2").published_params == 3_504_872
    assert zoo.info("resnet50").published_params == 25_557_032
    assert zoo.info("googlenet").params_before_folding == 6_624_904  # excludes aux heads
    inception = zoo.info("inception_v3")
    assert (inception.published_params, inception.params_before_folding) == (27_161_264, 23_834_568)
    deeplab = zoo.info("deeplabv3_mobilenet_v3_large")
    assert (deeplab.published_params, deeplab.params_before_folding) == (11_029_328, 11_025_477)
    assert zoo.params_before_folding("mobilenet_v1") == 4_231_976
    assert zoo.params_before_folding("resnet50") == 25_557_032
    assert zoo.params_before_folding("convnext_tiny") == 28_589_128  # no BatchNorm to fold
    assert zoo.build("convnext_tiny").total_params == 28_589_128
    assert zoo.params_before_folding("shufflenet_v2_x1_0") == 2_278_604


def test_convnext_and_shufflenet_structure_hand_checked() -> None:
    cn = zoo.build("convnext_tiny")
    kinds = [op.kind for op in cn.ops]
    # 18 CNBlocks (3+3+9+3): dw conv, LayerNorm, MatMul, Gelu, MatMul, Mul, Add = 126 ops,
    # + stem conv and LayerNorm, 3 downsamplings (LayerNorm, conv), pool, LayerNorm, Gemm
    assert len(kinds) == 18 * 7 + 2 + 3 * 2 + 3 == 137
    assert kinds.count("Gelu") == 18 and kinds.count("LayerNormalization") == 18 + 1 + 3 + 1
    assert "Transpose" not in kinds and not any(op.is_global for op in cn.ops[:-3])
    mm = cn.ops[cn.op_id("/features/features.1/features.1.0/block/block.3/MatMul")]
    assert (mm.params, mm.k, cn.tensors[mm.output].shape) == (96 * 384 + 384, 1, (384, 56, 56))
    sn = zoo.build("shufflenet_v2_x1_0")
    shuffles = [op for op in sn.ops if op.kind == "ChannelShuffle"]
    assert len(shuffles) == 4 + 8 + 4  # one per unit
    assert all(sn.tensors[op.output].shape == sn.tensors[op.inputs[0]].shape for op in shuffles)
    assert sum(op.kind == "Slice" for op in sn.ops) == 2 * (3 + 7 + 3)  # stride-1 units split


def test_bn_folding_in_resnet18_by_hand() -> None:
    # resnet18's 20 BatchNorms cover 4,800 channels: 64 (stem) + 4*64 (layer1)
    # + 4*128+128 + 4*256+256 + 4*512+512 (layers 2-4 with their downsample BN).
    # Folding drops each BN's 2C and gives its bias-free conv a bias of C: -C per channel.
    assert zoo.build("resnet18").total_params == 11_689_512 - 4_800


def test_structure_hand_checked() -> None:
    r50 = zoo.build("resnet50")
    kinds = [op.kind for op in r50.ops]
    # 49 convs + 4 downsample convs, stem relu + 3 per block, 16 residual adds
    assert (kinds.count("Conv"), kinds.count("Relu"), kinds.count("Add")) == (53, 49, 16)
    assert r50.num_ops == 53 + 49 + 16 + 3  # + maxpool, global pool, fc
    assert zoo.build("mobilenet_v2").num_ops == 99
    assert r50.ops[-1].name == "/fc/Gemm" and r50.output_tensor(r50.ops[-1]).shape == (1000, 1, 1)
    gap = r50.ops[r50.op_id("/avgpool/GlobalAveragePool")]
    assert (gap.k, gap.is_global, r50.input_tensor(gap).shape) == (7, True, (2048, 7, 7))


def test_exporter_names() -> None:
    mb2 = zoo.build("mobilenet_v2")
    conv = mb2.ops[mb2.op_id("/features/features.3/conv/conv.0/conv.0.0/Conv")]
    assert mb2.input_tensor(conv).shape == (24, 56, 56)
    assert mb2.output_tensor(conv).shape == (144, 56, 56)
    add = mb2.ops[mb2.op_id("/features/features.3/Add")]
    assert [mb2.tensors[t].producer for t in add.inputs] == [
        mb2.op_id("/features/features.2/conv/conv.2/Conv"),
        mb2.op_id("/features/features.3/conv/conv.2/Conv"),
    ]
    r50 = zoo.build("resnet50")
    for name in ("/layer1/layer1.0/relu_2/Relu", "/layer1/layer1.0/downsample/downsample.0/Conv",
                 "/layer4/layer4.2/Add", "/maxpool/MaxPool"):
        r50.op_id(name)


# Every net round-trips, the large ones too: writing random weights dominates (vgg16 ~20 s,
# resnet152 ~10 s), about a minute in all, well inside the CI budget.
HEAVY = ("vgg16", "resnet152", "resnet101", "convnext_tiny", "inception_v3", "resnet50")


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in BUILT])
def test_round_trip_through_onnx(name: str, tmp_path: Path) -> None:
    from fuseplan.models.onnx_export import export_onnx
    from fuseplan.models.onnx_import import import_onnx

    graph = zoo.build(name)
    export_onnx(graph, tmp_path / f"{name}.onnx")
    back = import_onnx(tmp_path / f"{name}.onnx")
    assert not graph_differences(graph, back)
    assert back == graph


# ----- the builder -----
def test_scope_names_follow_the_exporter() -> None:
    b = NetBuilder("t", (3, 8, 8))
    with b.scope("features"):  # module features.0.0 keeps its whole path
        x = b.conv_bn_act(b.input, 0, 4, 3)
    with b.scope("features", 1, "conv"):  # features.1.conv.0.0 -> conv.0.0
        y = b.conv_bn_act(x, 0, 4, 3)
    with b.scope("relu", again=True):
        y = b.act(y, "Relu")
    with b.scope("relu", again=True):
        y = b.act(y, "Relu")
    y = b.add(b.add(x, y), x)
    g = b.build(y)
    assert [op.name for op in g.ops] == [
        "/features/features.0/features.0.0/Conv",
        "/features/features.0/features.0.2/Relu",
        "/features/features.1/conv/conv.0/conv.0.0/Conv",
        "/features/features.1/conv/conv.0/conv.0.2/Relu",
        "/relu/Relu",
        "/relu_1/Relu",
        "/Add",
        "/Add_1",
    ]


def test_pool_out_matches_torch_shapes() -> None:
    assert pool_out(224, 7, 2, 3) == 112  # resnet stem
    assert pool_out(112, 3, 2, 1) == 56  # resnet maxpool
    assert pool_out(56, 3, 2, 0, ceil_mode=True) == 28  # googlenet maxpool2 (floor: 27)
    assert pool_out(56, 3, 2, 0) == 27
    assert pool_out(109, 3, 2, 0, ceil_mode=True) == 54  # squeezenet1_0 after conv 7x7/2


def test_build_is_cached() -> None:
    # Build speed is measured in benchmarks/, never timed in a unit test.
    assert zoo.build("resnet18") is zoo.build("resnet18")


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(FusePlanError, match="did you mean resnet50"):
        zoo.build("resnet5")
    with pytest.raises(FusePlanError, match="fuseplan zoo"):
        zoo.info("alexnet")


# ----- the command -----
def test_zoo_command_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line[:1] in "│|"}
    assert set(zoo.NAMES) <= set(lines)
    assert "99" in lines["mobilenet_v2"] and "3,487,816" in lines["mobilenet_v2"]
    assert "3x299x299" in lines["inception_v3"] and "27,161,264" in lines["inception_v3"]


def test_zoo_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == list(zoo.NAMES) and len(data) == 22
    r18 = data[zoo.NAMES.index("resnet18")]
    assert (r18["ops"], r18["params"], r18["input_shape"]) == (48, 11_684_712, [3, 224, 224])


def test_load_graph_takes_a_zoo_name() -> None:
    from fuseplan.models.load import load_graph

    assert load_graph("resnet18") is zoo.build("resnet18")
    with pytest.raises(FusePlanError, match="did you mean mobilenet_v2"):
        load_graph("mobilenet_2")
