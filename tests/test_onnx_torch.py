"""Real exports: a small CNN with every pattern of a torchvision net, through both torch
exporters (legacy TorchScript at opset 17, and the default torch.export-based one at its
default opset, 20, and at 18)."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from pathlib import Path

import pytest

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.onnx_import import import_onnx

torch = pytest.importorskip("torch")
nn = torch.nn


class TinyNet(nn.Module):
    """conv-bn-relu stem, residual block, strided conv, depthwise + ReLU6, dilated conv,
    squeeze-excite, nearest upsample + concat with the stem, global pooling + linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.res1 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.res2 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.dil = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.se1 = nn.Conv2d(8, 2, 1)
        self.se2 = nn.Conv2d(2, 8, 1)
        self.fc = nn.Linear(16, 10)
        with torch.no_grad():  # non-trivial BN statistics so that folded biases are non-zero
            for i, bn in enumerate((self.stem[1], self.res1[1], self.res2[1])):
                g = torch.Generator().manual_seed(i)
                bn.running_mean.copy_(torch.randn(8, generator=g))
                bn.running_var.copy_(torch.rand(8, generator=g) + 0.5)
                bn.bias.copy_(torch.randn(8, generator=g))
        # self.dw's BatchNorm keeps its default statistics: its folded bias is zero

    def forward(self, x):
        s = self.stem(x)
        r = torch.relu(self.res2(self.res1(s)) + s)
        d = torch.relu(self.dil(self.dw(torch.relu(self.down(r)))))
        w = torch.sigmoid(self.se2(torch.relu(self.se1(nn.functional.adaptive_avg_pool2d(d, 1)))))
        u = nn.functional.interpolate(d * w, scale_factor=2.0, mode="nearest")
        c = torch.cat([u, s], dim=1)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(c, 1), 1))


# (kind, output shape, params, k, s, is_global), by hand: 3x16x16 input
EXPECTED = [
    ("Conv", (8, 16, 16), 8 * 27 + 8, 3, 1, False),      # stem, BN folded: gains a bias
    ("Relu", (8, 16, 16), 0, 1, 1, False),
    ("Conv", (8, 16, 16), 8 * 72 + 8, 3, 1, False),
    ("Relu", (8, 16, 16), 0, 1, 1, False),
    ("Conv", (8, 16, 16), 8 * 72 + 8, 3, 1, False),
    ("Add", (8, 16, 16), 0, 1, 1, False),
    ("Relu", (8, 16, 16), 0, 1, 1, False),
    ("Conv", (8, 8, 8), 8 * 72 + 8, 3, 2, False),         # strided
    ("Relu", (8, 8, 8), 0, 1, 1, False),
    ("Conv", (8, 8, 8), 72, 3, 1, False),                 # depthwise; bias checked apart
    ("Clip", (8, 8, 8), 0, 1, 1, False),                  # ReLU6
    ("Conv", (8, 8, 8), 8 * 72 + 8, 5, 1, False),         # dilated: 2*(3-1)+1 = 5
    ("Relu", (8, 8, 8), 0, 1, 1, False),
    ("GAP", (8, 1, 1), 0, 8, 8, True),
    ("Conv", (2, 1, 1), 2 * 8 + 2, 1, 1, False),
    ("Relu", (2, 1, 1), 0, 1, 1, False),
    ("Conv", (8, 1, 1), 8 * 2 + 8, 1, 1, False),
    ("Sigmoid", (8, 1, 1), 0, 1, 1, False),
    ("Mul", (8, 8, 8), 0, 1, 1, False),
    ("Resize", (8, 16, 16), 0, 1, Fraction(1, 2), False),
    ("Concat", (16, 16, 16), 0, 1, 1, False),
    ("GAP", (16, 1, 1), 0, 16, 16, True),
    ("Gemm", (10, 1, 1), 16 * 10 + 10, 1, 1, False),
]


def _rows(g: Graph) -> list[tuple]:
    rows = []
    for op in g.ops:
        kind = "GAP" if op.kind in ("GlobalAveragePool", "ReduceMean") else op.kind
        # the depthwise conv's bias depends on the exporter: count its weights only here
        params = math.prod(op.param_shapes[0]) if op.id == 9 else op.params
        rows.append((kind, g.tensors[op.output].shape, params, op.k, op.s, op.is_global))
    return rows


def _export(path: Path, dynamo: bool, **kw) -> Path:
    model = TinyNet().eval()
    x = torch.randn(1, 3, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            # the default opset (20 with torch 2.13), as a user gets it
            torch.onnx.export(model, (x,), str(path), dynamo=True, verbose=False)
        else:
            torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17,
                              input_names=["x"], **kw)
    return path


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Graph:
    return import_onnx(_export(tmp_path_factory.mktemp("legacy") / "tiny.onnx", dynamo=False))


@pytest.fixture(scope="module")
def dynamo(tmp_path_factory) -> Graph:
    # The torch.export-based exporter takes ~9 s here (tracing + onnxscript): one export, shared.
    pytest.importorskip("onnxscript")
    return import_onnx(_export(tmp_path_factory.mktemp("dynamo") / "tiny.onnx", dynamo=True))


def _edges(g: Graph) -> list[tuple[int, ...]]:
    return [op.inputs for op in g.ops]


def test_legacy_export(legacy: Graph) -> None:
    assert _rows(legacy) == EXPECTED
    dw = legacy.ops[9]
    assert dw.attr("group") == 8 and dw.params == 80  # the legacy exporter keeps a zero bias
    assert legacy.ops[0].name == "/stem/stem.0/Conv"
    assert legacy.ops[-1].absorbed == ("/Flatten",)
    assert _edges(legacy)[5] == (legacy.ops[4].output, legacy.ops[1].output)  # the residual add


@pytest.mark.slow
def test_dynamo_export(dynamo: Graph, legacy: Graph) -> None:
    assert _rows(dynamo) == EXPECTED
    assert dynamo.ops[9].params == 72  # the exporter dropped the zero bias: we do not restore it
    assert _edges(dynamo) == _edges(legacy)  # same wiring, op for op
    assert dynamo.ops[7].name == "node_conv2d_3"  # generated names, kept as the file has them


def test_dynamic_axes_need_input_shape(tmp_path: Path, legacy: Graph) -> None:
    path = _export(tmp_path / "dyn.onnx", dynamo=False,
                   dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}})
    with pytest.raises(FusePlanError, match="--input-shape"):
        import_onnx(path)
    g = import_onnx(path, input_shape=(1, 3, 16, 16))
    assert _rows(g) == EXPECTED and _edges(g) == _edges(legacy)


def test_export_round_trip_of_real_exports(tmp_path: Path, legacy: Graph, dynamo: Graph) -> None:
    from fuseplan.models.onnx_export import export_onnx
    from fuseplan.models.transforms import fold_activations

    for i, g in enumerate((legacy, dynamo, fold_activations(legacy))):
        path = tmp_path / f"rt{i}.onnx"
        export_onnx(g, path)
        assert import_onnx(path) == g


class MiscNet(nn.Module):
    """Constant-padded map (pads computed by a constant subgraph in the legacy export), strided
    ConvTranspose, bilinear resize to the input's size (Shape -> Slice -> Concat), ELU,
    InstanceNorm, HardSwish, channel mean, Softmax over channels, Linear on a 4-D map."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.ct = nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1)
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.lin = nn.Linear(11, 6)

    def forward(self, x):
        F = nn.functional
        y = F.pad(F.leaky_relu(self.c(x), 0.1), (1, 1, 1, 1), value=0.5)
        y = self.ct(F.max_pool2d(y, 3, 2, ceil_mode=True))
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        y = self.inorm(F.elu(y)) + F.hardswish(y)
        z = torch.softmax(y.mean(1, keepdim=True) * y, 1)
        return self.lin(F.max_pool2d(z, (12, 2), stride=(12, 1))).flatten(1)


# by hand, input 3x12x12: pad 12 -> 14; maxpool k3 s2 ceil: 7; ConvTranspose k4 s2 p1:
# (7-1)*2+4-2 = 14, k = ceil(4/2) = 2; resize 14 -> 12 (s = 14/12 = 7/6); maxpool (12, 2)
# stride (12, 1): 1 x 11; Linear(11, 6) on the last axis: MatMul (66) + Add (6), k = 1
MISC_EXPECTED = [
    ("Conv", (4, 12, 12), 112, 3, 1), ("LeakyRelu", (4, 12, 12), 0, 1, 1),
    ("Pad", (4, 14, 14), 0, 1, 1), ("MaxPool", (4, 7, 7), 0, 3, 2),
    ("ConvTranspose", (4, 14, 14), 4 * 4 * 16 + 4, 2, Fraction(1, 2)),
    ("Resize", (4, 12, 12), 0, 2, Fraction(7, 6)), ("Elu", (4, 12, 12), 0, 1, 1),
    ("InstanceNormalization", (4, 12, 12), 8, 12, 1),  # statistics over the whole map: global
    ("HardSwish", (4, 12, 12), 0, 1, 1),
    ("Add", (4, 12, 12), 0, 1, 1), ("ReduceMean", (1, 12, 12), 0, 1, 1),
    ("Mul", (4, 12, 12), 0, 1, 1), ("Softmax", (4, 12, 12), 0, 1, 1),
    ("MaxPool", (4, 1, 11), 0, 12, 12), ("MatMul", (4, 1, 6), 66, 1, 1), ("Add", (4, 1, 6), 6, 1, 1),
]


@pytest.mark.parametrize("use_dynamo", [False, True])
def test_misc_ops_both_exporters(tmp_path: Path, use_dynamo: bool) -> None:
    if use_dynamo:
        pytest.importorskip("onnxscript")
    path = tmp_path / "misc.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = torch.randn(1, 3, 12, 12)
        if use_dynamo:
            torch.onnx.export(MiscNet().eval(), (x,), str(path), dynamo=True, opset_version=18, verbose=False)
        else:
            torch.onnx.export(MiscNet().eval(), (x,), str(path), dynamo=False, opset_version=17)
    g = import_onnx(path)
    assert [(op.kind, g.tensors[op.output].shape, op.params, op.k, op.s) for op in g.ops] == MISC_EXPECTED
    assert [op.kind for op in g.ops if op.is_global] == ["InstanceNormalization"]
    if not use_dynamo:  # the pads' constant subgraph and the final Flatten are recorded
        assert "/ConstantOfShape" in g.ops[2].absorbed and g.ops[-1].absorbed == ("/Flatten",)


def test_legacy_export_without_constant_folding_folds_batchnorm_here(tmp_path: Path, legacy: Graph) -> None:
    """do_constant_folding=False keeps BatchNormalization nodes and constant subgraphs in the
    file: the importer folds them itself and gets the same graph (plus what it absorbed)."""
    path = _export(tmp_path / "nofold.onnx", dynamo=False, do_constant_folding=False)
    g = import_onnx(path)
    assert _rows(g) == EXPECTED and _edges(g) == _edges(legacy)
    assert g.ops[0].absorbed == ("/stem/stem.1/BatchNormalization",)
    assert g.ops[9].params == 80  # the depthwise conv had no bias: it gains one of C_out = 8
    assert g.ops[9].absorbed[-1] == "/dw/dw.1/BatchNormalization"


class TinyConvNeXt(nn.Module):
    """Stem conv 2x2/2 + LayerNorm2d, one CNBlock (dw 3x3, permute, LayerNorm, Linear 4C,
    GELU, Linear C, permute, layer scale, residual), pooling, LayerNorm2d, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 2, stride=2)
        self.stem_norm = nn.LayerNorm(8, eps=1e-6)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 8)
        self.gamma = nn.Parameter(torch.full((8, 1, 1), 0.5))
        self.head_norm = nn.LayerNorm(8, eps=1e-6)
        self.head = nn.Linear(8, 10)

    @staticmethod
    def norm2d(norm: nn.Module, x):
        return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward(self, x):
        x = self.norm2d(self.stem_norm, self.stem(x))
        y = self.norm(self.dw(x).permute(0, 2, 3, 1))
        y = self.fc2(nn.functional.gelu(self.fc1(y))).permute(0, 3, 1, 2)
        x = self.gamma * y + x
        x = self.norm2d(self.head_norm, nn.functional.adaptive_avg_pool2d(x, 1))
        return self.head(torch.flatten(x, 1))


class TinyShuffleNet(nn.Module):
    """conv, a stride-2 unit (two branches, concat), a stride-1 unit (chunk, one branch,
    concat), each ending in a channel shuffle; x.mean([2, 3]); Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.b2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.b3 = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(16, 10)

    @staticmethod
    def shuffle(x):
        n, c, h, w = x.shape
        return x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = self.shuffle(torch.cat((self.b1(x), self.b2(x)), dim=1))
        keep, rest = x.chunk(2, dim=1)
        x = self.shuffle(torch.cat((keep, torch.relu(self.b3(rest))), dim=1))
        return self.fc(x.mean([2, 3]))


def _export_module(module: nn.Module, path: Path, dynamo: bool) -> Graph:
    x = torch.randn(1, 3, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(module.eval(), (x,), str(path), dynamo=True, verbose=False)
        else:
            torch.onnx.export(module.eval(), (x,), str(path), dynamo=False, opset_version=17)
    return import_onnx(path)


# (kind, output shape, params, k, is_global), by hand: 3x16x16 input
CONVNEXT_EXPECTED = [
    ("Conv", (8, 8, 8), 8 * 12 + 8, 2, False),
    ("LayerNormalization", (8, 8, 8), 16, 1, False),  # over channels: 2C, per position
    ("Conv", (8, 8, 8), 72 + 8, 3, False),
    ("LayerNormalization", (8, 8, 8), 16, 1, False),
    ("MatMul", (32, 8, 8), 8 * 32 + 32, 1, False),  # pointwise, bias Add folded
    ("Gelu", (32, 8, 8), 0, 1, False),
    ("MatMul", (8, 8, 8), 32 * 8 + 8, 1, False),
    ("Mul", (8, 8, 8), 8, 1, False),  # layer scale (8, 1, 1)
    ("Add", (8, 8, 8), 0, 1, False),
    ("GAP", (8, 1, 1), 0, 8, True),
    ("LayerNormalization", (8, 1, 1), 16, 1, False),
    ("Gemm", (10, 1, 1), 8 * 10 + 10, 1, False),
]
SHUFFLE_EXPECTED = [
    ("Conv", (8, 16, 16), 8 * 27 + 8, 3, False), ("Relu", (8, 16, 16), 0, 1, False),
    ("Conv", (8, 8, 8), 72 + 8, 3, False), ("Conv", (8, 8, 8), 8 * 72 + 8, 3, False),
    ("Concat", (16, 8, 8), 0, 1, False), ("ChannelShuffle", (16, 8, 8), 0, 1, False),
    ("Slice", (8, 8, 8), 0, 1, False), ("Slice", (8, 8, 8), 0, 1, False),
    ("Conv", (8, 8, 8), 64 + 8, 1, False), ("Relu", (8, 8, 8), 0, 1, False),
    ("Concat", (16, 8, 8), 0, 1, False), ("ChannelShuffle", (16, 8, 8), 0, 1, False),
    ("GAP", (16, 1, 1), 0, 8, True), ("Gemm", (10, 1, 1), 16 * 10 + 10, 1, False),
]


@pytest.mark.parametrize("module, expected", [(TinyConvNeXt, CONVNEXT_EXPECTED),
                                              (TinyShuffleNet, SHUFFLE_EXPECTED)])
def test_convnext_and_shufflenet_patterns_through_both_exporters(
    tmp_path: Path, module, expected
) -> None:
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    net = module()
    graphs = [_export_module(net, tmp_path / f"{d}.onnx", dynamo=d) for d in (False, True)]
    for g in graphs:
        rows = [("GAP" if op.kind in ("GlobalAveragePool", "ReduceMean") else op.kind,
                 g.tensors[op.output].shape, op.params, op.k, op.is_global) for op in g.ops]
        assert rows == expected
        assert "Transpose" not in {op.kind for op in g.ops}
    assert _edges(graphs[0]) == _edges(graphs[1])  # same wiring, op for op
