"""A builder that names ops the way torch's legacy ONNX exporter does.

The exporter names a node ``<scope>/<OpType>``. Each module invocation is a scope; its part of
the name is the module's qualified path cut at the last non-numeric atom
(``features.3.conv.0.0`` -> ``conv.0.0``, ``features.3`` -> ``features.3``), appended to the
parent scope's name: ``/features/features.3/conv/conv.0/conv.0.0/Conv``. Scope names and node
names are made unique with ``_1``, ``_2``, ... in the order nodes appear (a module called twice,
like ResNet's ``relu``, gives ``relu``, ``relu_1``; two functional adds in one scope give
``Add``, ``Add_1``). Only scopes that hold a node in the file count (BatchNorm, Dropout and
Identity leave none), which is why names are given lazily, when the first op is added.

Ops carry what the importer records for them (``Op.attrs`` exactly as the file's attributes,
``Op.param_shapes`` of the weight and bias, k, s, is_global), with BatchNorm already folded into
the conv before it, as the exporter does in eval mode. The builder also counts the parameters
the torch module had *before* that fold (``params_before_folding``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction

from ..graph import Graph, GraphBuilder

INPUT_NAME = "input.1"  # the legacy exporter's name for the single input of forward()

IntPair = int | tuple[int, int]


def _pair(v: IntPair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _unqualified(qualname: str) -> str:
    atoms = qualname.split(".")
    for i in range(len(atoms) - 1, -1, -1):
        if not atoms[i].isnumeric():
            return ".".join(atoms[i:])
    return qualname


def _unique(counts: dict[str, int], base: str) -> str:
    if base not in counts:
        counts[base] = 0
        return base
    counts[base] += 1
    return f"{base}_{counts[base]}"


def pool_out(size: int, k: int, s: int, p: int, ceil_mode: bool = False, d: int = 1) -> int:
    """Output length of a conv or pool window (torch's formula, ceil_mode as torch has it)."""
    span = size + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p:  # the last window must start inside the input or left pad
        out -= 1
    return out


@dataclass
class _Scope:
    qualname: str
    parent: "_Scope | None"
    full: str | None = field(default=None)
    children: dict[str, "_Scope"] = field(default_factory=dict)


class NetBuilder:
    """Builds a zoo net op by op inside module scopes; ``build()`` returns the Graph."""

    def __init__(self, name: str, input_shape: tuple[int, int, int]) -> None:
        self._g = GraphBuilder(name, source=f"zoo:{name}")
        self.input = self._g.input(INPUT_NAME, *input_shape)
        self._root = _Scope("", None, "")
        self._stack = [self._root]
        self._scope_counts: dict[str, int] = {}
        self._node_counts: dict[str, int] = {}
        self._pending_absorbed: dict[int, list[str]] = {}
        self.params_before_folding = 0

    # ----- scopes and names -----
    @contextmanager
    def scope(self, *attrs: str | int, again: bool = False) -> Iterator[None]:
        """Enters child module ``attrs[0]`` of the current module, then its child ``attrs[1]``
        ...: ``scope("classifier", 1)`` is module ``classifier.1``.

        Entering a module a second time continues the same call (a Sequential runs its
        children inside one call of itself). ``again=True`` starts a new call of the last
        module instead: a module whose forward runs twice, like ResNet's ``relu``.
        """
        depth = len(self._stack)
        for i, attr in enumerate(attrs):
            parent = self._stack[-1]
            qual = f"{parent.qualname}.{attr}" if parent.qualname else str(attr)
            child = parent.children.get(qual)
            if child is None or (again and i == len(attrs) - 1):
                child = _Scope(qual, parent)
                parent.children[qual] = child
            self._stack.append(child)
        try:
            yield
        finally:
            del self._stack[depth:]

    def _full_name(self, sc: _Scope) -> str:
        if sc.full is None:
            assert sc.parent is not None
            base = f"{self._full_name(sc.parent)}/{_unqualified(sc.qualname)}"
            sc.full = _unique(self._scope_counts, base)
        return sc.full

    def _node_name(self, kind: str) -> str:
        return _unique(self._node_counts, f"{self._full_name(self._stack[-1])}/{kind}")

    def shape(self, t: int) -> tuple[int, int, int]:
        return self._g.shape(t)

    def _add(self, kind: str, inputs: Sequence[int], out_shape: Sequence[int], **kw: object) -> int:
        name = self._node_name(kind)
        absorbed: list[str] = []
        for t in inputs:
            absorbed += self._pending_absorbed.pop(t, [])
        return self._g.op(name, kind, inputs, out_shape, absorbed=absorbed, **kw)  # type: ignore[arg-type]

    # ----- ops with parameters -----
    def conv(
        self, x: int, cout: int, k: IntPair, stride: IntPair = 1, pad: IntPair | None = None,
        *, groups: int = 1, dilation: int = 1, bias: bool = False, bn: bool = False,
    ) -> int:
        """A Conv2d in the current scope; ``bn``: a BatchNorm2d after it was folded in."""
        cin, h, w = self.shape(x)
        kh, kw = _pair(k)
        sh, sw = _pair(stride)
        ph, pw = _pair(pad) if pad is not None else (dilation * (kh - 1) // 2, dilation * (kw - 1) // 2)
        out = (cout, pool_out(h, kh, sh, ph, d=dilation), pool_out(w, kw, sw, pw, d=dilation))
        weight = (cout, cin // groups, kh, kw)
        n_weight = cout * (cin // groups) * kh * kw
        has_bias = bias or bn
        self.params_before_folding += n_weight + (cout if bias else 0) + (2 * cout if bn else 0)
        attrs = [
            ("dilations", (dilation, dilation)), ("group", groups), ("kernel_shape", (kh, kw)),
            ("pads", (ph, pw, ph, pw)), ("strides", (sh, sw)),
        ]
        return self._add(
            "Conv", [x], out, params=n_weight + (cout if has_bias else 0),
            k=dilation * (kh - 1) + 1, s=sh, attrs=attrs,
            param_shapes=[weight, (cout,)] if has_bias else [weight],
        )

    def linear(self, x: int, cout: int) -> int:
        """An nn.Linear (ONNX Gemm, transB=1) on a flattened map, in the current scope;
        global (k = s = H) when the map it flattens has H > 1 (VGG's 512x7x7)."""
        c, h, w = self.shape(x)
        cin = c * h * w
        self.params_before_folding += cout * cin + cout
        return self._add(
            "Gemm", [x], (cout, 1, 1), params=cout * cin + cout, k=h, s=h, is_global=h > 1,
            attrs=[("alpha", 1.0), ("beta", 1.0), ("transB", 1)],
            param_shapes=[(cout, cin), (cout,)],
        )

    # ----- activations (elementwise, no parameters) -----
    def act(self, x: int, kind: str) -> int:
        """Relu, Clip (ReLU6), Sigmoid, HardSwish ... in the current scope.

        nn.Hardsigmoid is ``HardSigmoid`` with alpha=1/6 (use :meth:`hardsigmoid`); nn.SiLU is
        Sigmoid + Mul (use :meth:`silu`).
        """
        if kind == "Clip":
            return self.relu6(x)
        return self._add(kind, [x], self.shape(x))

    def relu6(self, x: int) -> int:
        """nn.ReLU6: Clip whose min and max come from two Constant nodes in the same scope
        (the importer absorbs them into the Clip and keeps the bounds as attrs)."""
        bounds = [self._node_name("Constant"), self._node_name("Constant")]
        name = self._node_name("Clip")
        return self._g.op(name, "Clip", [x], self.shape(x), attrs=[("max", 6.0), ("min", 0.0)],
                          absorbed=bounds + self._pending_absorbed.pop(x, []))

    def hardsigmoid(self, x: int) -> int:
        """nn.Hardsigmoid: ONNX HardSigmoid, alpha = float32(1/6) as the file stores it."""
        return self._add("HardSigmoid", [x], self.shape(x), attrs=[("alpha", 0.1666666716337204)])

    def silu(self, x: int) -> int:
        """nn.SiLU as the exporter writes it: Sigmoid(x), then Mul(x, sigmoid)."""
        return self.mul(x, self.act(x, "Sigmoid"))

    # ----- joins -----
    def add(self, a: int, b: int) -> int:
        return self._add("Add", [a, b], self.shape(a))

    def mul(self, a: int, b: int) -> int:
        """Elementwise, broadcasting (an SE scale of Cx1x1 times a CxHxW map is CxHxW)."""
        shape = tuple(max(da, db) for da, db in zip(self.shape(a), self.shape(b)))
        return self._add("Mul", [a, b], shape)

    def concat(self, xs: Sequence[int]) -> int:
        c = sum(self.shape(t)[0] for t in xs)
        _, h, w = self.shape(xs[0])
        return self._add("Concat", xs, (c, h, w), attrs=[("axis", 1)])

    # ----- pooling -----
    def maxpool(self, x: int, k: int, stride: int, pad: int = 0, ceil_mode: bool = False) -> int:
        c, h, w = self.shape(x)
        out = (c, pool_out(h, k, stride, pad, ceil_mode), pool_out(w, k, stride, pad, ceil_mode))
        attrs = [
            ("ceil_mode", int(ceil_mode)), ("dilations", (1, 1)), ("kernel_shape", (k, k)),
            ("pads", (pad, pad, pad, pad)), ("strides", (stride, stride)),
        ]
        return self._add("MaxPool", [x], out, k=k, s=stride, attrs=attrs)

    def avgpool(
        self, x: int, k: int, stride: int, pad: int = 0, ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> int:
        c, h, w = self.shape(x)
        out = (c, pool_out(h, k, stride, pad, ceil_mode), pool_out(w, k, stride, pad, ceil_mode))
        attrs = [
            ("ceil_mode", int(ceil_mode)), ("count_include_pad", int(count_include_pad)),
            ("kernel_shape", (k, k)), ("pads", (pad, pad, pad, pad)), ("strides", (stride, stride)),
        ]
        return self._add("AveragePool", [x], out, k=k, s=stride, attrs=attrs)

    def global_avgpool(self, x: int) -> int:
        c, h, _ = self.shape(x)
        return self._add("GlobalAveragePool", [x], (c, 1, 1), k=h, s=h, is_global=True)

    # ----- shape-only ops: in the file (they take a name), removed by the importer -----
    def flatten(self, x: int) -> int:
        """torch.flatten(x, 1): the importer drops it; the op that reads x absorbs it."""
        self._pending_absorbed.setdefault(x, []).append(self._node_name("Flatten"))
        return x

    # ----- torchvision composites -----
    def conv_bn_act(
        self, x: int, attr: str | int, cout: int, k: IntPair, stride: IntPair = 1, *,
        groups: int = 1, act: str | None = "Relu", pad: IntPair | None = None,
    ) -> int:
        """torchvision's Conv2dNormActivation ``attr``: ``attr.0`` conv, BN, ``attr.2`` act."""
        with self.scope(attr):
            with self.scope(0):
                y = self.conv(x, cout, k, stride, pad, groups=groups, bn=True)
            if act is not None:
                with self.scope(2):
                    y = self.act(y, act)
        return y

    def squeeze_excitation(self, x: int, attr: str | int, squeeze: int, act: str, scale: str) -> int:
        """torchvision.ops.SqueezeExcitation ``attr``: avgpool, fc1, activation, fc2,
        scale_activation, then Mul(scale, x) in the SE module's scope.
        ``act``: "Relu" or "SiLU"; ``scale``: "Sigmoid" or "HardSigmoid"."""
        c = self.shape(x)[0]
        with self.scope(attr):
            with self.scope("avgpool"):
                y = self.global_avgpool(x)
            with self.scope("fc1"):
                y = self.conv(y, squeeze, 1, bias=True)
            with self.scope("activation"):
                y = self.silu(y) if act == "SiLU" else self.act(y, act)
            with self.scope("fc2"):
                y = self.conv(y, c, 1, bias=True)
            with self.scope("scale_activation"):
                y = self.hardsigmoid(y) if scale == "HardSigmoid" else self.act(y, scale)
            return self.mul(y, x)

    def classifier_head(
        self, x: int, classes: int, *, pool: Sequence[str | int], linear: Sequence[str | int]
    ) -> int:
        """Global average pool (module path ``pool``; () = functional), flatten, Linear."""
        with self.scope(*pool):
            y = self.global_avgpool(x)
        y = self.flatten(y)
        with self.scope(*linear):
            return self.linear(y, classes)

    def resize_bilinear(self, x: int, h: int, w: int) -> int:
        """``F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)`` with the size
        read from another tensor's shape (DeepLabV3): the exporter writes Shape, three Constants,
        Slice, Constant, Concat computing the sizes, then Resize, all in the current scope; the
        importer absorbs those seven nodes into the Resize (k = 2, s = H_in / H_out)."""
        c, h_in, _ = self.shape(x)
        kinds = ("Shape", "Constant", "Constant", "Constant", "Slice", "Constant", "Concat")
        size_nodes = [self._node_name(kind) for kind in kinds]
        name = self._node_name("Resize")
        attrs = [("coordinate_transformation_mode", "half_pixel"), ("cubic_coeff_a", -0.75),
                 ("mode", "linear"), ("nearest_mode", "floor")]
        return self._g.op(name, "Resize", [x], (c, h, w), k=2, s=Fraction(h_in, h), attrs=attrs,
                          absorbed=size_nodes + self._pending_absorbed.pop(x, []))

    def adaptive_avgpool(self, x: int, out_size: int) -> int:
        """nn.AdaptiveAvgPool2d(out_size) on a map whose size it divides: AveragePool with
        kernel = stride = H / out_size and only kernel_shape and strides as attributes (VGG's
        (7, 7) on a 7x7 map). An output of 1 is :meth:`global_avgpool` instead."""
        c, h, w = self.shape(x)
        assert h % out_size == 0 and w % out_size == 0 and out_size > 1, (h, w, out_size)
        kh, kw = h // out_size, w // out_size
        attrs = [("kernel_shape", (kh, kw)), ("strides", (kh, kw))]
        return self._add("AveragePool", [x], (c, out_size, out_size), k=kh, s=kh, attrs=attrs)

    def batch_norm(self, x: int, eps: float = 1e-5) -> int:
        """A BatchNorm2d that follows no conv (DenseNet's pre-activation norm1 / norm): the
        exporter keeps a BatchNormalization node, with 2C parameters (scale, shift; the running
        statistics are not parameters) and epsilon as float32, as the importer records it."""
        c = self.shape(x)[0]
        self.params_before_folding += 2 * c
        eps32 = struct.unpack("f", struct.pack("f", eps))[0]
        return self._add("BatchNormalization", [x], self.shape(x), params=2 * c,
                         attrs=[("epsilon", eps32)], param_shapes=[(c,), (c,)])

    # ----- patterns the importer folds (several ONNX nodes, one op) -----
    def absorb_next(self, x: int, *kinds: str) -> None:
        """Nodes of ``kinds`` in the current scope that the importer removes (a Transpose of a
        folded channels-last pair): the next op that reads ``x`` absorbs them."""
        self._pending_absorbed.setdefault(x, []).extend(self._node_name(k) for k in kinds)

    def composite(
        self, kind: str, inputs: Sequence[int], out_shape: Sequence[int], *, node: str,
        before: Sequence[str] = (), after: Sequence[str] = (), **kw: object,
    ) -> int:
        """One op of ``kind`` made of several nodes of the current scope, in file order:
        ``before``, the node named after op type ``node``, ``after``; the others are absorbed
        (a MatMul's bias Add, the Erf form of GELU, a channel shuffle's Reshapes)."""
        absorbed: list[str] = []
        for t in inputs:
            absorbed += self._pending_absorbed.pop(t, [])
        absorbed += [self._node_name(k) for k in before]
        name = self._node_name(node)
        absorbed += [self._node_name(k) for k in after]
        return self._g.op(name, kind, inputs, out_shape, absorbed=absorbed, **kw)  # type: ignore[arg-type]

    def build(self, output: int) -> Graph:
        """The Graph with ``output`` as its output. A Flatten that ends the net (SqueezeNet's
        ``torch.flatten`` after the classifier) goes to the op whose output it passes on."""
        self._g.output(output)
        graph = self._g.build()
        trailing = self._pending_absorbed.pop(output, [])
        if not trailing:
            return graph
        producer = graph.tensors[output].producer
        assert producer is not None, "a net cannot end in a shape-only op on its input"
        ops = list(graph.ops)
        ops[producer] = replace(ops[producer], absorbed=ops[producer].absorbed + tuple(trailing))
        return replace(graph, ops=tuple(ops))
