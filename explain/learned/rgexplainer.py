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
  order from the seed), then REINFORCE over whole episodes (the seed drawn from the locator,
  then every generator action): per group ``rollouts`` (5) episodes, each judged by its
  return minus the mean return of the group's other episodes (:func:`advantages`; the
  method as published has no baseline, and with rewards that are all negative that pushed
  down every sampled action, stop included: the first checkpoints grew S to the cap), plus an
  entropy bonus (0.01 per action). The locator learns from the same policy gradient (the
  seed is the episode's first action). It is fitted once after imitation on generator
  rollouts (cross-entropy toward the seeds whose greedy subgraph earns the best reward, all
  of them when several tie); the published refit every 5 epochs is ``locator_every=5`` and
  off by default (``LOCATOR_EVERY = 0``): with it, the greedy policy's valid-cut share on
  the training groups fell after every refit and ended at 0.54 / 0.81 (LBDF / BRR; 0.60 /
  0.68 with ties as targets), against 0.71 / 0.86 without (15 epochs, seed 0).
- **Reward shaping** (ours): the return adds :data:`VALID_BONUS` (1.0) when the cut the
  shared cut rule picks from S's edge scores leaves both halves valid (:func:`cut_bonus`,
  ``check_group``, the cost model being the ground truth at training time only). Without it
  the reward says which subgraph makes the GNN say "invalid", which on our groups is the
  whole group (sum pooling), and nothing about where a cut should go. Training groups are
  invalid segment parts that have such a cut (``data.training_groups(both_valid_cut=True)``).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.explain import Explanation
from torch_geometric.explain.algorithm import ExplainerAlgorithm
from torch_geometric.explain.config import ExplanationType, ModelMode, ModelTaskLevel
from torch_geometric.utils import get_embeddings

from fuseplan.models.group import check_group

from ..cut_rule import top_cuts
from ..cuts import CutSpace
from .checkpoints import load_explainer
from .common import (GRAPH_CONFIG, GroupTensors, InvalidLogit, LearnedStrategy,
                     edge_scores_from_mask, group_tensors)
from .data import TrainGroup

ALGORITHM = "rgexplainer"
MAX_NODES = 20
PPR_STEPS, PPR_ALPHA = 3, 0.85
HIDDEN = 64
SIZE_COEF, EMB_COEF, RADIUS_COEF = 0.01, 0.01, 0.05
EPOCHS, ROLLOUTS, LR = 15, 5, 0.005
VALID_BONUS, ENTROPY_COEF = 1.0, 0.01
LOCATOR_EVERY = 0  # no periodic locator refit (module docstring); 5 as published


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
          gen_rng: torch.Generator | None) -> tuple[int | None, Tensor | None, Tensor | None]:
    """One action: a node to add, or None to stop; with its log-probability and the entropy
    of the action distribution (both None when the episode ends without a choice)."""
    if len(order) >= MAX_NODES:
        return None, None, None
    ppr_seed, ppr_sel, selected, candidates = _state(gr, seed, order)
    if candidates.numel() == 0:
        return None, None, None
    logits = gen(gr.x, ppr_seed, ppr_sel, selected, candidates)
    probs = torch.softmax(logits, dim=0)
    if not torch.isfinite(probs.detach()).all() or float(probs.detach().sum()) <= 0:
        return None, None, None  # guard: an all-zero distribution stops
    a = int(probs.argmax()) if greedy else int(torch.multinomial(probs.detach(), 1,
                                                                  generator=gen_rng))
    logp_all = torch.log_softmax(logits, dim=0)
    entropy = -(probs * logp_all).sum()
    return (None if a == candidates.numel() else int(candidates[a])), logp_all[a], entropy


def _rollout(gen: Generator, gr: _Graph, seed: int, order: list[int], greedy: bool,
             gen_rng: torch.Generator | None = None, keep_grad: bool = False
             ) -> tuple[list[int], list[Tensor], list[Tensor]]:
    """Grows ``order`` until the policy stops: the final order, and (``keep_grad``) the
    log-probability and entropy of every action taken."""
    order = list(order)
    logps: list[Tensor] = []
    entropies: list[Tensor] = []
    while True:
        v, logp, entropy = _step(gen, gr, seed, order, greedy, gen_rng)
        if logp is not None and entropy is not None and keep_grad:
            logps.append(logp)
            entropies.append(entropy)
        if v is None:
            return order, logps, entropies
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
            order = _rollout(self.generator, gr, seed, [seed], greedy=True)[0]
        return order

    def forward(self, model: nn.Module, x: Tensor, edge_index: Tensor, *, target: Tensor,
                index: int | Tensor | None = None, **kwargs: Any) -> Explanation:
        gr = _Graph(model, x, edge_index)
        with torch.no_grad():
            seed = int(self.locator(gr.z).argmax())
            order = _rollout(self.generator, gr, seed, [seed], greedy=True)[0]
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
@dataclass
class _Case:
    """One training group: the policy's view, its tensors and cut space, and the ``first``
    masks of the cuts that leave both halves valid (for :func:`cut_bonus`)."""

    gr: _Graph
    tensors: GroupTensors
    space: CutSpace
    model: Any
    buffer_bytes: int
    valid_firsts: frozenset[int]


def _case(model: nn.Module, g: TrainGroup) -> _Case:
    t = group_tensors(g.model.graph, g.model.bytes_per_element, g.space, g.buffer_bytes)
    valid = frozenset(c.first for c in g.space.cuts
                      if check_group(g.model, c.first, g.buffer_bytes).valid
                      and check_group(g.model, c.second, g.buffer_bytes).valid)
    return _Case(_Graph(model, t.x, t.edge_index), t, g.space, g.model, g.buffer_bytes, valid)


def cut_bonus(case: _Case, order: list[int]) -> float:
    """1.0 when the cut the shared rule (``explain/cut_rule.py``, ties broken by the cost
    model as the rectify-rate benchmark does) picks from S's edge scores leaves both halves
    valid, else 0.0."""
    scores = edge_scores_from_mask(order_mask(case.gr, order), case.tensors,
                                   len(case.space.edges))
    cuts = top_cuts(case.space, scores, 1, case.model)
    return 1.0 if cuts and cuts[0].first in case.valid_firsts else 0.0


def shaped_reward(model: nn.Module, case: _Case, seed: int, order: list[int], target: Tensor,
                  bonus: float) -> float:
    """The method's reward (:func:`reward`) plus ``bonus`` times :func:`cut_bonus`."""
    r = reward(model, case.gr, seed, order, target)
    return r + bonus * cut_bonus(case, order) if bonus else r


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


def advantages(returns: Sequence[float]) -> list[float]:
    """REINFORCE's baseline: each return minus the mean of the *other* rollouts of the same
    group (leave-one-out, so the baseline does not depend on the action it judges). They sum
    to zero: a group where every rollout earns the same teaches nothing, whatever the sign."""
    k = len(returns)
    if k < 2:
        raise ValueError("a per-group baseline needs at least 2 rollouts")
    total = sum(returns)
    return [r - (total - r) / (k - 1) for r in returns]


def train(gnn: nn.Module, gnn_meta: dict[str, Any], groups: Sequence[TrainGroup], *,
          epochs: int = EPOCHS, rollouts: int = ROLLOUTS, lr: float = LR, seed: int = 0,
          imitation_epochs: int = 2, locator_every: int = LOCATOR_EVERY, bonus: float = VALID_BONUS,
          entropy_coef: float = ENTROPY_COEF,
          on_epoch: Callable[[int, int, float], None] | None = None
          ) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Imitation pretraining, then REINFORCE with a baseline (module docstring)."""
    if rollouts < 2:
        raise ValueError("REINFORCE with a per-group baseline needs at least 2 rollouts")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    gen_rng = torch.Generator().manual_seed(seed)
    algo = RGExplainer(int(gnn_meta["in_features"]), int(gnn_meta["hidden"]))
    model = InvalidLogit(gnn).eval()
    for p in gnn.parameters():
        p.requires_grad_(False)
    target = torch.ones(1, 1)
    cases = [_case(model, g) for g in groups]
    opt_gen = torch.optim.Adam(algo.generator.parameters(), lr=lr)
    opt_loc = torch.optim.Adam(algo.locator.parameters(), lr=lr)
    start = time.perf_counter()
    history: list[dict[str, float]] = []

    def greedy_value(case: _Case, s: int) -> float:
        order = _rollout(algo.generator, case.gr, s, [s], True)[0]
        return shaped_reward(model, case, s, order, target, bonus)

    def fit_locator() -> None:
        """Cross-entropy toward the seeds whose greedy subgraph earns the best reward (all of
        them when several tie: picking one by index taught the locator the index)."""
        for case in cases:
            n = case.gr.n
            seeds = list(range(n)) if n <= 12 else rng.sample(range(n), 12)
            with torch.no_grad():
                values = [greedy_value(case, s) for s in seeds]
            top = max(values)
            best = torch.tensor([s for s, v in zip(seeds, values) if v >= top - 1e-9])
            loss = -torch.log_softmax(algo.locator(case.gr.z), 0)[best].mean()
            opt_loc.zero_grad()
            loss.backward()
            opt_loc.step()

    for _ in range(imitation_epochs):  # imitation: grow 3-hop neighbourhoods
        for i in rng.sample(range(len(cases)), len(cases)):
            gr = cases[i].gr
            s = rng.randrange(gr.n)
            loss = _imitation_loss(algo.generator, gr, s, _bfs_order(gr, s))
            opt_gen.zero_grad()
            loss.backward()
            opt_gen.step()
    fit_locator()
    for epoch in range(epochs):
        returns: list[float] = []
        bonuses: list[float] = []
        sizes: list[int] = []
        for i in rng.sample(range(len(cases)), len(cases)):
            case = cases[i]
            seed_logp = torch.log_softmax(algo.locator(case.gr.z), 0)
            probs = seed_logp.detach().exp()
            episodes = []
            for _ in range(rollouts):
                s = int(torch.multinomial(probs, 1, generator=gen_rng))
                order, logps, entropies = _rollout(algo.generator, case.gr, s, [s], greedy=False,
                                                   gen_rng=gen_rng, keep_grad=True)
                logps = [seed_logp[s], *logps]  # the seed is the episode's first action
                r = reward(model, case.gr, s, order, target)
                b = cut_bonus(case, order) if bonus else 0.0
                episodes.append((r + bonus * b, logps, entropies))
                bonuses.append(b)
                sizes.append(len(order))
            loss = torch.zeros(())
            for (ret, logps, entropies), adv in zip(episodes,
                                                    advantages([e[0] for e in episodes])):
                loss = loss - adv * torch.stack(logps).sum()
                if entropies:
                    loss = loss - entropy_coef * torch.stack(entropies).sum()
                returns.append(ret)
            if loss.requires_grad:
                opt_gen.zero_grad()
                opt_loc.zero_grad()
                (loss / rollouts).backward()
                opt_gen.step()
                opt_loc.step()
        history.append({"mean_return": sum(returns) / len(returns),
                        "valid_cut_share": sum(bonuses) / len(bonuses),
                        "mean_size": sum(sizes) / len(sizes)})
        if locator_every and (epoch + 1) % locator_every == 0:
            fit_locator()
        if on_epoch:
            on_epoch(epoch + 1, epochs, -history[-1]["mean_return"])
    with torch.no_grad():  # how the greedy policy (inference) does on the training groups
        greedy = []
        for case in cases:
            s = int(algo.locator(case.gr.z).argmax())
            order = _rollout(algo.generator, case.gr, s, [s], True)[0]
            greedy.append((cut_bonus(case, order), len(order)))
    config = {"epochs": epochs, "rollouts": rollouts, "lr": lr, "max_nodes": MAX_NODES,
              "hidden": HIDDEN, "imitation_epochs": imitation_epochs,
              "locator_every": locator_every, "baseline": "leave-one-out mean per group",
              "entropy_coef": entropy_coef, "coefs": {"size": SIZE_COEF, "emb": EMB_COEF,
                                                       "radius": RADIUS_COEF, "valid_cut": bonus}}
    summary = {"groups": len(cases), "seconds": round(time.perf_counter() - start, 1),
               "per_epoch": [{k: round(v, 4) for k, v in h.items()} for h in history],
               "greedy_valid_cut_share": round(sum(g[0] for g in greedy) / len(greedy), 4),
               "greedy_mean_size": round(sum(g[1] for g in greedy) / len(greedy), 2),
               "groups_with_valid_cut": sum(1 for c in cases if c.valid_firsts)}
    return {k: v.detach().clone() for k, v in algo.state_dict().items()}, \
        {"config": config, "training": summary}
