"""``rgexplainer``: RG-Explainer (Shan, Shen, Zhang, Li, Li, NeurIPS 2021) as a PyG
``ExplainerAlgorithm``, trained by REINFORCE against the validity GNN (imports torch).

The method, for graph classification (``../shared/notes/explainers.md``):

- **Locator**: an MLP scores every node from [graph embedding, node embedding] (the GNN's last
  GraphConv layer, ``torch_geometric.utils.get_embeddings``; the graph embedding is their sum,
  both L2-normalised) and picks the seed (argmax at inference).
- **Generator**: a policy grows a connected subgraph S from the seed, one neighbour at a time,
  or stops (at most :data:`MAX_NODES` nodes). Node state: the node attributes (the GNN's input
  features), a personalised-PageRank-style propagation of the seed and of S (3 steps,
  alpha 0.85, over the undirected group) and the in-S flag; a linear layer and two residual
  MLP blocks; a node head scores the candidates (neighbours of S outside it) and a stop head
  reads S by attention pooling. One softmax over [candidates, stop].
- **Reward** of a finished S: ``-(CE(f(G_S), y) + 0.01 |E_S| + radius * depth(S)
  + 0.01 ||g(G_S) - g(G)||)``, with f the GNN seen from "invalid" (``InvalidLogit``), y =
  "invalid" (we explain toward "invalid" for every group), depth(S) the largest hop distance
  from the seed inside S, g the sum of the last-layer embeddings. One change: the embedding
  distance is relative (divided by ||g(G)||): our sum-pooled embeddings have norms in the
  hundreds, and the absolute term drowned the others.
- **Training** (:func:`train`, seeded): imitation pretraining on 3-hop neighbourhoods (BFS
  order from the seed), then REINFORCE: for each group a trajectory is sampled, each of its
  prefixes is valued by the mean reward of ``rollouts`` (5) sampled completions, no baseline;
  the locator is refitted on generator rollouts every 5 epochs (cross-entropy toward the seed
  whose greedy subgraph earns the best reward).
- **Edge scores**: from the order the nodes joined S (earlier = higher): an edge scores when
  both its ends are in S, by the step its later end joined, direction-agnostic (our DAG edges
  are directed; the method treats them as undirected). Edges outside S score 0.

At inference the seed and every action are greedy (argmax), so an explanation is
deterministic; an all-zero or empty action distribution stops (the port crashed on it).
``untrained=True`` gives the same algorithm with its seeded random initial weights: the
rectify-rate table reports it beside the trained policy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.explain import Explanation
from torch_geometric.explain.algorithm import ExplainerAlgorithm
from torch_geometric.explain.config import ExplanationType, ModelMode, ModelTaskLevel
from torch_geometric.utils import get_embeddings

from .checkpoints import load_explainer
from .common import GRAPH_CONFIG, GroupTensors, InvalidLogit, LearnedStrategy, group_tensors
from .data import TrainGroup

ALGORITHM = "rgexplainer"
MAX_NODES = 20
PPR_STEPS, PPR_ALPHA = 3, 0.85
HIDDEN = 64
SIZE_COEF, EMB_COEF, RADIUS_COEF = 0.01, 0.01, 0.05
EPOCHS, ROLLOUTS, LR = 5, 5, 0.005


class Locator(nn.Module):
    def __init__(self, emb: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * emb, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))

    def forward(self, z: Tensor) -> Tensor:
        zn = F.normalize(z, dim=-1)
        g = F.normalize(z.sum(0, keepdim=True), dim=-1).expand_as(zn)
        return self.mlp(torch.cat([g, zn], dim=-1)).view(-1)


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN))

    def forward(self, h: Tensor) -> Tensor:
        return torch.relu(h + self.lin(h))


class Generator(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.inp = nn.Linear(in_features + 3, HIDDEN)
        self.blocks = nn.Sequential(Block(), Block())
        self.node_head = nn.Linear(HIDDEN, 1)
        self.att = nn.Linear(HIDDEN, 1)
        self.stop_head = nn.Linear(HIDDEN, 1)

    def forward(self, x: Tensor, ppr_seed: Tensor, ppr_sel: Tensor, selected: Tensor,
                candidates: Tensor) -> Tensor:
        """Logits over [candidate nodes..., stop]."""
        h = self.blocks(torch.relu(self.inp(torch.cat(
            [x, ppr_seed[:, None], ppr_sel[:, None], selected[:, None].float()], dim=-1))))
        hs = h[selected]
        w = torch.softmax(self.att(hs).view(-1), dim=0)
        stop = self.stop_head((w[:, None] * hs).sum(0)).view(1)
        return torch.cat([self.node_head(h[candidates]).view(-1), stop])


def _propagate(adj: Tensor, start: Tensor) -> Tensor:
    """PPR-style propagation of the indicator ``start`` over the row-normalised ``adj``."""
    p = start.float() / start.float().sum().clamp(min=1.0)
    r = p
    for _ in range(PPR_STEPS):
        r = PPR_ALPHA * (adj @ r) + (1 - PPR_ALPHA) * p
    return r


class _Graph:
    """One group's undirected view for the policy: adjacency, hop distances, embeddings."""

    def __init__(self, model: nn.Module, x: Tensor, edge_index: Tensor) -> None:
        n = x.size(0)
        self.x, self.edge_index, self.n = x, edge_index, n
        a = torch.zeros(n, n)
        a[edge_index[0], edge_index[1]] = 1.0
        a = ((a + a.t()) > 0).float()
        self.nbr = a.bool()
        self.adj = a / a.sum(1, keepdim=True).clamp(min=1.0)
        with torch.no_grad():
            batch = torch.zeros(n, dtype=torch.long)
            self.z = get_embeddings(model, x, edge_index, batch)[-1]
            self.g = self.z.relu().sum(0)


def _state(gr: _Graph, seed: int, order: list[int]) -> tuple[Tensor, ...]:
    selected = torch.zeros(gr.n, dtype=torch.bool)
    selected[order] = True
    seed_vec = torch.zeros(gr.n)
    seed_vec[seed] = 1.0
    candidates = (gr.nbr[selected].any(0) & ~selected).nonzero().view(-1)
    return (_propagate(gr.adj, seed_vec), _propagate(gr.adj, selected), selected, candidates)


def _step(gen: Generator, gr: _Graph, seed: int, order: list[int], greedy: bool,
          gen_rng: torch.Generator | None) -> tuple[int | None, Tensor | None]:
    """One action: a node to add, or None to stop; with its log-probability."""
    if len(order) >= MAX_NODES:
        return None, None
    ppr_seed, ppr_sel, selected, candidates = _state(gr, seed, order)
    if candidates.numel() == 0:
        return None, None
    logits = gen(gr.x, ppr_seed, ppr_sel, selected, candidates)
    probs = torch.softmax(logits, dim=0)
    if not torch.isfinite(probs.detach()).all() or float(probs.detach().sum()) <= 0:
        return None, None  # guard: an all-zero distribution stops
    a = int(probs.argmax()) if greedy else int(torch.multinomial(probs.detach(), 1,
                                                                  generator=gen_rng))
    logp = torch.log(probs[a].clamp(min=1e-12))
    return (None if a == candidates.numel() else int(candidates[a])), logp


def _rollout(gen: Generator, gr: _Graph, seed: int, order: list[int], greedy: bool,
             gen_rng: torch.Generator | None = None, keep_grad: bool = False
             ) -> tuple[list[int], list[Tensor]]:
    order = list(order)
    logps: list[Tensor] = []
    while True:
        v, logp = _step(gen, gr, seed, order, greedy, gen_rng)
        if logp is not None and keep_grad:
            logps.append(logp)
        if v is None:
            return order, logps
        order.append(v)


def _depth(gr: _Graph, seed: int, nodes: list[int]) -> int:
    inside = set(nodes)
    dist, frontier = {seed: 0}, [seed]
    while frontier:
        nxt = []
        for u in frontier:
            for v in gr.nbr[u].nonzero().view(-1).tolist():
                if v in inside and v not in dist:
                    dist[v] = dist[u] + 1
                    nxt.append(v)
        frontier = nxt
    return max(dist.values())


def reward(model: nn.Module, gr: _Graph, seed: int, nodes: list[int], target: Tensor) -> float:
    """-(CE(f(G_S), y) + 0.01 |E_S| + radius * depth(S) + 0.01 ||g(G_S) - g(G)|| / ||g(G)||)."""
    idx = torch.tensor(sorted(nodes))
    keep = torch.zeros(gr.n, dtype=torch.bool)
    keep[idx] = True
    local = torch.cumsum(keep.long(), 0) - 1
    ei = gr.edge_index
    m = keep[ei[0]] & keep[ei[1]]
    sub_ei = local[ei[:, m]]
    with torch.no_grad():
        xs = gr.x[idx]
        batch = torch.zeros(len(idx), dtype=torch.long)
        logit = model(xs, sub_ei, batch)
        ce = F.binary_cross_entropy_with_logits(logit.view(-1), target.view(-1).float())
        g_s = get_embeddings(model, xs, sub_ei, batch)[-1].relu().sum(0)
    return -(float(ce) + SIZE_COEF * int(m.sum()) + RADIUS_COEF * _depth(gr, seed, nodes)
             + EMB_COEF * float(torch.linalg.vector_norm(g_s - gr.g)
                                / torch.linalg.vector_norm(gr.g).clamp(min=1e-6)))


def order_mask(gr: _Graph, order: list[int]) -> Tensor:
    """Edge scores from the order nodes joined S: (T - t) / T for the step t its later end
    joined (t = 0 for the seed), 0 outside S."""
    t_of = torch.full((gr.n,), -1)
    for t, v in enumerate(order):
        t_of[v] = t
    a, b = t_of[gr.edge_index[0]], t_of[gr.edge_index[1]]
    joined = torch.maximum(a, b)
    total = float(len(order))
    return torch.where((a >= 0) & (b >= 0), (total - joined.float()) / total, torch.zeros(()))


class RGExplainer(ExplainerAlgorithm):
    """RG-Explainer for graph-level binary classification (module docstring)."""

    def __init__(self, in_features: int, emb: int) -> None:
        super().__init__()
        self.locator = Locator(emb)
        self.generator = Generator(in_features)

    def supports(self) -> bool:
        if self.model_config.task_level != ModelTaskLevel.graph or \
                self.model_config.mode != ModelMode.binary_classification:
            raise ValueError("RGExplainer here explains graph-level binary classifiers")
        if self.explainer_config.explanation_type != ExplanationType.phenomenon:
            raise ValueError("RGExplainer explains a given target: explanation_type='phenomenon'")
        if self.explainer_config.node_mask_type is not None:
            raise ValueError("RGExplainer gives edge masks only (node_mask_type=None)")
        return True

    def explain_order(self, model: nn.Module, x: Tensor, edge_index: Tensor) -> list[int]:
        gr = _Graph(model, x, edge_index)
        with torch.no_grad():
            seed = int(self.locator(gr.z).argmax())
            order, _ = _rollout(self.generator, gr, seed, [seed], greedy=True)
        return order

    def forward(self, model: nn.Module, x: Tensor, edge_index: Tensor, *, target: Tensor,
                index: int | Tensor | None = None, **kwargs: Any) -> Explanation:
        gr = _Graph(model, x, edge_index)
        with torch.no_grad():
            seed = int(self.locator(gr.z).argmax())
            order, _ = _rollout(self.generator, gr, seed, [seed], greedy=True)
        return Explanation(edge_mask=order_mask(gr, order))


def make_explainer(gnn: nn.Module, algo: RGExplainer):
    from torch_geometric.explain import Explainer

    return Explainer(model=InvalidLogit(gnn), algorithm=algo, explanation_type="phenomenon",
                     edge_mask_type="object", node_mask_type=None,
                     model_config=dict(GRAPH_CONFIG, return_type="raw"))


class RGExplainerStrategy(LearnedStrategy):
    name = ALGORITHM

    def __init__(self, seed: int = 0, explainer_checkpoint: str | Path | None = None,
                 untrained: bool = False, **options: Any) -> None:
        super().__init__(seed, **options)
        self.explainer_checkpoint = explainer_checkpoint
        self.untrained = untrained
        self._explainers: dict[str, Any] = {}

    def explainer(self, gnn: nn.Module, gnn_meta: dict[str, Any], scheme: str) -> Any:
        if scheme not in self._explainers:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                algo = RGExplainer(int(gnn_meta["in_features"]), int(gnn_meta["hidden"]))
            if not self.untrained:
                state, _ = load_explainer(self.explainer_checkpoint, ALGORITHM, scheme, gnn_meta)
                algo.load_state_dict(state)
            algo.eval()
            self._explainers[scheme] = make_explainer(gnn, algo)
        return self._explainers[scheme]

    def edge_mask(self, gnn: nn.Module, meta: dict[str, Any], tensors: GroupTensors,
                  scheme: str) -> Tensor:
        explainer = self.explainer(gnn, meta, scheme)
        explainer.model.eval()
        return explainer(tensors.x, tensors.edge_index, target=torch.ones(1, 1),
                         batch=tensors.batch).edge_mask


def make(seed: int = 0, **options: Any) -> RGExplainerStrategy:
    return RGExplainerStrategy(seed, **options)


# ----- training -----
def _bfs_order(gr: _Graph, seed: int, hops: int = 3) -> list[int]:
    order, dist, frontier = [seed], {seed: 0}, [seed]
    while frontier and len(order) < MAX_NODES:
        nxt = []
        for u in frontier:
            for v in gr.nbr[u].nonzero().view(-1).tolist():
                if v not in dist and dist[u] < hops and len(order) < MAX_NODES:
                    dist[v] = dist[u] + 1
                    order.append(v)
                    nxt.append(v)
        frontier = nxt
    return order


def _imitation_loss(gen: Generator, gr: _Graph, seed: int, teacher: list[int]) -> Tensor:
    loss = torch.zeros(())
    for t in range(1, len(teacher) + 1):
        order = teacher[:t]
        if len(order) >= MAX_NODES:
            break
        ppr_seed, ppr_sel, selected, candidates = _state(gr, seed, order)
        if candidates.numel() == 0:
            break
        logits = gen(gr.x, ppr_seed, ppr_sel, selected, candidates)
        if t < len(teacher):
            a = int((candidates == teacher[t]).nonzero().view(-1)[0])
        else:
            a = candidates.numel()  # stop after the neighbourhood
        loss = loss - torch.log_softmax(logits, 0)[a]
    return loss


def train(gnn: nn.Module, gnn_meta: dict[str, Any], groups: Sequence[TrainGroup], *,
          epochs: int = EPOCHS, rollouts: int = ROLLOUTS, lr: float = LR, seed: int = 0,
          imitation_epochs: int = 2, locator_every: int = 5,
          on_epoch: Callable[[int, int, float], None] | None = None
          ) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Imitation pretraining, then REINFORCE with Monte-Carlo rollouts (module docstring)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    gen_rng = torch.Generator().manual_seed(seed)
    algo = RGExplainer(int(gnn_meta["in_features"]), int(gnn_meta["hidden"]))
    model = InvalidLogit(gnn).eval()
    for p in gnn.parameters():
        p.requires_grad_(False)
    target = torch.ones(1, 1)
    graphs = []
    for g in groups:
        t = group_tensors(g.model.graph, g.model.bytes_per_element, g.space, g.buffer_bytes)
        graphs.append(_Graph(model, t.x, t.edge_index))
    opt_gen = torch.optim.Adam(algo.generator.parameters(), lr=lr)
    opt_loc = torch.optim.Adam(algo.locator.parameters(), lr=lr)
    start = time.perf_counter()
    history: list[float] = []

    def fit_locator() -> None:
        for gr in graphs:
            seeds = list(range(gr.n)) if gr.n <= 12 else rng.sample(range(gr.n), 12)
            with torch.no_grad():
                scored = [(reward(model, gr, s, _rollout(algo.generator, gr, s, [s], True)[0],
                                  target), s) for s in seeds]
            best = max(scored)[1]
            loss = F.cross_entropy(algo.locator(gr.z)[None], torch.tensor([best]))
            opt_loc.zero_grad()
            loss.backward()
            opt_loc.step()

    for _ in range(imitation_epochs):  # imitation: grow 3-hop neighbourhoods
        for i in rng.sample(range(len(graphs)), len(graphs)):
            gr = graphs[i]
            s = rng.randrange(gr.n)
            loss = _imitation_loss(algo.generator, gr, s, _bfs_order(gr, s))
            opt_gen.zero_grad()
            loss.backward()
            opt_gen.step()
    fit_locator()
    for epoch in range(epochs):
        total = 0.0
        for i in rng.sample(range(len(graphs)), len(graphs)):
            gr = graphs[i]
            with torch.no_grad():
                probs = torch.softmax(algo.locator(gr.z), 0)
                s = int(torch.multinomial(probs, 1, generator=gen_rng))
            order, _ = _rollout(algo.generator, gr, s, [s], greedy=False, gen_rng=gen_rng)
            # value each prefix's action by the mean reward of sampled completions
            loss = torch.zeros(())
            prefix = [s]
            for t in range(len(order) + 1):
                v, logp = _step(algo.generator, gr, s, prefix, False, gen_rng)
                if logp is None:
                    break
                nxt = prefix + ([v] if v is not None else [])
                with torch.no_grad():
                    values = [reward(model, gr, s, nxt if v is None else
                                     _rollout(algo.generator, gr, s, nxt, False, gen_rng)[0],
                                     target) for _ in range(rollouts if v is not None else 1)]
                ret = sum(values) / len(values)
                loss = loss - logp * ret
                total += ret
                if v is None:
                    break
                prefix = nxt
            opt_gen.zero_grad()
            loss.backward()
            opt_gen.step()
        history.append(total / max(1, len(graphs)))
        if (epoch + 1) % locator_every == 0:
            fit_locator()
        if on_epoch:
            on_epoch(epoch + 1, epochs, -history[-1])
    config = {"epochs": epochs, "rollouts": rollouts, "lr": lr, "max_nodes": MAX_NODES,
              "hidden": HIDDEN, "imitation_epochs": imitation_epochs,
              "locator_every": locator_every, "coefs": {"size": SIZE_COEF, "emb": EMB_COEF,
                                                         "radius": RADIUS_COEF}}
    summary = {"groups": len(graphs), "seconds": round(time.perf_counter() - start, 1),
               "mean_prefix_value_per_epoch": [round(x, 4) for x in history]}
    return {k: v.detach().clone() for k, v in algo.state_dict().items()}, \
        {"config": config, "training": summary}
