"""The hooks of the CP-SAT set partition (``solve_cpsat_partition``): a hint plan, separate
pairs and extra constraints. OPTIMAL always means optimal for the user's problem."""

from __future__ import annotations

import pytest

from brute_force import brute_force_optimum, random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import as_mask
from fuseplan.models.validate import check_plan
from fuseplan.solver.bounds import whole_problem_bound
from fuseplan.solver.candidates import CandidateSet, enumerate_candidates
from fuseplan.solver.exact.cpsat_partition import solve_cpsat_partition
from fuseplan.solver.exact.cpsat_partition_model import build_cpsat_partition
from fuseplan.solver.problem import Limits, Problem, make_problem

BUFFER = 1_500  # at this buffer the whole-problem bound is below the optimum (seeds 11, 13, 14)


def _instance(seed: int, buffer: int = BUFFER) -> tuple[Problem, int, list[int]]:
    graph = random_dag(8, seed, fan_in=3)
    model = make_cost_model("lbdf", graph, 1)
    expected, blocks = brute_force_optimum(graph, model, buffer)
    return make_problem(graph, model, buffer), expected, [as_mask(b) for b in blocks]


def _singletons(cands: CandidateSet) -> CandidateSet:
    keep = [g for g, m in enumerate(cands.masks) if m.bit_count() == 1]
    return CandidateSet(
        masks=tuple(cands.masks[g] for g in keep), costs=tuple(cands.costs[g] for g in keep),
        before=tuple(cands.before[g] for g in keep), after=tuple(cands.after[g] for g in keep),
        complete=False, evaluated=cands.evaluated, seconds=cands.seconds,
    )


def test_the_hint_is_accepted_by_cp_sat() -> None:
    problem, expected, optimum = _instance(11)
    run = solve_cpsat_partition(problem, Limits(), hint=optimum)
    assert run.stats.hint_groups == len(optimum) and run.stats.hint_columns_added == 0
    assert run.stats.start_bytes == expected
    assert run.stats.hint_feasible is True  # CP-SAT's log says so
    assert any("hint is complete and is feasible" in line for line in run.stats.hint_log)
    assert run.result.status == "OPTIMAL" and run.result.objective_bytes == expected
    assert run.result.details["hint_feasible"] is True


def test_hint_groups_missing_from_the_candidates_become_columns() -> None:
    """Only singletons are candidates (an incomplete set): the hint's larger groups are
    added, priced by the cost model, and the plan found is the hinted optimum; with an
    incomplete set the bound quoted is the whole-problem bound."""
    problem, expected, optimum = _instance(13)
    cands = _singletons(enumerate_candidates(problem))
    built = build_cpsat_partition(problem, cands, hint=optimum)
    larger = sum(1 for m in optimum if m.bit_count() > 1)
    assert built.hint_columns_added == larger and len(built.columns) == len(cands) + larger
    assert sorted(built.columns.masks[g] for g in built.hint) == sorted(optimum)
    run = solve_cpsat_partition(problem, Limits(), candidates=cands, hint=optimum)
    assert run.stats.hint_feasible is True
    assert run.result.objective_bytes == expected
    assert run.result.bound_bytes == whole_problem_bound(problem) < expected
    assert run.result.status == "FEASIBLE"
    check_plan(run.result.plan, problem.graph, problem.model)


def test_an_invalid_hint_group_is_dropped_not_added() -> None:
    """Ops 0 and 7 share no edge: {0, 7} is no group (not weakly connected), so the hint
    is not used; the solve is the same."""
    problem, expected, _ = _instance(11)
    assert not problem.preds[7] >> 0 & 1
    hint = [1 << 0 | 1 << 7, *(1 << v for v in range(1, 7))]
    run = solve_cpsat_partition(problem, Limits(), hint=hint)
    assert run.stats.hint_groups_dropped == 1 and run.stats.hint_columns_added == 0
    assert run.result.status == "OPTIMAL" and run.result.objective_bytes == expected


@pytest.mark.parametrize("given", [False, True], ids=["enumerated", "given"])
@pytest.mark.parametrize("seed", [11, 13, 14])
def test_a_separate_pair_is_respected(seed: int, given: bool) -> None:
    """Two ops that share a group in the optimum are kept apart: no group of the plan holds
    both, the plan is the optimum of the restricted problem (brute force with that pair
    forbidden), and the status is FEASIBLE: the restriction was not proven safe."""
    problem, expected, optimum = _instance(seed)
    big = max(optimum, key=int.bit_count)
    a, b = (big & -big).bit_length() - 1, big.bit_length() - 1
    restricted, _ = brute_force_optimum(problem.graph, problem.model, BUFFER, forbids=[(a, b)])
    cands = enumerate_candidates(problem) if given else None
    run = solve_cpsat_partition(problem, Limits(), candidates=cands, separate=[(a, b)])
    result = run.result
    assert all(not (g >> a & 1 and g >> b & 1) for g in result.groups)
    assert result.objective_bytes == restricted >= expected
    assert run.stats.restricted_status == "OPTIMAL" and run.stats.restricted
    # enumerated for the restricted problem, growth never makes a group holding the pair
    assert (run.stats.separated_candidates > 0) == given
    assert result.status == "FEASIBLE"
    assert result.bound_bytes == whole_problem_bound(problem)
    assert problem.separate == () and problem.forbids == ()  # the user's problem is untouched
    check_plan(result.plan, problem.graph, problem.model)


def test_a_separate_pair_against_a_pin_makes_the_restriction_infeasible() -> None:
    """No user error: the restricted problem has no plan, the user's problem is UNKNOWN."""
    graph = random_dag(8, 11, fan_in=3)
    model = make_cost_model("lbdf", graph, 1)
    problem = make_problem(graph, model, 8_000, pins=[[graph.ops[2].name, graph.ops[4].name]])
    run = solve_cpsat_partition(problem, Limits(), separate=[(4, 2)])
    assert run.stats.restricted_status == "INFEASIBLE"
    assert run.result.status == "UNKNOWN" and run.result.plan is None
    restricted = problem.with_separate([(4, 2)])
    assert restricted.separate == ((2, 4),) and (2, 4) in restricted.forbids


@pytest.mark.parametrize("seed", [11, 13, 14])
def test_an_unsafe_constraint_never_gives_optimal(seed: int) -> None:
    problem, expected, optimum = _instance(seed)

    def harmless(built) -> None:  # every plan has at least one group
        built.model.add(sum(built.x) >= 1)

    run = solve_cpsat_partition(problem, Limits(), extra=harmless)
    assert run.result.objective_bytes == expected and run.stats.restricted_status == "OPTIMAL"
    assert run.result.status == "FEASIBLE"
    assert run.result.bound_bytes == whole_problem_bound(problem) < expected
    safe = solve_cpsat_partition(problem, Limits(), extra=harmless, safe=True)
    assert safe.result.status == "OPTIMAL" and safe.result.bound_bytes == expected

    big = max(optimum, key=int.bit_count)

    def without_the_optimum(built) -> None:  # cuts off the optimal plan's largest group
        for g, mask in enumerate(built.columns.masks):
            if mask == big:
                built.model.add(built.x[g] == 0)

    run = solve_cpsat_partition(problem, Limits(), extra=without_the_optimum)
    assert run.result.status == "FEASIBLE" and run.result.objective_bytes >= expected
    assert big not in run.result.groups


def test_the_model_build_watches_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deadline that strikes after the cover lists are made stops the CP-SAT model build
    (None: the caller keeps its start plan) instead of adding every constraint first."""
    import threading

    from fuseplan.solver.exact import cpsat_partition_model
    from fuseplan.solver.progress import Deadline

    problem, _, _ = _instance(11)
    cands = enumerate_candidates(problem)
    assert build_cpsat_partition(problem, cands) is not None
    stop = threading.Event()
    real = cpsat_partition_model.build_partition

    def cover_lists_then_stop(*args: object) -> object:
        partition = real(*args)
        stop.set()  # Ctrl-C or the time limit, right after the cover lists
        return partition

    monkeypatch.setattr(cpsat_partition_model, "build_partition", cover_lists_then_stop)
    assert build_cpsat_partition(problem, cands, deadline=Deadline(Limits(stop=stop))) is None
