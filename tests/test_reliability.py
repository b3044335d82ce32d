"""Shared state that could give a wrong answer, and faults: the per-graph tables cache, the
presets and the scheme registry; solve from a thread; Ctrl-C in solve; files never
half-written; a full disk or a read-only folder is one line; a crash in one bench run leaves
the others. (kill -9 in bench: tests/test_bench.py::test_resume_after_kill_9.)"""

from __future__ import annotations

import errno
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import pytest

from brute_force import random_dag
from fuseplan.models import fileio
from fuseplan.models.cost import (
    LbdfModel, make_cost_model, register_scheme, tables as cost_tables, unregister_scheme,
)
from fuseplan.models.errors import FusePlanError
from fuseplan.models.hardware import PRESETS, HardwareConfig, load_presets
from fuseplan.solver import cli
from fuseplan.solver.api import solve_net
from fuseplan.solver.bench import execute, runner
from fuseplan.solver.bench.spec import RunSpec
from fuseplan.solver.bench.store import ROWS_JSONL, ResultStore

FUSEPLAN = [sys.executable, "-m", "fuseplan"]
SMALL = "wide:ops=100,width=4,seed=0"


# ----- shared state -----

def test_tables_of_a_collected_graph_are_never_handed_to_a_new_one() -> None:
    """The cache is keyed by id(graph); a new graph at a freed graph's address (CPython
    reuses addresses at once) must get tables of its own."""
    first = random_dag(6, seed=1)
    key = id(first)
    assert cost_tables.tables_for(first).num_ops == 6
    assert key in cost_tables._CACHE
    del first
    gc.collect()
    assert key not in cost_tables._CACHE  # dropped with its graph
    kept = []
    reused = False
    for seed in range(300):  # look for a new graph at the old address
        g = random_dag(9, seed=seed)
        if id(g) == key:
            reused = True
            assert cost_tables.tables_for(g).num_ops == 9
            break
        kept.append(g)
    # whether or not an address came back, a stale entry at a live graph's id is not used
    live, other = random_dag(5, seed=2), random_dag(7, seed=3)
    cost_tables._CACHE[id(live)] = (weakref.ref(other), cost_tables.build_tables(other))
    assert cost_tables.tables_for(live).num_ops == 5
    assert cost_tables.tables_for(live) is cost_tables.tables_for(live)  # cached again
    print("address reused:", reused)


def test_presets_cannot_be_changed_by_a_caller() -> None:
    presets = load_presets()
    assert presets is load_presets() is PRESETS  # one shared object...
    fake = HardwareConfig("fake", 1, 1, "lbdf")
    with pytest.raises(TypeError):
        presets["edge-npu-256kb"] = fake  # type: ignore[index]
    with pytest.raises(TypeError):
        del presets["edge-npu-256kb"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        presets["edge-npu-256kb"].buffer_bytes = 1  # type: ignore[misc]
    mine = dict(presets)  # a copy of one's own is free to change
    mine["fake"] = fake
    assert "fake" not in load_presets() and load_presets()["edge-npu-256kb"].buffer_bytes == 256 * 1024


def test_built_in_schemes_cannot_be_replaced() -> None:
    graph = random_dag(4, seed=0)

    class Doubled(LbdfModel):
        def buffer_bytes(self, group: int) -> int:
            return 2 * super().buffer_bytes(group)

    for name in ("lbdf", " BRR "):
        with pytest.raises(FusePlanError, match="cannot be replaced"):
            register_scheme(name, Doubled)
    assert make_cost_model("lbdf", graph).buffer_bytes(1) == LbdfModel(graph).buffer_bytes(1)
    register_scheme("doubled-test", Doubled)
    try:
        assert make_cost_model("doubled-test", graph).buffer_bytes(1) == 2 * LbdfModel(graph).buffer_bytes(1)
    finally:
        unregister_scheme("doubled-test")
    with pytest.raises(FusePlanError, match="unknown cost scheme"):
        make_cost_model("doubled-test", graph)


def test_solve_from_a_thread_runs_and_leaves_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGINT)
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            outcome["code"] = cli.main(["solve", SMALL, "--buffer", "128KB", "--quiet"])
        except BaseException as err:  # noqa: BLE001 - the test reports it
            outcome["error"] = err

    t = threading.Thread(target=call)
    t.start()
    t.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["code"] == 0
    assert "OPTIMAL" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGINT) is before


def test_threads_solving_at_once_agree_with_one_at_a_time() -> None:
    """The tables cache and the registry are shared by threads: answers must not mix."""
    graphs = [random_dag(9, seed=s) for s in range(4)]
    alone = [solve_net(g, buffer_bytes="2KB", scheme=sc).plan.totals.all_dram_bytes
             for g in graphs for sc in ("lbdf", "brr")]
    together: dict[int, int] = {}

    def work(i: int) -> None:
        g, sc = graphs[i // 2], ("lbdf", "brr")[i % 2]
        together[i] = solve_net(g, buffer_bytes="2KB", scheme=sc).plan.totals.all_dram_bytes

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [together[i] for i in range(8)] == alone


# ----- Ctrl-C in solve -----

def test_ctrl_c_in_solve_returns_the_best_plan_marked(tmp_path: Path) -> None:
    """Width 8 does not finish in seconds; the first progress line (after 5 s off a
    terminal) shows the search is under way, then Ctrl-C."""
    out = tmp_path / "p.json"
    proc = subprocess.Popen(
        [*FUSEPLAN, "solve", "wide:ops=200,width=8,seed=0", "--buffer", "128KB",
         "--time-limit", "120", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # blocks until the solver reports
    assert first.startswith("fuseplan:"), first
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted; the best plan so far is shown (not proven optimal)" in stderr
    plan = json.loads(out.read_text())
    assert plan["solve"]["status"] == "FEASIBLE" and plan["solve"]["gap"] > 0
    check = subprocess.run([*FUSEPLAN, "validate", str(out)], capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


# ----- files: whole or not at all; clear errors -----

def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "plan.json"
    fileio.write_text_atomic(target, "old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(FusePlanError, match=r"cannot write .*plan.json'?: No space left on device; free some space"):
        fileio.write_text_atomic(target, "new\n" * 1000)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


KILL_WRITER = """
import sys
from fuseplan.models.fileio import write_text_atomic
n = int(sys.argv[2])
print("ready", flush=True)
i = 0
while True:
    write_text_atomic(sys.argv[1], ("AB"[i % 2] * 1000 + "\\n") * n)
    i += 1
"""


def test_kill_9_never_leaves_a_half_written_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    lines = 4000  # 4 MB per write
    for delay in (0.05, 0.13, 0.29, 0.41):
        proc = subprocess.Popen([sys.executable, "-c", KILL_WRITER, str(target), str(lines)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        proc.kill()
        proc.wait()
        if target.exists():
            text = target.read_text()
            assert len(text) == 1001 * lines and len(set(text.replace("\n", ""))) == 1


def _as_nobody(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs argv as user nobody (root writes anywhere; nobody meets the permissions)."""
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_read_only_folders_are_one_line_errors() -> None:
    base = Path(tempfile.mkdtemp(prefix="fuseplan-ro-"))  # pytest's tmp_path is closed to nobody
    ro = base / "ro"
    (ro / "bench").mkdir(parents=True)
    base.chmod(0o755)
    for folder in (ro, ro / "bench"):
        folder.chmod(0o555)
    try:
        solve = _as_nobody([*FUSEPLAN, "solve", SMALL, "--buffer", "128KB", "--quiet",
                            "--out", str(ro / "p.json")], cwd=Path("/"))
        assert solve.returncode == 2, solve.stderr
        assert solve.stderr.count("\n") == 1 and "read-only for you" in solve.stderr
        for out in (ro / "new", ro / "bench"):
            bench = _as_nobody([*FUSEPLAN, "bench", "--nets", SMALL, "--buffers", "128KB",
                                "--quiet", "--out", str(out)], cwd=Path("/"))
            assert bench.returncode == 2, bench.stderr
            assert bench.stderr.count("\n") == 1 and "read-only for you" in bench.stderr
    finally:
        for folder in (ro, ro / "bench"):
            folder.chmod(0o755)
        shutil.rmtree(base)


def test_a_full_disk_during_a_bench_keeps_the_rows_before(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path / "d")
    store.append({"key": "a", "net": "n", "status": "OPTIMAL"}, None)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:7]))  # disk fills up
    with pytest.raises(FusePlanError, match="rows.jsonl'?: No space left on device"):
        store.append({"key": "b", "net": "n", "status": "OPTIMAL"}, None)
    monkeypatch.setattr(os, "write", real_write)
    store.append({"key": "c", "net": "n", "status": "OPTIMAL"}, None)
    store.close()
    lines = (tmp_path / "d" / ROWS_JSONL).read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "c"]  # no torn line between


# ----- a crash in one bench run -----

def _specs() -> list[RunSpec]:
    from fuseplan import __version__

    return [RunSpec(net=SMALL, scheme="lbdf", buffer_bytes=b * 1024, method="auto", seed=0,
                    time_limit_s=None, workers=1, passthrough=(), tool_version=__version__)
            for b in (64, 128, 256)]


def test_a_run_that_raises_does_not_stop_the_others(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    specs = _specs()
    real = execute.run_one

    def flaky(spec: RunSpec, timeout_s: float | None = None) -> runner.RunOutcome:
        if spec.buffer_bytes == 128 * 1024:
            raise RuntimeError("collector bug")
        return real(spec, timeout_s)

    monkeypatch.setattr(execute, "run_one", flaky)
    summary = execute.run_bench(specs, tmp_path / "d", jobs=2)
    assert (summary.done, summary.failed) == (3, 1)
    rows = {r["buffer_bytes"]: r for r in ResultStore(tmp_path / "d", lock=False).rows()}
    assert rows[128 * 1024]["status"] == "ERROR" and "collector bug" in rows[128 * 1024]["error"]
    assert rows[64 * 1024]["status"] == rows[256 * 1024]["status"] == "OPTIMAL"


def test_a_solver_that_crashes_becomes_an_error_row(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """One run's process dies of SIGSEGV; the others finish and the row names the signal."""
    real = runner._run_process

    def crash_one(argv: list[str], folder: Path, timeout_s: float | None):
        if "131072" in argv:
            argv = [sys.executable, "-c",
                    "import os, signal, sys; print('about to crash', file=sys.stderr, flush=True);"
                    " os.kill(os.getpid(), signal.SIGSEGV)"]
        return real(argv, folder, timeout_s)

    monkeypatch.setattr(runner, "_run_process", crash_one)
    summary = execute.run_bench(_specs(), tmp_path / "d", jobs=2)
    assert (summary.done, summary.failed) == (3, 1)
    rows = {r["buffer_bytes"]: r for r in ResultStore(tmp_path / "d", lock=False).rows()}
    bad = rows[128 * 1024]
    assert bad["status"] == "ERROR" and bad["exit_code"] == -signal.SIGSEGV
    assert bad["error"] == "the solver process died of signal SIGSEGV: about to crash"
    assert rows[64 * 1024]["status"] == rows[256 * 1024]["status"] == "OPTIMAL"


def test_ctrl_c_in_bench_keeps_the_finished_rows(tmp_path: Path) -> None:
    """Ctrl-C at a terminal reaches the whole process group: the bench stops at once with
    exit 130, the rows of finished runs stay and the runs in flight leave no process."""
    from test_bench import _solver_children

    out = tmp_path / "d"
    proc = subprocess.Popen(
        [*FUSEPLAN, "bench", "--nets", SMALL, "--buffers", "64KB,128KB,256KB,512KB,1MB",
         "--jobs", "1", "--quiet", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    rows = out / ROWS_JSONL
    deadline = time.time() + 90
    while time.time() < deadline and not (rows.exists() and rows.read_text().count("\n") >= 1):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130 and stderr.strip() == "fuseplan bench: interrupted"
    kept = ResultStore(out, lock=False).rows()
    assert 1 <= len(kept) < 5 and all(r["status"] == "OPTIMAL" for r in kept)
    assert not (out / ".lock").exists()
    gone = time.time() + 10
    while _solver_children(proc.pid) and time.time() < gone:
        time.sleep(0.1)
    assert _solver_children(proc.pid) == []


def test_milp_stopped_by_its_time_limit_keeps_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the long fuzz: CBC stopped by its time limit before writing a solution made
    PuLP raise PulpSolverError (a traceback). The plan in hand stands, marked FEASIBLE."""
    import pulp

    from fuseplan.models.validate import check_plan
    from fuseplan.solver.exact import milp
    from fuseplan.solver.problem import Limits, make_problem

    graph = random_dag(8, seed=1)
    model = make_cost_model("lbdf", graph)

    def out_of_time(self, solver=None, **kwargs):
        time.sleep(1.1)  # CBC ran to its limit...
        raise pulp.PulpSolverError("Pulp: Error while trying to execute")  # ...and wrote nothing

    monkeypatch.setattr(pulp.LpProblem, "solve", out_of_time)
    result = milp.solve(make_problem(graph, model, 3000), Limits(time_limit_s=1.0))
    assert result.status == "FEASIBLE" and result.plan is not None
    check_plan(result.plan, graph, model)
    with pytest.raises(pulp.PulpSolverError):  # without a time limit it is a real failure
        milp.solve(make_problem(graph, model, 3000), Limits())


def test_a_search_killed_mid_run_leaves_no_plan_file(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    proc = subprocess.Popen(
        [*FUSEPLAN, "solve", "wide:ops=300,width=8,seed=0", "--buffer", "128KB", "--method",
         "ls:cost", "--evaluations", "1000000", "--time-limit", "300", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the search is under way
    assert first.startswith("fuseplan:"), first
    proc.kill()
    proc.wait()
    assert list(tmp_path.iterdir()) == []  # no plan, no temp file


def test_recursive_splitting_past_the_deadline_proposes_no_more_cuts() -> None:
    """Found by bench_limits_large: rs:cost on 5,000 ops ran minutes past --time-limit 60
    inside one plan's repairs (each proposal on a group of hundreds of ops costs seconds).
    Past the deadline the splitter proposes nothing more and still returns valid groups
    (greedy runs: fewer groups than ops)."""
    from fuseplan.models.group import check_group
    from fuseplan.models.load import load_graph
    from fuseplan.solver.problem import Limits, make_problem
    from fuseplan.solver.progress import Deadline
    from fuseplan.solver.search.proposers import make_proposer
    from fuseplan.solver.search.splitting import OutOfTime, RecursiveSplitter

    graph = load_graph("wide:ops=300,width=8,seed=0")
    model = make_cost_model("lbdf", graph)
    problem = make_problem(graph, model, 64 * 1024)
    real = make_proposer(problem, "cost", 0)
    calls: list[int] = []

    def propose(group: int):
        calls.append(group)
        return real(group)

    deadline = Deadline(Limits(time_limit_s=0.001))
    time.sleep(0.01)
    split = RecursiveSplitter(problem, propose, deadline=deadline).repair((1 << graph.num_ops) - 1)
    assert calls == []
    assert sum(g.bit_count() for g in split.groups) == graph.num_ops
    assert all(check_group(model, g, 64 * 1024).valid or g.bit_count() == 1 for g in split.groups)
    assert len(split.groups) < graph.num_ops / 2
    from fuseplan.models.plan_build import topological_group_order

    assert topological_group_order(graph, list(split.groups)) is not None  # no cycle
    from fuseplan.solver.search.run import SearchSettings

    result = solve_net(graph, buffer_bytes="64KB", method="rs:cost", time_limit_s=0.001,
                       search=SearchSettings(reference_time_s=0.0))
    assert result.status == "FEASIBLE" and result.plan is not None
    # a proposal under way when the deadline passes stops at its next priced group
    late = Deadline(Limits(time_limit_s=3600))
    timed = make_proposer(problem, "cost", 0, deadline=late)
    late.end = time.perf_counter() - 1
    with pytest.raises(OutOfTime):
        timed((1 << 40) - 1)
    split = RecursiveSplitter(problem, timed).repair((1 << graph.num_ops) - 1)  # caught: greedy
    assert sum(g.bit_count() for g in split.groups) == graph.num_ops
