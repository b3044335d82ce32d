"""The paper's searches: Algorithm 1's three cases by hand, memoisation, seeded
reproducibility, and that no search returns an invalid plan or one below the optimum."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from brute_force import brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.cost.base import GroupCost
from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.group import as_mask, mask_ops
from fuseplan.models.validate import validate_plan
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.progress import Deadline
from fuseplan.solver.search.run import SearchSettings, run_search
from fuseplan.solver.search.searches import _moves
from fuseplan.solver.search.splitting import RecursiveSplitter, Split


class CountModel:
    """F_beta = 10 per op; F_D = 100 + 7 * (lowest op id) per group: numbers by hand."""

    name = "count"

    def __init__(self, graph: Graph, bytes_per_element: int = 1) -> None:
        self.graph = graph
        self.bytes_per_element = bytes_per_element

    def buffer_bytes(self, group: int) -> int:
        return 10 * group.bit_count()

    def buffer_lower_bound(self, group: int) -> int:
        return self.buffer_bytes(group)

    def dram_bytes(self, group: int, buffer_bytes: int) -> int | None:
        if self.buffer_bytes(group) >= buffer_bytes:
            return None
        return 100 + 7 * mask_ops(group)[0]

    def group_cost(self, group: int | Iterable[int], buffer_bytes: int) -> GroupCost:
        mask = as_mask(group)
        need = self.buffer_bytes(mask)
        dram = 100 + 7 * mask_ops(mask)[0]
        return GroupCost(need, dram, dram, 0, 0, need < buffer_bytes)


def chain(n: int) -> Graph:
    g = GraphBuilder(f"chain{n}")
    t = g.input("x", 4, 8, 8)
    for i in range(n):
        t = g.op(f"c{i}", "Conv", [t], (4, 8, 8), params=148, k=3)
    g.output(t)
    return g.build()


def splitter_for(n: int, buffer: int, cuts: dict[int, list[tuple[int, int]]]):
    graph = chain(n)
    problem = make_problem(graph, CountModel(graph), buffer)
    calls: list[int] = []

    def propose(group: int) -> list[tuple[int, int]]:
        calls.append(group)
        return cuts.get(group, [])

    return RecursiveSplitter(problem, propose), calls


def test_case_1_both_halves_valid_smallest_dram() -> None:
    """Chain of 4, buffer 25 (groups of up to 2 ops fit): of the cuts, those leaving both
    halves valid compete on DRAM; a cut with one valid half is ignored."""
    splitter, _ = splitter_for(4, 25, {0b1111: [(0b0001, 0b1110), (0b0011, 0b1100)]})
    assert splitter.repair(0b1111) == Split(100 + 114, (0b0011, 0b1100))


def test_case_2_largest_valid_half_then_recurse() -> None:
    """Chain of 5: no cut leaves both halves valid; {c0, c1} is the largest valid half, and
    the rest {c2, c3, c4} is repaired by recursion."""
    splitter, calls = splitter_for(5, 25, {
        0b11111: [(0b00001, 0b11110), (0b00011, 0b11100)],
        0b11100: [(0b00100, 0b11000)],
    })
    result = splitter.repair(0b11111)
    assert result.groups == (0b00011, 0b00100, 0b11000)
    assert result.dram_bytes == 100 + 114 + 121
    assert calls == [0b11111, 0b11100]


def test_case_3_recurse_on_both_halves_cheapest_total() -> None:
    """Chain of 8: both cuts leave two invalid halves (3 ops or more); every half is repaired
    and the cheaper total wins."""
    splitter, _ = splitter_for(8, 25, {
        0xFF: [(0x0F, 0xF0), (0x07, 0xF8)],
        0x0F: [(0x03, 0x0C)],
        0xF0: [(0x30, 0xC0)],
        0x07: [(0x01, 0x06)],
        0xF8: [(0x18, 0xE0)],
        0xE0: [(0x20, 0xC0)],
    })
    # first cut: {0,1} {2,3} {4,5} {6,7} = 100+114+128+142 = 484
    # second: {0} {1,2} {3,4} {5} {6,7} = 100+107+121+135+142 = 605
    assert splitter.repair(0xFF) == Split(484, (0x03, 0x0C, 0x30, 0xC0))


def test_memoised_and_floor() -> None:
    """A group is proposed for once however often it is met; with no cut at all, sources are
    peeled off down to single ops, which always end valid."""
    splitter, calls = splitter_for(4, 15, {})
    first = splitter.repair(0b1111)
    again = splitter.repair(0b1111)
    assert first is again and first.groups == (0b0001, 0b0010, 0b0100, 0b1000)
    assert calls.count(0b1111) == 1


def test_moves_stay_sorted_and_inside() -> None:
    assert _moves((2, 4), last=6, delta=2) == [(1, 4), (3, 4), (2, 3), (2, 5), (2, 6)]


def _run(graph: Graph, scheme: str, buffer: int, method: str, repair: str, seed: int = 0,
         evaluations: int = 60):
    problem = make_problem(graph, make_cost_model(scheme, graph, 1), buffer)
    limits = Limits(seed=seed)
    settings = SearchSettings(repair=repair, evaluations=evaluations, reference_time_s=5)
    return problem, run_search(method, problem, limits, Deadline(limits), settings)


@pytest.mark.parametrize("method", ["rs", "ls", "nsga2", "greedy"])
@pytest.mark.parametrize("repair", ["cost", "random"])
def test_searches_valid_and_never_below_optimum(method: str, repair: str) -> None:
    for seed in range(3):
        graph = random_dag(9, seed, fan_in=3)
        for scheme in ("lbdf", "brr"):
            problem, result = _run(graph, scheme, 1_500, method, repair, seed)
            optimum, _ = brute_force_optimum(graph, problem.model, 1_500)
            assert result.plan is not None
            assert validate_plan(result.plan, graph, problem.model) == []
            assert result.objective_bytes >= optimum
            assert result.details["reference"] == "optimum"
            assert result.bound_bytes == optimum
            assert result.status == ("OPTIMAL" if result.objective_bytes == optimum
                                     else "FEASIBLE")


@pytest.mark.parametrize("method", ["rs", "ls", "nsga2"])
def test_seeded_reproducible(method: str) -> None:
    from fuseplan.models.zoo import build

    graph = build("mobilenet_v3_small")
    runs = [_run(graph, "lbdf", 64 * 1024, method, "random", seed=s, evaluations=40)[1]
            for s in (1, 1, 2)]
    assert runs[0].groups == runs[1].groups
    assert runs[0].objective_bytes == runs[1].objective_bytes
    assert runs[0].details["evaluations"] == 40
