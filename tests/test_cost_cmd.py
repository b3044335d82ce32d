"""`fuseplan cost`, `fuseplan validate` and `fuseplan hw` end to end on MobileNetV2
(exit codes 0/1/2, messages, hand-checked numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import load_graph
from fuseplan.models.plan_build import make_provenance, no_fusion_plan
from fuseplan.models.plan_io import write_plan_json
from fuseplan.solver.cli import main

BLOCK1 = (
    "/features/features.1/conv/conv.0/conv.0.0/Conv,"  # depthwise 3x3 on 32x112x112, W 320
    "/features/features.1/conv/conv.0/conv.0.2/Clip,"
    "/features/features.1/conv/conv.1/Conv"  # 1x1 32->16, W 528
)
GEMM = "/classifier/classifier.1/Gemm"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cost_group_lbdf_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "cost", "mobilenet_v2", "--buffer", "128KB", "--group", BLOCK1, "--json")
    assert code == 0
    data = json.loads(out)
    # rows of 32 x 112 B: the dw reads 3 rows of its input, then 1 row each of the dw and
    # clip outputs: 5 x 3,584 + weights 320 + 528
    assert data["cost"]["buffer_bytes"] == 5 * 3_584 + 848 == 18_768
    # weights + the 32x112x112 input + the 16x112x112 output
    assert data["cost"]["dram_bytes"] == 848 + 401_408 + 200_704
    assert (data["connected"], data["convex"], data["fits"], data["valid"]) == (True, True, True, True)
    rows = {i["name"]: i["rows"] for i in data["buffer_breakdown"]["items"] if i["rows"]}
    assert rows["/features/features.0/features.0.2/Clip_output_0"] == 3


def test_cost_group_brr_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "cost", "mobilenet_v2", "--buffer", "64KB", "--scheme", "brr", "--group", BLOCK1, "--json"
    )
    assert code == 0
    cost = json.loads(out)["cost"]
    # halo 2 on the input; with c = ceil(112/n) rows per tile, B(n, resident) =
    # 848 + 3,584 (c + 2) + 2 x 3,584 c + 1,792 c = 8,016 + 12,544 c < 65,536 -> c = 4, n = 28
    assert (cost["tiles"], cost["weights"], cost["tiling_buffer_bytes"]) == (28, "resident", 58_192)
    # the input is read 112 + 27 x 2 = 166 rows
    assert cost["input_bytes"] == 166 * 3_584
    assert cost["dram_bytes"] == 848 + 166 * 3_584 + 200_704 == 796_496
    # F_beta: n = 112 (c = 1), streamed (the 528 B weights held): 528 + 3 x 3,584 + ... = 20,240
    assert cost["buffer_bytes"] == 528 + 3 * 3_584 + 2 * 3_584 + 1_792 == 20_240


def test_cost_group_table_and_what_does_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "cost", "mobilenet_v2", "--buffer", "16KB", "--group", BLOCK1)
    assert code == 0
    assert "NOT a valid group" in out
    assert "requires 18,768 B, available 16,384 B, 2,384 B over" in out
    assert "read rows of /features/features.0/features.0.2/Clip_output_0 (10,752 B)" in out


def test_cost_of_an_unfusable_op(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "cost", "mobilenet_v2", "--buffer", "1MB", "--group", GEMM, "--json")
    data = json.loads(out)
    # 1280 x 1000 + 1000 weights + one 1,280 B row of its input
    assert data["cost"]["buffer_bytes"] == 1_282_280 and data["fits"] is False
    assert data["excess_bytes"] == 1_282_280 - 1_048_576
    assert data["unfused_dram_bytes"] == 1_281_000 + 1_280 + 1_000


def test_cost_without_group(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "cost", "mobilenet_v2", "--hw", "edge-npu-256kb")
    assert code == 0
    assert "every op alone" in out
    assert "3 unfusable op(s)" in out and GEMM in out
    # every parameter after BN folding (3,487,816, counted from the MobileNetV2 table) once,
    # plus the 3x224x224 input and the 1,000 logits
    assert "3,639,344" in out
    assert "DRAM time at 4 GB/s" in out
    code, out, _ = _run(capsys, "cost", "mobilenet_v2", "--buffer", "256KB", "--json")
    data = json.loads(out)
    assert data["unfusable_ops"] == [
        "/features/features.17/conv/conv.2/Conv",  # 307,520 B of weights + a 6,720 B row
        "/features/features.18/features.18.0/Conv",  # 410,880 + 2,240
        GEMM,
    ]
    assert data["plan"]["totals"]["lower_bound_bytes"] == 3_487_816 + 150_528 + 1_000
    assert len(data["plan"]["groups"]) == 99


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--buffer", "1MB", "--group", "nope,/features/features.1/conv/conv.1/Conv,zzz"],
         "no op(s) named 'nope', 'zzz'"),
        (["--buffer", "1MB", "--group", " , "], "names no op"),
        (["--group", BLOCK1], "no buffer size: pass --buffer"),
        (["--buffer", "0KB"], "--buffer: size '0KB' must be positive"),
        (["--hw", "no-such-hw"], "neither a preset"),
    ],
)
def test_cost_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = _run(capsys, "cost", "mobilenet_v2", *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    graph = load_graph("mobilenet_v2")
    model = make_cost_model("lbdf", graph, 1)
    plan = no_fusion_plan(model, 256 * 1024, make_provenance(graph, seed=None))
    path = tmp_path / "plan.json"
    write_plan_json(plan, graph, model, path)
    return path


def test_validate_ok(capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
    code, out, _ = _run(capsys, "validate", str(plan_file))
    assert code == 0
    assert out.startswith(f"OK: {plan_file}: 99 groups (3 unfusable), lbdf, buffer 256 KB")
    code, out, _ = _run(capsys, "validate", str(plan_file), "--graph", "mobilenet_v2", "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_validate_finds_failures_exit_1(capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
    data = json.loads(plan_file.read_text())
    data["groups"][0]["dram_bytes"] += 1
    data["groups"][1]["fusible"] = False
    data["totals"]["upper_bound_bytes"] = 1
    plan_file.write_text(json.dumps(data))
    code, out, _ = _run(capsys, "validate", str(plan_file))
    assert code == 1
    assert out.startswith(f"FAILED: {plan_file}: 3 check(s) fail")
    assert "group 0 (first op '/features/features.0/features.0.0/Conv'): numbers: dram_bytes" in out
    assert "group 1 (first op '/features/features.0/features.0.2/Clip'): unfusable: marked unfusable but fits" in out
    assert "totals: upper_bound_bytes 1 != fresh" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ("[]", "holds a JSON list, not a plan object"),
        ('{"graph": {"name": "x"}}', "does not say which graph it is for: pass --graph"),
        ('{"graph": {"source": "no_such_net"}}', "cannot reload the plan's graph 'no_such_net'"),
    ],
)
def test_validate_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    code, out, err = _run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_validate_another_graph_is_a_finding(capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
    code, out, _ = _run(capsys, "validate", str(plan_file), "--graph", "resnet18")
    assert code == 1
    assert "graph: the file's graph hash" in out
    assert "graph: the file says 99 ops, graph 'resnet18' has" in out
    assert "file: plan group 0: op(s) '/features/features.0/features.0.0/Conv' are not in graph 'resnet18'" in out


def test_hw_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "hw", "list")
    assert code == 0 and "edge-npu-256kb" in out and "illustrative" in out
    code, out, _ = _run(capsys, "hw", "list", "--json")
    assert {c["name"] for c in json.loads(out)} == {"edge-npu-256kb", "npu-1mb-brr", "fp16-2mb"}
    path = tmp_path / "mine.yaml"
    path.write_text("buffer: 0.5MB\nscheme: brr\n")
    code, out, _ = _run(capsys, "hw", "show", str(path), "--json")
    assert code == 0
    assert json.loads(out) == {
        "name": "mine", "buffer_bytes": 524_288, "bytes_per_element": 1, "scheme": "brr",
        "dram_bandwidth_gb_s": None, "description": "",
    }
    code, out, _ = _run(capsys, "hw", "show", "npu-1mb-brr")
    assert code == 0 and "1 MB (1,048,576 B)" in out
    path.write_text("buffer: 1MB\ncolour: red\n")
    code, out, err = _run(capsys, "hw", "show", str(path))
    assert code == 2 and "unknown field(s) 'colour'" in err
