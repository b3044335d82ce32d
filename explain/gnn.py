"""The validity GNN (imports torch: load it only where the learned parts run).

As in the paper: 4 GraphConv (k-GNN) layers of 128 units with ReLU, sum pooling, and an MLP
head with one raw logit, P(valid) = sigmoid(logit). The signature
``forward(x, edge_index, batch=None, edge_weight=None) -> [B, 1]`` is the one every PyG
explainer accepts (``batch`` third, by position; ``edge_weight`` multiplies each message).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GraphConv, global_add_pool

from .features import NUM_FEATURES

HIDDEN = 128
LAYERS = 4


class ValidityGNN(nn.Module):
    def __init__(self, in_features: int = NUM_FEATURES, hidden: int = HIDDEN,
                 layers: int = LAYERS) -> None:
        super().__init__()
        sizes = [in_features] + [hidden] * layers
        self.convs = nn.ModuleList(GraphConv(a, b) for a, b in zip(sizes, sizes[1:]))
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None,
                edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = torch.relu(conv(h, edge_index, edge_weight))
        if batch is None:
            batch = torch.zeros(h.size(0), dtype=torch.long, device=h.device)
        return self.head(global_add_pool(h, batch))
