"""Patterns of several ONNX nodes that the importer turns into fewer, simpler ops.

Each finder reads a :class:`~.onnx_load.LoadedModel` (its live data nodes, their readers) and
returns what it matched; :mod:`.onnx_import` builds the ops (docs/graph-json.md, "How an ONNX
file becomes this graph"):

* :func:`channels_last_regions`: Transpose NCHW -> NHWC, per-position ops (LayerNormalization
  over the last axis, MatMul with a C x C' weight, Add/Mul/... with per-channel or scalar
  constants, activations), Transpose NHWC -> NCHW on every path out. The Transposes go; the ops
  in between are seen channels-first.
* :func:`channel_shuffles`: Reshape (1, g, C/g, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape
  (1, C, H, W): one ``ChannelShuffle`` op.
* :func:`erf_gelus`: Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5 (the legacy exporter's
  GELU): one ``Gelu`` op.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from .onnx_load import LoadedModel
from .onnx_ops import ELEMENTWISE, UNARY

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)
SHUFFLE_PERM = (0, 2, 1, 3, 4)


def perm_of(node: onnx.NodeProto) -> tuple[int, ...]:
    for a in node.attribute:
        if a.name == "perm":
            return tuple(int(v) for v in helper.get_attribute_value(a))
    return ()


def _attr(node: onnx.NodeProto, name: str, default: object) -> object:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class Graphview:
    """Producers and readers of the live data nodes of a loaded model."""

    def __init__(self, m: LoadedModel, live: set[int]) -> None:
        self.m = m
        self.data = sorted(i for i in live if i not in m.folded)
        self.producer: dict[str, int] = {}
        self.readers: dict[str, list[int]] = {}
        for i in self.data:
            node = m.nodes[i]
            for out in node.output:
                if out:
                    self.producer[out] = i
            for x in dict.fromkeys(node.input):
                if x and x not in m.constants:
                    self.readers.setdefault(x, []).append(i)
        self.outputs = set(m.outputs)

    def node(self, i: int) -> onnx.NodeProto:
        return self.m.nodes[i]

    def data_inputs(self, i: int) -> list[str]:
        return [x for x in self.m.nodes[i].input if x and x not in self.m.constants]

    def const(self, i: int, pos: int) -> np.ndarray | None:
        node = self.m.nodes[i]
        if pos >= len(node.input) or node.input[pos] not in self.m.constants:
            return None
        return self.m.constants[node.input[pos]]

    def only_reader(self, value: str) -> int | None:
        """The one data node that reads ``value``, if exactly one does and it is no output."""
        readers = self.readers.get(value, [])
        if len(readers) != 1 or value in self.outputs:
            return None
        return readers[0]

    def rank(self, value: str) -> int:
        return len(self.m.dims.get(value) or ())


# --------------------------------------------------------------------------- channels last
@dataclass(frozen=True)
class ChannelsLast:
    """Folded regions: their Transposes, the nodes between them, the NHWC values."""

    transposes: frozenset[int]
    nodes: frozenset[int]
    values: frozenset[str]


def channels_last_regions(view: Graphview) -> ChannelsLast:
    transposes: set[int] = set()
    nodes: set[int] = set()
    values: set[str] = set()
    for i in view.data:
        node = view.node(i)
        if node.op_type != "Transpose" or i in transposes or perm_of(node) != TO_NHWC:
            continue
        if view.rank(node.input[0]) != 4:
            continue
        region = _region_from(view, i)
        if region is not None:
            ends, inner, inner_values = region
            transposes |= {i} | ends
            nodes |= inner
            values |= inner_values
    return ChannelsLast(frozenset(transposes), frozenset(nodes), frozenset(values))


def _region_from(view: Graphview, start: int) -> tuple[set[int], set[int], set[str]] | None:
    """The region that starts at Transpose ``start``: (closing Transposes, inner nodes, NHWC
    values), or None when some path leaves it other than through a Transpose back."""
    values = {view.node(start).output[0]}
    inner: set[int] = set()
    ends: set[int] = set()
    for i in view.data:
        if i <= start:
            continue
        node = view.node(i)
        ins = view.data_inputs(i)
        inside = [x for x in ins if x in values]
        if not inside:
            continue
        if node.op_type == "Transpose" and perm_of(node) == TO_NCHW and len(ins) == 1:
            ends.add(i)
            continue
        channels = (view.m.dims.get(inside[0]) or (None,))[-1]
        if len(inside) != len(ins) or not _per_position(view, i, int(channels or 0)):
            return None
        inner.add(i)
        values.add(node.output[0])
    for v in values:
        if v in view.outputs:
            return None
        if any(r not in inner and r not in ends for r in view.readers.get(v, [])):
            return None
    return (ends, inner, values) if ends else None


def _per_position(view: Graphview, i: int, channels: int) -> bool:
    """The node works at each (h, w) position alone on an NHWC tensor of C = ``channels``."""
    node = view.node(i)
    t = node.op_type
    if node.domain not in ("", "ai.onnx") or len([o for o in node.output if o]) != 1:
        return False
    if t in UNARY and t != "PRelu":
        return True
    if t == "LayerNormalization":
        return int(_attr(node, "axis", -1)) % 4 == 3  # type: ignore[call-overload]
    if t == "MatMul":
        w = view.const(i, 1)
        return w is not None and w.ndim == 2 and w.shape[0] == channels
    if t in ELEMENTWISE:  # its constants: scalars or per channel (broadcast on the last axis)
        for pos, name in enumerate(node.input):
            if name in view.m.constants:
                c = view.m.constants[name]
                if c.ndim > 4 or any(d != 1 for d in c.shape[:-1]) or (
                        c.ndim and c.shape[-1] not in (1, channels)):
                    return False
        return True
    return False


# --------------------------------------------------------------------------- channel shuffle
@dataclass(frozen=True)
class Shuffle:
    transpose: int
    reshape_in: int
    reshape_out: int
    groups: int
    source: str  # the data value the first Reshape reads
    output: str  # the value the last Reshape writes


def channel_shuffles(view: Graphview) -> list[Shuffle]:
    found = []
    for i in view.data:
        node = view.node(i)
        if node.op_type != "Transpose" or perm_of(node) != SHUFFLE_PERM:
            continue
        first = view.producer.get(node.input[0])
        last = view.only_reader(node.output[0])
        if first is None or last is None or view.only_reader(node.input[0]) != i:
            continue
        if view.node(first).op_type != "Reshape" or view.node(last).op_type != "Reshape":
            continue
        source = view.data_inputs(first)
        if len(source) != 1:
            continue
        x = view.m.dims.get(source[0])
        mid = view.m.dims.get(node.input[0])
        out = view.m.dims.get(view.node(last).output[0])
        if x is None or mid is None or out is None or len(x) != 4 or len(mid) != 5:
            continue
        c, h, w = x[1], x[2], x[3]
        g = mid[1]
        if tuple(out) != tuple(x) or g is None or c is None or tuple(mid) != (1, g, c // g, h, w):
            continue
        found.append(Shuffle(i, first, last, int(g), source[0], view.node(last).output[0]))
    return found


# --------------------------------------------------------------------------- GELU (Erf form)
@dataclass(frozen=True)
class ErfGelu:
    erf: int
    nodes: tuple[int, ...]  # Div, Add, Mul, Mul (the Erf excluded)
    source: str
    output: str


def _const_value(view: Graphview, i: int) -> tuple[str, float] | None:
    """(the data input, the scalar constant) of a binary node with one scalar constant."""
    node = view.node(i)
    data = view.data_inputs(i)
    consts = [x for x in node.input if x in view.m.constants]
    if len(data) != 1 or len(consts) != 1 or view.m.constants[consts[0]].size != 1:
        return None
    return data[0], float(np.asarray(view.m.constants[consts[0]]).reshape(-1)[0])


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5)


def erf_gelus(view: Graphview) -> list[ErfGelu]:
    """x * 0.5 * (1 + erf(x / sqrt 2)), as the legacy exporter writes it (also x * (1/sqrt 2))."""
    found = []
    for e in view.data:
        if view.node(e).op_type != "Erf":
            continue
        div = view.producer.get(view.node(e).input[0])
        if div is None or view.only_reader(view.node(div).output[0]) != e:
            continue
        scaled = _const_value(view, div)
        kind = view.node(div).op_type
        if scaled is None or not (kind == "Div" and _close(scaled[1], math.sqrt(2)) or
                                  kind == "Mul" and _close(scaled[1], 1 / math.sqrt(2))):
            continue
        x = scaled[0]
        add = view.only_reader(view.node(e).output[0])
        if add is None or view.node(add).op_type != "Add":
            continue
        one = _const_value(view, add)
        if one is None or not _close(one[1], 1.0):
            continue
        mul = view.only_reader(view.node(add).output[0])
        if mul is None or view.node(mul).op_type != "Mul" or \
                sorted(view.data_inputs(mul)) != sorted([x, view.node(add).output[0]]):
            continue
        half = view.only_reader(view.node(mul).output[0])
        if half is None or view.node(half).op_type != "Mul":
            continue
        h = _const_value(view, half)
        if h is None or not _close(h[1], 0.5):
            continue
        found.append(ErfGelu(e, (div, add, mul, half), x, view.node(half).output[0]))
    return found


def progression(indices: Sequence[int]) -> tuple[int, int] | None:
    """(start, step) when ``indices`` are an arithmetic progression with a non-zero step."""
    if len(indices) == 1:
        return indices[0], 1
    step = indices[1] - indices[0]
    if step == 0 or any(b - a != step for a, b in zip(indices, indices[1:])):
        return None
    return indices[0], step
