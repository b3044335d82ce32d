"""What the zoo holds: one :class:`ZooInfo` per net, in the order ``fuseplan zoo`` lists them.

``published_params`` is the count the net's publisher gives (torchvision's weights meta
``num_params``; Keras' trainable count for mobilenet_v1). ``params_before_folding`` is what the
zoo net has before BatchNorm folding: the published count minus any auxiliary head the zoo
leaves out (counted by ``benchmarks/zoo_fixtures.py export``: sum of the torch module's
parameters with the heads off).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ZooInfo:
    name: str
    family: str
    input_shape: tuple[int, int, int]  # (C, H, W), batch 1
    published_params: int
    params_before_folding: int
    note: str = ""


def _info(name: str, family: str, size: int, published: int, before: int | None = None,
          note: str = "") -> ZooInfo:
    return ZooInfo(name, family, (3, size, size), published,
                   published if before is None else before, note)


CATALOG: tuple[ZooInfo, ...] = (
    _info("mobilenet_v2", "mobilenet", 224, 3_504_872),
    _info("mobilenet_v3_small", "mobilenet", 224, 2_542_856),
    _info("mobilenet_v3_large", "mobilenet", 224, 5_483_032),
    _info("resnet18", "resnet", 224, 11_689_512),
    _info("resnet34", "resnet", 224, 21_797_672),
    _info("resnet50", "resnet", 224, 25_557_032),
    _info("resnet101", "resnet", 224, 44_549_160),
    _info("resnet152", "resnet", 224, 60_192_808),
    _info("vgg16", "vgg", 224, 138_357_544),
    _info("squeezenet1_0", "squeezenet", 224, 1_248_424),
    _info("squeezenet1_1", "squeezenet", 224, 1_235_496),
    _info("efficientnet_b0", "efficientnet", 224, 5_288_548),
    _info("efficientnet_b1", "efficientnet", 224, 7_794_184),
    _info("efficientnet_b2", "efficientnet", 224, 9_109_994),
    _info("efficientnet_b3", "efficientnet", 300, 12_233_232),
    _info("densenet121", "densenet", 224, 7_978_856),
    _info("googlenet", "googlenet", 224, 6_624_904,
          note="without aux heads (the published count excludes them)"),
    _info("inception_v3", "inception", 299, 27_161_264, 23_834_568,
          note="without aux heads: 23,834,568 before folding (published count includes them)"),
    _info("deeplabv3_mobilenet_v3_large", "deeplabv3", 513, 11_029_328, 11_025_477,
          note="without aux head: 11,025,477 before folding (published count includes it)"),
    _info("mobilenet_v1", "mobilenet", 224, 4_231_976,
          note="1.0-224, torchvision style; Keras' trainable count"),
    _info("convnext_tiny", "convnext", 224, 28_589_128),
    _info("shufflenet_v2_x1_0", "shufflenet", 224, 2_278_604),
)
