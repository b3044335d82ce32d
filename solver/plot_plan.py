"""``fuseplan solve --plot``: a plan at a glance.

Top: the op graph laid out by depth (longest path from an input) with ops coloured by
group (colours that are neither grey nor red), unfusable ops grey, hatched, red-edged, and a
legend that says so; an edge that skips depths is drawn as an arc, so skip connections (a
UNet's, a ResNet's) stand apart from the chain. Below: one bar per group of its buffer use
(F_beta) against the buffer line, and one bar of its DRAM traffic (F_D) split into inputs,
weights and outputs, with integer group ticks. matplotlib's Agg backend, written atomically.
"""

from __future__ import annotations

from pathlib import Path

from fuseplan.models.fileio import IMAGE_SUFFIXES, check_output_path, save_figure_atomic
from fuseplan.models.graph import Graph
from fuseplan.models.plan import Plan

KB = 1024


def _layout(graph: Graph) -> list[tuple[float, float]]:
    """(x, y) per op: x = depth, y = rank among the ops of that depth, centred."""
    depth = [0] * graph.num_ops
    for op in graph.ops:
        for p in graph.preds[op.id]:
            depth[op.id] = max(depth[op.id], depth[p] + 1)
    by_depth: dict[int, list[int]] = {}
    for v, d in enumerate(depth):
        by_depth.setdefault(d, []).append(v)
    pos: list[tuple[float, float]] = [(0.0, 0.0)] * graph.num_ops
    for d, ops in by_depth.items():
        for i, v in enumerate(ops):
            pos[v] = (float(d), i - (len(ops) - 1) / 2)
    return pos


def plot_plan(plan: Plan, graph: Graph, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = check_output_path(path, what="drawing", suffixes=IMAGE_SUFFIXES)
    n_groups = len(plan.groups)
    fig, (ax_graph, ax_buf, ax_dram) = plt.subplots(
        3, 1, figsize=(max(10, min(40, graph.num_ops / 6)), 12),
        gridspec_kw={"height_ratios": [3, 2, 2]},
    )
    _draw_graph(ax_graph, plan, graph)
    _draw_bars(ax_buf, ax_dram, plan, n_groups)
    title = (
        f"{graph.name}: {plan.scheme} at {plan.buffer_bytes // KB} KB, {n_groups} groups, "
        f"{plan.totals.fusible_dram_bytes / (1 << 20):.3f} MB fusible DRAM traffic "
        f"({plan.solve.solver}, {plan.solve.status})"
    )
    fig.suptitle(title)
    fig.tight_layout()
    try:
        save_figure_atomic(fig, target, dpi=110)
    finally:
        plt.close(fig)


# tab20 without its reds (6, 7) and greys (14, 15): those mean "unfusable"
_GROUP_COLOURS = (0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19)


def _colour(i: int):
    import matplotlib

    return matplotlib.colormaps["tab20"](_GROUP_COLOURS[i % len(_GROUP_COLOURS)])


def _edge_path(x0: float, y0: float, x1: float, y1: float) -> tuple[list[float], list[float]]:
    """A straight line between neighbouring depths; an arc above the chain for an edge that
    skips depths (the longer the skip, the higher the arc)."""
    span = x1 - x0
    if span <= 1:
        return [x0, x1], [y0, y1]
    lift = 0.35 + 0.12 * span
    cx, cy = (x0 + x1) / 2, max(y0, y1) + lift
    ts = [i / 24 for i in range(25)]
    xs = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1 for t in ts]
    ys = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1 for t in ts]
    return xs, ys


def _draw_graph(ax, plan: Plan, graph: Graph) -> None:
    pos = _layout(graph)
    group_of = {v: i for i, g in enumerate(plan.groups) for v in g.ops}
    for u, v in graph.edges():
        (x0, y0), (x1, y1) = pos[u], pos[v]
        same = group_of[u] == group_of[v]
        xs, ys = _edge_path(x0, y0, x1, y1)
        ax.plot(xs, ys, color="black" if same else "#999999",
                lw=1.2 if same else 0.7, zorder=1)
    for i, group in enumerate(plan.groups):
        xs = [pos[v][0] for v in group.ops]
        ys = [pos[v][1] for v in group.ops]
        if group.fusible:
            ax.scatter(xs, ys, s=40, color=_colour(i), edgecolors="black", linewidths=0.4, zorder=2)
        else:
            ax.scatter(xs, ys, s=40, color="#dddddd", edgecolors="red", hatch="///",
                       linewidths=0.8, zorder=2)
        ax.annotate(str(i), (min(xs), max(ys)), fontsize=6, xytext=(0, 4),
                    textcoords="offset points")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], ls="", marker="o", color=_colour(0), markeredgecolor="black",
               label="fusible group (one colour each; number = group index)"),
        Line2D([], [], ls="", marker="o", color="#dddddd", markeredgecolor="red",
               label="unfusable op (does not fit alone)"),
        Line2D([], [], color="black", lw=1.2, label="edge inside a group"),
        Line2D([], [], color="#999999", lw=0.7, label="edge between groups (arc: skips depths)"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)
    ax.set_title("ops by depth, coloured by group", fontsize=9)
    ax.set_xlabel("depth (longest path from an input)")
    ax.set_yticks([])


def _draw_bars(ax_buf, ax_dram, plan: Plan, n_groups: int) -> None:
    idx = list(range(n_groups))
    colours = [_colour(i) if g.fusible else "#dddddd" for i, g in enumerate(plan.groups)]
    ax_buf.bar(idx, [g.cost.buffer_bytes / KB for g in plan.groups], color=colours,
               edgecolor="black", linewidth=0.3)
    ax_buf.axhline(plan.buffer_bytes / KB, color="red", ls="--", lw=1,
                   label=f"buffer {plan.buffer_bytes // KB} KB")
    ax_buf.set_ylabel("F_beta (KB)")
    ax_buf.set_title("buffer use per group (unfusable ops exceed the line)", fontsize=9)
    ax_buf.legend(fontsize=8)
    mb = 1 << 20
    ins = [g.cost.input_bytes / mb for g in plan.groups]
    wts = [g.cost.weight_bytes / mb for g in plan.groups]
    outs = [g.cost.output_bytes / mb for g in plan.groups]
    ax_dram.bar(idx, ins, color="#4c72b0", label="inputs")
    ax_dram.bar(idx, wts, bottom=ins, color="#dd8452", label="weights")
    ax_dram.bar(idx, outs, bottom=[a + b for a, b in zip(ins, wts)], color="#55a868",
                label="outputs")
    ax_dram.set_ylabel("F_D (MB)")
    ax_dram.set_xlabel("group (execution order)")
    ax_dram.set_title("DRAM traffic per group", fontsize=9)
    ax_dram.legend(fontsize=8)
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_buf, ax_dram):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.6, n_groups - 0.4)
