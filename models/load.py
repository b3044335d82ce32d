"""One entry point from a user's NET_OR_FILE argument to a :class:`Graph`.

Accepted: a zoo name (``fuseplan zoo`` lists them), a generated net (``wide:ops=400,width=8,
seed=0``, ``cells:...``), an ONNX file, or a graph JSON written by ``fuseplan graph --json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import FusePlanError
from .graph import Graph


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"1x3x224x224"`` -> (1, 3, 224, 224); a clear error for anything else."""
    try:
        dims = tuple(int(x) for x in text.lower().replace(",", "x").split("x"))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise FusePlanError(
            f"--input-shape {text!r} is not a shape: write positive integers joined by 'x', "
            "e.g. 1x3x224x224"
        )
    return dims


def load_graph(
    spec: str,
    *,
    input_shape: Sequence[int] | None = None,
    fold_activations: bool = False,
) -> Graph:
    """The graph named by ``spec``; activations folded into their producers if asked."""
    graph = _load(spec, input_shape)
    if fold_activations:
        from .transforms import fold_activations as fold

        graph = fold(graph)
    return graph


def _load(spec: str, input_shape: Sequence[int] | None) -> Graph:
    path = Path(spec)
    if spec.lower().endswith(".onnx") or (path.suffix and path.exists()):
        if spec.lower().endswith(".json"):
            from .graph_json import read_graph_json

            return read_graph_json(path)
        from .onnx_import import import_onnx

        return import_onnx(path, input_shape=input_shape)
    if input_shape is not None:
        raise FusePlanError(
            f"--input-shape applies to ONNX files only; {spec!r} is a built-in net with a fixed shape"
        )
    prefix, sep, _ = spec.partition(":")
    if sep:
        from .generators import GENERATORS, build_generated

        if prefix in GENERATORS:
            return build_generated(spec)
        raise FusePlanError(
            f"unknown generated net {prefix!r} in {spec!r}: use one of {', '.join(sorted(GENERATORS))}"
        )
    from . import zoo

    return zoo.build(spec)
