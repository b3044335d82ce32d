"""One entry point from a user's NET_OR_FILE argument to a :class:`Graph`.

Accepted: a zoo name (``fuseplan zoo`` lists them; ``zoo:NAME`` works too), a generated net
(``wide:ops=400,width=8,seed=0``, ``cells:...``), an ONNX file, or a graph JSON written by
``fuseplan graph --json``.

The graph's ``source`` is always a spec this module loads again: ``zoo:NAME``, the canonical
generator spec, or the file's absolute path. :class:`GraphLoad` adds the load options, so a
plan file can name exactly how to rebuild the graph it was made for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import FusePlanError
from .graph import Graph

ZOO_PREFIX = "zoo:"


@dataclass(frozen=True)
class GraphLoad:
    """How a graph was loaded: a spec :func:`load_graph` accepts plus the load options."""

    spec: str
    fold_activations: bool = False
    input_shape: tuple[int, ...] | None = None
    unsupported: str = "error"

    def load(self) -> Graph:
        """The graph again, loaded the same way."""
        return load_graph(
            self.spec, input_shape=self.input_shape, fold_activations=self.fold_activations,
            unsupported=self.unsupported,
        )

    def describe(self) -> str:
        """The load as command-line words, e.g. ``zoo:mobilenet_v2 --fold-activations``."""
        words = [self.spec]
        if self.fold_activations:
            words.append("--fold-activations")
        if self.input_shape is not None:
            words.append("--input-shape " + "x".join(map(str, self.input_shape)))
        if self.unsupported != "error":
            words.append(f"--unsupported {self.unsupported}")
        return " ".join(words)


def graph_load_of(
    graph: Graph, *, fold_activations: bool = False, input_shape: Sequence[int] | None = None,
    unsupported: str = "error",
) -> GraphLoad:
    """The record of a graph :func:`load_graph` returned, given the options it was called with."""
    if not graph.source:
        raise FusePlanError(
            f"graph {graph.name!r} has no source to reload it from: load it with load_graph"
        )
    shape = None if input_shape is None else tuple(int(d) for d in input_shape)
    spec = graph.source
    if Path(spec).is_file():  # a graph imported directly may hold a relative path
        spec = str(Path(spec).resolve())
    return GraphLoad(spec=spec, fold_activations=fold_activations, input_shape=shape,
                     unsupported=unsupported)


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
    unsupported: str = "error",
) -> Graph:
    """The graph named by ``spec``; activations folded into their producers if asked.

    ``unsupported="barrier"``: an ONNX op the importer does not know becomes a barrier (no
    effect on other specs, whose ops are all known). Its ``source`` is the spec to load it
    again (see the module docstring)."""
    graph = _load(spec, input_shape, unsupported)
    if fold_activations:
        from .transforms import fold_activations as fold

        graph = fold(graph)
    return graph


def _with_source(graph: Graph, source: str) -> Graph:
    return graph if graph.source == source else dataclasses.replace(graph, source=source)


def _load(spec: str, input_shape: Sequence[int] | None, unsupported: str = "error") -> Graph:
    path = Path(spec)
    a_file = path.is_file() and (bool(path.suffix) or _has_folder(spec))
    if spec.lower().endswith(".onnx") or a_file:
        absolute = str(path.resolve())
        if spec.lower().endswith(".json"):
            from .graph_json import read_graph_json

            if input_shape is not None:
                raise FusePlanError(
                    f"--input-shape applies to ONNX files only; {spec!r} is a graph JSON "
                    "with fixed shapes: drop --input-shape"
                )

            return _with_source(read_graph_json(path), absolute)
        from .onnx_import import import_onnx

        return _with_source(
            import_onnx(path, input_shape=input_shape, unsupported=unsupported), absolute
        )
    if _has_folder(spec) or spec.lower().endswith(".json"):
        problem = "is not a file" if path.exists() else "does not exist"
        raise FusePlanError(
            f"{spec!r} {problem}: give the path of an ONNX file or a graph JSON, "
            "or a zoo name (`fuseplan zoo` lists them)"
        )
    if input_shape is not None:
        raise FusePlanError(
            f"--input-shape applies to ONNX files only; {spec!r} is a built-in net with a fixed shape"
        )
    if spec.startswith(ZOO_PREFIX):
        spec = spec[len(ZOO_PREFIX):]
    prefix, sep, _ = spec.partition(":")
    if sep:
        from .generators import GENERATORS, build_generated, canonical_spec

        if prefix in GENERATORS:
            return _with_source(build_generated(spec), canonical_spec(spec))
        raise FusePlanError(
            f"unknown generated net {prefix!r} in {spec!r}: use one of "
            f"{', '.join(sorted(GENERATORS))} (or zoo:NAME for a zoo net)"
        )
    from . import zoo

    return _with_source(zoo.build(spec), ZOO_PREFIX + spec)



def _has_folder(spec: str) -> bool:
    """The spec names a folder, so it is a path (zoo names and generator specs have none)."""
    return "/" in spec or "\\" in spec
