"""``train_explainer``: trains PGExplainer or RG-Explainer against a scheme's validity GNN and
writes its checkpoint (imports torch). The library half of ``fuseplan train-explainer``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from fuseplan.models.errors import FusePlanError

from ..dataset import TRAIN_NETS
from ..predict import load_predictor
from .checkpoints import save_explainer, shipped_path
from .data import training_groups

TRAINED = ("pgexplainer", "rgexplainer")


def train_explainer(algorithm: str, scheme: str, *, gnn_checkpoint: str | Path | None = None,
                    out: str | Path | None = None, nets: Sequence[str] = TRAIN_NETS,
                    groups_per_net: int = 24, epochs: int | None = None, seed: int = 0,
                    threads: int = 1, command: str = "",
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Trains ``algorithm`` for ``scheme`` and writes ``out`` (default: the shipped
    checkpoint path); returns the record written."""
    algorithm = algorithm.strip().lower()
    scheme = scheme.strip().lower()
    if algorithm not in TRAINED:
        raise FusePlanError(f"--algorithm {algorithm!r}: only {', '.join(TRAINED)} are trained "
                            "(gnnexplainer and ig need no training)")
    say = progress or (lambda _msg: None)
    gnn, gnn_meta = load_predictor(scheme, gnn_checkpoint)
    torch.set_num_threads(threads)
    say(f"sampling invalid segment parts of {len(nets)} nets ({groups_per_net} per net)")
    groups = training_groups(scheme, nets, groups_per_net, seed,
                             both_valid_cut=algorithm == "rgexplainer")
    if not groups:
        raise FusePlanError("no invalid groups with a cut were found to train on")
    say(f"training {algorithm} on {len(groups)} groups")

    def on_epoch(epoch: int, total: int, loss: float) -> None:
        say(f"epoch {epoch}/{total}: loss {loss:.4f}")

    if algorithm == "pgexplainer":
        from . import pgexplainer as module
    else:
        from . import rgexplainer as module  # type: ignore[no-redef]
    kwargs = {"epochs": epochs} if epochs is not None else {}
    start = time.perf_counter()
    state, info = module.train(gnn, gnn_meta, groups, seed=seed, on_epoch=on_epoch, **kwargs)
    info["training"].update({
        "nets": list(nets), "groups_per_net": groups_per_net, "torch_threads": threads,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "wall_seconds": round(time.perf_counter() - start, 1)})
    meta = {"algorithm": algorithm, "scheme": scheme,
            "gnn_weights_sha256": gnn_meta.get("weights_sha256"),
            "cost_fingerprint": gnn_meta.get("cost_fingerprint"),
            "feature_version": gnn_meta.get("feature_version"), "seed": seed,
            "command": command, **info}
    path = save_explainer(state, out if out is not None else shipped_path(algorithm, scheme),
                          meta)
    meta["path"] = str(path)
    return meta
