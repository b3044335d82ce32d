"""Layer helpers for the graph generators: ONNX-like ops with real shapes and parameter counts.

Each helper adds one op to a :class:`GraphBuilder` and returns its output tensor id. Shapes
follow ONNX (``out = floor((H + 2 p - d (k - 1) - 1) / s) + 1``); parameters follow
docs/cost-models.md: a conv keeps the bias of its folded batch-norm (C_out), a Gemm has
weights and bias, pooling, activations, Add and Concat have none. Kernel height ``k`` is the
dilated one, ``d (k - 1) + 1``; a global op's ``k`` is its input height.
"""

from __future__ import annotations

from fractions import Fraction

from .errors import FusePlanError
from .graph import GraphBuilder


def _out_size(size: int, k: int, stride: int, pad: int, dilation: int = 1) -> int:
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


class Layers:
    """Adds named ops to a builder; names are ``prefix/Kind_n`` like an ONNX export."""

    def __init__(self, builder: GraphBuilder) -> None:
        self.b = builder
        self._count = 0

    def _name(self, scope: str, kind: str) -> str:
        self._count += 1
        return f"/{scope}/{kind}_{self._count}"

    def shape(self, t: int) -> tuple[int, int, int]:
        return self.b.shape(t)

    def conv(
        self,
        scope: str,
        x: int,
        cout: int,
        k: int,
        *,
        stride: int = 1,
        groups: int = 1,
        dilation: int = 1,
    ) -> int:
        """A Conv with its batch-norm folded (bias of ``cout``); 'same' padding."""
        cin, h, w = self.shape(x)
        if cin % groups or cout % groups:
            raise FusePlanError(f"conv in {scope}: channels {cin}->{cout} not divisible by groups {groups}")
        pad = dilation * (k - 1) // 2
        out = (cout, _out_size(h, k, stride, pad, dilation), _out_size(w, k, stride, pad, dilation))
        weight = (cout, cin // groups, k, k)
        return self.b.op(
            self._name(scope, "Conv"),
            "Conv",
            [x],
            out,
            params=cout * (cin // groups) * k * k + cout,
            k=dilation * (k - 1) + 1,
            s=stride,
            attrs=[
                ("dilations", (dilation, dilation)),
                ("group", groups),
                ("kernel_shape", (k, k)),
                ("pads", (pad, pad, pad, pad)),
                ("strides", (stride, stride)),
            ],
            param_shapes=[weight, (cout,)],
        )

    def depthwise(self, scope: str, x: int, k: int, *, stride: int = 1, dilation: int = 1) -> int:
        c = self.shape(x)[0]
        return self.conv(scope, x, c, k, stride=stride, groups=c, dilation=dilation)

    def relu(self, scope: str, x: int) -> int:
        return self.b.op(self._name(scope, "Relu"), "Relu", [x], self.shape(x))

    def pool(self, scope: str, x: int, kind: str, k: int = 3, *, stride: int = 1) -> int:
        """MaxPool or AveragePool with 'same' padding (k // 2)."""
        c, h, w = self.shape(x)
        pad = k // 2
        out = (c, _out_size(h, k, stride, pad), _out_size(w, k, stride, pad))
        attrs: list[tuple[str, int | tuple[int, ...]]] = [
            ("kernel_shape", (k, k)),
            ("pads", (pad, pad, pad, pad)),
            ("strides", (stride, stride)),
        ]
        if kind == "AveragePool":
            attrs.append(("count_include_pad", 0))
        return self.b.op(self._name(scope, kind), kind, [x], out, k=k, s=stride, attrs=attrs)

    def add(self, scope: str, x: int, y: int) -> int:
        if self.shape(x) != self.shape(y):
            raise FusePlanError(f"add in {scope}: shapes {self.shape(x)} and {self.shape(y)} differ")
        return self.b.op(self._name(scope, "Add"), "Add", [x, y], self.shape(x))

    def concat(self, scope: str, xs: list[int]) -> int:
        shapes = [self.shape(x) for x in xs]
        if len({s[1:] for s in shapes}) != 1:
            raise FusePlanError(f"concat in {scope}: spatial sizes differ {shapes}")
        out = (sum(s[0] for s in shapes), shapes[0][1], shapes[0][2])
        return self.b.op(self._name(scope, "Concat"), "Concat", xs, out, attrs=[("axis", 1)])

    def global_pool(self, scope: str, x: int) -> int:
        c, h, _ = self.shape(x)
        return self.b.op(
            self._name(scope, "GlobalAveragePool"), "GlobalAveragePool", [x], (c, 1, 1),
            k=h, s=Fraction(h), is_global=True,
        )

    def gemm(self, scope: str, x: int, out_features: int) -> int:
        c, h, w = self.shape(x)
        n_in = c * h * w
        return self.b.op(
            self._name(scope, "Gemm"), "Gemm", [x], (out_features, 1, 1),
            params=n_in * out_features + out_features,
            attrs=[("alpha", 1.0), ("beta", 1.0), ("transB", 1)],
            param_shapes=[(out_features, n_in), (out_features,)],
        )
