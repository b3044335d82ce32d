"""The faster cut listing (explain/cuts.py) and the plan evaluator's memos change no search
result: against a reference listing written the plain way (the ideal walk op by op, both
halves checked connected and convex, crossing edges by a scan), against brute force on small
random DAGs, and against a plan evaluation without memos."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from brute_force import random_dag
from fuseplan.explain import cuts
from fuseplan.explain.cuts import Cut, CutSpace, cut_space, group_edges
from fuseplan.models.cost import make_cost_model
from fuseplan.models.graph import Graph
from fuseplan.models.group import components_in, connected_in, convex_in, graph_masks, mask_ops
from fuseplan.models.group_sampling import segments_of
from fuseplan.models.zoo import build
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.progress import Deadline
from fuseplan.solver.search import proposers
from fuseplan.solver.search.encoding import Evaluated, PlanEvaluator
from fuseplan.solver.search.run import SearchSettings, run_search


def reference_ideals(graph: Graph, group: int, limit: int) -> list[int] | None:
    """Op by op in topological order: each op joins or not (joins only after its
    predecessors in the group), the joining branch first."""
    preds = graph_masks(graph).pred_mask
    ops = mask_ops(group)
    found: list[int] = []
    stack = [(0, 0)]
    while stack:
        i, upper = stack.pop()
        if i == len(ops):
            if upper and upper != group:
                found.append(upper)
                if len(found) > limit:
                    return None
            continue
        stack.append((i + 1, upper))
        if preds[ops[i]] & group & ~upper == 0:
            stack.append((i + 1, upper | 1 << ops[i]))
    return found


def reference_cut_space(graph: Graph, group: int, max_ideals: int = cuts.MAX_IDEALS,
                        should_stop=None) -> CutSpace:
    masks = graph_masks(graph)
    edges = group_edges(graph, group)
    listed = reference_ideals(graph, group, max_ideals)
    exact = listed is not None
    if listed is None:
        found: set[int] = set()
        for e in edges:
            found |= cuts._edge_candidates(graph, group, e)
        listed = list(found - {0, group})
    out = []
    for first in sorted(listed):
        second = group & ~first
        if all(connected_in(h, masks.nbr_mask) and convex_in(h, masks.anc_mask, masks.desc_mask)
               for h in (first, second)):
            out.append(Cut(first, second, tuple(
                i for i, e in enumerate(edges)
                if first >> e.producer & 1 and second >> e.consumer & 1)))
    through = tuple(tuple(ci for ci, c in enumerate(out) if ei in c.crossing)
                    for ei in range(len(edges)))
    return CutSpace(graph, group, edges, tuple(out), exact, through)


def reference_evaluate(self: PlanEvaluator, cuts) -> Evaluated:
    """A plan scored part by part, with no memo but the splitter's."""
    key = tuple(sorted({c for c in cuts if 0 < c < self.num_ops}))
    self.evaluations += 1
    dram, repairs, groups = 0, 0, []
    for segment in segments_of(self.num_ops, [c for c in key if c not in self.blocked]):
        for part in components_in(segment, self.problem.neighbours):
            repairs += self.splitter.prices.price(part) is None
            split = self.splitter.repair(part)
            dram += split.dram_bytes
            groups.extend(split.groups)
    return Evaluated(key, dram, tuple(groups), repairs)


def _segments(graph: Graph, count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    nbr = graph_masks(graph).nbr_mask
    parts = []
    for _ in range(count):
        lo = rng.randrange(graph.num_ops)
        hi = min(graph.num_ops, lo + rng.randrange(2, 60))
        segment = ((1 << hi) - 1) ^ ((1 << lo) - 1)
        parts += [p for p in components_in(segment, nbr) if p & (p - 1)]
    return parts


@pytest.mark.parametrize("net", ["efficientnet_b3", "mobilenet_v2", "resnet50"])
def test_same_cut_spaces_as_the_reference(net: str) -> None:
    graph = build(net)
    for group in _segments(graph, 25, seed=len(net)):
        assert cut_space(graph, group) == reference_cut_space(graph, group)
        assert cuts.ideals(graph, group, 64) == reference_ideals(graph, group, 64)


def test_capped_spaces_too() -> None:
    """A cap of 8 ideals sends most groups to the per-edge candidates."""
    graph = build("efficientnet_b3")
    for group in _segments(graph, 10, seed=3):
        assert cut_space(graph, group, 8) == reference_cut_space(graph, group, 8)


def test_ideals_match_brute_force() -> None:
    for seed in range(6):
        graph = random_dag(9, seed, fan_in=3)
        preds = graph_masks(graph).pred_mask
        whole = (1 << graph.num_ops) - 1
        brute = {sum(1 << v for v in chosen)
                 for r in range(1, graph.num_ops) for chosen in combinations(range(graph.num_ops), r)
                 if all(preds[v] & ~sum(1 << u for u in chosen) == 0 for v in chosen)}
        found = cuts.ideals(graph, whole, 10**6)
        assert found is not None and len(found) == len(set(found)) and set(found) == brute


@pytest.mark.parametrize("method,repair", [("rs", "random"), ("ls", "cost"), ("nsga2", "random"),
                                           ("ls", "random")])
def test_seeded_searches_unchanged(method: str, repair: str, monkeypatch) -> None:
    """The same plan, DRAM, evaluations and proposals with the reference listing and the
    reference evaluation (no plan or segment memo)."""
    graph = build("mobilenet_v3_small")

    def run():
        problem = make_problem(graph, make_cost_model("lbdf", graph), 64 * 1024)
        limits = Limits(seed=4)
        settings = SearchSettings(repair=repair, evaluations=80, reference_time_s=0)
        return run_search(method, problem, limits, Deadline(limits), settings)

    fast = run()
    monkeypatch.setattr(proposers, "cut_space", reference_cut_space)
    monkeypatch.setattr(PlanEvaluator, "evaluate", reference_evaluate)
    slow = run()
    assert fast.groups == slow.groups and fast.objective_bytes == slow.objective_bytes
    for key in ("evaluations", "repaired_groups"):
        assert fast.details[key] == slow.details[key]
