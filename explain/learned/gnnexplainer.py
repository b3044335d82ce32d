"""``gnnexplainer``: PyG's GNNExplainer on the validity GNN (imports torch).

Configuration (``../shared/notes/explainers.md``): ``explanation_type='model'``,
``edge_mask_type='object'``, no node mask, graph-level binary classification on the raw
logit. The model explained is :class:`~.common.InvalidLogit` (the GNN's logit negated), and
the algorithm is called with target 1 ("invalid") for every group, also where the GNN
predicts "valid": the mask keeps the edges that keep the group invalid. 100 epochs of
mask optimisation per group (PyG's default), seeded per group.

Speed: for our :class:`~fuseplan.explain.gnn.ValidityGNN` the 100 epochs run in
:mod:`.fast_gnn`, the same computation without PyG's per-layer Python machinery (the
same mask bit for bit, faster: README, "Learned repairs in Tables III/IV"); ``fast=False`` runs PyG's own class.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch_geometric.explain import Explainer, GNNExplainer

from . import fast_gnn
from .common import GRAPH_CONFIG, GroupTensors, InvalidLogit, LearnedStrategy

EPOCHS = 100


class GNNExplainerStrategy(LearnedStrategy):
    name = "gnnexplainer"

    def __init__(self, seed: int = 0, epochs: int = EPOCHS, lr: float = 0.01,
                 fast: bool = True, **options: Any) -> None:
        super().__init__(seed, **options)
        self.epochs = epochs
        self.lr = lr
        self.fast = fast
        self._explainers: dict[int, Explainer] = {}

    def explainer(self, gnn: nn.Module) -> Explainer:
        key = id(gnn)
        if key not in self._explainers:
            self._explainers[key] = Explainer(
                model=InvalidLogit(gnn), algorithm=GNNExplainer(epochs=self.epochs, lr=self.lr),
                explanation_type="model", edge_mask_type="object", node_mask_type=None,
                model_config=dict(GRAPH_CONFIG, return_type="raw"))
        return self._explainers[key]

    def edge_mask(self, gnn: nn.Module, meta: dict[str, Any], tensors: GroupTensors,
                  scheme: str) -> torch.Tensor:
        explainer = self.explainer(gnn)
        explainer.model.eval()
        target = torch.ones(1, 1)
        coeffs = explainer.algorithm.coeffs
        if self.fast and fast_gnn.supported(gnn) and all(
                coeffs.get(k) == v for k, v in fast_gnn.GNNEXPLAINER_COEFFS.items()):
            return fast_gnn.gnnexplainer_mask(gnn, tensors.x, tensors.edge_index,
                                              tensors.batch, target, self.epochs, self.lr)
        # 'model' explains the model's own prediction; we explain "invalid" for every group,
        # so the algorithm is called with that target (the one thing Explainer.__call__ adds).
        explanation = explainer.algorithm(explainer.model, tensors.x, tensors.edge_index,
                                          target=target, batch=tensors.batch)
        return explanation.edge_mask


def make(seed: int = 0, **options: Any) -> GNNExplainerStrategy:
    return GNNExplainerStrategy(seed, **options)
