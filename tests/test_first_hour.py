"""Issue 15, a new user's first hour: flags in any case, --debug everywhere, help that
mentions every kind of net, files said to be written, tables that fit, validate's one-line
errors, the Python API's result that saves itself, progress off a terminal."""

from __future__ import annotations

import pytest

from fuseplan.solver.cli import build_parser, main


def test_scheme_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "squeezenet1_1", "--buffer", "128KB", "--scheme", "LBDF"]) == 0
    assert "lbdf at 128 KB" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["hw", "list", "--debug"], ["hw", "show", "--debug", "edge-256k"]])
def test_nested_commands_take_debug(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from fuseplan.models.hardware import PRESETS

    if argv[1] == "show":
        argv = [*argv[:-1], next(iter(PRESETS))]
    assert main(argv) == 0


def test_bench_report_debug_shows_the_traceback(tmp_path) -> None:
    from fuseplan.models.errors import FusePlanError

    assert main(["bench", "report", str(tmp_path)]) == 2
    with pytest.raises(FusePlanError, match="rows.jsonl"):
        main(["bench", "report", str(tmp_path), "--debug"])


def test_help_names_generated_nets() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name in ("solve", "graph", "cost", "bench"):
        assert "cells:" in sub[name].format_help().replace("\n", " "), name
    bench = sub["bench"].format_help()
    assert "another name for" in bench and "M:REPAIR" in bench
    assert bench.startswith("usage: fuseplan bench --nets NETS --buffers SIZES --out DIR")


def test_validate_a_directory_is_one_line_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a directory" in err and "Traceback" not in err


def test_validate_a_graph_json_says_so(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.json"
    assert main(["graph", "squeezenet1_1", "--json", str(path)]) == 0
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{str(path)!r} is a graph JSON, not a plan" in err and "fuseplan solve" in err


def _table_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]


def test_the_solve_table_fits_80_columns(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["solve", "googlenet", "--buffer", "128KB", "--quiet"]) == 0
    out = capsys.readouterr().out
    lines = _table_lines(out)
    assert lines and max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│")]
    names = [row.split("│")[3].strip() for row in rows]
    assert len(set(names)) == len(names)  # every group can be told apart by its names cell
    ranges = [row.split("│")[2].strip() for row in rows]
    assert ranges[0] == "0-3" and len(set(ranges)) == len(ranges)
    assert "inception3a/branch2.0/Relu" in names  # the tail that tells it apart, /x/x.0 folded
    assert "--wide" in out


def test_wide_keeps_full_names(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["solve", "resnet18", "--buffer", "256KB", "--quiet", "--wide"]) == 0
    out = capsys.readouterr().out
    assert "/layer1/layer1.0/relu_1/Relu .. /layer2/layer2.0/downsample/downsample.0/Conv (8 ops)" in out
    assert "weights B" in out


def test_name_tails_and_ranges() -> None:
    from fuseplan.models.load import load_graph
    from fuseplan.solver.commands._plan_table import name_tails, op_ranges

    assert op_ranges([3, 4, 5, 8]) == "3-5,8"
    assert op_ranges([1, 3, 5, 7, 9, 11, 13]) == "1,3,5,7,.."
    graph = load_graph("resnet18")
    tails = name_tails(graph)
    assert len(set(tails)) == len(tails)
    by_name = dict(zip((op.name for op in graph.ops), tails))
    assert by_name["/layer1/layer1.0/conv1/Conv"] == "layer1.0/conv1/Conv"
    assert by_name["/fc/Gemm"] == "Gemm"


def test_solve_says_what_it_wrote(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_csv = tmp_path / "p.json", tmp_path / "g.csv"
    assert main(["solve", "squeezenet1_1", "--buffer", "128KB", "--quiet",
                 "--out", str(out_json), "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {out_json}" in out and f"wrote {out_csv}" in out
    assert main(["solve", "squeezenet1_1", "--buffer", "128KB", "--json",
                 "--out", str(out_json)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out_json}" in captured.err and "wrote" not in captured.out


def test_a_buffer_in_bytes_that_fuses_nothing_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "mobilenet_v2", "--buffer", "256", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "every op is unfusable" in err and "did you mean --buffer 256KB?" in err
    assert main(["solve", "mobilenet_v2", "--buffer", "256KB", "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_astar_says_its_groups_are_listed_lazily(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "squeezenet1_1", "--buffer", "128KB", "--method", "astar", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "candidate groups: listed lazily (" in out and "candidate groups: 0" not in out


def test_graph_shows_a_gemm_output_as_a_vector(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "/fc/Gemm_output_0 1000 (vector)" in out and "1000x1x1" not in out


def test_solve_net_takes_a_size_string_and_saves_a_plan_validate_rechecks(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from fuseplan.solver.api import solve_net

    result = solve_net("squeezenet1_1", buffer_bytes="128KB", scheme="LBDF")
    assert result.status == "OPTIMAL" and result.plan.buffer_bytes == 128 * 1024
    assert result.graph.name == "squeezenet1_1" and result.model is not None
    path = result.save(tmp_path / "plan.json")
    assert json.loads(path.read_text())["graph"]["load"]["spec"] == "zoo:squeezenet1_1"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {path}")


def test_solve_net_with_input_shape_records_it(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import onnx

    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.onnx_export import export_onnx
    from fuseplan.models.load import load_graph
    from fuseplan.solver.api import solve_net

    path = tmp_path / "dyn.onnx"
    export_onnx(load_graph("squeezenet1_1"), path)
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param, dims[2].dim_param, dims[3].dim_param = "N", "H", "W"
    onnx.save(model, str(path))
    with pytest.raises(FusePlanError, match=r"input_shape="):
        solve_net(str(path), buffer_bytes="128KB")
    result = solve_net(str(path), buffer_bytes=128 * 1024, input_shape=(1, 3, 224, 224))
    assert result.status == "OPTIMAL"
    saved = result.save(tmp_path / "plan.json")
    assert json.loads(saved.read_text())["graph"]["load"]["input_shape"] == [1, 3, 224, 224]
    assert main(["validate", str(saved)]) == 0  # no --input-shape needed
    same = solve_net(str(path), buffer_bytes="128KB", input_shape="1x3x224x224")
    assert same.objective_bytes == result.objective_bytes


def test_progress_off_a_terminal_is_a_plain_line_every_few_seconds() -> None:
    import io

    from fuseplan.solver.progress import LiveProgress, ProgressEvent

    stream = io.StringIO()  # not a terminal
    progress = LiveProgress(stream=stream, every_s=5.0, ticker=False)
    assert not progress.live
    progress(ProgressEvent(0.5, "enumerating candidates", done=1_000, unit="candidate groups found"))
    progress(ProgressEvent(2.0, "optimal at 128 KB", best_bytes=9_000_000))
    progress(ProgressEvent(5.5, "building arcs over ideals", done=10_000, total=40_000,
                           unit="candidate groups linked"))
    progress(ProgressEvent(7.0, "building arcs over ideals", done=20_000, total=40_000,
                           unit="candidate groups linked"))
    progress(ProgressEvent(10.5, "astar: best-first over ideals", best_bytes=8_000_000,
                           bound_bytes=6_000_000, done=31, unit="ideals expanded"))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # one at 5.5 s, one at 10.5 s: not one per event
    assert lines[0] == (
        "fuseplan: linking candidate groups to the ideals they extend; "
        "10,000 of 40,000 candidate groups linked (25 %); best plan 9,000,000 B; bound -; "
        "gap -; 5.5 s elapsed")
    assert lines[1] == (
        "fuseplan: A*: expanding ideals, cheapest estimate first; 31 ideals expanded; "
        "best plan 8,000,000 B; bound 6,000,000 B; gap 25.00 %; 10.5 s elapsed")


def test_progress_gives_an_eta_once_a_rate_is_known() -> None:
    from fuseplan.solver.progress import LiveProgress, ProgressEvent, describe_phase

    progress = LiveProgress(force=True, ticker=False, delay_s=100)  # never drawn
    progress(ProgressEvent(1.0, "building arcs over ideals", done=1_000, total=11_000, unit="groups"))
    progress(ProgressEvent(2.0, "building arcs over ideals", done=2_000, total=11_000, unit="groups"))
    assert "2,000 of 11,000 groups (18 %, about 9 s left)" in progress.text(2.0)
    progress.close()
    assert "smaller buffer (128 KB)" in describe_phase("optimal at 128 KB")


def test_solve_prints_progress_lines_into_a_pipe() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "FUSEPLAN_PROGRESS_EVERY": "0.2"}
    # a run that lasts a few seconds on any machine (a quick one can finish before the first
    # line): the searches' reference solve is off, so the 3 s are the search's
    out = subprocess.run(
        [sys.executable, "-m", "fuseplan", "solve", "mobilenet_v2", "--buffer", "1MB",
         "--method", "rs:random", "--evaluations", "1000000", "--time-limit", "3",
         "--reference-time", "0"],
        capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("fuseplan: ")]
    assert lines and all("s elapsed" in line and "best plan" in line for line in lines)
    quiet = subprocess.run(
        [sys.executable, "-m", "fuseplan", "solve", "squeezenet1_1", "--buffer", "256KB",
         "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_plan_plot_colours_skips_and_ticks(tmp_path) -> None:
    from fuseplan.solver.plot_plan import _colour, _edge_path

    import matplotlib

    tab20 = matplotlib.colormaps["tab20"]
    reds_and_greys = {tab20(i) for i in (6, 7, 14, 15)}
    for i in range(40):  # no group colour is a grey or a red: those mean "unfusable"
        assert _colour(i) not in reds_and_greys
    assert _edge_path(0, 0, 1, 0) == ([0, 1], [0, 0])  # neighbouring depths: a line
    xs, ys = _edge_path(0, 0, 6, 0)  # a skip: an arc above the chain
    assert max(ys) > 0.5 and xs[0] == 0 and xs[-1] == 6
    path = tmp_path / "plan.png"
    assert main(["solve", "resnet18", "--buffer", "256KB", "--quiet", "--plot", str(path)]) == 0
    assert path.stat().st_size > 10_000


def test_graph_plot_bands_a_deep_net_and_draws_svg(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from fuseplan.models.graph_plot import bands, banded, depths, layout
    from fuseplan.models.load import load_graph

    assert bands(371, 1.0) == 7 and bands(57, 4.0) == 1  # DenseNet-121: 7 bands of 53 rows
    graph = load_graph("mobilenet_v2")  # 99 rows, one op wide
    flat = layout(graph)
    placed, per_band = banded(flat, 99, 1.0, bands(99, 1.0))
    assert per_band < 99 and max(b for _, _, b in placed.values()) >= 1
    d = depths(graph)
    for v, (_, y, b) in placed.items():  # every op in its band, on the row of its depth
        assert d[v] == b * per_band - y
    path = tmp_path / "g.svg"
    assert main(["graph", "squeezenet1_1", "--plot", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    assert "<svg" in path.read_text()[:2000]
