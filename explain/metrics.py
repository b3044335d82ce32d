"""Classification scores of P(valid) against labels (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    samples: int
    valid_share: float  # share of positive labels
    accuracy: float
    balanced_accuracy: float  # mean of the recall of each class present
    f1: float  # of the class "valid"

    def as_dict(self) -> dict[str, float | int]:
        return {"samples": self.samples, "valid_share": round(self.valid_share, 4),
                "accuracy": round(self.accuracy, 4),
                "balanced_accuracy": round(self.balanced_accuracy, 4), "f1": round(self.f1, 4)}


def scores(prob: np.ndarray, label: np.ndarray, threshold: float = 0.5) -> Scores:
    """Scores of the predictions ``prob >= threshold``; with one class present, balanced
    accuracy is that class's recall."""
    pred = np.asarray(prob) >= threshold
    y = np.asarray(label).astype(bool)
    n = int(y.size)
    if n == 0:
        return Scores(0, float("nan"), float("nan"), float("nan"), float("nan"))
    tp = int(np.sum(pred & y))
    tn = int(np.sum(~pred & ~y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    recalls = [hit / total for hit, total in ((tp, tp + fn), (tn, tn + fp)) if total]
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return Scores(n, float(y.mean()), (tp + tn) / n, float(np.mean(recalls)), f1)
