"""The plan table of ``fuseplan solve``, fitted to the terminal.

Groups are shown by op index ranges (``12-18``: the ops' ids, as ``fuseplan graph NET --ops``
numbers them) and the distinguishing tail of their first and last op names (the shortest run
of trailing ``/``-separated parts no other op shares). Columns are dropped before names
become unreadable: the in/weights/out split goes first. ``wide=True`` keeps the full names and
every column, however wide.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._common import fmt_int, print_table

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.graph import Graph
    from fuseplan.models.plan import Plan

MAX_LISTED_OPS = 3
MIN_NAMES = 24  # below this many columns for the names, drop the in/weights/out split
MAX_RANGES_WIDTH = 11  # "120-135,140" fits; longer lists end with ",.."
TWO_NAMES = 36  # below this many columns, the names cell holds the first op's name only


def abbreviate(names: list[str]) -> str:
    """Full names: all of them up to three, else ``first .. last (n ops)``."""
    if len(names) <= MAX_LISTED_OPS:
        return ", ".join(names)
    return f"{names[0]} .. {names[-1]} ({len(names)} ops)"


def op_ranges(ops: Sequence[int]) -> str:
    """``[3, 4, 5, 8]`` -> ``3-5,8``; a list longer than 11 characters ends with ``,..``."""
    runs: list[list[int]] = []
    for v in sorted(ops):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in runs]
    text = ",".join(parts)
    while len(text) > MAX_RANGES_WIDTH and len(parts) > 1:
        parts.pop()
        text = ",".join(parts) + ",.."
    return text


def _parts(name: str) -> list[str]:
    """A name's ``/`` parts without nested-module repeats: ``/layer1/layer1.0/conv1/Conv`` ->
    ``layer1.0, conv1, Conv`` (a part the next one extends with ``.`` says nothing more)."""
    parts = [p for p in name.strip("/").split("/") if p]
    return [p for p, q in zip(parts, parts[1:] + [""]) if not q.startswith(p + ".")] or [name]


def name_tails(graph: Graph) -> list[str]:
    """Per op, the shortest trailing part of its name (split at ``/``, nested-module repeats
    dropped) that no other op's name ends with; the whole name when none is shorter."""
    split = [_parts(op.name) for op in graph.ops]
    depth = max((len(p) for p in split), default=1)
    counts = [Counter("/".join(p[-k:]) for p in split) for k in range(1, depth + 1)]
    tails = []
    for op, parts in zip(graph.ops, split):
        for k in range(1, len(parts) + 1):
            tail = "/".join(parts[-k:])
            if counts[k - 1][tail] == 1:
                break
        else:
            tail = op.name
        tails.append(tail if counts[len(parts) - 1]["/".join(parts)] == 1 else op.name)
    return tails


def _after_shared(first: str, last: str) -> str:
    """``last`` without the leading parts it shares with ``first`` (same block: say it once)."""
    a, b = first.split("/"), last.split("/")
    k = 0
    while k < min(len(a), len(b)) - 1 and a[k] == b[k]:
        k += 1
    return "/".join(b[k:])


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, cut in the middle: the head of a tail names the
    block (``inception4a``), its end the op (``conv/Conv``)."""
    if len(text) <= width:
        return text
    if width < 4:
        return text[-width:]
    head = (width - 1) * 2 // 5
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def _names_cell(first: str, last: str, count: int, width: int) -> str:
    if count == 1 or width < TWO_NAMES:
        return _cut(first, width)
    joint = " .. " if count > 2 else ", "
    last = _after_shared(first, last)
    if len(first) + len(joint) + len(last) <= width:
        return first + joint + last
    room = max(2, width - len(joint))
    left = min(len(first), max(room // 2, room - len(last)))
    return _cut(first, left) + joint + _cut(last, room - left)


def _line_width(columns: list[list[str]]) -> int:
    """What rich's default box takes for these columns: content, one space each side, a
    border between and around."""
    return sum(max(len(c) for c in col) for col in columns) + 3 * len(columns) + 1


def print_plan_table(plan: Plan, graph: Graph, *, title: str, width: int, wide: bool) -> None:
    tiled = any(g.cost.tiles is not None for g in plan.groups)
    unfusable = any(not g.fusible for g in plan.groups)
    index = [str(i) for i in range(len(plan.groups))]
    ranges = [op_ranges(g.ops) for g in plan.groups]
    barrier = [len(g.ops) == 1 and graph.ops[g.ops[0]].barrier for g in plan.groups]
    beta = ["barrier*" if b else fmt_int(g.cost.buffer_bytes) + ("" if g.fusible else "*")
            for g, b in zip(plan.groups, barrier)]
    split = {
        "in B": [fmt_int(g.cost.input_bytes) for g in plan.groups],
        "weights B": [fmt_int(g.cost.weight_bytes) for g in plan.groups],
        "out B": [fmt_int(g.cost.output_bytes) for g in plan.groups],
    }
    dram = [fmt_int(g.cost.dram_bytes) for g in plan.groups]
    tiling = [
        "-" if g.cost.tiles is None
        else f"n={g.cost.tiles} {g.cost.weights if wide else g.cost.weights[:3]}"
        for g in plan.groups
    ]
    notes = []
    if unfusable:
        notes.append("* unfusable: does not fit the buffer even alone, run unfused")
    if any(barrier):
        notes.append("barrier: an unknown op, never fused (--unsupported barrier)")
    if wide:
        names = [abbreviate([graph.ops[v].name for v in g.ops]) for g in plan.groups]
        keep_split = True
    else:
        tails = name_tails(graph)
        fixed = [index, ranges, beta, dram] + ([tiling] if tiled else [])
        room = width - _line_width([*fixed, *split.values(), ["x"]]) + 1
        keep_split = room >= MIN_NAMES
        if not keep_split:
            room = width - _line_width([*fixed, ["x"]]) + 1
            notes.append("in/weights/out B: --wide, --csv or a wider terminal")
        room = max(room, 12)
        names = [
            _names_cell(tails[g.ops[0]], tails[g.ops[-1]], len(g.ops), room) for g in plan.groups
        ]
        notes.append(f"ops: op indices as in `fuseplan graph {graph.name} --ops`; names: "
                     "the distinguishing tail of the first and last op's (--wide: in full)")
        if tiled:
            notes.append("tiling: n row tiles, weights res(ident) or str(eamed)")
    headers = ["#", "ops", "names", "F_beta B"]
    columns = [index, ranges, names, beta]
    if keep_split:
        headers += list(split)
        columns += list(split.values())
    headers.append("F_D B")
    columns.append(dram)
    if tiled:
        headers.append("tiling")
        columns.append(tiling)
    rows = list(zip(*columns))
    numeric = {i for i, h in enumerate(headers) if h == "#" or h.endswith(" B")}
    print_table(
        title, headers, rows, right_align=sorted(numeric),
        width=max(_line_width([[h, *col] for h, col in zip(headers, columns)]), width)
        if wide else width,
        caption="\n".join(notes) if notes else None,
        no_wrap=range(len(headers)),
    )
