"""What every learned strategy shares (imports torch): the GNN of a cost model's scheme, one
group as tensors, the "invalid" view of the model, and reading an edge mask back to edges.

The GNN is the validity checkpoint of the cost model's scheme (``model.name``): the shipped
one, or ``checkpoint=PATH``. A scheme without one, or a checkpoint made under another cost
model (fingerprint), feature version or scheme, is a one-line :class:`FusePlanError` naming
the strategy: a learned strategy never runs on a GNN trained for another cost model.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph

from ..cuts import CutSpace
from ..features import group_graph, with_buffer
from ..predict import cached_op_table, load_predictor
from ..strategies import RepairAlgorithm

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.cost.base import CostModel

GRAPH_CONFIG = dict(mode="binary_classification", task_level="graph")


class InvalidLogit(nn.Module):
    """The GNN seen from the "invalid" class: its logit negated (``probs=True``: the
    probability of "invalid"). Same signature as the GNN, so every PyG explainer accepts it and
    masks its GraphConv messages."""

    def __init__(self, gnn: nn.Module, probs: bool = False) -> None:
        super().__init__()
        self.gnn = gnn
        self.probs = probs

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None,
                edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        logit = -self.gnn(x, edge_index, batch, edge_weight)
        return torch.sigmoid(logit) if self.probs else logit


@dataclass(frozen=True)
class GroupTensors:
    """One group as the GNN sees it at one buffer: ``x`` [n, F], ``edge_index`` [2, e] (local
    ids, producer -> consumer), and ``column_edge[j]``: the index into the cut space's
    ``edges`` of column j (-1 when the space has no such edge)."""

    x: torch.Tensor
    edge_index: torch.Tensor
    column_edge: np.ndarray
    ops: np.ndarray

    @property
    def batch(self) -> torch.Tensor:
        return torch.zeros(self.x.size(0), dtype=torch.long)


def group_tensors(graph: Graph, bytes_per_element: int, space: CutSpace,
                  buffer_bytes: int) -> GroupTensors:
    """``space.group`` as tensors at ``buffer_bytes`` (features of ``explain/features.py``)."""
    ops = [v for v in range(graph.num_ops) if space.group >> v & 1]
    gg = group_graph(cached_op_table(graph, bytes_per_element), ops)
    n = gg.x.shape[0]
    x = with_buffer(gg.x.copy(), gg.ratio_bytes, np.full(n, float(buffer_bytes)),
                    np.full(n, float(bytes_per_element)))
    where = {(e.producer, e.consumer): i for i, e in enumerate(space.edges)}
    src, dst = gg.ops[gg.edge_index[0]], gg.ops[gg.edge_index[1]]
    column_edge = np.array([where.get((int(a), int(b)), -1) for a, b in zip(src, dst)],
                           dtype=np.int64)
    return GroupTensors(torch.from_numpy(x), torch.from_numpy(gg.edge_index), column_edge,
                        gg.ops)


def edge_scores_from_mask(mask: torch.Tensor | np.ndarray, tensors: GroupTensors,
                          num_edges: int) -> list[float]:
    """One score per cut-space edge: the largest mask value over its columns (an edge with no
    column, which does not happen for a group's own edges, gets -inf: never ranked)."""
    values = mask.detach().double().numpy() if isinstance(mask, torch.Tensor) else mask
    out = [float("-inf")] * num_edges
    for j, e in enumerate(tensors.column_edge.tolist()):
        if e >= 0 and values[j] > out[e]:
            out[e] = float(values[j])
    return out


def group_seed(seed: int, group: int) -> int:
    """A per-group torch seed: the same (seed, group) gives the same explanation whatever was
    explained before it."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


class LearnedStrategy(RepairAlgorithm):
    """Base of the learned strategies: loads the GNN of the cost model's scheme (once per
    scheme) and explains with torch's RNG seeded per group (:func:`group_seed`), on
    ``threads`` torch threads (1 by default; restored afterwards)."""

    needs_torch = True

    def __init__(self, seed: int = 0, checkpoint: str | Path | None = None,
                 threads: int = 1, **_: Any) -> None:
        self.seed = seed
        self.checkpoint = checkpoint
        self.threads = threads
        self._gnn: dict[str, tuple[nn.Module, dict[str, Any]]] = {}
        self._checked: dict[int, weakref.ref[Any]] = {}

    def gnn(self, model: CostModel) -> tuple[nn.Module, dict[str, Any]]:
        """The validity GNN and its record for ``model``'s scheme; a clear error when there
        is none for that cost model."""
        scheme = str(getattr(model, "name", "")).strip().lower()
        if scheme not in self._gnn:
            try:
                gnn, meta = load_predictor(scheme, self.checkpoint)
            except FusePlanError as err:
                raise FusePlanError(
                    f"repair strategy {self.name!r} needs the trained GNN of the {scheme!r} "
                    f"cost model: {err}") from None
            for p in gnn.parameters():
                p.requires_grad_(False)
            self._gnn[scheme] = (gnn, meta)
        self.check_cost_model(model, scheme)
        return self._gnn[scheme]

    def check_cost_model(self, model: CostModel, scheme: str) -> None:
        """Refuses a cost model that calls itself ``scheme`` but prices groups otherwise (a
        subclass, a user's model): F_beta on the probe windows of ``model.graph``
        (``explain/fingerprint.py``) must equal the registered scheme's, whose fingerprint the
        GNN checkpoint was checked against. Once per model object."""
        hit = self._checked.get(id(model))
        if hit is not None and hit() is model:
            return
        from fuseplan.models.cost import make_cost_model
        from fuseplan.models.group import graph_masks

        from ..fingerprint import probe_groups

        graph = model.graph
        reference = make_cost_model(scheme, graph, model.bytes_per_element)
        for group in probe_groups(graph.num_ops, graph_masks(graph).nbr_mask):
            if model.buffer_bytes(group) != reference.buffer_bytes(group):
                raise FusePlanError(
                    f"repair strategy {self.name!r} needs the trained GNN of its cost model, "
                    f"but this {type(model).__name__} prices groups unlike the {scheme!r} cost "
                    f"model its GNN was trained under; use --repair cost or random, or train a "
                    f"GNN for it (`fuseplan train`)")
        self._checked[id(model)] = weakref.ref(model)

    def edge_scores(self, model: CostModel, space: CutSpace, buffer_bytes: int) -> list[float]:
        if not space.edges:
            return []
        gnn, meta = self.gnn(model)
        tensors = group_tensors(model.graph, model.bytes_per_element, space, buffer_bytes)
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)  # 1: ~10x faster than 2 on a loaded 2-core box
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(group_seed(self.seed, space.group))
                mask = self.edge_mask(gnn, meta, tensors, str(model.name).lower())
        finally:
            torch.set_num_threads(threads)
            reset_masks(gnn)
        return edge_scores_from_mask(mask, tensors, len(space.edges))

    def edge_mask(self, gnn: nn.Module, meta: dict[str, Any], tensors: GroupTensors,
                  scheme: str) -> torch.Tensor:
        """One value per column of ``tensors.edge_index`` (higher = more to blame)."""
        raise NotImplementedError


def reset_masks(gnn: nn.Module) -> None:
    """Puts every message-passing layer back as it was before an explainer masked it.

    GNNExplainer hands ``set_masks`` an ``nn.Parameter``, which ``nn.Module`` then keeps in
    ``_parameters``; ``clear_masks`` sets it to None there, and PyG then wraps a later plain-tensor
    mask (Captum's, PGExplainer's) in a new Parameter, cut off from the graph:
    its gradient comes back unused. So the slots go back to
    plain attributes after each explanation."""
    from torch_geometric.nn import MessagePassing

    for module in gnn.modules():
        if isinstance(module, MessagePassing):
            for name in ("_edge_mask", "_loop_mask"):
                if name in module._parameters:
                    module._parameters.pop(name)
            module._edge_mask = None
            module._loop_mask = None
            module.explain = None  # None: set_masks skips a layer whose explain is False


def p_valid(gnn: nn.Module, tensors: GroupTensors) -> float:
    """The GNN's P(valid) for one group."""
    with torch.no_grad():
        return float(torch.sigmoid(gnn(tensors.x, tensors.edge_index, tensors.batch))[0, 0])
