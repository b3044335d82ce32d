"""What every registered cost model must satisfy, run over LBDF, BRR and two user schemes
written the documented way (subclass LbdfModel, redefine buffer_bytes): the tests' Doubled
and the HalfWeights example of ``fuseplan.models.cost``'s docstring, as real code.

On random connected convex groups of zoo nets, at buffers around each group's F_beta:
- ``dram_bytes(g, beta) is None`` exactly when ``buffer_bytes(g) >= beta``;
- ``group_cost(g, beta).buffer_bytes == buffer_bytes(g)`` and its ``fits`` agrees;
- ``buffer_lower_bound(g) <= buffer_bytes(g)``, and it never drops when an op joins;
- ``F_D >= W + S(In) + S(Out)`` (the bound every solver's gap relies on).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from fuseplan.models.cost import (
    LbdfModel,
    make_cost_model,
    register_scheme,
    unfused_cost,
    unregister_scheme,
)
from fuseplan.models.group import graph_masks, mask_ops
from fuseplan.models.group_sampling import random_convex_group
from fuseplan.models.zoo import build


class Doubled(LbdfModel):
    """A model that needs twice LBDF's buffer."""

    name = "lbdf-doubled"

    def buffer_bytes(self, group: int) -> int:
        return 2 * super().buffer_bytes(group)


class HalfWeights(LbdfModel):  # the docstring's example of fuseplan.models.cost, verbatim
    name = "lbdf-half"

    def buffer_bytes(self, group: int) -> int:
        weights = sum(self.graph.ops[v].params for v in mask_ops(group))
        weights *= self.bytes_per_element
        return super().buffer_bytes(group) - weights + -(-weights // 2)


SCHEMES = ["lbdf", "brr", "lbdf-doubled", "lbdf-half"]
NETS = ["mobilenet_v3_small", "resnet18", "googlenet"]


@pytest.fixture(scope="module", autouse=True)
def user_schemes() -> Iterator[None]:
    register_scheme("lbdf-doubled", Doubled)
    register_scheme("lbdf-half", HalfWeights)
    yield
    unregister_scheme("lbdf-doubled")
    unregister_scheme("lbdf-half")


def _growths(net: str, seed: int, count: int) -> list[list[int]]:
    """Random groups, each as the list of its growth steps (one op added per step)."""
    graph = build(net)
    masks = graph_masks(graph)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        group = random_convex_group(graph, rng, rng.randint(1, 14))
        # replay the group as a chain of connected subsets, lowest op first
        order = [mask_ops(group)[0]]
        inside = 1 << order[0]
        while inside != group:
            nxt = next(v for v in mask_ops(group & ~inside) if masks.nbr_mask[v] & inside)
            inside |= 1 << nxt
            order.append(nxt)
        steps, acc = [], 0
        for v in order:
            acc |= 1 << v
            steps.append(acc)
        out.append(steps)
    return out


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("b", [1, 2])
def test_conformance(scheme: str, net: str, b: int) -> None:
    graph = build(net)
    model = make_cost_model(scheme, graph, b)
    assert model.name == scheme
    rng = random.Random(f"{scheme}/{net}/{b}")
    for steps in _growths(net, seed=b, count=25):
        previous_bound = 0
        for group in steps:
            need = model.buffer_bytes(group)
            bound = model.buffer_lower_bound(group)
            assert bound <= need, (group, bound, need)
            assert bound >= previous_bound, "buffer_lower_bound dropped when an op joined"
            previous_bound = bound
            for beta in {need, need + 1, max(1, need - 1), need + rng.randint(2, need + 2),
                         need * 4}:
                dram = model.dram_bytes(group, beta)
                assert (dram is None) == (need >= beta), (group, beta, need, dram)
                cost = model.group_cost(group, beta)
                assert cost.buffer_bytes == need
                assert cost.fits == (need < beta)
                if dram is not None:
                    assert cost.dram_bytes == dram
                    floor = sum(
                        unfused_cost(graph, v, b).weight_bytes for v in mask_ops(group)
                    ) + cost.input_bytes + cost.output_bytes
                    assert dram >= floor


def test_doubled_extension_is_consistent() -> None:
    """The defect this suite was written for: a subclass's F_beta was ignored by the fit."""
    graph = build("resnet18")
    model = make_cost_model("lbdf-doubled", graph, 1)
    base = make_cost_model("lbdf", graph, 1)
    group = 0b111
    need = model.buffer_bytes(group)
    assert need == 2 * base.buffer_bytes(group)
    assert model.dram_bytes(group, need - 1) is None
    assert model.dram_bytes(group, need + 1) == base.dram_bytes(group, need + 1)
    assert model.group_cost(group, need).buffer_bytes == need
