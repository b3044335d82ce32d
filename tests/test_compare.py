"""``fuseplan compare``: rows from library calls (also from a worker thread), no row below a
proven exact optimum, the files it writes (plans that validate, CSV, the JSON schema, the
plot)."""

from __future__ import annotations

import csv
import json
import threading

from brute_force import random_dag
from fuseplan.models.cost import make_cost_model
from fuseplan.models.validate import check_plan
from fuseplan.solver.cli import main
from fuseplan.solver.commands.compare import DEFAULT_METHODS, SCHEMA, method_list, run_compare
from fuseplan.solver.problem import make_problem

METHODS = ["exact", "hybrid", "greedy", "ls:cost", "rs:random"]


def test_default_methods_are_the_issues() -> None:
    assert method_list(None) == list(DEFAULT_METHODS)
    assert {"exact", "hybrid", "greedy", "rs:random", "ls:random", "nsga2:random"} <= set(
        DEFAULT_METHODS)
    assert method_list("all")[:len(DEFAULT_METHODS)] == list(DEFAULT_METHODS)


def test_rows_from_a_worker_thread_never_beat_the_optimum() -> None:
    graph = random_dag(9, 4, fan_in=2)
    problem = make_problem(graph, make_cost_model("lbdf", graph, 1), 3_000)
    out: dict[str, list] = {}
    worker = threading.Thread(target=lambda: out.update(rows=run_compare(
        problem, METHODS, time_limit_s=20, seeds=2, evaluations=50)))
    worker.start()
    worker.join()
    rows = out["rows"]
    assert [r.method for r in rows] == METHODS
    exact = rows[0]
    assert exact.status == "OPTIMAL"
    for row in rows:
        assert row.fusible_bytes >= exact.fusible_bytes and row.gap >= 0
        check_plan(row.result.plan, graph, problem.model)
    assert rows[3].seeds == 2 and rows[2].seeds == 1


def test_compare_writes_its_files(tmp_path, capsys) -> None:
    code = main(["compare", "mobilenet_v2", "--buffer", "128KB", "--time-limit", "20",
                 "--evaluations", "30", "--methods", "exact,hybrid,ls:cost",
                 "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "fusible MB" in printed and "handed over to auto" in printed
    document = json.loads((tmp_path / "compare.json").read_text())
    assert document["schema"] == SCHEMA
    assert [r["method"] for r in document["rows"]] == ["exact", "hybrid", "ls:cost"]
    assert document["yardstick"]["status"] == "OPTIMAL"
    for record in document["rows"]:
        assert main(["validate", str(tmp_path / record["plan_file"])]) == 0
        assert record["fusible_dram_bytes"] >= document["yardstick"]["fusible_dram_bytes"]
    with open(tmp_path / "compare.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    assert (tmp_path / "anytime.png").stat().st_size > 0
