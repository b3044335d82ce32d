"""RG-Explainer's training: the REINFORCE baseline, the valid-cut reward bonus against a
brute-force oracle on a hand-built chain, and training determinism under a seed. The GNN is
random and tiny: no full training here."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fuseplan.explain.checkpoint import save_checkpoint  # noqa: E402
from fuseplan.explain.cuts import cut_space  # noqa: E402
from fuseplan.explain.fingerprint import cost_fingerprint  # noqa: E402
from fuseplan.explain.gnn import ValidityGNN  # noqa: E402
from fuseplan.explain.learned import rgexplainer as rg  # noqa: E402
from fuseplan.explain.learned.common import InvalidLogit  # noqa: E402
from fuseplan.explain.learned.data import TrainGroup  # noqa: E402
from fuseplan.explain.predict import load_predictor  # noqa: E402
from fuseplan.models.cost import make_cost_model  # noqa: E402
from fuseplan.models.graph import Graph, GraphBuilder  # noqa: E402
from fuseplan.models.group import check_group  # noqa: E402

from cost_graphs import conv_params  # noqa: E402


def chain(channels: tuple[int, ...] = (8, 16, 32, 16, 8), kind: str = "Conv") -> Graph:
    """x (8x16x16) -> c0 -> c1 -> ... 3x3 convs with the given output channels: a chain, so
    every edge has exactly one cut through it. Ops: 0..len-1 in order."""
    g = GraphBuilder("chain")
    t = g.input("x", 8, 16, 16)
    c_in = 8
    for i, c in enumerate(channels):
        t = g.op(f"c{i}", kind, [t], (c, 16, 16), params=conv_params(c_in, c, 3), k=3)
        c_in = c
    g.output(t)
    return g.build()


@pytest.fixture(scope="module")
def gnn(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    meta = {"scheme": "lbdf", "cost_fingerprint": cost_fingerprint("lbdf"), "hidden": 16,
            "layers": 2, "seed": 0}
    path = save_checkpoint(ValidityGNN(hidden=16, layers=2),
                           tmp_path_factory.mktemp("rg") / "gnn", meta)
    return (*load_predictor("lbdf", path), path)


def test_advantages_are_returns_minus_the_other_rollouts_mean() -> None:
    assert rg.advantages([1.0, 2.0, 3.0]) == [-1.5, 0.0, 1.5]
    assert rg.advantages([-5.0, -5.0]) == [0.0, 0.0]  # all negative and equal: no push
    assert sum(rg.advantages([-3.0, -1.0, -8.0, -2.0])) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        rg.advantages([1.0])


def _split_buffer(model, space) -> int:
    """A buffer at which some cuts of the chain leave both halves valid and some do not."""
    needs = sorted({max(model.buffer_bytes(c.first), model.buffer_bytes(c.second))
                    for c in space.cuts})
    assert len(needs) >= 2, "the chain's cuts should need different buffers"
    return needs[0] + 1


def test_cut_bonus_matches_a_brute_force_check_of_the_cut_through_the_first_edge(gnn) -> None:
    net, meta, _ = gnn
    graph = chain()
    model = make_cost_model("lbdf", graph)
    group = (1 << graph.num_ops) - 1
    space = cut_space(graph, group)
    buffer = _split_buffer(model, space)
    case = rg._case(InvalidLogit(net).eval(), TrainGroup(model, space, buffer))
    seen = set()
    for a in range(graph.num_ops - 1):
        for order in ([a, a + 1], [a + 1, a], [a + 1, a, a + 2] if a + 2 < graph.num_ops
                      else [a, a + 1]):
            # the rule's top edge is the one between the first two nodes: on a chain, the
            # only cut through it is ops 0..a | a+1..end
            first = (1 << (a + 1)) - 1
            want = check_group(model, first, buffer).valid and \
                check_group(model, group & ~first, buffer).valid
            assert rg.cut_bonus(case, order) == (1.0 if want else 0.0)
            seen.add(want)
    assert seen == {True, False}


def _train_groups() -> list[TrainGroup]:
    graph = chain()
    model = make_cost_model("lbdf", graph)
    group = (1 << graph.num_ops) - 1
    space = cut_space(graph, group)
    return [TrainGroup(model, space, _split_buffer(model, space))]


def test_training_is_deterministic_under_a_seed_and_records_its_curve(gnn) -> None:
    net, meta, _ = gnn
    groups = _train_groups()
    a, info_a = rg.train(net, meta, groups, epochs=2, rollouts=3, seed=0, locator_every=1)
    b, info_b = rg.train(net, meta, groups, epochs=2, rollouts=3, seed=0, locator_every=1)
    c, _ = rg.train(net, meta, groups, epochs=2, rollouts=3, seed=1, locator_every=1)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    t = info_a["training"]
    assert t["per_epoch"] == info_b["training"]["per_epoch"] and len(t["per_epoch"]) == 2
    assert 0.0 <= t["greedy_valid_cut_share"] <= 1.0
    assert info_a["config"]["baseline"].startswith("leave-one-out")
    assert info_a["config"]["coefs"]["valid_cut"] == rg.VALID_BONUS
    with pytest.raises(ValueError):
        rg.train(net, meta, groups, epochs=1, rollouts=1)


def test_only_groups_with_a_both_valid_cut_when_asked() -> None:
    from fuseplan.explain.learned.data import training_groups

    groups = training_groups("lbdf", ("resnet18",), 4, 0, both_valid_cut=True)
    assert groups
    for g in groups:
        assert any(check_group(g.model, c.first, g.buffer_bytes).valid
                   and check_group(g.model, c.second, g.buffer_bytes).valid
                   for c in g.space.cuts)


def test_an_unseen_op_kind_is_explained_not_a_crash(gnn) -> None:
    """A kind outside the GNN's vocabulary (an ONNX op our zoo never has) is read as
    ``other``: every learned strategy still scores every edge."""
    from fuseplan.explain.features import VOCAB
    from fuseplan.explain.registry import make_strategy

    assert "FancyNewOp" not in VOCAB
    graph = chain(kind="FancyNewOp")
    model = make_cost_model("lbdf", graph)
    group = (1 << graph.num_ops) - 1
    for name, opts in (("gnnexplainer", {"epochs": 5}), ("ig", {}),
                       ("rgexplainer", {"untrained": True})):
        scores = make_strategy(name, seed=0, checkpoint=gnn[2], **opts)(model, group, 4096).edge_scores
        assert len(scores) == graph.num_ops - 1
        assert all(s == s for s in scores)  # no NaN
