"""The network zoo: CNNs built by our own code, equal op for op to torchvision's ONNX export.

``NAMES`` lists the nets, ``build(name)`` returns one as a :class:`Graph` (cached: graphs are
immutable), ``info(name)`` its :class:`ZooInfo`, ``params_before_folding(name)`` the parameter
count of the torch module before BatchNorm folding. Each net equals what
``fuseplan.models.onnx_import.import_onnx`` makes of torchvision's export in eval mode with the
legacy exporter at opset 17: same op names, kinds, order, shapes, parameters, k, s, attrs and
edges. ``tests/fixtures/zoo/<name>.json`` holds that import (weight-free), so the tests check
the zoo without torchvision.

How to add a net (one family per module):

1. Write ``models/zoo/<family>.py`` with a function returning ``(graph, params_before_folding)``
   built with :class:`~.netbuilder.NetBuilder`. Mirror the torchvision module tree: enter each
   child module with ``b.scope(attr, ...)`` exactly where torchvision's ``forward`` calls it, and
   add ops in the order ``forward`` runs them (ops a forward does functionally, such as
   ``x + y`` or ``torch.flatten``, go in the current scope). BatchNorm leaves no op: pass
   ``bn=True`` to the conv before it. Dropout / Identity / StochasticDepth leave nothing.
   Use the helpers (``conv``, ``conv_bn_act``, ``act``, ``add``, ``mul``, ``concat``,
   ``maxpool``, ``global_avgpool``, ``flatten``, ``linear``, ``classifier_head``) and add the
   ones you miss to ``netbuilder.py`` (attrs exactly as the ONNX node has them).
2. Register it in ``BUILDERS`` below (its entry in ``catalog.py`` already exists).
3. ``.venv/bin/python benchmarks/zoo_fixtures.py compare <name>`` prints every difference
   from the fixture; ``tests/test_zoo.py`` turns green for it (remove nothing there: the
   xfail for a net without a builder goes away by itself).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

from ..errors import FusePlanError
from ..graph import Graph
from .catalog import CATALOG, ZooInfo
from .convnext import convnext_tiny
from .deeplabv3 import deeplabv3_mobilenet_v3_large
from .densenet import densenet121
from .efficientnet import efficientnet
from .googlenet import googlenet
from .inception import inception_v3
from .mobilenet import mobilenet_v1, mobilenet_v2
from .mobilenet_v3 import mobilenet_v3_large, mobilenet_v3_small
from .resnet import resnet
from .shufflenet import shufflenet_v2_x1_0
from .squeezenet import squeezenet
from .vgg import vgg16

__all__ = [
    "NAMES", "BUILDERS", "ZooInfo", "ZooEntry", "build", "info", "params_before_folding", "entries",
]

NAMES: tuple[str, ...] = tuple(i.name for i in CATALOG)
_INFO = {i.name: i for i in CATALOG}

# name -> function returning (graph, parameters before BN folding)
BUILDERS: dict[str, Callable[[], tuple[Graph, int]]] = {
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "mobilenet_v3_large": mobilenet_v3_large,
    **{n: partial(efficientnet, n) for n in (f"efficientnet_b{i}" for i in range(4))},
    **{n: partial(resnet, n) for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
    "deeplabv3_mobilenet_v3_large": deeplabv3_mobilenet_v3_large,
    "vgg16": vgg16,
    **{n: partial(squeezenet, n) for n in ("squeezenet1_0", "squeezenet1_1")},
    "googlenet": googlenet,
    "densenet121": densenet121,
    "inception_v3": inception_v3,
    "convnext_tiny": convnext_tiny,
    "shufflenet_v2_x1_0": shufflenet_v2_x1_0,
}


def _check(name: str) -> None:
    if name in _INFO and name in BUILDERS:
        return
    if name in _INFO:
        raise FusePlanError(f"zoo net {name!r} has no builder yet; use an ONNX export of it for now")
    close = difflib.get_close_matches(name, NAMES, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise FusePlanError(
        f"{name!r} is not a zoo net, an existing file or a generated net: {hint}"
        "`fuseplan zoo` lists the nets"
    )


@lru_cache(maxsize=None)
def _build(name: str) -> tuple[Graph, int]:
    return BUILDERS[name]()


def build(name: str) -> Graph:
    """The zoo net ``name`` (NAMES lists them) as a Graph."""
    _check(name)
    return _build(name)[0]


def params_before_folding(name: str) -> int:
    """Parameters of the torch module, BatchNorm unfolded (weight and bias: 2 per channel)."""
    _check(name)
    return _build(name)[1]


def info(name: str) -> ZooInfo:
    if name not in _INFO:
        _check(name)
    return _INFO[name]


@dataclass(frozen=True, slots=True)
class ZooEntry:
    """One line of ``fuseplan zoo``: the catalog record and, once built, what the graph holds."""

    info: ZooInfo
    built: bool
    ops: int | None = None
    params: int | None = None  # after BatchNorm folding, as the graph counts them
    params_before_folding: int | None = None


def entries() -> tuple[ZooEntry, ...]:
    """Every zoo net in NAMES order (nets without a builder yet: built=False)."""
    out = []
    for name in NAMES:
        if name in BUILDERS:
            graph, before = _build(name)
            out.append(ZooEntry(_INFO[name], True, graph.num_ops, graph.total_params, before))
        else:
            out.append(ZooEntry(_INFO[name], False))
    return tuple(out)
