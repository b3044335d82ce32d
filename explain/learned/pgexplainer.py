"""``pgexplainer``: PyG's PGExplainer on the validity GNN, trained once per scheme (imports torch).

Configuration (``../shared/notes/explainers.md``): ``explanation_type='phenomenon'``,
``edge_mask_type='object'``, no node mask, graph-level binary classification on the raw logit
of :class:`~.common.InvalidLogit`, target 1 ("invalid") for every group. The edge MLP reads
[z_u, z_v] (the GNN's last GraphConv embeddings, 2 x 128) into 64 units and one logit; its
input size is fixed rather than lazy so a checkpoint loads without a dummy pass. The size and
entropy coefficients are our own copy (:data:`COEFFS`), never PyG's class-level dict.

Scores: PyG's explanation is the sigmoid of the edge MLP's logits; on our groups the trained
MLP's logits are large and the float32 mask is exactly 1.0 on most edges (measured: every edge
of a 20-op MobileNetV2 part), so the ranking would be the edge order. The strategy therefore
ranks by the same MLP's logits (the mask before its sigmoid: the same order wherever the mask
does not saturate); ``read="mask"`` gives PyG's mask itself.

Training (:func:`train`): one group at a time (PGExplainer's size penalty sums over a batch),
``epochs`` passes over the invalid segment parts of the GNN's training nets
(``explain/learned/data.py``), shuffled by ``seed``. The checkpoint records the GNN weights it
was trained against; any other GNN is refused (``explain/learned/checkpoints.py``).
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch_geometric.explain import Explainer, PGExplainer
from torch_geometric.utils import get_embeddings

from .checkpoints import load_explainer
from .common import GRAPH_CONFIG, GroupTensors, InvalidLogit, LearnedStrategy, group_tensors
from .data import TrainGroup

ALGORITHM = "pgexplainer"
COEFFS = {"edge_size": 0.05, "edge_ent": 1.0, "temp": [5.0, 2.0], "bias": 0.01}
EPOCHS = 20
LR = 0.003


def make_algorithm(hidden: int, epochs: int, lr: float = LR) -> PGExplainer:
    """A PGExplainer with our coefficients and a fixed-size edge MLP."""
    algo = PGExplainer(epochs=epochs, lr=lr)
    algo.coeffs = {k: (list(v) if isinstance(v, list) else v) for k, v in COEFFS.items()}
    algo.mlp = nn.Sequential(nn.Linear(2 * hidden, 64), nn.ReLU(), nn.Linear(64, 1))
    algo.optimizer = torch.optim.Adam(algo.mlp.parameters(), lr=lr)
    return algo


def make_explainer(gnn: nn.Module, algo: PGExplainer) -> Explainer:
    return Explainer(model=InvalidLogit(gnn), algorithm=algo, explanation_type="phenomenon",
                     edge_mask_type="object", node_mask_type=None,
                     model_config=dict(GRAPH_CONFIG, return_type="raw"))


class PGExplainerStrategy(LearnedStrategy):
    name = ALGORITHM

    def __init__(self, seed: int = 0, explainer_checkpoint: str | Path | None = None,
                 read: str = "logits", **options: Any) -> None:
        super().__init__(seed, **options)
        self.explainer_checkpoint = explainer_checkpoint
        self.read = read
        self._explainers: dict[str, tuple[Explainer, dict[str, Any]]] = {}

    def explainer(self, gnn: nn.Module, gnn_meta: dict[str, Any],
                  scheme: str) -> tuple[Explainer, dict[str, Any]]:
        if scheme not in self._explainers:
            state, meta = load_explainer(self.explainer_checkpoint, ALGORITHM, scheme, gnn_meta)
            algo = make_algorithm(int(gnn_meta["hidden"]), int(meta["config"]["epochs"]))
            algo.mlp.load_state_dict(state)
            algo._curr_epoch = algo.epochs - 1  # trained: PyG checks this before explaining
            self._explainers[scheme] = (make_explainer(gnn, algo), meta)
        return self._explainers[scheme]

    def edge_mask(self, gnn: nn.Module, meta: dict[str, Any], tensors: GroupTensors,
                  scheme: str) -> torch.Tensor:
        explainer, _ = self.explainer(gnn, meta, scheme)
        explainer.model.eval()
        explanation = explainer(tensors.x, tensors.edge_index, target=torch.ones(1, 1),
                                batch=tensors.batch)
        if self.read == "mask":
            return explanation.edge_mask
        # The same MLP's logits, before the sigmoid: the mask saturates to exactly 1.0 (or 0.0)
        # in float32 on most edges of our groups, and a ranking of ties is the edge order.
        algo = explainer.algorithm
        with torch.no_grad():
            z = get_embeddings(explainer.model, tensors.x, tensors.edge_index,
                               batch=tensors.batch)[-1]
            logits = algo.mlp(algo._get_inputs(z, tensors.edge_index)).view(-1)
        return logits


def make(seed: int = 0, **options: Any) -> PGExplainerStrategy:
    return PGExplainerStrategy(seed, **options)


def train(gnn: nn.Module, gnn_meta: dict[str, Any], groups: Sequence[TrainGroup], *,
          epochs: int = EPOCHS, lr: float = LR, seed: int = 0,
          on_epoch: Callable[[int, int, float], None] | None = None
          ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Trains a PGExplainer against ``gnn`` on ``groups``; its weights and the config and
    training summary for the checkpoint."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    algo = make_algorithm(int(gnn_meta["hidden"]), epochs, lr)
    explainer = make_explainer(gnn, algo)
    explainer.model.eval()
    for p in gnn.parameters():
        p.requires_grad_(False)
    data = [group_tensors(g.model.graph, g.model.bytes_per_element, g.space, g.buffer_bytes)
            for g in groups]
    target = torch.ones(1, 1)
    start = time.perf_counter()
    history = []
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad",
                            category=UserWarning)  # PyG's float(loss) in PGExplainer.train
    for epoch in range(epochs):
        order = list(range(len(data)))
        rng.shuffle(order)
        total = 0.0
        for i in order:
            t = data[i]
            total += algo.train(epoch, explainer.model, t.x, t.edge_index, target=target,
                                batch=t.batch)
        history.append(total / max(1, len(data)))
        if on_epoch:
            on_epoch(epoch + 1, epochs, history[-1])
    config = {"epochs": epochs, "lr": lr, "coeffs": COEFFS, "mlp_hidden": 64}
    summary = {"groups": len(data), "seconds": round(time.perf_counter() - start, 1),
               "loss_per_epoch": [round(x, 5) for x in history]}
    return {k: v.detach().clone() for k, v in algo.mlp.state_dict().items()}, \
        {"config": config, "training": summary}
