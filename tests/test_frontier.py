"""The exact frontier (solver/frontier.py, ``fuseplan frontier``) against independent solves.

The oracle for a step function is the exact solver run from scratch (its own candidate
enumeration at that buffer) at the buffer of each breakpoint and one byte below it, and,
on tiny graphs, at every byte of the range: the value changes exactly at the rows and is
constant between them.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fuseplan.models.cost import make_cost_model
from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.load import load_graph
from fuseplan.solver.api import solve_problem
from fuseplan.solver.cli import main
from fuseplan.solver.frontier import Frontier, compute_frontier, pareto_tilings
from fuseplan.solver.problem import Limits, make_problem

from brute_force import brute_force_optimum, random_dag
from cost_graphs import conv_params, residual_block

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "models" / "schemas" / "frontier.schema.json").read_text()
)
KB = 1024


def _direct(graph: Graph, scheme: str, beta: int) -> tuple[int, int]:
    """(all-ops, fusible) of the optimum at ``beta``, solved from scratch."""
    model = make_cost_model(scheme, graph, 1)
    result = solve_problem(make_problem(graph, model, beta), Limits())
    assert result.status == "OPTIMAL" and result.plan is not None
    return result.plan.totals.all_dram_bytes, result.plan.totals.fusible_dram_bytes


def _frontier(graph: Graph, scheme: str, lo: int, hi: int) -> Frontier:
    return compute_frontier(graph, make_cost_model(scheme, graph, 1), scheme, lo, hi)


def _check_rows(graph: Graph, f: Frontier) -> None:
    """Each row starts where the value changes: solves at the row and one byte below."""
    assert f.complete
    assert f.steps[0].buffer_bytes == f.from_bytes
    assert [s.buffer_bytes for s in f.steps] == sorted({s.buffer_bytes for s in f.steps})
    previous = None
    for step in f.steps:
        at = _direct(graph, f.scheme, step.buffer_bytes)
        assert at == (step.all_ops_bytes, step.fusible_bytes), step
        if previous is not None:
            below = _direct(graph, f.scheme, step.buffer_bytes - 1)
            assert below == (previous.all_ops_bytes, previous.fusible_bytes), step
            assert below != at  # a row is a change
        previous = step
    assert _direct(graph, f.scheme, f.to_bytes)[0] == f.steps[-1].all_ops_bytes


def _check_every_byte(graph: Graph, f: Frontier) -> None:
    for beta in range(f.from_bytes, f.to_bytes + 1):
        step = f.at(beta)
        assert _direct(graph, f.scheme, beta) == (step.all_ops_bytes, step.fusible_bytes), beta


def test_residual_block_lbdf_reaches_the_lower_bound_at_the_worked_example_fbeta() -> None:
    # docs/cost-models.md: F_beta({c1, c2, add}) = 106,112 B, F_D = 475,264 B = the lower
    # bound (weights once, x in, y out); no smaller group reaches it
    graph = residual_block()
    f = _frontier(graph, "lbdf", 32 * KB, 256 * KB)
    assert f.lower_bound_bytes == 475_264
    last = f.steps[-1]
    assert (last.buffer_bytes, last.all_ops_bytes, last.groups) == (106_113, 475_264, 1)
    assert f.at(106_112).all_ops_bytes > 475_264
    _check_rows(graph, f)


@pytest.mark.parametrize("seed", [3, 11])
@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_random_dag_frontier_matches_a_solve_at_every_byte(seed: int, scheme: str) -> None:
    graph = random_dag(7, seed)
    f = _frontier(graph, scheme, 64, 1600)
    assert len(f.steps) >= 5  # the range holds real steps
    _check_rows(graph, f)
    _check_every_byte(graph, f)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_frontier_matches_brute_force_at_its_rows(scheme: str) -> None:
    graph = random_dag(6, 5)
    model = make_cost_model(scheme, graph, 1)
    f = _frontier(graph, scheme, 64, 4096)
    for step in f.steps:
        best, _ = brute_force_optimum(graph, model, step.buffer_bytes)
        assert best == step.fusible_bytes


@pytest.mark.parametrize("seed", [3, 11, 21])
def test_lbdf_is_monotone_and_bisection_solves_fewer_than_its_values(seed: int) -> None:
    f = _frontier(random_dag(8, seed), "lbdf", 64, 8192)
    values = [s.all_ops_bytes for s in f.steps]
    assert values == sorted(values, reverse=True)
    assert f.method == "bisection" and f.evaluated <= f.candidate_values + 1


def test_brr_can_rise_the_documented_conv() -> None:
    # docs/cost-models.md: a 3x3 conv 64->64 on 56x56, int8, costs 438,336 B unfusable at
    # 50 KB and 631,872 B as a group at 64 KB. It fits alone from F_beta + 1 =
    # 36,928 (streamed) + 3 rows of x + 1 output row (3,584 B each) + 1 = 51,265 B.
    g = GraphBuilder("one_conv")
    x = g.input("x", 64, 56, 56)
    g.output(g.op("c", "Conv", [x], (64, 56, 56), params=conv_params(64, 64, 3), k=3))
    graph = g.build()
    f = _frontier(graph, "brr", 40 * KB, 128 * KB)
    assert f.at(50 * KB).all_ops_bytes == 438_336
    assert f.at(64 * KB).all_ops_bytes == 631_872
    rise = f.at(51_265)
    assert rise.buffer_bytes == 51_265 and rise.all_ops_bytes > 438_336
    assert f.method == "incremental" and f.evaluated == f.candidate_values + 1
    _check_rows(graph, f)


def test_brr_rises_on_a_random_dag_too() -> None:
    f = _frontier(random_dag(7, 3), "brr", 64, 1600)
    values = [s.all_ops_bytes for s in f.steps]
    assert any(b > a for a, b in zip(values, values[1:]))


def test_pareto_tilings_are_exactly_where_the_brr_price_changes() -> None:
    graph = random_dag(6, 5)
    model = make_cost_model("brr", graph, 1)
    top = 3000
    for mask in (0b1, 0b11, 0b111, 0b110, 0b1100, 0b111111):
        fbeta = model.buffer_bytes(mask)
        if fbeta + 1 > top:
            continue
        changes = {fbeta + 1}
        for beta in range(fbeta + 2, top + 1):
            if model.dram_bytes(mask, beta) != model.dram_bytes(mask, beta - 1):
                changes.add(beta)
        pareto = pareto_tilings(model, mask, top)
        assert {b + 1 for b, _ in pareto} == changes, mask
        for b, d in pareto:
            assert model.dram_bytes(mask, b + 1) == d


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("net", ["mobilenet_v1", "squeezenet1_0"])  # a chain, a branchy net
def test_zoo_net_rows_match_solves_below_and_at_each_breakpoint(net: str, scheme: str) -> None:
    graph = load_graph(net)
    f = _frontier(graph, scheme, 96 * KB, 128 * KB if net == "squeezenet1_0" else 160 * KB)
    assert len(f.steps) >= 3
    _check_rows(graph, f)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_follows_the_schema_and_writes_valid_plans(tmp_path, capsys) -> None:
    out = tmp_path / "front"
    code, text, err = _run(capsys, "frontier", "mobilenet_v1", "--from", "96KB", "--to",
                           "128KB", "--out", str(out), "--json")
    assert code == 0, err
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA)
    assert json.loads((out / "frontier.json").read_text()) == doc
    assert (out / "frontier.png").stat().st_size > 0
    assert [f["scheme"] for f in doc["frontiers"]] == ["lbdf", "brr"]
    for f in doc["frontiers"]:
        steps = f["steps"]
        assert steps[0]["buffer_bytes"] == 96 * KB and steps[-1]["until_bytes"] == 128 * KB
        for a, b in zip(steps, steps[1:]):
            assert a["until_bytes"] + 1 == b["buffer_bytes"]
        for s in steps[:3] + steps[-1:]:
            code, _, err = _run(capsys, "validate", str(out / s["plan_file"]))
            assert code == 0, err
            plan = json.loads((out / s["plan_file"]).read_text())
            assert plan["totals"]["all_dram_bytes"] == s["all_ops_bytes"]
            assert plan["buffer_bytes"] == s["buffer_bytes"]


def test_cli_table(capsys) -> None:
    code, text, err = _run(capsys, "frontier", "mobilenet_v1", "--scheme", "lbdf", "--from",
                           "96KB", "--to", "128KB", "--quiet")
    assert code == 0, err
    assert "mobilenet_v1: LBDF frontier, 96 KB to 128 KB" in text
    assert "98,305" in text or "OPTIMAL" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mobilenet_v1", "--from", "1MB", "--to", "64KB"], "must be below --to"),
        (["mobilenet_v1", "--from", "64KB", "--to", "64KB"], "must be below --to"),
        (["no_such_net_xyz"], "no_such_net_xyz"),
        (["mobilenet_v1", "--from", "12 parsecs"], "--from"),
        (["mobilenet_v1", "--from", "1"], "at least 2"),
        (["mobilenet_v2", "--time-limit", "0.001"], "did not finish within the time limit"),
    ],
)
def test_cli_bad_input_is_one_line(capsys, argv: list[str], message: str) -> None:
    code, out, err = _run(capsys, "frontier", *argv, "--quiet")
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_bad_scheme_and_out_file(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["frontier", "mobilenet_v1", "--scheme", "xyz"])
    assert stop.value.code == 2
    capsys.readouterr()
    file = tmp_path / "f.txt"
    file.write_text("x")
    code, _, err = _run(capsys, "frontier", "mobilenet_v1", "--out", str(file))
    assert code == 2 and "is a file" in err


def test_over_the_lattice_cap_lbdf_solves_from_scratch_and_brr_says_why(monkeypatch) -> None:
    from fuseplan.models.errors import FusePlanError
    from fuseplan.solver.exact import ideals

    graph = random_dag(7, 3)
    expected = [(s.buffer_bytes, s.all_ops_bytes, s.fusible_bytes)
                for s in _frontier(graph, "lbdf", 64, 1600).steps]
    monkeypatch.setattr(ideals, "IDEAL_CAP", 2)
    f = _frontier(graph, "lbdf", 64, 1600)
    assert [(s.buffer_bytes, s.all_ops_bytes, s.fusible_bytes) for s in f.steps] == expected
    assert f.complete and f.solves >= f.evaluated  # every point a full solve
    with pytest.raises(FusePlanError, match="too many ideals"):
        _frontier(graph, "brr", 64, 1600)
