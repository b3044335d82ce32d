"""The torch-free repair strategies (explain/strategies.py) and their registry
(explain/registry.py): cost attribution against a hand count and brute force, random cuts
valid and seeded, the learned names refused until they exist, no torch import."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from cost_graphs import conv_chain, se_block
from explain_graphs import brute_force_cuts, inception_stem, residual_stem
from plan_graphs import two_cycle

from fuseplan.models.cost import make_cost_model
from fuseplan.models.errors import FusePlanError
from fuseplan.explain.cut_rule import choose_cut
from fuseplan.explain.cuts import cut_space
from fuseplan.explain.registry import (
    LEARNED_STRATEGIES,
    STRATEGIES,
    available,
    make_strategy,
    register_strategy,
)
from fuseplan.explain.strategies import CostAttribution, RandomCut

BLOCKS = [residual_stem, inception_stem, se_block, two_cycle]


def whole(graph) -> int:
    return (1 << graph.num_ops) - 1


def test_cost_attribution_by_hand_on_a_conv_chain():
    """c1 -> c2, 3x3 convs 16->16 on 16x32x32, int8, LBDF: one row = 16 * 32 = 512 B.
    F_beta(G) = 2 * 2,320 (weights) + 3 rows of x + 3 rows of c1's output = 7,712 B;
    F_beta(c1) = F_beta(c2) = 2,320 + 3 * 512 = 3,856 B. The only cut crosses the only edge:
    score = 7,712 - 3,856 = 3,856."""
    graph = conv_chain()
    model = make_cost_model("lbdf", graph)
    explanation = CostAttribution()(model, 0b11, 64 * 1024)
    assert explanation.edge_scores == (3856.0,)
    assert explanation.strategy == "cost" and explanation.group == 0b11


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("build", BLOCKS, ids=lambda b: b.__name__)
def test_cost_attribution_matches_brute_force(build, scheme):
    graph = build()
    model = make_cost_model(scheme, graph)
    group = whole(graph)
    oracle = brute_force_cuts(model, group)
    explanation = CostAttribution()(model, group, 64 * 1024)
    whole_bytes = model.buffer_bytes(group)
    for edge, score in zip(explanation.edges, explanation.edge_scores):
        larger = [max(model.buffer_bytes(a), model.buffer_bytes(group & ~a))
                  for a, crossing in oracle.items() if (edge.producer, edge.consumer) in crossing]
        assert score == (whole_bytes - min(larger) if larger else float("-inf"))
    # the yardstick: its cut is one whose larger half needs the least buffer
    space = cut_space(graph, group)
    cut = choose_cut(space, explanation.edge_scores, model)
    least = min(max(model.buffer_bytes(a), model.buffer_bytes(group & ~a)) for a in oracle)
    assert max(model.buffer_bytes(cut.first), model.buffer_bytes(cut.second)) == least
    assert CostAttribution()(model, group, 1).edge_scores == explanation.edge_scores


@pytest.mark.parametrize("build", BLOCKS, ids=lambda b: b.__name__)
def test_random_cuts_are_valid_and_reproducible(build):
    graph = build()
    model = make_cost_model("lbdf", graph)
    group = whole(graph)
    oracle = brute_force_cuts(model, group)
    space = cut_space(graph, group)

    def draws(seed: int) -> list[int]:
        strategy = make_strategy("random", seed=seed)
        out = []
        for _ in range(40):
            explanation = strategy(model, group, 1024, space=space)
            cut = choose_cut(space, explanation.edge_scores, model)
            assert cut is not None and cut.first in oracle
            # the rule returns exactly the drawn cut: its crossing edges are the ones scored 1
            assert set(cut.crossing) == {i for i, s in enumerate(explanation.edge_scores) if s}
            out.append(cut.first)
        return out

    assert draws(7) == draws(7)
    assert draws(7) != draws(8) or len(oracle) == 1


def test_random_is_uniform_over_the_cuts():
    graph = residual_stem()
    model = make_cost_model("lbdf", graph)
    space = cut_space(graph, whole(graph))
    strategy = RandomCut(seed=0)
    counts = collections.Counter(
        choose_cut(space, strategy(model, whole(graph), 1, space=space).edge_scores).first
        for _ in range(2000)
    )
    assert set(counts) == {c.first for c in space.cuts} and len(counts) == 4
    assert all(400 <= n <= 600 for n in counts.values())


def test_explanation_shape_and_space_mismatch():
    graph = se_block()
    model = make_cost_model("brr", graph)
    explanation = make_strategy("cost")(model, whole(graph), 4096)
    assert len(explanation.edge_scores) == len(explanation.edges) == 7
    assert explanation.time_s >= 0
    with pytest.raises(FusePlanError, match="another group"):
        make_strategy("cost")(model, 0b11, 4096, space=cut_space(graph, whole(graph)))


def test_registry_names_and_learned_strategies():
    assert set(STRATEGIES) == {"gnnexplainer", "pgexplainer", "rgexplainer", "ig", "cost",
                               "random"}
    assert available("cost") and available("RANDOM")
    with pytest.raises(FusePlanError, match="unknown repair strategy 'magic'"):
        make_strategy("magic")
    for name in LEARNED_STRATEGIES:
        if available(name):
            continue
        with pytest.raises(FusePlanError, match=f"'{name}' needs the trained GNN") as err:
            make_strategy(name)
        assert "\n" not in str(err.value)


def test_register_strategy_imports_lazily(monkeypatch):
    from fuseplan.explain import registry

    monkeypatch.setitem(registry._FACTORIES, "ig", "fuseplan.explain.strategies:RandomCut")
    assert isinstance(make_strategy("ig", seed=3), RandomCut)
    with pytest.raises(FusePlanError, match="unknown repair strategy"):
        register_strategy("nope", RandomCut)


def test_cost_and_random_import_no_torch():
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from cost_graphs import se_block\n"
        "from fuseplan.models.cost import make_cost_model\n"
        "import fuseplan.explain\n"
        "from fuseplan.explain.registry import make_strategy\n"
        "from fuseplan.explain.explainer import explain_group\n"
        "g = se_block(); m = make_cost_model('lbdf', g)\n"
        "for name in ('cost', 'random'):\n"
        "    explain_group(m, (1 << g.num_ops) - 1, 1024, make_strategy(name))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _zoo_names() -> list[str]:
    from fuseplan.models.zoo.catalog import CATALOG

    return [info.name for info in CATALOG]


@pytest.mark.parametrize("net", _zoo_names())
def test_cost_and_random_run_on_every_zoo_net(net):
    """The same call on every zoo net, both schemes: a few segment parts of one random
    segmentation each give a cut whose halves pass check_group's structural checks."""
    import random

    from fuseplan.models.group import check_group
    from fuseplan.models.group_sampling import segment_parts
    from fuseplan.models.zoo import build
    from fuseplan.explain.explainer import explain_group

    graph = build(net)
    parts = [p for p in segment_parts(graph, random.Random(0)) if p.bit_count() > 1][:3]
    assert parts
    for scheme in ("lbdf", "brr"):
        model = make_cost_model(scheme, graph)
        for part in parts:
            space = cut_space(graph, part)
            for name in ("cost", "random"):
                result = explain_group(model, part, 128 * 1024, make_strategy(name), space=space)
                assert result.cut is not None
                cut = result.cut.cut
                assert cut.first | cut.second == part
                assert check_group(model, cut.first, 1).structural
                assert check_group(model, cut.second, 1).structural
