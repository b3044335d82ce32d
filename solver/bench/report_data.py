"""The numbers of a bench report, from its rows: pivots, optima and gaps, run statistics.

Seeds are folded: a (net, scheme, buffer, method) cell shows the best all-ops DRAM over its
successful seeds and the mean wall time. The optimum of a (net, scheme, buffer) is the
all-ops DRAM of its OPTIMAL rows; the gap of any method is (its DRAM - optimum) / optimum.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean
from typing import Any

FAILED = ("ERROR", "TIMEOUT")

Cell = tuple[str, str, int, str]  # net, scheme, buffer_bytes, method


@dataclass(frozen=True)
class CellStats:
    """One (net, scheme, buffer, method) over its seeds."""

    runs: int
    failed: int
    best_all_bytes: int | None
    all_bound_bytes: int | None  # the best proven bound on the all-ops total
    statuses: tuple[str, ...]
    mean_wall_s: float
    mean_solve_s: float | None  # the solver's own time, without process start-up
    max_peak_mb: float | None


def ordered(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def cell_stats(rows: list[dict[str, Any]]) -> dict[Cell, CellStats]:
    groups: dict[Cell, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["net"], r["scheme"], r["buffer_bytes"], r["method"])].append(r)
    out = {}
    for cell, rs in groups.items():
        ok = [r for r in rs if r["status"] not in FAILED and r.get("all_dram_bytes") is not None]
        bounds = [r["all_bound_bytes"] for r in ok if r.get("all_bound_bytes") is not None]
        peaks = [r["peak_rss_mb"] for r in rs if r.get("peak_rss_mb") is not None]
        out[cell] = CellStats(
            runs=len(rs),
            failed=len(rs) - len(ok),
            best_all_bytes=min((r["all_dram_bytes"] for r in ok), default=None),
            all_bound_bytes=max(bounds, default=None),
            statuses=tuple(sorted({r["status"] for r in rs})),
            mean_wall_s=mean(r["wall_time_s"] for r in rs),
            mean_solve_s=mean(solve) if (solve := [r["solve_time_s"] for r in ok
                                                   if r.get("solve_time_s") is not None]) else None,
            max_peak_mb=max(peaks, default=None),
        )
    return out


@dataclass(frozen=True)
class Optimum:
    """The proven optimum of a (net, scheme, buffer); ``disagree`` when OPTIMAL rows differ."""

    all_bytes: int
    disagree: bool


def optima(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], Optimum]:
    values: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    for r in rows:
        if r["status"] == "OPTIMAL" and r.get("all_dram_bytes") is not None:
            values[(r["net"], r["scheme"], r["buffer_bytes"])].add(r["all_dram_bytes"])
    return {k: Optimum(min(v), len(v) > 1) for k, v in values.items()}


def best_bounds(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], int]:
    """Per (net, scheme, buffer), the highest proven lower bound on the all-ops total."""
    out: dict[tuple[str, str, int], int] = {}
    for r in rows:
        b = r.get("all_bound_bytes")
        if b is not None and r["status"] not in FAILED:
            key = (r["net"], r["scheme"], r["buffer_bytes"])
            out[key] = max(out.get(key, b), b)
    return out


def gap_rows(rows: list[dict[str, Any]]) -> list[tuple[str, str, int, str, int, int, float]]:
    """(net, scheme, buffer, method, best all-ops bytes, optimum bytes, gap) of every cell
    whose optimum is known."""
    best = optima(rows)
    out = []
    for (net, scheme, buf, method), stats in cell_stats(rows).items():
        opt = best.get((net, scheme, buf))
        if opt is None or stats.best_all_bytes is None:
            continue
        gap = (stats.best_all_bytes - opt.all_bytes) / opt.all_bytes if opt.all_bytes else 0.0
        out.append((net, scheme, buf, method, stats.best_all_bytes, opt.all_bytes, gap))
    return out


def method_summary(rows: list[dict[str, Any]]) -> list[tuple[str, int, int, int, float, float, float | None]]:
    """Per method: runs, OPTIMAL rows, failed rows, mean and max wall time, max peak memory."""
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_method[r["method"]].append(r)
    out = []
    for method, rs in by_method.items():
        peaks = [r["peak_rss_mb"] for r in rs if r.get("peak_rss_mb") is not None]
        out.append((
            method, len(rs),
            sum(r["status"] == "OPTIMAL" for r in rs),
            sum(r["status"] in FAILED for r in rs),
            mean(r["wall_time_s"] for r in rs),
            max(r["wall_time_s"] for r in rs),
            max(peaks, default=None),
        ))
    return out
