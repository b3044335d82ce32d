"""The GNN: the explainer contract, a tiny training run on a separable rule, checkpoints."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fuseplan.explain.batching import bank_for_graph  # noqa: E402
from fuseplan.explain.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from fuseplan.explain.fingerprint import cost_fingerprint  # noqa: E402
from fuseplan.explain.gnn import HIDDEN, LAYERS, ValidityGNN  # noqa: E402
from fuseplan.explain.metrics import scores  # noqa: E402
from fuseplan.explain.training import TrainConfig, predict_bank, train  # noqa: E402
from fuseplan.models.group import mask_ops  # noqa: E402
from fuseplan.models.group_sampling import random_convex_group  # noqa: E402
from fuseplan.models.zoo import build  # noqa: E402


def test_forward_contract_and_a_pyg_explainer() -> None:
    from torch_geometric.explain import Explainer, GNNExplainer

    torch.manual_seed(0)
    model = ValidityGNN().eval()
    g = build("resnet18")
    b = bank_for_graph(g, [[1, 2, 3, 4, 5]], 1).batch(np.array([0]), np.array([65536]))
    x, ei = torch.from_numpy(b.x), torch.from_numpy(b.edge_index)
    out = model(x, ei)
    assert out.shape == (1, 1)
    assert torch.allclose(out, model(x, ei, torch.from_numpy(b.batch)))
    # edge weights multiply the messages: all-zero weights change the logit
    assert not torch.allclose(out, model(x, ei, None, torch.zeros(ei.size(1))))
    explainer = Explainer(model, GNNExplainer(epochs=3), explanation_type="model",
                          edge_mask_type="object", node_mask_type=None,
                          model_config=dict(mode="binary_classification", task_level="graph",
                                            return_type="raw"))
    explanation = explainer(x, ei, batch=torch.from_numpy(b.batch))
    assert explanation.edge_mask.shape == (ei.size(1),)


def _toy(seed: int) -> tuple:
    """Groups of 1-4 ops of resnet18; the rule: valid iff the group holds a MaxPool or an
    Add (a rule of op kinds, so it is separable from the features)."""
    g = build("resnet18")
    rng = random.Random(seed)
    groups = [mask_ops(random_convex_group(g, rng, rng.randint(1, 4))) for _ in range(400)]
    labels = np.array([any(g.ops[v].kind in ("MaxPool", "Add") for v in ops) for ops in groups],
                      dtype=np.int8)
    bank = bank_for_graph(g, groups, 1)
    idx = np.arange(len(groups), dtype=np.int64)
    buffers = np.full(len(groups), 1 << 17, dtype=np.int64)
    return bank, idx, buffers, labels


def test_tiny_training_learns_a_separable_rule() -> None:
    bank, idx, buffers, labels = _toy(0)
    assert 0.2 < labels.mean() < 0.8
    tr, va = slice(0, 300), slice(300, 400)
    result = train(bank, (idx[tr], buffers[tr], labels[tr]), (idx[va], buffers[va], labels[va]),
                   TrainConfig(epochs=15, batch_size=32, lr=3e-3, patience=15, seed=0))
    got = scores(predict_bank(result.model, bank, idx[va], buffers[va]), labels[va])
    assert got.balanced_accuracy >= 0.95, got
    # seeded: the same run gives the same weights
    again = train(bank, (idx[tr], buffers[tr], labels[tr]), (idx[va], buffers[va], labels[va]),
                  TrainConfig(epochs=2, batch_size=32, lr=3e-3, patience=15, seed=0))
    twice = train(bank, (idx[tr], buffers[tr], labels[tr]), (idx[va], buffers[va], labels[va]),
                  TrainConfig(epochs=2, batch_size=32, lr=3e-3, patience=15, seed=0))
    for a, b in zip(again.model.state_dict().values(), twice.model.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(1)
    model = ValidityGNN().eval()
    meta = {"scheme": "lbdf", "cost_fingerprint": cost_fingerprint("lbdf"), "hidden": HIDDEN,
            "layers": LAYERS, "seed": 1, "train_nets": ["resnet18"]}
    path = save_checkpoint(model, tmp_path / "ck", meta)
    assert path.name == "ck.json" and (tmp_path / "ck.pt").exists()
    assert (tmp_path / "ck.pt").stat().st_size < 2_000_000
    # the same weights give the same bytes, whatever the file is called
    save_checkpoint(model, tmp_path / "other", meta)
    assert (tmp_path / "other.pt").read_bytes() == (tmp_path / "ck.pt").read_bytes()
    loaded, record = load_checkpoint(tmp_path / "ck", "lbdf")
    assert record["seed"] == 1
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
