"""The accuracy report of a trained predictor over a dataset (numpy only).

Scopes: ``held-out`` (test forms of the training nets), ``unseen`` (all groups of the unseen
nets), ``unseen-novel`` (those whose form no training group has) and each unseen net. Each
scope is scored on both buffer distributions, then per buffer range and per group size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .dataset import DISTS, SPLITS, Dataset, range_name
from .metrics import scores

RANGE_EDGES = (64 * 1024, 256 * 1024, 1024 * 1024, 2 * 1024 * 1024)
SIZE_EDGES = (2, 6, 21, 61)  # groups of 1, 2-5, 6-20, 21-60, 61-120 ops


def _size_name(b: int) -> str:
    lo = (1, *SIZE_EDGES)[b]
    hi = (*[e - 1 for e in SIZE_EDGES], 120)[b]
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def scopes(data: Dataset) -> dict[str, np.ndarray]:
    """Per scope, a boolean mask over samples."""
    split = data.inst_split[data.samp_inst]
    out = {
        "held-out": split == SPLITS.index("test"),
        "unseen": split == SPLITS.index("unseen"),
        "unseen-novel": data.inst_novel[data.samp_inst],
    }
    net = data.inst_net[data.samp_inst]
    for i, name in enumerate(data.nets):
        sel = (net == i) & (split == SPLITS.index("unseen"))
        if sel.any():
            out[name] = sel
    return out


def report(data: Dataset, prob: np.ndarray) -> dict[str, Any]:
    """Scores per scope and distribution, and for the pooled scopes per buffer range and
    group size."""
    label = data.samp_label
    sizes = np.diff(data.inst_offsets)[data.samp_inst]
    ranges = np.digitize(data.samp_buffer, RANGE_EDGES)
    size_bins = np.digitize(sizes, SIZE_EDGES)
    out: dict[str, Any] = {"scopes": {}, "by_range": {}, "by_size": {}}
    for scope, sel in scopes(data).items():
        for d, dist in enumerate(DISTS):
            m = sel & (data.samp_dist == d)
            if not m.any():
                continue
            out["scopes"].setdefault(scope, {})[dist] = scores(prob[m], label[m]).as_dict()
            if scope not in ("held-out", "unseen"):
                continue
            for b in range(len(RANGE_EDGES) + 1):
                mb = m & (ranges == b)
                if mb.any():
                    out["by_range"].setdefault(scope, {}).setdefault(dist, {})[
                        range_name(RANGE_EDGES, b)] = scores(prob[mb], label[mb]).as_dict()
            for b in range(len(SIZE_EDGES) + 1):
                mb = m & (size_bins == b)
                if mb.any():
                    out["by_size"].setdefault(scope, {}).setdefault(dist, {})[
                        _size_name(b)] = scores(prob[mb], label[mb]).as_dict()
    return out


def summary(rep: dict[str, Any]) -> dict[str, float]:
    """The headline figures (balanced accuracy) a checkpoint records."""
    s = rep["scopes"]
    return {f"{scope}/{dist}": s[scope][dist]["balanced_accuracy"]
            for scope in ("held-out", "unseen", "unseen-novel") for dist in DISTS
            if dist in s.get(scope, {})}


def render(rep: dict[str, Any], table: Callable[[str, tuple[str, ...], list[tuple]], None]) -> None:
    """Prints the report as tables through ``table(title, header, rows)``."""
    def pct(x: float) -> str:
        return "-" if x != x else f"{100 * x:.1f}"

    header = ("scope", "buffers", "samples", "valid %", "acc %", "bal. acc %", "F1 %")
    rows = [(scope, dist, v["samples"], pct(v["valid_share"]), pct(v["accuracy"]),
             pct(v["balanced_accuracy"]), pct(v["f1"]))
            for scope, per in rep["scopes"].items() for dist, v in per.items()]
    table("accuracy by scope (held-out: test forms of the training nets)", header, rows)
    for key, title in (("by_range", "buffer range"), ("by_size", "group size (ops)")):
        rows = [(f"{scope} {dist}", bucket, v["samples"], pct(v["valid_share"]),
                 pct(v["accuracy"]), pct(v["balanced_accuracy"]), pct(v["f1"]))
                for scope, per in rep[key].items() for dist, buckets in per.items()
                for bucket, v in buckets.items()]
        table(f"accuracy by {title}", ("scope", title, *header[2:]), rows)
