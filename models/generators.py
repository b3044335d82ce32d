"""Generated nets, named by a spec string wherever a net name is accepted.

``wide:ops=400,width=8,seed=0`` builds a wide CNN-like DAG (:mod:`.gen_wide`);
``cells:cell=darts,cells=5,seed=0`` a NAS-style cell net (:mod:`.gen_cells`). A spec is a
prefix, a colon and ``key=value`` pairs joined by commas; keys are checked strictly (unknown
key, bad value or out of range is a :class:`FusePlanError` naming the key, its range and an
example). The same spec always builds the same graph (``random.Random(seed)``, no global
state), and the graph's name is the canonical spec: keys in a fixed order, optional keys
left out when they hold their default.

:func:`antichain_width` is the size of the largest antichain (the graph's width).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import FusePlanError
from .graph import Graph


@dataclass(frozen=True)
class Key:
    """One spec key: an int in [low, high], or one of ``choices``; always shown if ``shown``."""

    name: str
    default: int | str | None
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()
    step: int = 1
    shown: bool = False

    def describe(self) -> str:
        if self.choices:
            return "one of " + "|".join(self.choices)
        step = f", a multiple of {self.step}" if self.step > 1 else ""
        return f"an integer in {self.low}..{self.high}{step}"

    def parse(self, text: str, spec: str, example: str) -> int | str:
        if self.choices:
            if text in self.choices:
                return text
        else:
            try:
                value = int(text)
            except ValueError:
                value = None
            if value is not None and self.low <= value <= self.high and value % self.step == 0:
                return value
        raise FusePlanError(
            f"{spec!r}: {self.name}={text!r} is not valid: {self.name} must be {self.describe()} "
            f"(e.g. {example})"
        )


@dataclass(frozen=True)
class Generator:
    prefix: str
    description: str
    keys: tuple[Key, ...]
    example: str
    build: Callable[[str, dict[str, int | str]], Graph]


def _build_wide(name: str, values: dict[str, int | str]) -> Graph:
    from .gen_wide import build_wide

    return build_wide(name, **values)  # type: ignore[arg-type]


def _build_cells(name: str, values: dict[str, int | str]) -> Graph:
    from .gen_cells import build_cells

    return build_cells(name, **values)  # type: ignore[arg-type]


_GENERATORS: dict[str, Generator] = {
    g.prefix: g
    for g in (
        Generator(
            "wide",
            "wide CNN-like DAG: stages of parallel conv/depthwise/pool branches merged by "
            "concat or add; exact op count and width (largest antichain)",
            (
                Key("ops", None, 100, 1000, shown=True),
                Key("width", None, 4, 16, shown=True),
                Key("seed", 0, 0, 2**31 - 1, shown=True),
                Key("res", 224, 32, 512, step=32),
                Key("channels", 32, 8, 128, step=8),
            ),
            "wide:ops=400,width=8,seed=0",
            _build_wide,
        ),
        Generator(
            "cells",
            "NAS-style cell net: DARTS-like (4 nodes) or NASNet-like (5 nodes) cells, "
            "reduction cells at 1/3 and 2/3, seeded genotype",
            (
                Key("cell", "darts", choices=("darts", "nasnet"), shown=True),
                Key("cells", 5, 3, 20, shown=True),
                Key("channels", 16, 8, 64, step=8),
                Key("seed", 0, 0, 2**31 - 1, shown=True),
                Key("res", 224, 32, 512, step=32),
            ),
            "cells:cell=darts,cells=5,seed=0",
            _build_cells,
        ),
    )
}

GENERATORS: dict[str, str] = {p: g.description for p, g in _GENERATORS.items()}
"""Prefix -> one-line description of every generator."""


def parse_spec(spec: str) -> tuple[Generator, dict[str, int | str]]:
    """The generator and the full key values (defaults filled in) of a spec string."""
    prefix, sep, rest = spec.partition(":")
    gen = _GENERATORS.get(prefix.strip())
    if not sep or gen is None:
        raise FusePlanError(
            f"{spec!r} is not a generated net: use one of {', '.join(sorted(_GENERATORS))}, "
            "e.g. wide:ops=400,width=8,seed=0"
        )
    keys = {k.name: k for k in gen.keys}
    values: dict[str, int | str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        name, eq, text = (s.strip() for s in part.partition("="))
        if not eq or name not in keys:
            raise FusePlanError(
                f"{spec!r}: {part!r} is not a key=value pair of {gen.prefix}: keys are "
                f"{', '.join(keys)} (e.g. {gen.example})"
            )
        if name in values:
            raise FusePlanError(f"{spec!r}: key {name!r} is given twice (e.g. {gen.example})")
        values[name] = keys[name].parse(text, spec, gen.example)
    for key in gen.keys:
        if key.name not in values:
            if key.default is None:
                raise FusePlanError(
                    f"{spec!r}: key {key.name!r} is missing: it must be {key.describe()} "
                    f"(e.g. {gen.example})"
                )
            values[key.name] = key.default
    return gen, values


def canonical_spec(spec: str) -> str:
    """The spec with keys in a fixed order and default-valued optional keys left out."""
    gen, values = parse_spec(spec)
    parts = [
        f"{k.name}={values[k.name]}" for k in gen.keys if k.shown or values[k.name] != k.default
    ]
    return f"{gen.prefix}:{','.join(parts)}"


def build_generated(spec: str) -> Graph:
    """The graph of a generated-net spec; its name is the canonical spec."""
    gen, values = parse_spec(spec)
    return gen.build(canonical_spec(spec), values)


def antichain_width(graph: Graph) -> int:
    """The size of the largest antichain of ops (Dilworth: ops minus a maximum matching in
    the bipartite graph of the transitive closure), with descendant sets as bitmasks."""
    n = graph.num_ops
    desc = [0] * n
    for v in range(n - 1, -1, -1):  # ops are in topological order
        for s in graph.succs[v]:
            desc[v] |= desc[s] | (1 << s)
    match_right: dict[int, int] = {}  # right op -> the left op matched to it
    matched = 0
    for u in range(n - 1, -1, -1):
        nearest = next((s for s in graph.succs[u] if s not in match_right), None)
        if nearest is not None:  # greedy first: most ops match a direct successor
            match_right[nearest] = u
            matched += 1
        elif desc[u] and _augment(u, desc, match_right):
            matched += 1
    return n - matched


def _augment(root: int, desc: list[int], match_right: dict[int, int]) -> bool:
    """Kuhn's augmenting path from a free left op, depth first without recursion."""
    seen = 0
    stack = [(root, desc[root])]  # (left op, right ops still to try)
    path: list[int] = []  # path[i]: the right op stack[i] goes through
    while stack:
        left, free = stack[-1]
        free &= ~seen
        if not free:
            stack.pop()
            if path:
                path.pop()
            continue
        low = free & -free
        seen |= low
        stack[-1] = (left, free ^ low)
        v = low.bit_length() - 1
        path.append(v)
        owner = match_right.get(v)
        if owner is None:
            for (lft, _), right in zip(stack, path):
                match_right[right] = lft
            return True
        stack.append((owner, desc[owner]))
    return False
