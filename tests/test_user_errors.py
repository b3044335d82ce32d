"""User errors found by a QA pass: each is one line on stderr, exit 2, saying what, where and
what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import load_graph
from fuseplan.models.plan_build import make_provenance, no_fusion_plan
from fuseplan.models.plan_io import write_plan_json
from fuseplan.solver.cli import main


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _exit_2(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse errors leave through SystemExit(2)."""
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    out, err = capsys.readouterr()
    assert (stop.value.code, out) == (2, "")
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cost", "resnet18", "--buffer", "1KB", "--bytes-per-element", "3"],
         "fuseplan cost: error: argument --bytes-per-element: invalid choice: 3 (choose from 1, 2, 4) "
         "(see `fuseplan cost --help`)"),
        (["cost", "resnet18", "--buffer", "-1KB"], "argument --buffer: expected one argument"),
        (["graph"], "fuseplan graph: error: the following arguments are required: NET_OR_FILE"),
        (["hw"], "fuseplan hw: error: the following arguments are required: ACTION"),
        (["hw", "show"], "fuseplan hw show: error: the following arguments are required"),
        (["sovle"], "invalid choice: 'sovle'"),
    ],
)
def test_argparse_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert message in _exit_2(capsys, *argv)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope.json", "'nope.json' does not exist: give the path of an ONNX file or a graph JSON"),
        ("./models/nope", "'./models/nope' does not exist"),
        ("/", "'/' is not a file"),
        ("zoo:resnt18", "did you mean resnet18"),
    ],
)
def test_missing_files_say_so(capsys: pytest.CaptureFixture[str], spec: str, message: str) -> None:
    assert message in _error(capsys, "graph", spec)


def test_an_unknown_group_op_suggests_names(capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "cost", "resnet18", "--buffer", "1MB", "--group", "conv1,/relu/Relu")
    assert "--group: graph 'resnet18' has no op(s) named 'conv1'; did you mean '/conv1/Conv'?" in err
    assert err.endswith("(`fuseplan graph NET --ops` lists every op by name)\n")


def test_cost_shortens_a_long_unfusable_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "resnet18", "--buffer", "1KB"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("48 unfusable op(s) (do not fit even alone): /conv1/Conv, /relu/Relu,")
    assert last.endswith("/layer1/layer1.0/relu_1/Relu and 40 more (UNFUSABLE in the table)")


@pytest.fixture
def plan_data(tmp_path: Path) -> tuple[Path, dict]:
    graph = load_graph("resnet18")
    model = make_cost_model("lbdf", graph, 1)
    path = tmp_path / "plan.json"
    write_plan_json(no_fusion_plan(model, 1024 * 1024, make_provenance(graph, seed=None)), graph, model, path)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bytes_per_element", 3, "'bytes_per_element' = 3 must be 1 (int8), 2 (fp16) or 4 (fp32)"),
        ("bytes_per_element", True, "'bytes_per_element' = True must be 1 (int8)"),
        ("scheme", 7, "'scheme' = 7 must name a cost scheme"),
        ("scheme", "xyz", "unknown cost scheme 'xyz'"),
    ],
)
def test_validate_names_the_file_for_a_bad_model(
    capsys: pytest.CaptureFixture[str], plan_data: tuple[Path, dict], field: str, value: object, message: str
) -> None:
    path, data = plan_data
    data[field] = value
    path.write_text(json.dumps(data))
    err = _error(capsys, "validate", str(path))
    assert f"plan file '{path}': " in err and message in err


def test_validate_a_zero_buffer_is_one_finding(capsys: pytest.CaptureFixture[str], plan_data: tuple[Path, dict]) -> None:
    path, data = plan_data
    data["buffer_bytes"] = 0
    path.write_text(json.dumps(data))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"FAILED: {path}: 1 check(s) fail\n"
        "  - file: plan: field 'buffer_bytes' = 0 must be a positive number of bytes\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "hardware file '{path}' must be a mapping of fields (name, description, buffer, "
             "bytes_per_element, scheme, dram_bandwidth_gb_s), it is empty: write e.g. `buffer: 256KB`"),
        ("- 1\n- 2\n", "got a list: write e.g."),
        ("hello\n", "got a string: write e.g."),
    ],
)
def test_hardware_file_that_is_not_a_mapping(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text(content)
    assert message.format(path=path) in _error(capsys, "hw", "show", str(path))


def test_a_missing_hardware_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _error(capsys, "cost", "resnet18", "--hw", str(tmp_path / "mine.yaml"))
    assert f"hardware file '{tmp_path / 'mine.yaml'}' does not exist: pass the path of a hardware" in err
    assert "is not a file" in _error(capsys, "hw", "show", str(tmp_path))
    assert "neither a preset" in _error(capsys, "hw", "show", "edge-npu")
