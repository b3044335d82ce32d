"""Checks the zoo against torchvision itself, and makes the weight-free test fixtures.

Three modes:

``export`` (run with a throwaway venv holding torch and torchvision, never with the project's
venv: the project does not depend on torchvision). Either torch 2.14.1 + torchvision 0.29.1,
or, without the multi-GB download, the local torch 2.13 CPU build with torchvision 0.28
installed without its dependencies (``import_torchvision`` below makes it import)::

    python3 -m venv /tmp/tvvenv
    /tmp/tvvenv/bin/pip install torch==2.13.0 onnx pillow
    /tmp/tvvenv/bin/pip install --no-deps torchvision==0.28.0
    /tmp/tvvenv/bin/python benchmarks/zoo_fixtures.py export [--out /tmp/zoo_onnx] [NAME ...]

builds every net (weights=None, eval(), no auxiliary heads, batch 1), exports it with the
legacy exporter exactly as ``torch.onnx.export(model, x, path, dynamo=False,
opset_version=17)`` and writes ``<out>/<name>.onnx`` plus ``<out>/params.json`` (each net's
``sum(p.numel() for p in model.parameters())``, before any folding). mobilenet_v1 is not in
torchvision: :class:`MobileNetV1` below is a torchvision-style module of it.

``fixtures`` (project venv): imports each ONNX file with ``fuseplan.models.onnx_import`` and
writes ``tests/fixtures/zoo/<name>.json`` (graph JSON, no weights) and ``params.json``::

    .venv/bin/python benchmarks/zoo_fixtures.py fixtures [--onnx /tmp/zoo_onnx]

``compare`` (project venv): ``zoo.build(name)`` against the imported graph (the ONNX file if
there is one, else the fixture), op for op; prints every difference::

    .venv/bin/python benchmarks/zoo_fixtures.py compare [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "zoo"
DEFAULT_ONNX = Path("/tmp/zoo_onnx")

# name -> (torchvision builder, keyword arguments, input H = W)
TORCHVISION_NETS: dict[str, tuple[str, dict[str, Any], int]] = {
    "mobilenet_v2": ("mobilenet_v2", {}, 224),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 224),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, 224),
    "resnet18": ("resnet18", {}, 224),
    "resnet34": ("resnet34", {}, 224),
    "resnet50": ("resnet50", {}, 224),
    "resnet101": ("resnet101", {}, 224),
    "resnet152": ("resnet152", {}, 224),
    "vgg16": ("vgg16", {}, 224),
    "squeezenet1_0": ("squeezenet1_0", {}, 224),
    "squeezenet1_1": ("squeezenet1_1", {}, 224),
    "efficientnet_b0": ("efficientnet_b0", {}, 224),
    "efficientnet_b1": ("efficientnet_b1", {}, 224),
    "efficientnet_b2": ("efficientnet_b2", {}, 224),
    "efficientnet_b3": ("efficientnet_b3", {}, 300),
    "densenet121": ("densenet121", {}, 224),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": False}, 224),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": False}, 299),
    "deeplabv3_mobilenet_v3_large": (
        "deeplabv3_mobilenet_v3_large", {"weights_backbone": None, "aux_loss": False}, 513
    ),
    "convnext_tiny": ("convnext_tiny", {}, 224),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}, 224),
}
ALL_NETS = tuple(TORCHVISION_NETS) + ("mobilenet_v1",)


# --------------------------------------------------------------------------- export
def mobilenet_v1_module() -> Any:
    """MobileNetV1 1.0-224 as a torchvision-style module (4,231,976 trainable parameters).

    ``features.0`` is conv3x3/2-BN-ReLU6; ``features.1`` .. ``features.13`` are each a
    depthwise conv-BN-ReLU6 (``features.N.0``) and a pointwise conv-BN-ReLU6 (``features.N.1``);
    then ``avgpool`` (adaptive, 1x1), flatten, ``classifier`` (Dropout, Linear 1024 -> 1000).
    Keras pads stride-2 convs asymmetrically; here every 3x3 conv has padding 1 (same shapes,
    same parameters).
    """
    from torch import nn

    def conv_bn(cin: int, cout: int, stride: int, groups: int, k: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )

    # (output channels, stride) of the 13 depthwise-separable blocks
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [
        (1024, 2), (1024, 1)
    ]

    class MobileNetV1(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [conv_bn(3, 32, 2, 1, 3)]
            cin = 32
            for cout, stride in blocks:
                layers.append(
                    nn.Sequential(conv_bn(cin, cin, stride, cin, 3), conv_bn(cin, cout, 1, 1, 1))
                )
                cin = cout
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Dropout(0.001), nn.Linear(1024, 1000))

        def forward(self, x: Any) -> Any:
            import torch

            x = self.avgpool(self.features(x))
            return self.classifier(torch.flatten(x, 1))

    return MobileNetV1()


def import_torchvision() -> Any:
    """torchvision, also when its compiled ops do not match the torch beside it (torchvision
    0.28 with torch 2.13's CPU build: registering the fake kernel of ``torchvision::nms``
    fails). The models need none of those ops, so that registration is skipped."""
    import torch

    try:
        import torchvision
    except RuntimeError:
        register_fake = torch.library.register_fake
        torch.library.register_fake = lambda *a, **k: (lambda f: f)  # type: ignore[assignment]
        try:
            import torchvision
        finally:
            torch.library.register_fake = register_fake  # type: ignore[assignment]
    return torchvision


def build_module(name: str) -> tuple[Any, int]:
    if name == "mobilenet_v1":
        return mobilenet_v1_module(), 224
    torchvision = import_torchvision()

    fn_name, kwargs, size = TORCHVISION_NETS[name]
    if name.startswith("deeplabv3"):
        fn = getattr(torchvision.models.segmentation, fn_name)
    else:
        fn = getattr(torchvision.models, fn_name)
    return fn(weights=None, **kwargs), size


def export(names: list[str], out: Path) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    counts_path = out / "params.json"
    counts = json.loads(counts_path.read_text()) if counts_path.exists() else {}
    for name in names:
        t0 = time.perf_counter()
        torch.manual_seed(0)
        model, size = build_module(name)
        model.eval()
        counts[name] = sum(p.numel() for p in model.parameters())
        x = torch.randn(1, 3, size, size)
        path = out / f"{name}.onnx"
        with torch.no_grad():
            torch.onnx.export(model, x, str(path), dynamo=False, opset_version=17)
        print(f"{name}: {counts[name]:,} params, {path} ({time.perf_counter() - t0:.1f} s)")
        counts_path.write_text(json.dumps(counts, indent=2) + "\n")


# --------------------------------------------------------------------------- fixtures
def make_fixtures(names: list[str], onnx_dir: Path) -> None:
    from fuseplan.models.graph_json import write_graph_json
    from fuseplan.models.onnx_import import import_onnx

    FIXTURES.mkdir(parents=True, exist_ok=True)
    kept = FIXTURES / "params.json"  # the counts of nets not exported this time stay
    counts = json.loads(kept.read_text()) if kept.exists() else {}
    counts.update(json.loads((onnx_dir / "params.json").read_text()))
    for name in names:
        graph = import_onnx(onnx_dir / f"{name}.onnx")
        write_graph_json(graph, FIXTURES / f"{name}.json")
        print(f"{name}: {graph.num_ops} ops, {graph.total_params:,} params after folding")
    ordered = {n: counts[n] for n in ALL_NETS if n in counts}
    (FIXTURES / "params.json").write_text(json.dumps(ordered, indent=2) + "\n")


# --------------------------------------------------------------------------- compare
def compare(names: list[str], onnx_dir: Path) -> int:
    from fuseplan.models import zoo
    from fuseplan.models.zoo.compare import graph_differences

    failures = 0
    for name in names:
        onnx_path = onnx_dir / f"{name}.onnx"
        if onnx_path.exists():
            from fuseplan.models.onnx_import import import_onnx

            reference, source = import_onnx(onnx_path), str(onnx_path)
        else:
            from fuseplan.models.graph_json import read_graph_json

            reference, source = read_graph_json(FIXTURES / f"{name}.json"), "fixture"
        if name not in zoo.BUILDERS:
            print(f"{name}: no builder yet ({reference.num_ops} ops in {source})")
            continue
        t0 = time.perf_counter()
        ours = zoo.build(name)
        dt = time.perf_counter() - t0
        diffs = graph_differences(reference, ours)
        failures += bool(diffs)
        status = "EQUAL" if not diffs else f"{len(diffs)} differences"
        print(f"{name}: {status} vs {source} ({ours.num_ops} ops, built in {dt * 1000:.1f} ms)")
        for line in diffs:
            print(f"  {line}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("export", "fixtures", "compare"))
    parser.add_argument("names", nargs="*", help="nets (default: all)")
    parser.add_argument("--out", "--onnx", dest="onnx", type=Path, default=DEFAULT_ONNX,
                        help=f"folder of the ONNX exports (default {DEFAULT_ONNX})")
    args = parser.parse_args(argv)
    names = args.names or list(ALL_NETS)
    unknown = [n for n in names if n not in ALL_NETS]
    if unknown:
        parser.error(f"unknown nets {unknown}; known: {', '.join(ALL_NETS)}")
    if args.mode == "export":
        export(names, args.onnx)
        return 0
    if args.mode == "fixtures":
        make_fixtures(names, args.onnx)
        return 0
    return compare(names, args.onnx)


if __name__ == "__main__":
    sys.exit(main())
