"""``fuseplan frontier --plot``: the optimal all-ops DRAM against the buffer, a step curve per
scheme (solid; the optimal plan's fusible total dotted, same colour) with the lower bound
(every weight once + network inputs and outputs) dashed. Log-2 buffer axis in KB, DRAM in
MB; matplotlib's Agg backend, written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fuseplan.models.fileio import IMAGE_SUFFIXES, check_output_path, save_figure_atomic

from .frontier import Frontier

KB = 1024
MB = 1024 * 1024
_COLOURS = {"lbdf": "tab:blue", "brr": "tab:orange"}


def _curve(frontier: Frontier) -> tuple[list[float], list[float], list[float]]:
    """x (KB), all-ops and fusible (MB) for a ``where="post"`` step plot, closed at ``to``."""
    xs = [s.buffer_bytes / KB for s in frontier.steps] + [frontier.to_bytes / KB]
    all_ops = [s.all_ops_bytes / MB for s in frontier.steps]
    fusible = [s.fusible_bytes / MB for s in frontier.steps]
    return xs, all_ops + all_ops[-1:], fusible + fusible[-1:]


def _kb_label(kb: float, _pos: object) -> str:
    return f"{kb / KB:g} MB" if kb >= KB else f"{kb:g} KB"


def plot_frontiers(frontiers: Sequence[Frontier], path: str | Path, *,
                   show_fusible: bool = True) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    target = check_output_path(path, what="drawing", suffixes=IMAGE_SUFFIXES)
    if not frontiers:
        raise ValueError("no frontier to draw")
    fig, ax = plt.subplots(figsize=(9, 5))
    for f in frontiers:
        colour = _COLOURS.get(f.scheme, "tab:green")
        xs, all_ops, fusible = _curve(f)
        ax.step(xs, all_ops, where="post", color=colour, lw=1.6,
                label=f"{f.scheme.upper()} optimum, all ops ({len(f.steps)} steps)")
        if show_fusible:
            ax.step(xs, fusible, where="post", color=colour, lw=0.9, ls=":",
                    label=f"{f.scheme.upper()} optimal plan, fusible ops only")
        if not f.complete:
            open_rows = [s for s in f.steps if s.status != "OPTIMAL"]
            ax.scatter([s.buffer_bytes / KB for s in open_rows],
                       [s.all_ops_bytes / MB for s in open_rows], marker="x", color="red",
                       zorder=3, label=f"{f.scheme.upper()}: not proven optimal")
    first = frontiers[0]
    ax.axhline(first.lower_bound_bytes / MB, color="black", ls="--", lw=1.0,
               label="lower bound (weights once + net inputs and outputs)")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_kb_label))
    ax.set_xlim(first.from_bytes / KB, first.to_bytes / KB)
    ax.set_xlabel("on-chip buffer (log scale)")
    ax.set_ylabel("DRAM traffic (MB)")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{first.net}: exact DRAM-vs-buffer frontier, "
                 f"{first.bytes_per_element} B/element")
    fig.tight_layout()
    try:
        save_figure_atomic(fig, target, dpi=110)
    finally:
        plt.close(fig)
