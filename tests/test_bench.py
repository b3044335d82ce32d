"""fuseplan bench: run specs and keys, rows with hand-checked numbers, error rows, resume after
kill -9, the Ray backend, the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import GraphBuilder
from fuseplan.models.graph_json import write_graph_json
from fuseplan.solver.bench.child import PARENT_ENV
from fuseplan.solver.bench.spec import (
    RunSpec, expand_runs, parse_buffers, parse_methods, parse_nets, parse_schemes, split_nets,
)
from fuseplan.solver.bench.store import ROWS_JSONL, ResultStore, read_rows

KB = 1024


def _bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuseplan", "bench", *args],
                          capture_output=True, text=True, timeout=timeout)


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / ROWS_JSONL).read_text().splitlines()]


@pytest.fixture(scope="module")
def worked_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/cost-models.md's worked example: x 64x56x56, two 3x3 convs 64->64, add(c2, x)."""
    b = GraphBuilder("worked_example")
    x = b.input("x", 64, 56, 56)
    attrs = [("kernel_shape", (3, 3)), ("pads", (1, 1, 1, 1)), ("strides", (1, 1)), ("group", 1)]
    t1 = b.op("c1", "Conv", [x], (64, 56, 56), params=36_928, k=3, attrs=attrs,
              param_shapes=[(64, 64, 3, 3), (64,)])
    t2 = b.op("c2", "Conv", [t1], (64, 56, 56), params=36_928, k=3, attrs=attrs,
              param_shapes=[(64, 64, 3, 3), (64,)])
    b.output(b.op("add", "Add", [t2, x], (64, 56, 56)))
    path = tmp_path_factory.mktemp("nets") / "worked.json"
    write_graph_json(b.build(), path)
    return path


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory: pytest.TempPathFactory, worked_example: Path) -> Path:
    """The worked example and a corrupt ONNX file, both schemes, at 256 KB."""
    folder = tmp_path_factory.mktemp("bench")
    bad = folder.parent / "broken.onnx"
    bad.write_bytes(b"not an onnx file")
    out = _bench("--nets", f"{worked_example},{bad}", "--buffers", "256KB", "--schemes",
                 "lbdf,brr", "--jobs", "2", "--out", str(folder / "d"))
    assert out.returncode == 1, out.stderr  # 1: some runs failed (the corrupt file)
    assert "4 runs: 0 already" in out.stdout and "(2 failed)" in out.stdout
    return folder / "d"


# ----- what to run -----

def test_nets_split_keeps_generated_specs_whole() -> None:
    assert split_nets("mobilenet_v2,wide:ops=200,width=4,seed=0,resnet18") == [
        "mobilenet_v2", "wide:ops=200,width=4,seed=0", "resnet18"]
    assert split_nets("wide:ops=200,width=4;cells:cells=3") == ["wide:ops=200,width=4", "cells:cells=3"]
    assert parse_nets("wide:width=4,ops=200,mobilenet_v2,zoo:mobilenet_v2") == [
        "wide:ops=200,width=4,seed=0", "mobilenet_v2"]


def test_families_and_sweep() -> None:
    assert parse_nets("mobilenets") == [
        "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]
    assert parse_nets("resnets,resnet18") == [f"resnet{d}" for d in (18, 34, 50, 101, 152)]
    assert parse_nets("efficientnets")[-1] == "efficientnet_b3"
    assert len(parse_nets("zoo")) == len(parse_nets("all")) == 22
    assert "deeplabv3_mobilenet_v3_large" in parse_nets("paper")
    sweep = parse_buffers("sweep")
    assert sweep[0] == 16 * KB and sweep[-1] == 2048 * KB and len(sweep) == 8
    assert all(b == 2 * a for a, b in zip(sweep, sweep[1:]))
    assert parse_buffers("128KB, 1MB") == [128 * KB, 1024 * KB]


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: parse_nets("mobilenet_v9"), ["'mobilenet_v9'", "fuseplan zoo"]),
        (lambda: parse_nets("zoo:mobilenet_v9"), ["'zoo:mobilenet_v9'", "fuseplan zoo"]),
        (lambda: parse_nets("missing.onnx"), ["'missing.onnx' does not exist"]),
        (lambda: parse_nets("wide:ops=5,width=4"), ["ops=", "100..1000"]),
        (lambda: parse_buffers("128KB,lots"), ["--buffers", "'lots'"]),
        (lambda: parse_schemes("lbdf,xyz"), ["unknown scheme 'xyz'"]),
        (lambda: parse_methods("auto,magic"), ["unknown method 'magic'", "cpsat"]),
        (lambda: expand_runs(["n"], ["lbdf"], [1], ["auto"], seeds=0, time_limit_s=None,
                             workers=1, passthrough=(), tool_version="x"), ["--seeds"]),
    ],
)
def test_bad_options_are_user_errors(call, words) -> None:
    with pytest.raises(FusePlanError) as err:
        call()
    assert all(w in str(err.value) for w in words)


def test_run_key_covers_every_field() -> None:
    base = RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 0, None, 1, (), "0.1.0")
    assert base.key == RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 0, None, 1, (), "0.1.0").key
    changed = [
        RunSpec("mobilenet_v1", "lbdf", 128 * KB, "auto", 0, None, 1, (), "0.1.0"),
        RunSpec("mobilenet_v2", "brr", 128 * KB, "auto", 0, None, 1, (), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 256 * KB, "auto", 0, None, 1, (), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 128 * KB, "cpsat", 0, None, 1, (), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 1, None, 1, (), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 0, 10.0, 1, (), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 0, None, 2, (), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 0, None, 1, ("--gap", "0.1"), "0.1.0"),
        RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 0, None, 1, (), "0.2.0"),
    ]
    assert len({base.key, *(s.key for s in changed)}) == 10


def test_unknown_solve_options_pass_through() -> None:
    from fuseplan.solver.bench.passthrough import passthrough_argv
    from fuseplan.solver.cli import build_parser

    args = build_parser().parse_args([
        "bench", "--nets", "mobilenet_v2", "--buffers", "128KB", "--out", "x",
        "--bytes-per-element", "2", "--pin", "a,b", "--pin", "c", "--fold-activations",
    ])
    extra = passthrough_argv(args)
    assert set(zip(extra, extra[1:])) >= {("--bytes-per-element", "2"), ("--pin", "a,b"), ("--pin", "c")}
    assert "--fold-activations" in extra
    spec = RunSpec("mobilenet_v2", "lbdf", 128 * KB, "auto", 3, 5.0, 2, extra, "0.1.0")
    argv = spec.solve_argv("p.json")
    assert argv[:2] == ["solve", "mobilenet_v2"]
    for pair in (("--buffer", "131072"), ("--seed", "3"), ("--workers", "2"), ("--time-limit", "5"),
                 ("--bytes-per-element", "2"), ("--out", "p.json")):
        assert argv[argv.index(pair[0]) + 1] == pair[1]


# ----- rows -----

def test_rows_hold_hand_checked_numbers(small_bench: Path, worked_example: Path) -> None:
    rows = {(r["net"], r["scheme"], r["method"]): r for r in _rows(small_bench)}
    assert len(rows) == 4
    # docs/cost-models.md: the whole example is one group; LBDF F_D = 475,264 B and BRR
    # F_D = 546,944 B (n = 6, resident) at 256 KB; no plan does better than one group
    for method in ("auto",):
        lbdf = rows[(str(worked_example), "lbdf", method)]
        brr = rows[(str(worked_example), "brr", method)]
        assert lbdf["status"] == brr["status"] == "OPTIMAL"
        assert lbdf["all_dram_bytes"] == lbdf["fusible_dram_bytes"] == 475_264
        assert brr["all_dram_bytes"] == 546_944
        assert lbdf["all_dram_mb"] == pytest.approx(475_264 / 2**20, abs=1e-6)
        assert lbdf["lower_bound_bytes"] == 73_856 + 200_704 + 200_704  # weights + in + out
        assert lbdf["all_bound_bytes"] == 475_264 and lbdf["gap"] == 0
        assert lbdf["ops"] == 3 and lbdf["buffer"] == "256KB" and lbdf["buffer_bytes"] == 262_144
        assert lbdf["workers"] == 1 and lbdf["seed"] == 0 and lbdf["time_limit_s"] is None
        assert 0 < lbdf["wall_time_s"] < 60 and 5 < lbdf["peak_rss_mb"] < 4000
        plan = json.loads((small_bench / lbdf["plan_file"]).read_text())
        assert plan["totals"]["all_dram_bytes"] == 475_264
    csv_lines = (small_bench / "rows.csv").read_text().splitlines()
    assert csv_lines[0].startswith("key,net,scheme,buffer_bytes") and len(csv_lines) == 5


def test_a_failing_run_becomes_an_error_row(small_bench: Path) -> None:
    errors = [r for r in _rows(small_bench) if r["net"].endswith("broken.onnx")]
    assert len(errors) == 2
    for r in errors:
        assert r["status"] == "ERROR" and r["exit_code"] == 2
        assert "not a readable ONNX model" in r["error"]
        assert r["all_dram_bytes"] is None and r.get("plan_file") is None


def test_second_call_skips_finished_runs(small_bench: Path, worked_example: Path) -> None:
    bad = small_bench.parent.parent / "broken.onnx"
    start = time.perf_counter()
    out = _bench("--nets", f"{worked_example},{bad}", "--buffers", "256KB", "--schemes",
                 "lbdf,brr", "--out", str(small_bench) + "/")
    assert "4 runs: 4 already" in out.stdout and "0 run now" in out.stdout
    # the failed rows of the first call remain: exit 1, and say how to run them again
    assert out.returncode == 1, out.stdout
    assert "2 run(s) failed in an earlier call" in out.stderr and "--retry-errors" in out.stderr
    assert "//" not in out.stdout and f"{small_bench}/rows.jsonl" in out.stdout
    assert time.perf_counter() - start < 10
    assert len(_rows(small_bench)) == 4
    assert not (small_bench / ".lock").exists()  # no empty lock file left behind
    ok = _bench("--nets", str(worked_example), "--buffers", "256KB", "--schemes", "lbdf,BRR",
                "--out", str(small_bench))
    assert ok.returncode == 0 and "2 runs: 2 already" in ok.stdout, ok.stderr


def test_store_cuts_a_torn_line_and_locks(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    store = ResultStore(folder)
    store.append({"key": "a", "net": "n", "status": "OPTIMAL"}, "{}")
    with pytest.raises(FusePlanError, match="another fuseplan bench"):
        ResultStore(folder)
    store.close()
    with open(folder / ROWS_JSONL, "ab") as fh:
        fh.write(b'{"key": "b", "net": "n", "sta')  # a writer killed mid-line
    assert [r["key"] for r in read_rows(folder)] == ["a"]
    again = ResultStore(folder)
    assert again.finished_keys() == {"a"}
    again.append({"key": "c", "net": "n", "status": "ERROR"}, None)
    again.close()
    assert [r["key"] for r in read_rows(folder)] == ["a", "c"]
    assert ResultStore(folder, lock=False).finished_keys(include_errors=False) == {"a"}


def _solver_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"{PARENT_ENV}={parent}".encode() in env:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path: Path) -> None:
    args = ["--nets", "wide:ops=100,width=4,seed=0", "--buffers", "64KB,128KB,256KB,512KB",
            "--jobs", "1", "--quiet",
            "--out", str(tmp_path / "d")]
    proc = subprocess.Popen([sys.executable, "-m", "fuseplan", "bench", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_file = tmp_path / "d" / ROWS_JSONL
    deadline = time.time() + 60
    while time.time() < deadline and not (rows_file.exists() and rows_file.read_text().count("\n") >= 1):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(tmp_path / "d")
    assert 1 <= len(before) < 4, "kill the bench mid-way"
    gone = time.time() + 10
    while _solver_children(proc.pid) and time.time() < gone:
        time.sleep(0.1)
    assert _solver_children(proc.pid) == []  # the run in flight died with the bench
    out = _bench(*args)
    assert out.returncode == 0, out.stderr
    assert f"4 runs: {len(before)} already" in out.stdout
    assert f"{4 - len(before)} run now" in out.stdout
    after = _rows(tmp_path / "d")
    assert len(after) == 4 and len({r["key"] for r in after}) == 4
    assert after[: len(before)] == before
    assert all(r["status"] == "OPTIMAL" for r in after)


@pytest.mark.slow
def test_ray_backend(tmp_path: Path) -> None:
    """Slow (~20 s on 2 cores: starting a local Ray) but the only real test of that path."""
    pytest.importorskip("ray")
    out = _bench("--nets", "wide:ops=100,width=4,seed=2", "--buffers", "128KB",
                 "--backend", "ray", "--jobs", "2", "--quiet", "--out", str(tmp_path / "d"),
                 timeout=300)
    assert out.returncode == 0, out.stderr
    rows = _rows(tmp_path / "d")
    assert len(rows) == 1 and all(r["status"] == "OPTIMAL" for r in rows)
    local = _bench("--nets", "wide:ops=100,width=4,seed=2", "--buffers", "128KB",
                   "--quiet", "--out", str(tmp_path / "local"))
    assert local.returncode == 0
    by_key = {r["key"]: r["all_dram_bytes"] for r in _rows(tmp_path / "local")}
    assert {r["key"]: r["all_dram_bytes"] for r in rows} == by_key  # same runs, same answers


# ----- report -----

@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report(small_bench: Path, fmt: str) -> None:
    out = subprocess.run([sys.executable, "-m", "fuseplan", "bench", "report", str(small_bench),
                          "--format", fmt], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip())
    assert path == small_bench / "report" / f"report.{fmt}"
    text = path.read_text()
    assert "0.453*" in text  # 475,264 B = 0.453 MB, proven optimal (LBDF)
    assert "0.522*" in text  # 546,944 B (BRR)
    assert "not a readable ONNX model" in text  # the failed runs are listed
    for name in ("lbdf_dram.png", "lbdf_time.png", "brr_dram.png", "brr_time.png"):
        assert name in text
        assert (path.parent / name).read_bytes()[:4] == b"\x89PNG"


def test_report_of_an_empty_folder_is_a_user_error(tmp_path: Path) -> None:
    out = _bench("report", str(tmp_path))
    assert out.returncode == 2 and "rows.jsonl" in out.stderr and "Traceback" not in out.stderr


def test_progress_eta_counts_the_runs_still_going() -> None:
    from fuseplan.solver.commands.bench import _Progress

    progress = _Progress(quiet=True, jobs=2)
    progress.start(pending=6, skipped=0)
    progress._times = [10.0, 10.0]  # two runs ended, 10 s each
    progress._running = {"a": ("net-a lbdf 64KB auto seed=0", 100.0 - 4),
                         "b": ("net-b lbdf 64KB auto seed=0", 100.0 - 12)}
    # running: 6 s and 0 s left; two queued runs of 10 s; spread over 2 slots
    assert progress.eta_s(now=100.0) == pytest.approx(13.0)
    assert "running: net-b lbdf 64KB auto seed=0" in progress.status()
    assert _Progress(quiet=True).eta_s() is None  # nothing ended yet: no estimate


def test_report_rows_are_ordered_by_buffer() -> None:
    from fuseplan.solver.bench.report import _by_buffer

    rows = [{"net": "b", "method": "auto"}, {"net": "a", "method": "auto"}]
    cells = [("a", "lbdf", 2048, "auto"), ("b", "lbdf", 1 << 20, "auto"),
             ("b", "lbdf", 16384, "auto"), ("a", "lbdf", 1024, "auto")]
    assert sorted(cells, key=_by_buffer(rows)) == [
        ("b", "lbdf", 16384, "auto"), ("b", "lbdf", 1 << 20, "auto"),
        ("a", "lbdf", 1024, "auto"), ("a", "lbdf", 2048, "auto")]
