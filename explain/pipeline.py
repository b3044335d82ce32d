"""From a scheme to a checkpoint: dataset (cached), features, training, report, save.

:func:`train_scheme` is what ``fuseplan train`` calls; a Python user gets the same result
with one import. torch is imported when it runs.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fuseplan.models.zoo import build

from .batching import GroupBank
from .dataset import SPLITS, Dataset, DatasetSpec, class_balance, load_or_build
from .evaluate import RANGE_EDGES, report, summary
from .features import FEATURE_VERSION, OpTable, op_table
from .fingerprint import cost_fingerprint
from .gnn import HIDDEN, LAYERS
from .training import EpochHook, StepHook, TrainConfig, predict_bank, train


@dataclass(frozen=True)
class Hooks:
    stage: Callable[[str], None] | None = None
    step: StepHook | None = None
    epoch: EpochHook | None = None


def dataset_bank(data: Dataset) -> GroupBank:
    """Every instance of ``data`` as node rows (op tables built once per net and bpe)."""
    tables: dict[tuple[int, int], OpTable] = {}
    keys: list[tuple[int, int]] = []
    table_of = []
    for n, b in zip(data.inst_net.tolist(), data.inst_bpe.tolist()):
        if (n, b) not in tables:
            tables[(n, b)] = op_table(build(data.nets[n]), b)
            keys.append((n, b))
        table_of.append(keys.index((n, b)))
    groups = [data.ops_of(i) for i in range(data.inst_net.size)]
    return GroupBank.from_groups([tables[k] for k in keys], table_of, groups,
                                 data.inst_bpe.tolist())


def _samples(data: Dataset, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.flatnonzero(sel)
    return data.samp_inst[idx].astype(np.int64), data.samp_buffer[idx], data.samp_label[idx]


def train_scheme(spec: DatasetSpec, config: TrainConfig, out: Path,
                 cache_dir: Path | None = None, hooks: Hooks = Hooks(),
                 command: str = "") -> dict[str, Any]:
    """Builds or loads the dataset, trains, scores every scope and writes the checkpoint to
    ``out``; returns the checkpoint's record (with the full report under ``report``)."""
    import torch

    from .checkpoint import save_checkpoint

    say = hooks.stage or (lambda _msg: None)
    say("dataset")
    data, path, cached = load_or_build(spec, cache_dir, progress=lambda n: say(f"sampling {n}"))
    say(f"dataset {'from cache' if cached else 'built'}: {path}")
    bank = dataset_bank(data)
    split = data.inst_split[data.samp_inst]
    train_sel = (split == SPLITS.index("train")) & data.samp_train_pick
    result = train(bank, _samples(data, train_sel),
                   _samples(data, split == SPLITS.index("val")), config,
                   on_epoch=hooks.epoch, on_step=hooks.step)
    say("scoring")
    prob = predict_bank(result.model, bank, data.samp_inst.astype(np.int64), data.samp_buffer)
    rep = report(data, prob)
    rep["class_balance"] = [
        {"distribution": d, "range": r, "samples": n, "valid_share": round(v, 4)}
        for d, r, n, v in class_balance(data, RANGE_EDGES)]
    rep["history"] = result.history
    meta = {
        "scheme": spec.scheme, "cost_fingerprint": cost_fingerprint(spec.scheme),
        "train_nets": list(spec.nets), "unseen_nets": list(spec.unseen), "seed": config.seed,
        "hidden": HIDDEN, "layers": LAYERS, "feature_version": FEATURE_VERSION,
        "dataset": {**asdict(spec), "key": spec.key(), "train_samples": int(train_sel.sum()),
                    "instances": int(data.inst_net.size), "samples": int(data.samp_inst.size)},
        "training": {**asdict(config), "best_epoch": result.best_epoch,
                     "epochs_run": result.epochs_run, "seconds": round(result.seconds, 1),
                     "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                     "load_avg_1m": round(os.getloadavg()[0], 2),
                     "machine": platform.machine()},
        "balanced_accuracy": summary(rep), "command": command,
    }
    save_checkpoint(result.model, out, {**meta, "report": rep})
    return {**meta, "report": rep}
