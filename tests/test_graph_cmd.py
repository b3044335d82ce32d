"""``fuseplan graph`` on ONNX files written in tmp_path (numbers worked out by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

import onnx_cases as cases
from fuseplan.models.graph_json import read_graph_json
from fuseplan.models.graph_summary import summarise
from fuseplan.models.onnx_import import import_onnx
from fuseplan.solver.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["graph", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _row(out: str, key: str) -> str:
    """The value cell of the table row whose first cell is ``key``."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 4 and cells[1] == key:
            return cells[2]
    raise AssertionError(f"no row {key!r} in\n{out}")


def test_table_for_a_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cases.save(cases.spatial_ops(), tmp_path, "sp")
    code, out, _ = _run(capsys, str(path))
    assert code == 0
    assert _row(out, "ops") == "8"
    assert _row(out, "Conv (depthwise)") == "1"  # dw: group 4 = input channels 4
    assert _row(out, "Conv") == "2"  # dil and asym
    # 108 + 144 + 36 + 128 weights (no biases)
    assert _row(out, "parameters") == "416"
    # resize output 2x18x18 = 648 elements > dil 4x8x8 = 256, x 3x16x16 = 768 is largest
    assert _row(out, "largest tensor") == "x 3x16x16 (768 elements)"
    assert _row(out, "structure") == "chain"
    assert _row(out, "ideals") == "9"


def test_table_for_branches_and_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cases.save(cases.heads(), tmp_path, "heads")
    # conv -> lrn -> relu6 (3 prefixes + empty), then {gap -> fc} (3 ideals) beside
    # {mean_hw, mean_c then add -> mm -> mm_bias -> softmax} (4 + 4 = 8): 3 + 3*8 = 27 ideals,
    # more than 2 * (11 + 1) = 24: wide
    code, out, _ = _run(capsys, str(path))
    assert code == 0 and _row(out, "ideals") == "27" and _row(out, "structure") == "wide"
    assert _row(out, "global ops") == "3" and _row(out, "most readers of a tensor") == "3"
    _, out, _ = _run(capsys, str(path), "--ideal-cap", "5")
    assert _row(out, "ideals") == "> 5 (cap)"


def test_json_plot_and_fold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cases.save(cases.conv_bn_relu(False), tmp_path, "cbr")
    out_json, out_png = tmp_path / "g.json", tmp_path / "g.png"
    code, out, _ = _run(capsys, str(path), "--json", str(out_json), "--plot", str(out_png))
    assert code == 0 and f"wrote {out_json}" in out and f"wrote {out_png}" in out
    assert read_graph_json(out_json) == import_onnx(path)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = _run(capsys, str(path), "--fold-activations", "--json", str(out_json))
    assert _row(out, "ops") == "1" and read_graph_json(out_json).ops[0].absorbed == ("bn", "relu")


def test_input_shape_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cases.save(cases.relu_net(["N", 3, "H", "W"]), tmp_path, "sym")
    code, out, err = _run(capsys, str(path))
    assert code == 2 and "--input-shape" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = _run(capsys, str(path), "--input-shape", "1x3x10x12")
    assert code == 0 and _row(out, "outputs") == "y 2x10x12"
    code, _, err = _run(capsys, str(path), "--input-shape", "1x3xfoo")
    assert code == 2 and "is not a shape" in err
    code, _, err = _run(capsys, str(cases.save(cases.unsupported_ops(), tmp_path, "bad")))
    assert code == 2 and "CumSum 'cum'" in err and "TopK 'topk'" in err


def test_summary_record(tmp_path: Path) -> None:
    g = import_onnx(cases.save(cases.bn_two_readers(), tmp_path, "two"))
    s = summarise(g)
    # conv -> bn -> add(bn, conv): the conv output feeds bn and add: a skip, 4 ideals (3 ops + 1)
    assert (s.structure, s.ideals, s.ideals_complete) == ("has skips", 4, True)
    assert s.ops_by_kind == (("Add", 1), ("BatchNormalization", 1), ("Conv", 1))
    assert s.params == 12 + 8


def test_plot_layout_rows_and_spacing(tmp_path: Path) -> None:
    from fuseplan.models.graph_plot import depths, layout

    g = import_onnx(cases.save(cases.heads(), tmp_path, "heads"))
    # conv 0, lrn 1, relu6 2, then gap / mean_hw / mean_c at depth 3, fc and add at 4, ...
    assert depths(g) == [0, 1, 2, 3, 4, 3, 3, 4, 5, 6, 7]
    pos = layout(g)
    assert all(pos[v][1] == -d for v, d in enumerate(depths(g)))
    assert pos[0][0] == pos[1][0] == pos[2][0]  # the chain runs straight down
    row = sorted(pos[v][0] for v in (3, 5, 6))
    assert row[1] - row[0] >= 1 and row[2] - row[1] >= 1
    assert pos[4][0] == pos[3][0]  # fc sits under its producer gap


@pytest.mark.parametrize(
    ("net", "ops", "ideals", "structure"),
    # ops and ideals as measured by an independent implementation (docs: shared field notes)
    [("mobilenet_v2", "99", "100", "has skips"), ("googlenet", "138", "2,713", "wide"),
     ("inception_v3", "214", "8,535", "wide")],
)
def test_zoo_nets_known_counts(capsys: pytest.CaptureFixture[str], net: str, ops: str,
                               ideals: str, structure: str) -> None:
    code, out, _ = _run(capsys, net)
    assert code == 0
    assert (_row(out, "ops"), _row(out, "ideals"), _row(out, "structure")) == (ops, ideals, structure)


def test_ops_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cases.save(cases.unnamed_silu(), tmp_path, "silu")
    code, out, _ = _run(capsys, str(path), "--ops")
    assert code == 0
    rows = [[c.strip() for c in line.split("│")][1:-1] for line in out.splitlines()
            if line.startswith("│") and len(line.split("│")) == 11]
    assert rows == [
        ["0", "Conv_0", "Conv", "x", "2x5x5", "4", "1", "1", ""],
        ["1", "Sigmoid_1", "Sigmoid", "Conv_0", "2x5x5", "0", "1", "1", ""],
        ["2", "Mul_2", "Mul", "Conv_0, Sigmoid_1", "2x5x5", "0", "1", "1", ""],
    ]


def test_bad_output_paths_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "resnet18", "--json", str(tmp_path / "missing" / "g.json")]) == 2
    assert main(["graph", "resnet18", "--plot", str(tmp_path / "g.txt")]) == 2
    assert main(["graph", "resnet18", "--plot", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no table printed before the error
    assert "folder" in err and "does not exist" in err
    assert "suffixes .png" in err and "it is a folder" in err


def test_json_dash_prints_the_graph_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["graph", "resnet18", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "resnet18" and len(data["nodes"]) == 48
    assert not Path("-").exists()


def test_plot_file_gets_the_usual_mode(tmp_path: Path) -> None:
    import os

    out = tmp_path / "g.png"
    assert main(["graph", "resnet18", "--plot", str(out)]) == 0
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
