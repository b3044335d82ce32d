"""GNNExplainer and integrated gradients on our validity GNN without PyG's per-call machinery.

PyG's explainers mask the GNN's messages through ``MessagePassing.propagate``, which inspects
and collects its arguments and runs hooks four times per forward pass; Captum's wrapper also
sets and clears the masks at every step, and each toggle of ``MessagePassing.explain``
re-inspects the layer's signatures. Our groups have tens of ops, so that Python work is most
of the time. The functions here run the same torch operations in the same order on the
layers' own weights, so the masks are bit for bit PyG's (``tests/test_fast_gnn.py`` compares
them with ``torch.equal`` on zoo groups, and a search's plan with PyG's path and without):

- :func:`masked_gnn`: :class:`~fuseplan.explain.gnn.ValidityGNN` with every GraphConv message
  ``x_j`` multiplied by a per-edge weight (PyG's ``explain_message``), summed into its target
  by ``scatter``, then ``lin_rel`` + ``lin_root`` and ReLU; sum pooling and the head.
- :func:`gnnexplainer_mask`: PyG's ``GNNExplainer`` training loop (module doc there):
  ``Parameter(randn(E) * calculate_gain('relu') * sqrt(2 / (2 N)))`` and one Adam; per epoch
  the masked logit negated (``InvalidLogit``), BCE-with-logits toward the target, the sigmoid
  of the mask taken per layer as PyG does (one shared sigmoid would sum the gradient in
  another order); from the second epoch the size (sum) and entropy (mean) penalties on the
  edges whose gradient was non-zero after the first; the result is ``sigmoid(mask)``, 0
  outside that hard mask.
- :func:`ig_mask`: Captum's ``IntegratedGradients`` itself, on the forward PyG's
  ``CaptumModel`` would run (edge mask without sigmoid, P(invalid), the two classes
  ``[1 - p, p]``), one step at a time (``internal_batch_size=1``, as PyG forces).

Only :class:`ValidityGNN` with plain GraphConv layers is covered; :func:`supported` says when.
"""

from __future__ import annotations

from math import sqrt
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GraphConv, global_add_pool
from torch_geometric.utils import scatter

from ..gnn import ValidityGNN

GNNEXPLAINER_COEFFS = {"edge_size": 0.005, "edge_reduction": "sum", "edge_ent": 1.0,
                       "EPS": 1e-15}  # PyG's GNNExplainer defaults for an edge mask


def supported(gnn: nn.Module) -> bool:
    """True when :func:`masked_gnn` computes exactly what PyG would: our GNN class and plain
    GraphConv layers (sum aggregation, one decomposed layer, no hooks)."""
    if type(gnn) is not ValidityGNN:
        return False
    for conv in gnn.convs:
        if type(conv) is not GraphConv or conv.aggr != "add" or conv.decomposed_layers != 1:
            return False
        if (conv._propagate_forward_pre_hooks or conv._propagate_forward_hooks
                or conv._message_forward_pre_hooks or conv._message_forward_hooks
                or conv._aggregate_forward_pre_hooks or conv._aggregate_forward_hooks):
            return False
    return True


def first_layer_inputs(gnn: ValidityGNN, x: Tensor, src: Tensor) -> tuple[Tensor, Tensor]:
    """What the first layer computes from ``x`` alone, the same at every step: the messages
    before masking ``x[src]`` and ``lin_root(x)`` (``x`` needs no gradient)."""
    return x.index_select(-2, src), gnn.convs[0].lin_root(x)


def masked_gnn(gnn: ValidityGNN, first: tuple[Tensor, Tensor], src: Tensor, dst: Tensor,
               batch: Tensor, weight: Any) -> Tensor:
    """``gnn(x, edge_index, batch)`` with every message scaled by ``weight()`` (called once per
    layer: a fresh sigmoid of the mask for GNNExplainer, the mask itself for Captum);
    ``first`` is :func:`first_layer_inputs`."""
    x_src, root = first
    n = root.size(0)
    h = root
    for i, conv in enumerate(gnn.convs):
        messages = (x_src if i == 0 else h.index_select(-2, src)) * weight().view(-1, 1)
        out = conv.lin_rel(scatter(messages, dst, dim=0, dim_size=n, reduce="sum"))
        h = torch.relu(out + (root if i == 0 else conv.lin_root(h)))
    return gnn.head(global_add_pool(h, batch))


def gnnexplainer_mask(gnn: ValidityGNN, x: Tensor, edge_index: Tensor, batch: Tensor,
                      target: Tensor, epochs: int, lr: float) -> Tensor:
    """The edge mask PyG's ``GNNExplainer(epochs, lr)`` (default coefficients) returns for
    ``InvalidLogit(gnn)``: model explanation, ``edge_mask_type='object'``, no node mask,
    binary classification on the raw logit, toward ``target``. Draws from torch's global RNG
    as PyG does."""
    coeffs = GNNEXPLAINER_COEFFS
    n, e = x.size(0), edge_index.size(1)
    std = torch.nn.init.calculate_gain("relu") * sqrt(2.0 / (2 * n))
    mask = nn.Parameter(torch.randn(e, device=x.device) * std)
    optimizer = torch.optim.Adam([mask], lr=lr)
    src, dst = edge_index[0], edge_index[1]
    first = first_layer_inputs(gnn, x, src)
    y = target.float()
    hard: Tensor | None = None
    for i in range(epochs):
        optimizer.zero_grad()
        y_hat = -masked_gnn(gnn, first, src, dst, batch, mask.sigmoid)
        loss = F.binary_cross_entropy_with_logits(y_hat.view_as(target), y)
        if hard is not None:
            m = mask[hard].sigmoid()
            loss = loss + coeffs["edge_size"] * torch.sum(m)
            ent = -m * torch.log(m + coeffs["EPS"]) - (1 - m) * torch.log(1 - m + coeffs["EPS"])
            loss = loss + coeffs["edge_ent"] * ent.mean()
        loss.backward()
        optimizer.step()
        if i == 0:
            if mask.grad is None:
                raise ValueError("no gradient reached the edge mask")
            hard = mask.grad != 0.0
    out = mask.detach().sigmoid()
    if hard is not None and out.size(0) == hard.size(0):
        out[~hard] = 0.0
    return out


def ig_mask(gnn: ValidityGNN, x: Tensor, edge_index: Tensor, batch: Tensor, target: Tensor,
            n_steps: int) -> Tensor:
    """The edge mask PyG's ``CaptumExplainer('IntegratedGradients', n_steps=n_steps)``
    returns for ``InvalidLogit(gnn, probs=True)`` (binary classification, probabilities),
    toward class ``target``."""
    from captum.attr import IntegratedGradients

    src, dst = edge_index[0], edge_index[1]
    first = first_layer_inputs(gnn, x, src)

    def forward(mask: Tensor, x: Tensor, edge_index: Tensor, batch: Tensor) -> Tensor:
        assert mask.shape[0] == 1, "Dimension 0 of input should be 1"
        weight = mask.squeeze(0)
        p = torch.sigmoid(-masked_gnn(gnn, first, src, dst, batch, lambda: weight))
        p = p.view(-1, 1)
        return torch.cat([1 - p, p], dim=-1)

    inputs = (torch.ones(edge_index.size(1), requires_grad=True,
                         device=edge_index.device).unsqueeze(0),)
    attributions = IntegratedGradients(forward).attribute(
        inputs=inputs, target=target, additional_forward_args=(x, edge_index, batch),
        n_steps=n_steps, internal_batch_size=1)
    return attributions[0].squeeze(0)
