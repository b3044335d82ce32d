"""A drawing of the operator graph (matplotlib, Agg): layered top to bottom by depth.

Each op sits on the row of its depth (the longest path of ops from a network input); within a
row ops are ordered by the mean position of their producers, which keeps branches apart and
edges short. Boxes are coloured by kind (depthwise convs apart) and labelled with the op's
name (its tail when long) and output shape; edges that skip rows are drawn as arcs so that
they do not run through the ops between. The figure grows with the graph (about 0.4 inch per
row), so a 150-op net stays readable when zoomed. A deep net is cut into bands of rows set
side by side (DenseNet-121: 371 rows one op wide become 7 bands of 53), so the picture stays
about square instead of a 770 x 17,000 pixel strip; an edge into a later band leaves its op
as a dotted stub down and arrives as one from the band's top. ``.svg`` (or ``.pdf``) gives a
vector drawing that zooms without limit.
"""

from __future__ import annotations

from pathlib import Path

from .fileio import IMAGE_SUFFIXES, check_output_path, save_figure_atomic
from .graph import Graph
from .graph_summary import kind_label

ROW_INCH = 0.42
COL_INCH = 1.55
MAX_LABEL = 30
MAX_PIXELS = 60_000  # matplotlib's Agg refuses images of 2**16 pixels or more per side


def depths(graph: Graph) -> list[int]:
    """Per op, the number of ops on the longest path from a network input to it, minus one."""
    d = [0] * graph.num_ops
    for op in graph.ops:  # ops are in topological order
        d[op.id] = max((d[p] + 1 for p in graph.preds[op.id]), default=0)
    return d


def layout(graph: Graph) -> dict[int, tuple[float, float]]:
    """Op id -> (x, y): y = -depth; x as near as possible to the mean x of the op's producers
    (so a branch runs straight down), at least 1 apart within a row."""
    d = depths(graph)
    rows: dict[int, list[int]] = {}
    for v in range(graph.num_ops):
        rows.setdefault(d[v], []).append(v)
    pos: dict[int, tuple[float, float]] = {}
    for depth in sorted(rows):
        row = rows[depth]
        want: dict[int, float] = {}
        for i, v in enumerate(row):
            xs = [pos[p][0] for p in graph.preds[v]]
            want[v] = sum(xs) / len(xs) if xs else i - (len(row) - 1) / 2
        row.sort(key=lambda v: (want[v], v))
        xs_row: list[float] = []
        for v in row:
            xs_row.append(want[v] if not xs_row else max(want[v], xs_row[-1] + 1.0))
        shift = sum(want[v] for v in row) / len(row) - sum(xs_row) / len(row)
        for v, x in zip(row, xs_row):
            pos[v] = (x + shift, -float(depth))
    return pos


MAX_BAND_ROWS = 60  # deeper nets are cut into bands


def bands(n_rows: int, width: float) -> int:
    """How many side-by-side bands make the drawing about as wide as it is tall."""
    if n_rows <= MAX_BAND_ROWS:
        return 1
    k = round((n_rows * ROW_INCH / ((width + 1.0) * COL_INCH)) ** 0.5)
    return max(1, min(k, -(-n_rows // 12)))


def banded(pos: dict[int, tuple[float, float]], n_rows: int, width: float, k: int
           ) -> tuple[dict[int, tuple[float, float, int]], int]:
    """(x, y, band) per op, and the rows per band: band b holds depths b*R .. (b+1)*R - 1,
    shifted right by b band widths."""
    per_band = -(-n_rows // k)
    x_min = min(x for x, _ in pos.values())
    out = {}
    for v, (x, y) in pos.items():
        depth = int(round(-y))
        b = depth // per_band
        out[v] = (x - x_min + b * (width + 1.0), -float(depth % per_band), b)
    return out, per_band


def _bend(dy: float, dx: float) -> float:
    """arc3's rad for a skip edge: a bulge of at most about 0.6 column widths, so long skips
    stay beside their column instead of sweeping across the others."""
    length = (dx * dx + dy * dy) ** 0.5
    return min(0.35, 0.6 / max(length, 1e-9))


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else "…" + name[-(MAX_LABEL - 1):]


def plot_graph(graph: Graph, path: str | Path) -> None:
    """Writes the drawing to ``path`` (PNG, or any format matplotlib knows by the suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    target = check_output_path(path, what="drawing", suffixes=IMAGE_SUFFIXES)
    flat = layout(graph)
    n_rows = int(-min(y for _, y in flat.values())) + 1
    width = max(x for x, _ in flat.values()) - min(x for x, _ in flat.values()) + 1
    k = bands(n_rows, width)
    placed, per_band = banded(flat, n_rows, width, k)
    pos = {v: (x, y) for v, (x, y, _) in placed.items()}
    band_of = {v: b for v, (_, _, b) in placed.items()}
    n_rows = min(n_rows, per_band)
    x_min = min(x for x, _ in pos.values())
    x_max = max(x for x, _ in pos.values())
    width = x_max - x_min + 1
    labels = [kind_label(graph, op) for op in graph.ops]
    kinds = sorted(set(labels))
    cmap = plt.get_cmap("tab20")
    colour = {k: cmap(i % 20) for i, k in enumerate(kinds)}

    fig_w = max(7.0, COL_INCH * width + 2.5)
    fig_h = max(4.0, ROW_INCH * n_rows + 1.2)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    for op in graph.ops:
        x1, y1 = pos[op.id]
        for p in graph.preds[op.id]:
            x0, y0 = pos[p]
            if band_of[p] != band_of[op.id]:  # into a later band: two dotted stubs
                ax.plot([x0, x0], [y0 - 0.18, -n_rows + 0.5], ls=":", lw=0.5, color="#1f77b4",
                        alpha=0.6, zorder=1)
                ax.add_patch(FancyArrowPatch(
                    (x1, 0.5), (x1, y1 + 0.18), arrowstyle="-|>", mutation_scale=6, ls=":",
                    lw=0.5, color="#1f77b4", alpha=0.6, zorder=1))
                continue
            skip = y0 - y1 > 1
            ax.add_patch(FancyArrowPatch(
                (x0, y0 - 0.18), (x1, y1 + 0.18), arrowstyle="-|>", mutation_scale=6,
                connectionstyle=f"arc3,rad={_bend(y0 - y1, x1 - x0) if skip else 0.0}", lw=0.5,
                color="#555555" if not skip else "#1f77b4", alpha=0.7, zorder=1,
            ))
    for op in graph.ops:
        x, y = pos[op.id]
        shape = "x".join(map(str, graph.tensors[op.output].shape))
        ax.text(x, y, f"{_short(op.name)}\n{op.kind} {shape}", ha="center", va="center",
                fontsize=5, zorder=3,
                bbox=dict(boxstyle="round,pad=0.25", fc=colour[labels[op.id]], ec="#333333", lw=0.4))
    for t in graph.inputs:
        readers = graph.consumers[t]
        if readers:
            x = sum(pos[v][0] for v in readers) / len(readers)
            ax.text(x, 0.8, f"input {graph.tensors[t].name}", ha="center", fontsize=5, color="#333333")
    ax.set_xlim(x_min - 0.7, x_max + 0.7)
    ax.set_ylim(-n_rows + 0.4, 1.2)
    ax.axis("off")
    title = f"{graph.name}: {graph.num_ops} ops, {graph.total_params:,} parameters"
    if k > 1:
        title += f" (depth cut into {k} bands of {per_band} rows, left to right)"
    ax.set_title(title, fontsize=9)
    handles = [plt.Line2D([], [], marker="s", ls="", color=colour[k], label=k) for k in kinds]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=6, frameon=False)
    fig.subplots_adjust(left=0.02, right=0.82, top=1 - 0.5 / fig_h, bottom=0.2 / fig_h)
    try:
        save_figure_atomic(fig, target, dpi=min(110.0, MAX_PIXELS / fig_h, MAX_PIXELS / fig_w))
    finally:
        plt.close(fig)
