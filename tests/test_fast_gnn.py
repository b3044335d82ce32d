"""The fast GNNExplainer and integrated-gradients paths (``explain/learned/fast_gnn.py``) give
PyG's masks bit for bit: on the shipped validity GNNs of both schemes and zoo groups (chains,
inverted-residual joins, ResNet skips), the mask of the fast path is ``torch.equal`` to the
one PyG's ``GNNExplainer`` / ``CaptumExplainer`` computes; a search with the fast path returns
the plan the PyG path returns; a GNN the fast path does not cover falls back to PyG."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from fuseplan.explain.cuts import cut_space  # noqa: E402
from fuseplan.explain.learned import fast_gnn  # noqa: E402
from fuseplan.explain.learned.common import group_tensors, group_seed  # noqa: E402
from fuseplan.explain.registry import make_strategy  # noqa: E402
from fuseplan.models.cost import make_cost_model  # noqa: E402
from fuseplan.models.zoo import build  # noqa: E402

BUFFER = 128 * 1024


def _groups(net: str) -> list[int]:
    runs = {"mobilenet_v2": [(9, 26)], "resnet18": [(5, 20)]}[net]
    return [sum(1 << v for v in range(a, b)) for a, b in runs]


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("net", ["mobilenet_v2", "resnet18"])
def test_fast_masks_are_pygs_bit_for_bit(net: str, scheme: str) -> None:
    graph = build(net)
    model = make_cost_model(scheme, graph)
    varied = []
    for group in _groups(net):
        space = cut_space(graph, group)
        for name, opts in (("gnnexplainer", {"epochs": 12}), ("ig", {"n_steps": 8})):
            fast = make_strategy(name, seed=7, **opts)
            slow = make_strategy(name, seed=7, fast=False, **opts)
            gnn, meta = fast.gnn(model)
            assert fast_gnn.supported(gnn)
            t = group_tensors(graph, model.bytes_per_element, space, BUFFER)
            masks = []
            for algorithm in (fast, slow):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(group_seed(7, group))
                    masks.append(algorithm.edge_mask(gnn, meta, t, scheme))
                from fuseplan.explain.learned.common import reset_masks
                reset_masks(gnn)
            assert masks[0].shape == (t.edge_index.size(1),)
            assert torch.equal(masks[0], masks[1]), (net, scheme, name, group)
            varied.append(masks[0].unique().numel() > 1)
            # and through the strategy (scores per cut-space edge): the same scores
            assert fast(model, group, BUFFER, space=space).edge_scores == \
                slow(model, group, BUFFER, space=space).edge_scores
    if net == "mobilenet_v2":  # not trivially equal: these masks vary over the edges (the
        assert all(varied)     # ResNet-18 group saturates the BRR GNN: all-zero masks there)


@pytest.mark.parametrize("repair", ["gnnexplainer", "ig"])
def test_a_search_returns_the_same_plan_with_the_fast_path(repair: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from fuseplan.solver.api import solve_net
    from fuseplan.solver.search.run import SearchSettings

    def run() -> tuple:
        result = solve_net("resnet18", buffer_bytes=BUFFER, scheme="brr",
                           method=f"ls:{repair}", seed=3,
                           search=SearchSettings(evaluations=8, reference_time_s=0))
        return result.objective_bytes, tuple(sorted(result.groups))

    fast = run()
    monkeypatch.setattr(fast_gnn, "supported", lambda gnn: False)
    assert run() == fast


def test_a_gnn_the_fast_path_does_not_cover_falls_back_to_pyg() -> None:
    from torch import nn

    from fuseplan.explain.gnn import ValidityGNN

    class Wrapped(ValidityGNN):
        pass

    assert not fast_gnn.supported(Wrapped(hidden=8, layers=2))
    assert not fast_gnn.supported(nn.Linear(2, 2))
    gnn = ValidityGNN(hidden=8, layers=2)
    assert fast_gnn.supported(gnn)
    gnn.convs[0].register_propagate_forward_hook(lambda *a: None)
    assert not fast_gnn.supported(gnn)
