"""The cut-space listing watches the searches' deadline (issue 16, limits).

Found by ``benchmarks/bench_limits_large.py``: rs:cost on the 5,000-op wide graph took
70-80 s for ``--time-limit 60`` because ``explain/cuts.py`` listed the cuts of a group of
hundreds of ops (thousands of candidate ideals, each checked) without asking the deadline.
These tests count work (cut candidates checked), never time: a stop must end the listing at
once, and the search must still return a valid plan.
"""

from __future__ import annotations

import threading

import pytest

from fuseplan.explain import cuts
from fuseplan.explain.cuts import ListingStopped, cut_space
from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import load_graph
from fuseplan.models.validate import check_plan
from fuseplan.solver.api import solve_problem
from fuseplan.solver.problem import Limits, make_problem
from fuseplan.solver.progress import Deadline
from fuseplan.solver.search.proposers import make_proposer
from fuseplan.solver.search.run import SearchSettings
from fuseplan.solver.search.splitting import OutOfTime

WIDE = "wide:ops=120,width=8,seed=0"  # its whole-graph group: ~2,900 candidate cuts


def _count_checks(monkeypatch: pytest.MonkeyPatch, after: int | None = None,
                  stop: threading.Event | None = None) -> list[int]:
    """Counts the candidate ideals cut_space checks; sets ``stop`` at the ``after``-th."""
    real = cuts._as_cut
    calls = [0]

    def counted(*args):
        calls[0] += 1
        if stop is not None and after is not None and calls[0] >= after:
            stop.set()
        return real(*args)

    monkeypatch.setattr(cuts, "_as_cut", counted)
    return calls


def _expired() -> Deadline:
    stop = threading.Event()
    stop.set()
    return Deadline(Limits(stop=stop))


def test_cut_space_stops_at_the_first_ask_that_says_stop(monkeypatch) -> None:
    graph = load_graph(WIDE)
    whole = (1 << graph.num_ops) - 1
    full = cut_space(graph, whole, should_stop=lambda: False)
    assert full == cut_space(graph, whole)  # asking changes nothing while the answer is no
    assert not full.exact and len(full.cuts) > 1000
    checked = _count_checks(monkeypatch)
    asks = [0]

    def stop_at_fifth() -> bool:
        asks[0] += 1
        return asks[0] >= 5

    with pytest.raises(ListingStopped):
        cut_space(graph, whole, should_stop=stop_at_fifth)
    assert asks[0] == 5
    assert checked[0] <= 5  # not the ~2,900 candidates of the whole listing


def test_the_ideal_walk_asks_too() -> None:
    """A group whose ideals are walked (no candidate stage yet) stops within CHECK_EVERY
    steps of the ask."""
    graph = load_graph(WIDE)
    asks = [0]

    def stop_now() -> bool:
        asks[0] += 1
        return True

    with pytest.raises(ListingStopped):
        cuts.ideals(graph, (1 << graph.num_ops) - 1, cuts.MAX_IDEALS, stop_now)
    assert asks[0] == 1


@pytest.mark.parametrize("repair", ["random", "cost"])
def test_a_proposal_past_the_deadline_lists_no_cuts(repair: str, monkeypatch) -> None:
    """``random`` prices nothing, so before the fix its proposal ran the whole listing and
    returned cuts long after the deadline."""
    graph = load_graph(WIDE)
    problem = make_problem(graph, make_cost_model("lbdf", graph), 64 * 1024)
    checked = _count_checks(monkeypatch)
    propose = make_proposer(problem, repair, 0, deadline=_expired())
    with pytest.raises(OutOfTime):
        propose((1 << graph.num_ops) - 1)
    assert checked[0] == 0
    assert make_proposer(problem, repair, 0)((1 << graph.num_ops) - 1)  # no deadline: cuts


@pytest.mark.parametrize("method", ["rs:random", "rs:cost"])
def test_a_search_stopped_mid_listing_returns_a_valid_plan(method: str, monkeypatch) -> None:
    """One segment, so the first plan's repair lists the cuts of the whole 300-op graph
    (~6,400 candidates); the stop comes at the 20th candidate. The listing ends there, the
    graph is split greedily, and the plan validates."""
    graph = load_graph("wide:ops=300,width=8,seed=0")
    model = make_cost_model("lbdf", graph)
    problem = make_problem(graph, model, 64 * 1024)
    stop = threading.Event()
    checked = _count_checks(monkeypatch, after=20, stop=stop)
    result = solve_problem(problem, method=method, limits=Limits(stop=stop),
                           search=SearchSettings(segments=1, evaluations=10**6,
                                                 reference_time_s=0.0))
    assert stop.is_set()
    assert checked[0] == 20
    assert result.status == "FEASIBLE" and result.plan is not None
    check_plan(result.plan, graph, model)
    assert len(result.plan.groups) < graph.num_ops / 2  # greedy runs, not single ops


def test_a_pinned_search_stopped_mid_listing_keeps_the_pin(monkeypatch) -> None:
    """With --pin the deadline does not cut a proposal short: the greedy finish of a stopped
    proposal can split a pin (here a branch op and the concat that joins it), and the search
    then had no plan at all ("could not keep the pinned ops")."""
    graph = load_graph("wide:ops=100,width=8,seed=0")
    model = make_cost_model("lbdf", graph)
    branch, join = 23, graph.succs[23][0]
    pin = [graph.ops[branch].name, graph.ops[join].name]
    assert graph.ops[join].kind == "Concat"
    problem = make_problem(graph, model, 64 * 1024, pins=[pin])
    stop = threading.Event()
    _count_checks(monkeypatch, after=20, stop=stop)
    result = solve_problem(problem, method="rs:cost", limits=Limits(stop=stop),
                           search=SearchSettings(segments=1, evaluations=10**6,
                                                 reference_time_s=0.0))
    assert stop.is_set() and result.status == "FEASIBLE" and result.plan is not None
    check_plan(result.plan, graph, model)
    assert any({branch, join} <= set(g.ops) for g in result.plan.groups)
