"""Training the validity GNN (imports torch): Adam, class-balanced loss, early stopping.

The loss is binary cross-entropy on the logit with the positive class weighted by
(negatives / positives) of the training samples, so both classes count equally (the natural
distribution is mostly invalid). Early stopping keeps the weights of the epoch with the best
balanced accuracy on the validation forms and stops after ``patience`` epochs without a gain.
Seeded: the same data, seed and thread count give the same weights.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .batching import GroupBank
from .gnn import ValidityGNN
from .metrics import scores


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 50
    batch_size: int = 256
    lr: float = 1e-3
    patience: int = 8
    seed: int = 0
    threads: int = 1  # torch intra-op threads: 1 is fastest on a shared machine, and fixed


@dataclass
class TrainResult:
    model: ValidityGNN
    best_epoch: int
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


EpochHook = Callable[[int, int, dict[str, float]], None]
StepHook = Callable[[int, int], None]


def predict_bank(model: ValidityGNN, bank: GroupBank, groups: np.ndarray, buffers: np.ndarray,
                 batch_size: int = 1024) -> np.ndarray:
    """P(valid) of each (group, buffer) sample, in batches, without gradients."""
    model.eval()
    out = np.zeros(len(groups), dtype=np.float64)
    with torch.inference_mode():
        for lo in range(0, len(groups), batch_size):
            b = bank.batch(groups[lo:lo + batch_size], buffers[lo:lo + batch_size])
            logit = model(torch.from_numpy(b.x), torch.from_numpy(b.edge_index),
                          torch.from_numpy(b.batch))
            out[lo:lo + b.size] = torch.sigmoid(logit[:, 0]).double().numpy()
    return out


def train(bank: GroupBank, train_set: tuple[np.ndarray, np.ndarray, np.ndarray],
          val_set: tuple[np.ndarray, np.ndarray, np.ndarray], config: TrainConfig,
          on_epoch: EpochHook | None = None, on_step: StepHook | None = None) -> TrainResult:
    """Trains on ``train_set`` = (group index, buffer bytes, label) arrays; picks the epoch by
    balanced accuracy on ``val_set``."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = ValidityGNN()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    groups, buffers, labels = train_set
    pos = max(1, int(labels.sum()))
    neg = max(1, int(labels.size - labels.sum()))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(neg / pos))
    best_score, best_state, best_epoch, stale = -1.0, None, 0, 0
    history: list[dict[str, float]] = []
    steps = -(-labels.size // config.batch_size)
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(labels.size)
        total = 0.0
        for step, lo in enumerate(range(0, labels.size, config.batch_size)):
            idx = order[lo:lo + config.batch_size]
            b = bank.batch(groups[idx], buffers[idx])
            logit = model(torch.from_numpy(b.x), torch.from_numpy(b.edge_index),
                          torch.from_numpy(b.batch))[:, 0]
            loss = loss_fn(logit, torch.from_numpy(labels[idx].astype(np.float32)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.size
            if on_step:
                on_step(step + 1, steps)
        val = scores(predict_bank(model, bank, val_set[0], val_set[1]), val_set[2])
        row = {"epoch": epoch, "loss": total / labels.size, "val_bacc": val.balanced_accuracy,
               "val_acc": val.accuracy, "seconds": time.perf_counter() - start}
        history.append(row)
        if val.balanced_accuracy > best_score:
            best_score, best_epoch, stale = val.balanced_accuracy, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if on_epoch:
            on_epoch(epoch, config.epochs, row)
        if stale >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, best_epoch, epoch, time.perf_counter() - start, history)
