"""``ig``: integrated gradients of P(invalid) with respect to the edge mask, through PyG's
``CaptumExplainer('IntegratedGradients')`` (imports torch and captum).

Configuration (``../shared/notes/explainers.md``): ``explanation_type='model'``,
``edge_mask_type='object'``, ``return_type='probs'``. The model is
:class:`~.common.InvalidLogit` with ``probs=True``: its one output is P(invalid), and for a
binary model PyG's Captum wrapper turns it into two classes (valid, invalid); the algorithm is
called with target class 1 for every group, so each is explained toward "invalid" also where
the GNN predicts "valid". The path runs from the all-zero mask (no messages) to the full
graph in 50 steps; attributions are signed (positive: the edge pushes toward "invalid").
Deterministic.

Speed: for our :class:`~fuseplan.explain.gnn.ValidityGNN` Captum integrates the forward of
:func:`.fast_gnn.ig_mask` (the same computation as PyG's wrapper, without its per-step mask
setting and signature inspection; the same attributions bit for bit); ``fast=False`` runs
PyG's ``CaptumExplainer`` itself.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fuseplan.models.errors import FusePlanError

from . import fast_gnn
from .common import GRAPH_CONFIG, GroupTensors, InvalidLogit, LearnedStrategy

STEPS = 50


class IntegratedGradientsStrategy(LearnedStrategy):
    name = "ig"

    def __init__(self, seed: int = 0, n_steps: int = STEPS, fast: bool = True,
                 **options: Any) -> None:
        super().__init__(seed, **options)
        self.n_steps = n_steps
        self.fast = fast
        self._explainers: dict[int, Any] = {}

    def explainer(self, gnn: nn.Module) -> Any:
        key = id(gnn)
        if key not in self._explainers:
            try:
                from torch_geometric.explain import CaptumExplainer, Explainer
                import captum  # noqa: F401
            except ImportError as err:
                raise FusePlanError(f"repair strategy 'ig' needs captum ({err}); "
                                    "pip install captum") from None
            self._explainers[key] = Explainer(
                model=InvalidLogit(gnn, probs=True),
                algorithm=CaptumExplainer("IntegratedGradients", n_steps=self.n_steps),
                explanation_type="model", edge_mask_type="object", node_mask_type=None,
                model_config=dict(GRAPH_CONFIG, return_type="probs"))
        return self._explainers[key]

    def edge_mask(self, gnn: nn.Module, meta: dict[str, Any], tensors: GroupTensors,
                  scheme: str) -> torch.Tensor:
        explainer = self.explainer(gnn)
        explainer.model.eval()
        if self.fast and fast_gnn.supported(gnn):
            return fast_gnn.ig_mask(gnn, tensors.x, tensors.edge_index, tensors.batch,
                                    torch.ones(1, dtype=torch.long), self.n_steps)
        # Called with target class 1 ("invalid"): Explainer.__call__ would pass the model's
        # own prediction, and Captum would then attribute P(valid) where the GNN says valid.
        explanation = explainer.algorithm(explainer.model, tensors.x, tensors.edge_index,
                                          target=torch.ones(1, dtype=torch.long),
                                          batch=tensors.batch)
        return explanation.edge_mask


def make(seed: int = 0, **options: Any) -> IntegratedGradientsStrategy:
    return IntegratedGradientsStrategy(seed, **options)
