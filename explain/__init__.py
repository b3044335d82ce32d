"""The learned half: GNN validity predictor and explainer attributions.

Depends on ``fuseplan.models`` only; imports torch lazily in its own modules so that the
command line starts fast when the learned parts are not used.

``from fuseplan.explain import predict_validity`` imports no torch: the names below are
looked up on first access (:data:`_LAZY`, name -> module), and torch loads when a learned
function is first called.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "predict_validity": ".predict",
    "load_predictor": ".predict",
    "FEATURE_VERSION": ".features",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
