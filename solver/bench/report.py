"""``fuseplan bench report DIR``: a Markdown (or HTML) report of a bench directory.

Written to ``DIR/report/report.md`` (or ``.html``) with PNG plots beside it: per scheme, the
all-ops DRAM against the buffer (one line per method, the best proven lower bound dashed,
the trivial bound dotted) and the wall time against the buffer, one panel per net; tables of
the all-ops DRAM pivoted net x buffer, of each method's gap to the proven optimum, of the
methods' run statistics, and of the failed runs.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuseplan.models.errors import FusePlanError
from fuseplan.models.fileio import write_text_atomic

from .report_data import FAILED, best_bounds, cell_stats, gap_rows, method_summary, optima, ordered
from .spec import buffer_label
from .store import read_rows

MB = 1024 * 1024


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = tuple[str, Any]  # ("h2" | "h3" | "p", text), ("table", Table), ("img", file name)


def _mb(n: int | None) -> str:
    return "—" if n is None else f"{n / MB:.3f}"


def _pivot(rows: list[dict[str, Any]], scheme: str) -> Table:
    stats = cell_stats(rows)
    buffers = sorted({r["buffer_bytes"] for r in rows if r["scheme"] == scheme})
    table_rows = []
    for net in ordered([r["net"] for r in rows]):
        for method in ordered([r["method"] for r in rows]):
            cells = [stats.get((net, scheme, b, method)) for b in buffers]
            if not any(cells):
                continue
            shown = [
                "" if c is None else (("timeout" if c.statuses == ("TIMEOUT",) else "failed")
                                      if c.best_all_bytes is None else _mb(c.best_all_bytes)
                                      + ("*" if "OPTIMAL" in c.statuses else ""))
                for c in cells
            ]
            table_rows.append((net, method, *shown))
    return Table(("net", "method", *(buffer_label(b) for b in buffers)), tuple(table_rows))


def _by_buffer(rows: list[dict[str, Any]]) -> Any:
    """A sort key over (net, scheme, buffer, method, ...): nets and methods in the order the
    rows first name them, buffers from small to large."""
    nets = {n: i for i, n in enumerate(ordered([r["net"] for r in rows]))}
    methods = {m: i for i, m in enumerate(ordered([r["method"] for r in rows]))}
    return lambda t: (nets.get(t[0], 0), t[1], t[2], methods.get(t[3], 0))


def _gap_table(rows: list[dict[str, Any]]) -> Table:
    best = optima(rows)
    out = []
    for net, scheme, buf, method, value, opt, gap in sorted(gap_rows(rows), key=_by_buffer(rows)):
        flag = " (OPTIMAL rows disagree!)" if best[(net, scheme, buf)].disagree else ""
        out.append((net, scheme, buffer_label(buf), method, _mb(value), _mb(opt) + flag,
                    f"{100 * gap:.2f} %"))
    return Table(("net", "scheme", "buffer", "method", "all-ops MB", "optimum MB", "gap"),
                 tuple(out))


def _method_table(rows: list[dict[str, Any]]) -> Table:
    return Table(
        ("method", "runs", "OPTIMAL", "failed", "mean s", "max s", "max peak MB"),
        tuple(
            (m, str(n), str(opt), str(bad), f"{avg:.2f}", f"{worst:.2f}",
             "—" if peak is None else f"{peak:.0f}")
            for m, n, opt, bad, avg, worst, peak in method_summary(rows)
        ),
    )


def _error_table(rows: list[dict[str, Any]]) -> Table:
    return Table(
        ("net", "scheme", "buffer", "method", "seed", "status", "error"),
        tuple(
            (r["net"], r["scheme"], r["buffer"], r["method"], str(r["seed"]), r["status"],
             str(r.get("error"))[:200])
            for r in sorted(
                (r for r in rows if r["status"] in FAILED),
                key=lambda r: _by_buffer(rows)((r["net"], r["scheme"], r["buffer_bytes"],
                                                r["method"])),
            )
        ),
    )


def _plot(rows: list[dict[str, Any]], scheme: str, metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    stats, bounds = cell_stats(rows), best_bounds(rows)
    nets = ordered([r["net"] for r in rows if r["scheme"] == scheme and r["status"] not in FAILED])
    methods = ordered([r["method"] for r in rows])
    cols = min(4, len(nets))
    nrows = math.ceil(len(nets) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, net in zip(axes.flat, nets):
        buffers = sorted({r["buffer_bytes"] for r in rows if r["net"] == net and r["scheme"] == scheme})
        xs = [b / 1024 for b in buffers]
        for method in methods:
            cells = [stats.get((net, scheme, b, method)) for b in buffers]
            if metric == "dram":
                ys = [c.best_all_bytes / MB if c and c.best_all_bytes is not None else math.nan for c in cells]
            else:
                ys = [c.mean_solve_s if c and c.mean_solve_s is not None else math.nan for c in cells]
            ax.plot(xs, ys, marker="o", label=method, zorder=3)
        if metric == "dram":
            # drawn wide and pale beneath the methods: where a method is proven optimal its
            # curve lies on the bound, and both stay visible
            lb = [bounds.get((net, scheme, b)) for b in buffers]
            ax.plot(xs, [math.nan if v is None else v / MB for v in lb], color="black", lw=6,
                    alpha=0.18, solid_capstyle="round", zorder=1,
                    label="best proven lower bound (pale band; a proven optimum lies on it)")
            trivial = [r.get("lower_bound_bytes") for r in rows
                       if r["net"] == net and r["scheme"] == scheme and r.get("lower_bound_bytes")]
            if trivial:
                ax.axhline(trivial[0] / MB, color="grey", linestyle=":", label="weights + in/out")
            ax.set_ylabel("all-ops DRAM (MB)")
        else:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 0.05, not 5x10^-2
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_ylabel("solve time (s)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [buffer_label(b) for b in buffers], rotation=45, fontsize=7)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("buffer")
        ax.set_title(net if len(net) < 40 else net[:37] + "...", fontsize=9)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(nets):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.suptitle(f"{scheme.upper()}: {'all-ops DRAM' if metric == 'dram' else 'solve time'} vs buffer")
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def build_blocks(rows: list[dict[str, Any]], folder: Path, title: str) -> list[Block]:
    """The report's content; writes the plots into ``folder``."""
    failed = sum(r["status"] in FAILED for r in rows)
    blocks: list[Block] = [
        ("h1", f"fuseplan bench report: {title}"),
        ("p", f"{len(rows)} runs ({len(rows) - failed} finished, {failed} failed) of "
              f"{len({r['net'] for r in rows})} nets; tool version(s) "
              f"{', '.join(ordered([r['tool_version'] for r in rows]))}; made "
              f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}. DRAM in MB "
              "(2^20 bytes), all ops counted (unfusable ops included); over seeds, the best "
              "value and the mean time."),
    ]
    for scheme in ordered([r["scheme"] for r in rows]):
        blocks.append(("h2", f"{scheme.upper()}"))
        blocks.append(("p", "All-ops DRAM (MB), net x buffer; * = proven optimal."))
        blocks.append(("table", _pivot(rows, scheme)))
        if not any(r["scheme"] == scheme and r["status"] not in FAILED for r in rows):
            continue
        for metric in ("dram", "time"):
            name = f"{scheme}_{metric}.png"
            _plot(rows, scheme, metric, folder / name)
            blocks.append(("img", name))
    gaps = _gap_table(rows)
    blocks.append(("h2", "Gap to the proven optimum"))
    blocks.append(("table", gaps) if gaps.rows else ("p", "No run proved an optimum."))
    blocks += [("h2", "Methods"), ("table", _method_table(rows))]
    errors = _error_table(rows)
    if errors.rows:
        blocks += [("h2", "Failed runs"), ("table", errors)]
    return blocks


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[Block]) -> str:
    out = []
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + value)
        elif kind == "p":
            out.append(value)
        elif kind == "img":
            out.append(f"![{value}]({value})")
        else:
            out.append("| " + " | ".join(value.headers) + " |")
            out.append("|" + "---|" * len(value.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in value.rows]
        out.append("")
    return "\n".join(out)


def render_html(blocks: list[Block]) -> str:
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>fuseplan bench</title>",
           "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
           "img{max-width:100%}</style></head><body>"]
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{html.escape(value)}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{html.escape(value)}</p>")
        elif kind == "img":
            out.append(f"<img src='{html.escape(value)}' alt='{html.escape(value)}'>")
        else:
            out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in value.headers) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in value.rows]
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(out_dir: str | Path, fmt: str = "md") -> Path:
    """Writes DIR/report/report.md (or .html) and its plots; returns the report's path."""
    rows = read_rows(out_dir)
    if not rows:
        raise FusePlanError(f"{str(out_dir)!r} holds no rows yet: run fuseplan bench --out {out_dir} first")
    folder = Path(out_dir) / "report"
    folder.mkdir(exist_ok=True)
    blocks = build_blocks(rows, folder, str(out_dir))
    path = folder / f"report.{fmt}"
    write_text_atomic(path, render_markdown(blocks) if fmt == "md" else render_html(blocks))
    return path
