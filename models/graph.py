"""The graph IR: frozen, typed records of tensors, ops and graphs.

Conventions (see docs/cost-models.md): batch 1, every tensor is (C, H, W) (a tensor without
spatial dims has H = W = 1), one output tensor per op, network inputs are tensors without a
producer. Ops and tensors have integer ids (their index in ``Graph.ops`` / ``Graph.tensors``);
ops are stored in a topological order, so an op's id is also its position in that order.
Names are for people and files: an op's name is its ONNX node name.

Graphs are built with :class:`GraphBuilder`, which checks every invariant once; the records
themselves are immutable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import FusePlanError

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

AttrValue = int | float | str | tuple[int, ...] | tuple[float, ...] | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tensor:
    """A feature map (C, H, W); ``producer`` is the op id, or None for a network input."""

    id: int
    name: str
    c: int
    h: int
    w: int
    producer: int | None

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.c, self.h, self.w)

    @property
    def elements(self) -> int:
        return self.c * self.h * self.w

    @property
    def row_elements(self) -> int:
        """Elements of one row: C * W."""
        return self.c * self.w


@dataclass(frozen=True, slots=True)
class Op:
    """One operator.

    ``kind`` is the ONNX op type after normalisation (``Conv``, ``Relu``, ``Add``, ...).
    ``inputs`` are the data-input tensor ids in the node's order; parameters (initializers)
    are not tensors of the graph: ``params`` counts their elements and ``param_shapes`` keeps
    their shapes in input order. ``k`` is the kernel height (dilated; the input height for a
    global op), ``s`` the row stride (1/f for an upsample by f). ``attrs`` keeps the ONNX
    attributes needed to write the op back to ONNX, as sorted (name, value) pairs.
    ``absorbed`` names the ONNX nodes folded into this op (BatchNormalization, shape-only ops).
    ``barrier``: an op the importer does not know (``--unsupported barrier``): never fused,
    an unfusable singleton at every buffer size (docs/cost-models.md).
    """

    id: int
    name: str
    kind: str
    inputs: tuple[int, ...]
    output: int
    params: int = 0
    k: int = 1
    s: Fraction = Fraction(1)
    is_global: bool = False
    attrs: tuple[tuple[str, AttrValue], ...] = ()
    param_shapes: tuple[tuple[int, ...], ...] = ()
    absorbed: tuple[str, ...] = ()
    barrier: bool = False

    def attr(self, name: str, default: Any = None) -> Any:
        for key, value in self.attrs:
            if key == name:
                return value
        return default


@dataclass(frozen=True)
class Graph:
    """An operator graph with static shapes; ops are in a topological order."""

    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    source: str = field(default="", compare=False)

    # ----- adjacency (derived once, cached) -----
    @cached_property
    def consumers(self) -> tuple[tuple[int, ...], ...]:
        """Per tensor id, the ids of the ops that read it (each op once, in op order)."""
        readers: list[list[int]] = [[] for _ in self.tensors]
        for op in self.ops:
            for t in dict.fromkeys(op.inputs):
                readers[t].append(op.id)
        return tuple(tuple(r) for r in readers)

    @cached_property
    def preds(self) -> tuple[tuple[int, ...], ...]:
        """Per op id, the ids of the ops producing its inputs (distinct, sorted)."""
        out = []
        for op in self.ops:
            producers = {self.tensors[t].producer for t in op.inputs}
            producers.discard(None)
            out.append(tuple(sorted(p for p in producers if p is not None)))
        return tuple(out)

    @cached_property
    def succs(self) -> tuple[tuple[int, ...], ...]:
        """Per op id, the ids of the ops reading its output (distinct, sorted)."""
        return tuple(self.consumers[op.output] for op in self.ops)

    @cached_property
    def _op_index(self) -> dict[str, int]:
        return {op.name: op.id for op in self.ops}

    @property
    def num_ops(self) -> int:
        return len(self.ops)

    @property
    def total_params(self) -> int:
        return sum(op.params for op in self.ops)

    def op_id(self, name: str) -> int:
        """The id of the op called ``name``; a clear error when there is none."""
        try:
            return self._op_index[name]
        except KeyError:
            raise FusePlanError(f"graph {self.name!r} has no op named {name!r}{self.op_hint(name)}") from None

    def op_hint(self, name: str) -> str:
        """For an unknown op name: the closest op names, and where to see them all."""
        import difflib

        close = difflib.get_close_matches(name, [op.name for op in self.ops], n=3, cutoff=0.5)
        guess = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"{guess} (`fuseplan graph NET --ops` lists every op by name)"

    def op_ids(self, names: Iterable[str]) -> list[int]:
        return [self.op_id(n) for n in names]

    def input_tensor(self, op: Op, position: int = 0) -> Tensor:
        return self.tensors[op.inputs[position]]

    def output_tensor(self, op: Op) -> Tensor:
        return self.tensors[op.output]

    def edges(self) -> list[tuple[int, int]]:
        """Op-to-op edges (producer id, consumer id), each once."""
        return [(p, op.id) for op in self.ops for p in self.preds[op.id]]

    def to_networkx(self) -> "nx.DiGraph":
        """A networkx view: nodes are op ids with the op's fields, edges carry the tensor id."""
        import networkx as nx

        g = nx.DiGraph(name=self.name)
        for op in self.ops:
            g.add_node(op.id, name=op.name, kind=op.kind, params=op.params, k=op.k)
        for op in self.ops:
            for t in op.inputs:
                p = self.tensors[t].producer
                if p is not None:
                    g.add_edge(p, op.id, tensor=t)
        return g

    def fingerprint(self) -> str:
        """A stable hash of the graph's content (names, kinds, shapes, params, edges)."""
        h = hashlib.sha256()
        for t in self.tensors:
            h.update(repr((t.name, t.c, t.h, t.w, t.producer)).encode())
        for op in self.ops:
            h.update(
                repr(
                    (op.name, op.kind, op.inputs, op.output, op.params, op.k, str(op.s),
                     op.is_global, op.attrs, op.param_shapes) + (("barrier",) if op.barrier else ())
                ).encode()
            )
        h.update(repr((self.inputs, self.outputs)).encode())
        return h.hexdigest()[:16]


class GraphBuilder:
    """Builds a :class:`Graph` op by op, in a topological order.

    Every op's inputs must already exist, so the order is topological by construction.
    ``build`` checks the rest: unique op names, positive shapes, declared outputs.
    """

    def __init__(self, name: str, source: str = "") -> None:
        self.name = name
        self.source = source
        self._tensors: list[Tensor] = []
        self._ops: list[Op] = []
        self._inputs: list[int] = []
        self._outputs: list[int] = []
        self._op_names: set[str] = set()
        self._tensor_names: set[str] = set()

    def _new_tensor(self, name: str, shape: Sequence[int], producer: int | None) -> int:
        c, h, w = (int(x) for x in shape)
        if min(c, h, w) < 1:
            where = f"op {self._ops[producer].name!r}" if producer is not None else "input"
            raise FusePlanError(f"tensor {name!r} ({where}) has a non-positive shape {(c, h, w)}")
        if name in self._tensor_names:
            raise FusePlanError(f"graph {self.name!r}: two tensors are called {name!r}")
        self._tensor_names.add(name)
        tid = len(self._tensors)
        self._tensors.append(Tensor(tid, name, c, h, w, producer))
        return tid

    def input(self, name: str, c: int, h: int, w: int) -> int:
        """Declares a network input tensor and returns its id."""
        tid = self._new_tensor(name, (c, h, w), None)
        self._inputs.append(tid)
        return tid

    def op(
        self,
        name: str,
        kind: str,
        inputs: Sequence[int],
        out_shape: Sequence[int],
        *,
        params: int = 0,
        k: int = 1,
        s: Fraction | int = 1,
        is_global: bool = False,
        attrs: Iterable[tuple[str, AttrValue]] = (),
        param_shapes: Iterable[Sequence[int]] = (),
        absorbed: Iterable[str] = (),
        out_name: str | None = None,
        barrier: bool = False,
    ) -> int:
        """Adds an op reading ``inputs`` (tensor ids); returns its output tensor id."""
        if name in self._op_names:
            raise FusePlanError(f"graph {self.name!r}: two ops are called {name!r}")
        if not inputs:
            raise FusePlanError(f"op {name!r} ({kind}) has no data input")
        for t in inputs:
            if not 0 <= t < len(self._tensors):
                raise FusePlanError(f"op {name!r} reads an unknown tensor id {t}")
        if params < 0 or k < 1:
            raise FusePlanError(f"op {name!r}: params must be >= 0 and k >= 1 (got {params}, {k})")
        oid = len(self._ops)
        tid = self._new_tensor(out_name or f"{name}_output_0", out_shape, oid)
        self._op_names.add(name)
        self._ops.append(
            Op(
                id=oid,
                name=name,
                kind=kind,
                inputs=tuple(int(t) for t in inputs),
                output=tid,
                params=int(params),
                k=int(k),
                s=Fraction(s),
                is_global=bool(is_global),
                attrs=tuple(sorted(attrs)),
                param_shapes=tuple(tuple(int(d) for d in shp) for shp in param_shapes),
                absorbed=tuple(absorbed),
                barrier=bool(barrier),
            )
        )
        return tid

    def output(self, tensor: int) -> None:
        """Marks a tensor as a network output."""
        if tensor not in self._outputs:
            self._outputs.append(tensor)

    def shape(self, tensor: int) -> tuple[int, int, int]:
        return self._tensors[tensor].shape

    def build(self) -> Graph:
        if not self._ops:
            raise FusePlanError(f"graph {self.name!r} has no ops")
        if not self._outputs:
            raise FusePlanError(f"graph {self.name!r} declares no output")
        return Graph(
            name=self.name,
            tensors=tuple(self._tensors),
            ops=tuple(self._ops),
            inputs=tuple(self._inputs),
            outputs=tuple(self._outputs),
            source=self.source,
        )
