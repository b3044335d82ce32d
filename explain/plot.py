"""A drawing of an explained group (matplotlib, Agg): one panel per strategy.

Ops sit on the row of their depth inside the group (longest path from the group's sources),
labelled with the op's name (its tail when long). Edges are coloured by the strategy's score
(one colour scale per panel; an edge no score ranks is grey and dotted). The chosen cut is
marked: the first half's ops are blue, the second half's orange, and each crossing edge is
drawn thick with a red cross at its middle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from fuseplan.models.fileio import IMAGE_SUFFIXES, check_output_path, save_figure_atomic
from fuseplan.models.graph import Graph
from fuseplan.models.group import mask_ops

from .report import StrategyOutcome

MAX_LABEL = 20
FIRST_COLOUR = "#9ecae1"
SECOND_COLOUR = "#fdae6b"
PLAIN_COLOUR = "#dddddd"


def group_layout(graph: Graph, group: int) -> dict[int, tuple[float, float]]:
    """Op id -> (x, y): y = -depth inside the group, ops of a row spread evenly and centred."""
    depth: dict[int, int] = {}
    for v in mask_ops(group):  # topological order
        depth[v] = max((depth[p] + 1 for p in graph.preds[v] if group >> p & 1), default=0)
    rows: dict[int, list[int]] = {}
    for v, d in depth.items():
        rows.setdefault(d, []).append(v)
    pos = {}
    for d, ops in rows.items():
        for i, v in enumerate(ops):
            pos[v] = (i - (len(ops) - 1) / 2, -float(d))
    return pos


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else "…" + name[-(MAX_LABEL - 1):]


def plot_explanations(graph: Graph, group: int, outcomes: Sequence[StrategyOutcome],
                      path: str | Path) -> None:
    """Writes one panel per strategy that ran to ``path`` (PNG, or any matplotlib suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    target = check_output_path(path, what="drawing", suffixes=IMAGE_SUFFIXES)
    ran = [o for o in outcomes if o.result is not None]
    pos = group_layout(graph, group)
    n_rows = int(-min(y for _, y in pos.values())) + 1
    width = max(x for x, _ in pos.values()) - min(x for x, _ in pos.values()) + 1
    panel_w, panel_h = max(4.0, 1.4 * width + 1.5), max(3.0, 0.55 * n_rows + 1.0)
    fig, axes = plt.subplots(1, max(1, len(ran)), figsize=(panel_w * max(1, len(ran)), panel_h),
                             squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, outcome in zip(axes[0], ran):
        result = outcome.result
        assert result is not None
        explanation = result.explanation
        finite = [s for s in explanation.edge_scores if math.isfinite(s)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        cut = result.cut.cut if result.cut else None
        crossing = set(cut.crossing) if cut else set()
        for i, (edge, score) in enumerate(zip(explanation.edges, explanation.edge_scores)):
            (x0, y0), (x1, y1) = pos[edge.producer], pos[edge.consumer]
            ok = math.isfinite(score)
            colour = cmap((score - lo) / (hi - lo) if ok and hi > lo else 1.0) if ok else "#999999"
            ax.add_patch(FancyArrowPatch(
                (x0, y0 - 0.15), (x1, y1 + 0.15), arrowstyle="-|>", mutation_scale=8,
                connectionstyle=f"arc3,rad={0.3 if y0 - y1 > 1 else 0.0}",
                lw=3.0 if i in crossing else 1.2, ls="-" if ok else ":", color=colour, zorder=1))
            if i in crossing:
                ax.plot((x0 + x1) / 2, (y0 + y1) / 2, marker="x", color="red", ms=9, mew=2.5,
                        zorder=4)
        for v, (x, y) in pos.items():
            fill = PLAIN_COLOUR if cut is None else (
                FIRST_COLOUR if cut.first >> v & 1 else SECOND_COLOUR)
            ax.text(x, y, f"{_short(graph.ops[v].name)}\n{graph.ops[v].kind}", ha="center",
                    va="center", fontsize=6, zorder=3,
                    bbox=dict(boxstyle="round,pad=0.25", fc=fill, ec="#333333", lw=0.4))
        verdict = "no valid cut" if result.cut is None else (
            "both halves valid" if result.cut.valid else "a half still invalid")
        ax.set_title(f"{outcome.name}: scores {lo:,.4g} .. {hi:,.4g}; cut: {verdict}", fontsize=8)
        ax.set_xlim(min(x for x, _ in pos.values()) - 0.8, max(x for x, _ in pos.values()) + 0.8)
        ax.set_ylim(-n_rows + 0.5, 0.6)
        ax.axis("off")
    if not ran:
        axes[0][0].axis("off")
        axes[0][0].set_title("no strategy ran", fontsize=8)
    fig.suptitle(f"{graph.name}: group of {group.bit_count()} ops (blue = first half, orange = "
                 "second, red x = crossing edge; edge colour = score, yellow highest)", fontsize=8)
    fig.subplots_adjust(top=1 - 0.6 / panel_h, bottom=0.02, left=0.02, right=0.98)
    try:
        save_figure_atomic(fig, target)
    finally:
        plt.close(fig)
