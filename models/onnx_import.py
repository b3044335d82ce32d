"""ONNX file -> :class:`Graph`, normalised as docs/cost-models.md says.

``import_onnx(path, input_shape=None)``: batch 1, every tensor (C, H, W) ((N, C) -> (C, 1, 1),
(N, C, L) -> (C, L, 1)); constant subgraphs and shape-only ops (Reshape, Flatten, Squeeze,
Unsqueeze, Identity, Dropout) removed with their consumers rewired; a BatchNormalization folded
into the single-consumer Conv / ConvTranspose before it (the conv keeps its name and gains a
bias of C_out if it had none); nodes that feed no graph output dropped. Every removed node is
recorded in the ``absorbed`` of one op: the first op (in graph order) that reads what it
produced, or, for a shape-only op that ends the graph, the op whose output it passed on.
Patterns of several nodes (``onnx_patterns``: channels-last Transpose pairs, channel shuffles,
the Erf form of GELU) and nodes with several outputs or odd layouts (``onnx_extra_ops``: Split
and Gather on channels as Slices, other Transposes, barriers) are read as docs/graph-json.md,
step 9, says. Helper nodes that ``onnx_export`` adds for tensor layouts (``doc_string`` =
:data:`EXPORT_HELPER`) are removed without being recorded. All checks run before the graph is
built, so a bad file never yields half a graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import FusePlanError
from .graph import Graph, GraphBuilder
from .onnx_load import LoadedModel, load_onnx
from .onnx_ops import SHAPE_ONLY, SUPPORTED, NodeIO, OpSpec, op_spec
from .onnx_patterns import Graphview, channel_shuffles, channels_last_regions, erf_gelus
from .onnx_extra_ops import (
    barrier_spec,
    channel_gather_spec,
    is_identity_gather,
    split_specs,
    transpose_spec,
)

UNSUPPORTED_MODES = ("error", "barrier")
CHANNELS_LAST = "channels_last"  # attr of an op folded from a channels-last Transpose pair

EXPORT_HELPER = "fuseplan-export layout helper"
GRAPH_NAME_KEY = "fuseplan.graph_name"
_BN_TARGETS = ("Conv", "ConvTranspose")


@dataclass
class _Pending:
    """A kept node while the graph is assembled."""

    index: int  # index into LoadedModel.nodes
    name: str
    output: str
    spec: OpSpec
    absorbed: list[int]  # node indices


def import_onnx(
    path: str | Path, *, input_shape: Sequence[int] | None = None, unsupported: str = "error"
) -> Graph:
    """The graph an ONNX file describes (see the module docstring for the normalisation).

    ``unsupported="barrier"`` makes an op the importer does not know a barrier (an op that is
    never fused, docs/cost-models.md) instead of an error."""
    if unsupported not in UNSUPPORTED_MODES:
        raise FusePlanError(
            f"--unsupported {unsupported!r} is not a mode: use one of {', '.join(UNSUPPORTED_MODES)}"
        )
    return _Importer(load_onnx(path, input_shape), unsupported == "barrier").build()


def to_chw(dims: Sequence[int | None], what: str) -> tuple[int, int, int]:
    """ONNX dims with batch first -> (C, H, W)."""
    if any(d is None for d in dims):
        raise FusePlanError(
            f"{what} has an unknown shape {tuple(dims)}: pass a static --input-shape, e.g. 1x3x224x224"
        )
    d = [int(x) for x in dims]  # type: ignore[arg-type]
    if len(d) not in (2, 3, 4):
        raise FusePlanError(
            f"{what} has rank {len(d)} {tuple(d)}: fuseplan handles (N,C), (N,C,L) and (N,C,H,W) tensors"
        )
    if d[0] != 1:
        raise FusePlanError(f"{what} has batch {d[0]}: fuseplan plans batch 1 (pass --input-shape 1x...)")
    return (d[1], d[2] if len(d) > 2 else 1, d[3] if len(d) > 3 else 1)


class _Importer:
    def __init__(self, m: LoadedModel, barriers: bool = False) -> None:
        self.m = m
        self.barriers = barriers
        self.where = repr(str(m.path))
        self.producer: dict[str, int] = {}
        self.readers: dict[str, list[int]] = {}
        for i, node in enumerate(m.nodes):
            for out in node.output:
                if out:
                    self.producer[out] = i
            for x in dict.fromkeys(node.input):
                if x:
                    self.readers.setdefault(x, []).append(i)
        self.live = self._live_nodes()
        self.alias: dict[str, str] = {}  # removed value -> the data value it stands for
        view = Graphview(m, self.live)
        self.layout = channels_last_regions(view)
        self.shuffles = {s.transpose: s for s in channel_shuffles(view)}
        self.gelus = {g.erf: g for g in erf_gelus(view)}
        self.claimed = {j for s in self.shuffles.values() for j in (s.reshape_in, s.reshape_out)}
        self.claimed |= {j for g in self.gelus.values() for j in g.nodes}

    # ----- checks -----
    def _live_nodes(self) -> set[int]:
        live: set[int] = set()
        todo = [self.producer[o] for o in self.m.outputs if o in self.producer]
        while todo:
            i = todo.pop()
            if i in live:
                continue
            live.add(i)
            todo += [self.producer[x] for x in self.m.nodes[i].input if x in self.producer]
        return live

    def _data_nodes(self) -> list[int]:
        return [i for i in sorted(self.live) if i not in self.m.folded]

    def _known(self, i: int) -> bool:
        node = self.m.nodes[i]
        if node.domain not in ("", "ai.onnx"):
            return False
        if node.op_type == "Split":
            return self._split(i) is not None
        if node.op_type == "Gather":
            return self._gather(i) is not None or is_identity_gather(self._io(i))
        return node.op_type in SUPPORTED | SHAPE_ONLY or node.op_type == "Transpose"

    def _check_supported(self) -> None:
        bad = [i for i in self._data_nodes() if not self._known(i)]
        self.barrier_nodes = set(bad) if self.barriers else set()
        if bad and not self.barriers:
            listed = ", ".join(f"{self.m.nodes[i].op_type} {self.m.names[i]!r}" for i in bad)
            raise FusePlanError(
                f"{self.where} has {len(bad)} unsupported op(s): {listed} "
                "(docs/graph-json.md lists the supported ones); "
                "--unsupported barrier plans them as barriers, ops never fused"
            )
        graph_outputs = set(self.m.outputs)
        multi = []
        for i in self._data_nodes():
            if self.m.nodes[i].op_type == "Split" and i not in self.barrier_nodes:
                continue
            extra = [o for o in self.m.nodes[i].output[1:] if o and (
                any(r in self.live for r in self.readers.get(o, [])) or o in graph_outputs)]
            if extra:
                multi.append(f"{self.m.nodes[i].op_type} {self.m.names[i]!r} ({', '.join(extra)})")
        if multi:
            raise FusePlanError(
                f"{self.where} has op(s) whose second output is used, which fuseplan cannot "
                f"represent (one output per op): {', '.join(multi)}"
            )

    # ----- values -----
    def _resolve(self, value: str) -> str:
        while value in self.alias:
            value = self.alias[value]
        return value

    def _dims(self, value: str) -> tuple[int, ...]:
        dims = self.m.dims.get(value)
        if value in self.layout.values and dims is not None and len(dims) == 4:
            dims = (dims[0], dims[3], dims[1], dims[2])
        if dims is None or any(d is None for d in dims):
            who = self.producer.get(value)
            what = f"tensor {value!r}" + (f" (output of node {self.m.names[who]!r})" if who is not None else "")
            raise FusePlanError(
                f"{self.where}: {what} has an unknown shape: pass a static --input-shape, e.g. 1x3x224x224"
            )
        return tuple(int(d) for d in dims)  # type: ignore[arg-type]

    def _chw(self, value: str) -> tuple[int, int, int]:
        value = self._resolve(value)
        who = self.producer.get(value)
        what = f"{self.where}: tensor {value!r}" + (
            f" (output of node {self.m.names[who]!r})" if who is not None else " (input)")
        return to_chw(self._dims(value), what)

    # ----- assembly -----
    def _io(self, i: int) -> NodeIO:
        return NodeIO(self.m.nodes[i], self.m.names[i], self.m.opset, self.m.constants,
                      self._dims, self._chw)

    def _split(self, i: int) -> list[tuple[str, str, OpSpec]] | None:
        return split_specs(self._io(i), self.live_readers)

    def _gather(self, i: int) -> OpSpec | None:
        return channel_gather_spec(self._io(i))

    def live_readers(self, value: str) -> bool:
        return value in self.m.outputs or any(r in self.live for r in self.readers.get(value, []))

    def _special(self, i: int) -> list[_Pending] | None:
        """The ops of a node that a pattern or a multi-output rule makes (None: no such rule)."""
        node, name = self.m.nodes[i], self.m.names[i]
        if i in self.barrier_nodes:
            out = self.m.dims.get(node.output[0])
            if out is None or any(d is None for d in out):
                raise FusePlanError(
                    f"{self.where}: the output shape of {node.op_type} {name!r} (a barrier) is known "
                    f"neither from ONNX shape inference nor from the file's value_info: add a "
                    f"value_info for {node.output[0]!r} to the file"
                )
            spec = barrier_spec(self._io(i))
            return [_Pending(i, name, node.output[0], spec, [])]
        if i in self.shuffles:
            sh = self.shuffles[i]
            c = self._dims(sh.source)[1]
            spec = OpSpec("ChannelShuffle", (sh.source,), attrs={"groups": sh.groups})
            assert c % sh.groups == 0
            return [_Pending(i, name, sh.output, spec, [sh.reshape_in, sh.reshape_out])]
        if i in self.gelus:
            ge = self.gelus[i]
            attrs = {CHANNELS_LAST: 1} if i in self.layout.nodes else {}
            spec = OpSpec("Gelu", (ge.source,), attrs=attrs)
            return [_Pending(i, name, ge.output, spec, list(ge.nodes))]
        if node.op_type == "Split":
            return [_Pending(i, sub, out, spec, []) for sub, out, spec in self._split(i) or []]
        if node.op_type == "Gather":
            spec = self._gather(i)
            return [_Pending(i, name, node.output[0], spec, [])] if spec is not None else None
        return None

    def _pending_ops(self) -> list[_Pending]:
        ops: list[_Pending] = []
        for i in self._data_nodes():
            node = self.m.nodes[i]
            if i in self.claimed:
                continue
            special = self._special(i)
            if special is not None:
                ops += [replace(p, spec=replace(p.spec, data_inputs=tuple(
                    self._resolve(x) for x in p.spec.data_inputs))) for p in special]
                continue
            if i in self.layout.transposes or (
                    node.op_type == "Gather" and is_identity_gather(self._io(i))):
                self.alias[node.output[0]] = node.input[0]
                continue
            if node.op_type in SHAPE_ONLY:
                data = [x for x in node.input if x and x not in self.m.constants]
                if len(data) != 1:
                    raise FusePlanError(
                        f"{self.where}: node {self.m.names[i]!r} ({node.op_type}) should read one data tensor"
                    )
                self.alias[node.output[0]] = data[0]
                continue
            spec = transpose_spec(self._io(i)) if node.op_type == "Transpose" else op_spec(self._io(i))
            spec = replace(spec, data_inputs=tuple(self._resolve(x) for x in spec.data_inputs))
            if i in self.layout.nodes:
                spec = replace(spec, attrs={**spec.attrs, CHANNELS_LAST: 1})
            ops.append(_Pending(i, self.m.names[i], node.output[0], spec, []))
        return ops

    def _fold_context(
        self, ops: list[_Pending]
    ) -> tuple[dict[str, _Pending], set[str], dict[str, int]]:
        """What a fold looks up: the op producing each tensor, the network outputs, and how
        many ops read each tensor."""
        by_output = {p.output: p for p in ops}
        outputs = {self._resolve(o) for o in self.m.outputs}
        readers: dict[str, int] = {}
        for p in ops:
            for x in set(p.spec.data_inputs):
                readers[x] = readers.get(x, 0) + 1
        return by_output, outputs, readers

    def _fold_batch_norms(self, ops: list[_Pending]) -> list[_Pending]:
        by_output, outputs, readers = self._fold_context(ops)
        kept: list[_Pending] = []
        for p in ops:
            src = p.spec.data_inputs[0]
            target = by_output.get(self._resolve(src))
            if (p.spec.kind == "BatchNormalization" and target is not None
                    and target.spec.kind in _BN_TARGETS and readers.get(src, 0) == 1
                    and src not in outputs):
                c_out = self._chw(target.output)[0]
                if len(target.spec.param_shapes) < 2:
                    target.spec = replace(target.spec, params=target.spec.params + c_out,
                                          param_shapes=target.spec.param_shapes + ((c_out,),))
                target.absorbed.append(p.index)
                self.alias[p.output] = target.output
                by_output[p.output] = target
                continue
            kept.append(p)
        for p in kept:
            p.spec = replace(p.spec, data_inputs=tuple(self._resolve(x) for x in p.spec.data_inputs))
        return kept

    def _fold_matmul_biases(self, ops: list[_Pending]) -> list[_Pending]:
        """A channels-last MatMul's bias Add (a constant of C' channels, the MatMul's only
        reader) joins the MatMul, as a Gemm holds its bias."""
        by_output, outputs, readers = self._fold_context(ops)
        kept: list[_Pending] = []
        for p in ops:
            src = p.spec.data_inputs[0]
            mm = by_output.get(src)
            if (p.spec.kind == "Add" and CHANNELS_LAST in p.spec.attrs and len(p.spec.data_inputs) == 1
                    and mm is not None and mm.spec.kind == "MatMul" and CHANNELS_LAST in mm.spec.attrs
                    and len(mm.spec.param_shapes) == 1 and readers.get(src, 0) == 1
                    and src not in outputs
                    and p.spec.param_shapes == ((mm.spec.param_shapes[0][1],),)):
                mm.spec = replace(mm.spec, params=mm.spec.params + p.spec.params,
                                  param_shapes=mm.spec.param_shapes + p.spec.param_shapes)
                mm.absorbed.append(p.index)
                self.alias[p.output] = mm.output
                by_output[p.output] = mm
                continue
            kept.append(p)
        for p in kept:
            p.spec = replace(p.spec, data_inputs=tuple(self._resolve(x) for x in p.spec.data_inputs))
        return kept

    def _assign_absorbed(self, ops: list[_Pending]) -> None:
        """Each removed live node goes to the first kept op that reads what it produces."""
        owner: dict[int, int] = {}  # node index -> position in ops
        for pos, p in enumerate(ops):
            owner.setdefault(p.index, pos)  # a Split's first Slice owns what feeds the Split
            for j in p.absorbed:
                owner[j] = pos
        by_output = {p.output: pos for pos, p in enumerate(ops)}
        removed = [i for i in sorted(self.live, reverse=True) if i not in owner]
        for i in removed:
            node = self.m.nodes[i]
            seen = [owner[r] for o in node.output if o for r in self.readers.get(o, [])
                    if r in self.live and r in owner]
            if not seen and (node.op_type in SHAPE_ONLY or i in self.layout.transposes
                             or node.op_type == "Gather"):
                up = by_output.get(self._resolve(node.output[0]))
                seen = [up] if up is not None else []
            if seen and node.doc_string != EXPORT_HELPER:
                owner[i] = min(seen)
                ops[min(seen)].absorbed.append(i)
            elif seen:
                owner[i] = min(seen)

    def build(self) -> Graph:
        self._check_supported()
        ops = self._fold_matmul_biases(self._fold_batch_norms(self._pending_ops()))
        self._assign_absorbed(ops)
        name = self.m.metadata.get(GRAPH_NAME_KEY) or self.m.name
        b = GraphBuilder(name, source=str(self.m.path))
        tid: dict[str, int] = {}
        used = {x for p in ops for x in p.spec.data_inputs}
        for x in self.m.inputs:
            if x in used:
                tid[x] = b.input(x, *self._chw(x))
        for p in ops:
            missing = [x for x in p.spec.data_inputs if x not in tid]
            if missing:
                raise FusePlanError(f"{self.where}: node {p.name!r} reads {missing[0]!r}, which no op produces")
            s = p.spec
            tid[p.output] = b.op(
                p.name, s.kind, [tid[x] for x in s.data_inputs], self._chw(p.output),
                params=s.params, k=s.k, s=s.s, is_global=s.is_global, attrs=s.attrs.items(),
                param_shapes=s.param_shapes, out_name=p.output, barrier=s.barrier,
                absorbed=[self.m.names[j] for j in sorted(p.absorbed, key=lambda j: self.m.positions[j])
                          if self.m.nodes[j].doc_string != EXPORT_HELPER],
            )
        for o in self.m.outputs:
            r = self._resolve(o)
            if r not in tid or self.producer.get(r) is None and r in self.m.inputs:
                raise FusePlanError(f"{self.where}: graph output {o!r} is not computed by any op")
            b.output(tid[r])
        return b.build()
