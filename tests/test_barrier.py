"""--unsupported barrier end to end: an op the importer does not know is an unfusable
singleton at every buffer, priced W + S(In) + S(Out), listed as a barrier, and every place
that decides "unfusable" (problem, plan builder, validator) agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import onnx_cases as cases
import onnx_layout_cases as lc
from fuseplan.models.cost import make_cost_model
from fuseplan.models.cost.barrier import BARRIER_BYTES
from fuseplan.models.load import load_graph
from fuseplan.models.plan_build import unfusable_ops
from fuseplan.solver.cli import main
from fuseplan.solver.problem import make_problem

# custom_op: conv1 3->4 3x3 on 8x8 (c: 4x8x8 = 256 B), MyOp (16 params) -> m: 4x4x8 = 128 B,
# conv2 1x1 4->2 (8 params) -> 2x4x8, relu. int8.
BARRIER_ALONE = 16 + 256 + 128  # W + S(In) + S(Out)


@pytest.fixture
def custom(tmp_path: Path) -> str:
    return str(cases.save(lc.custom_op(), tmp_path, "custom"))


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("buffer", [64, 1 << 20, 1 << 40])
def test_barrier_is_unfusable_at_every_buffer(custom: str, scheme: str, buffer: int) -> None:
    g = load_graph(custom, unsupported="barrier")
    model = make_cost_model(scheme, g)
    mine = g.op_id("mine")
    assert model.buffer_bytes(1 << mine) == BARRIER_BYTES >= buffer
    assert mine in unfusable_ops(model, buffer)
    assert make_problem(g, model, buffer).unfusable >> mine & 1
    pair = 1 << mine | 1 << g.op_id("conv2")
    assert model.dram_bytes(pair, buffer) is None and not model.group_cost(pair, buffer).fits
    cost = model.group_cost([mine], buffer)
    assert (cost.dram_bytes, cost.weight_bytes, cost.input_bytes, cost.output_bytes) == \
        (BARRIER_ALONE, 16, 256, 128)
    # the other ops are priced by the scheme itself
    rest = 1 << g.op_id("conv2") | 1 << g.op_id("relu")
    assert model.buffer_bytes(rest) == model.inner.buffer_bytes(rest) < BARRIER_BYTES


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_solve_lists_the_barrier_and_validate_accepts_the_plan(
    custom: str, tmp_path: Path, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_path = tmp_path / "plan.json"
    assert main(["solve", custom, "--unsupported", "barrier", "--buffer", "1GB", "--scheme", scheme,
                 "--out", str(plan_path)]) == 0
    out = capsys.readouterr().out
    assert "barrier*" in out and "never fused" in out
    data = json.loads(plan_path.read_text())
    assert data["graph"]["load"]["unsupported"] == "barrier"
    groups = [(g["ops"], g["fusible"], g["dram_bytes"]) for g in data["groups"]]
    assert (["mine"], False, BARRIER_ALONE) in groups
    assert [g["ops"] for g in data["groups"]] == [["conv1"], ["mine"], ["conv2", "relu"]]
    assert main(["validate", str(plan_path)]) == 0  # replays --unsupported barrier
    # a plan that fuses the barrier with its reader is refused
    merged = dict(data)
    merged["groups"] = [data["groups"][0], {**data["groups"][2], "ops": ["mine", "conv2", "relu"]}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(merged))
    capsys.readouterr()
    assert main(["validate", str(bad)]) != 0
    assert "group 1 (first op 'mine'): fits: F_beta" in capsys.readouterr().out


def test_graph_command_flags(custom: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", custom]) == 2
    err = capsys.readouterr().err
    assert "MyOp 'mine'" in err and "--unsupported barrier" in err and len(err.strip().splitlines()) == 1
    assert main(["graph", custom, "--unsupported", "barrier", "--ops"]) == 0
    assert "MyOp (barrier)" in capsys.readouterr().out


def test_input_shape_contradiction_is_refused_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(cases.save(cases.relu_net([1, 3, 8, 8]), tmp_path, "static"))
    for command in (["graph"], ["solve", "--buffer", "64KB"], ["cost", "--buffer", "64KB"]):
        assert main([command[0], path, "--input-shape", "1x4x8x8", *command[1:]]) == 2
        err = capsys.readouterr().err
        assert "contradicts input 'x'" in err and len(err.strip().splitlines()) == 1


def test_solve_net_takes_unsupported_and_its_plan_replays(custom: str, tmp_path: Path) -> None:
    """From Python as from the CLI: the plan records ``unsupported`` and validate replays it;
    without it the unknown op is the importer's one-line error."""
    from fuseplan.models.errors import FusePlanError
    from fuseplan.solver.api import solve_net

    with pytest.raises(FusePlanError, match="--unsupported barrier"):
        solve_net(custom, buffer_bytes="1GB")
    result = solve_net(custom, buffer_bytes="1GB", unsupported="barrier")
    assert result.status == "OPTIMAL"
    plan_path = tmp_path / "plan.json"
    result.save(plan_path)
    assert json.loads(plan_path.read_text())["graph"]["load"]["unsupported"] == "barrier"
    assert main(["validate", str(plan_path)]) == 0
    with pytest.raises(FusePlanError, match="unsupported apply when solve_net loads"):
        solve_net(load_graph(custom, unsupported="barrier"), buffer_bytes="1GB",
                  unsupported="barrier")
