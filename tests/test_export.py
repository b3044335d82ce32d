"""``fuseplan export``: the annotated and function-wrapped models pass onnx.checker and give
onnxruntime the same outputs, bit for bit, as the original; every node is mapped; the map
follows its JSON Schema; bad input is a one-line error."""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import onnx_cases as cases
from fuseplan.models import zoo
from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import graph_load_of
from fuseplan.models.onnx_export import export_onnx
from fuseplan.models.onnx_import import import_onnx
from fuseplan.models.plan import SolveInfo
from fuseplan.models.plan_build import build_plan, make_provenance
from fuseplan.models.plan_export import SCHEMA_PATH
from fuseplan.models.plan_export_onnx import FUNCTION_DOMAIN, KEY_GROUP, KEY_ROLE
from fuseplan.models.plan_io import write_plan_json
from fuseplan.solver.api import solve_net
from fuseplan.solver.cli import main

BIG = 64 * 2**20


def _run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def _input(path: Path, seed: int = 0) -> np.ndarray:
    vi = onnx.load(str(path), load_external_data=False).graph.input[0]
    shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _export(capsys: pytest.CaptureFixture[str], plan: Path, model: Path, out: Path,
            *extra: str) -> tuple[str, dict]:
    json_path = out.with_suffix(".map.json")
    code = main(["export", str(plan), "--onnx", str(model), "--out", str(out),
                 "--json", str(json_path), *extra])
    printed, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    return printed, json.loads(json_path.read_text())


def _same_outputs(original: Path, exported: Path) -> None:
    """Exact equality: the annotated model is the same graph, and onnxruntime inlines local
    functions before it optimises, so the same kernels run on the same values."""
    x = _input(original)
    for a, b in zip(_run(original, x), _run(exported, x), strict=True):
        assert np.isfinite(a).all()  # random weights can overflow: NaN would compare unequal
        assert a.dtype == b.dtype and np.array_equal(a, b)


def _plan_of_groups(model_path: Path, groups: Sequence[Sequence[str]], folder: Path,
                    buffer_bytes: int = BIG) -> Path:
    """A validated plan file with exactly these groups (op names)."""
    graph = import_onnx(model_path)
    model = make_cost_model("lbdf", graph)
    masks = [sum(1 << graph.op_id(n) for n in g) for g in groups]
    plan = build_plan(model, masks, buffer_bytes,
                      solve=SolveInfo(solver="hand", status="FEASIBLE", wall_time_s=0.0),
                      provenance=make_provenance(graph, seed=None, command="test",
                                                 load=graph_load_of(graph)))
    path = folder / f"{model_path.stem}.plan.json"
    write_plan_json(plan, graph, model, path)
    return path


def _roles(data: dict) -> dict[str, tuple[str, int | None, list[str]]]:
    return {n["node"]: (n["role"], n["group"], n["ops"]) for n in data["nodes"]}


# ----- zoo nets exported with random weights by our own exporter -----

ZOO_CASES = [("squeezenet1_0", "96KB", False), ("mobilenet_v2", "128KB", True),
             ("resnet18", "256KB", False)]


@pytest.mark.parametrize(("net", "buffer", "fold"), ZOO_CASES)
def test_zoo_net_exports_run_and_match(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       net: str, buffer: str, fold: bool) -> None:
    model_path = tmp_path / f"{net}.onnx"
    export_onnx(zoo.build(net), model_path)
    # mobilenet_v2's plan is made on the zoo net itself: its export imports as the same graph
    spec = net if fold else str(model_path)
    result = solve_net(spec, buffer_bytes=buffer, fold_activations=fold)
    plan = result.save(tmp_path / "plan.json")
    assert len(result.plan.groups) > 3
    for functions in (False, True):
        out = tmp_path / f"{net}.{'func' if functions else 'fused'}.onnx"
        printed, data = _export(capsys, plan, model_path, out, *(["--functions"] if functions else []))
        assert "raised the model's IR version 8 -> 10" in printed
        exported = onnx.load(str(out))
        assert exported.ir_version == 10
        _same_outputs(model_path, out)
        original = onnx.load(str(model_path))
        assert len(data["nodes"]) == len(original.graph.node)
        groups = {n["node"]: n["group"] for n in data["nodes"]}
        for g, grp in enumerate(result.plan.groups):  # every op in its plan group
            for v in grp.ops:
                assert groups[result.graph.ops[v].name] == g
        for op in result.graph.ops:  # absorbed nodes (Identity, folded Clip) in their op's group
            for name in op.absorbed:
                assert groups[name] == groups[op.name]
        if functions:
            assert len(exported.functions) == len(result.plan.groups)
            assert [n.op_type for n in exported.graph.node] == [
                f"group_{g}" for g in range(len(result.plan.groups))]
            assert all(n.domain == FUNCTION_DOMAIN for n in exported.graph.node)
            for f, grp in zip(exported.functions, data["groups"], strict=True):
                assert [n.name for n in f.node] == grp["nodes"]
                assert not set(f.input) & {n.name for n in f.node}
        else:
            meta = {n.name: {p.key: p.value for p in n.metadata_props} for n in exported.graph.node}
            assert all(meta[name][KEY_GROUP] == str(g) for name, g in groups.items())
            # the annotated model is still the plan's graph: the importer reads it unchanged
            again = import_onnx(out)
            assert (fold or again.fingerprint() == result.graph.fingerprint())


# ----- hand-built models: every role, every placement rule -----

def _flatten_head(tmp_path: Path) -> Path:
    return cases.save(cases.flatten_head(), tmp_path, "flatten_head")


@pytest.mark.parametrize("groups", [[["conv"], ["fc"]], [["conv", "fc"]]])
def test_shape_and_constant_nodes_have_no_group(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                groups: list[list[str]]) -> None:
    """conv -> Reshape(shape from Shape/Gather/Constant/Concat) -> Flatten -> Gemm."""
    model_path = _flatten_head(tmp_path)
    plan = _plan_of_groups(model_path, groups, tmp_path)
    fc_group = len(groups) - 1
    for functions in (False, True):
        out = tmp_path / f"out{functions}.onnx"
        _, data = _export(capsys, plan, model_path, out, *(["--functions"] if functions else []))
        assert _roles(data) == {
            "conv": ("op", 0, ["conv"]),
            "shape": ("shape", None, []), "gather": ("shape", None, []),
            "const": ("constant", None, []), "cat_shape": ("shape", None, []),
            "reshape": ("absorbed", fc_group, ["fc"]), "flatten": ("absorbed", fc_group, ["fc"]),
            "fc": ("op", fc_group, ["fc"]),
        }
        assert data["roles"] == {"op": 2, "absorbed": 2, "constant": 1, "shape": 3, "dead": 0}
        _same_outputs(model_path, out)
        if functions:  # the Constant stays outside; the shape chain is copied into fc's group
            exported = onnx.load(str(out))
            assert [n.name for n in exported.graph.node][0] == "const"
            body = [n.name for n in exported.functions[fc_group].node]
            assert body[-3:] == ["reshape", "flatten", "fc"]
            assert {"shape", "gather", "cat_shape"} <= set(body)
            assert "m1" in exported.functions[fc_group].input
            assert "fc.w" in exported.functions[fc_group].input  # initializers become inputs


def _split_net() -> onnx.ModelProto:
    """conv -> Split(2, 2 channels) -> Relu | Sigmoid -> Concat; a Tanh nobody reads; an
    unnamed Identity before the conv."""
    nodes = [
        helper.make_node("Identity", ["x"], ["xi"]),
        cases.conv("conv", "xi", "w", "c", pads=[1, 1, 1, 1]),
        helper.make_node("Split", ["c", "sizes"], ["s0", "s1"], name="split", axis=1),
        helper.make_node("Relu", ["s0"], ["a"], name="relu"),
        helper.make_node("Sigmoid", ["s1"], ["b"], name="sigmoid"),
        helper.make_node("Tanh", ["c"], ["unused"], name="tanh"),
        helper.make_node("Concat", ["a", "b"], ["y"], name="concat", axis=1),
    ]
    return cases.model(nodes, [("x", [1, 3, 6, 6])], ["y"],
                       {"w": cases.rand(4, 3, 3, 3), "sizes": cases.ints(2, 2)})


@pytest.mark.parametrize(("groups", "split_group"), [
    ([["conv", "split:0", "relu"], ["split:1", "sigmoid"], ["concat"]], 0),
    ([["conv"], ["split:1", "sigmoid"], ["split:0", "relu", "concat"]], 1),
])
def test_split_dead_and_unnamed_nodes(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      groups: list[list[str]], split_group: int) -> None:
    model_path = cases.save(_split_net(), tmp_path, "split")
    plan = _plan_of_groups(model_path, groups, tmp_path)
    for functions in (False, True):
        out = tmp_path / f"out{functions}.onnx"
        printed, data = _export(capsys, plan, model_path, out, *(["--functions"] if functions else []))
        roles = _roles(data)
        assert roles["split"] == ("op", split_group, ["split:0", "split:1"])
        assert roles["tanh"] == ("dead", None, [])
        assert roles["Identity_0"] == ("absorbed", 0, ["conv"])  # named as the importer names it
        assert "1 dead" in printed
        _same_outputs(model_path, out)
        exported = onnx.load(str(out))
        if functions:
            assert exported.graph.node[-1].name == "tanh"  # outside every group, last
            assert "c" in exported.functions[0].output  # the dead Tanh reads the conv's output
        else:
            assert exported.graph.node[0].name == "Identity_0"


def test_shared_absorbed_node_goes_to_the_first_group_that_reads_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An Identity read by r1 and r2: the importer records it in r1 (first in op order), but
    r2's group runs first and feeds r1's group, so the Identity is r2's group's."""
    nodes = [
        cases.conv("conv", "x", "w", "c"),
        helper.make_node("Identity", ["c"], ["i"], name="ident"),
        helper.make_node("Relu", ["i"], ["r1"], name="r1"),
        helper.make_node("Relu", ["i"], ["r2"], name="r2"),
        helper.make_node("Sigmoid", ["r2"], ["r3"], name="r3"),
        helper.make_node("Add", ["r1", "r3"], ["y"], name="add"),
    ]
    model_path = cases.save(cases.model(nodes, [("x", [1, 2, 4, 4])], ["y"],
                                        {"w": cases.rand(2, 2, 1, 1)}), tmp_path, "shared")
    graph = import_onnx(model_path)
    assert graph.ops[graph.op_id("r1")].absorbed == ("ident",)
    plan = _plan_of_groups(model_path, [["conv"], ["r2", "r3"], ["r1", "add"]], tmp_path)
    for functions in (False, True):
        out = tmp_path / f"out{functions}.onnx"
        _, data = _export(capsys, plan, model_path, out, *(["--functions"] if functions else []))
        assert _roles(data)["ident"] == ("absorbed", 1, ["r2"])
        _same_outputs(model_path, out)


def test_batch_norm_is_absorbed_by_its_conv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model_path = cases.save(cases.conv_bn_relu(False), tmp_path, "cbr")
    plan = _plan_of_groups(model_path, [["conv"], ["relu"]], tmp_path)
    out = tmp_path / "out.onnx"
    _, data = _export(capsys, plan, model_path, out, "--functions")
    assert _roles(data)["bn"] == ("absorbed", 0, ["conv"])
    assert "n" in onnx.load(str(out)).functions[0].output  # BN's output leaves the conv's group
    _same_outputs(model_path, out)


# ----- the map files -----

def test_map_json_follows_its_schema_and_csv_matches(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    model_path = cases.save(_split_net(), tmp_path, "split")
    plan = _plan_of_groups(model_path, [["conv", "split:0", "relu"], ["split:1", "sigmoid"],
                                        ["concat"]], tmp_path)
    out, map_csv = tmp_path / "out.onnx", tmp_path / "map.csv"
    _, data = _export(capsys, plan, model_path, out, "--csv", str(map_csv))
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema)
    broken = dict(data, nodes=[dict(data["nodes"][0], role="fused")] + data["nodes"][1:])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    rows = list(csv.DictReader(map_csv.open()))
    assert [r["node"] for r in rows] == [n["node"] for n in data["nodes"]]
    assert [int(r["order"]) for r in rows] == list(range(len(rows)))
    assert [(r["role"], r["group"], r["absorbed"]) for r in rows if r["node"] == "Identity_0"] == [
        ("absorbed", "0", "yes")]
    assert [(r["group"], r["ops"]) for r in rows if r["node"] == "split"] == [("0", "split:0;split:1")]
    # execution order: groups one after another; positions count within each group
    assert [(g["group"], g["order"]) for g in data["groups"]] == [(0, 0), (1, 1), (2, 2)]
    grouped = [(n["group"], n["position"]) for n in data["nodes"] if n["group"] is not None]
    assert grouped == sorted(grouped)
    for grp in data["groups"]:
        assert [n["node"] for n in data["nodes"] if n["group"] == grp["group"]] == grp["nodes"]


# ----- errors: one line, exit 2 -----

def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model_path = _flatten_head(tmp_path)
    plan = _plan_of_groups(model_path, [["conv"], ["fc"]], tmp_path)
    other = cases.save(cases.conv_bn_relu(False), tmp_path, "other")
    out = str(tmp_path / "out.onnx")
    assert "does not exist" in _error(capsys, str(tmp_path / "nope.json"), "--onnx", str(model_path),
                                      "--out", out)
    assert "does not exist" in _error(capsys, str(plan), "--onnx", str(tmp_path / "nope.onnx"),
                                      "--out", out)
    err = _error(capsys, str(plan), "--onnx", str(other), "--out", out)
    assert "is for graph hash" in err and "another model" in err
    assert "is the input model" in _error(capsys, str(plan), "--onnx", str(model_path),
                                          "--out", str(model_path))
    assert "suffixes .onnx" in _error(capsys, str(plan), "--onnx", str(model_path),
                                      "--out", str(tmp_path / "out.txt"))
    data = json.loads(plan.read_text())
    data["groups"][0]["dram_bytes"] += 1  # fails re-validation
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert "plan fails 1 check(s): group 0" in _error(capsys, str(bad), "--onnx", str(model_path),
                                                       "--out", out)
    data = json.loads(plan.read_text())
    data["groups"][1]["ops"] = ["nonesuch"]  # an op name the model does not have
    bad.write_text(json.dumps(data))
    assert "'nonesuch' are not in graph" in _error(capsys, str(bad), "--onnx", str(model_path),
                                                   "--out", out)
    assert not Path(out).exists()


def test_roles_constant_file_order_is_kept_without_functions(tmp_path: Path) -> None:
    """Without --functions the model keeps its nodes, order and values; only names (of
    unnamed nodes), metadata and the IR version change."""
    model_path = cases.save(_split_net(), tmp_path, "split")
    plan = _plan_of_groups(model_path, [["conv", "split:0", "relu"], ["split:1", "sigmoid"],
                                        ["concat"]], tmp_path)
    out = tmp_path / "out.onnx"
    assert main(["export", str(plan), "--onnx", str(model_path), "--out", str(out)]) == 0
    before, after = onnx.load(str(model_path)), onnx.load(str(out))
    assert [(n.op_type, list(n.input), list(n.output)) for n in before.graph.node] == [
        (n.op_type, list(n.input), list(n.output)) for n in after.graph.node]
    assert before.graph.initializer == after.graph.initializer
    assert {p.key: p.value for p in after.graph.node[5].metadata_props} == {
        KEY_ROLE: "dead", "fuseplan.order": "6"}



@pytest.mark.slow
def test_torch_export_with_shape_arithmetic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A torch (TorchScript exporter) model: torch.chunk computes its Slice bounds with
    Shape/Gather/Div/Mul and the head flattens with a Reshape; BatchNorms are folded by
    torch. The shape arithmetic has no group, and --functions copies it into the Slices'
    group."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, groups=8)
            self.c3, self.fc = nn.Conv2d(8, 16, 1), nn.Linear(16, 10)

        def forward(self, x):  # type: ignore[no-untyped-def]
            y = torch.relu(self.c1(x))
            z = torch.relu(self.c2(y)) + y
            a, b = torch.chunk(z, 2, dim=1)
            z = self.c3(torch.cat([torch.sigmoid(a), b], 1)).mean((2, 3), keepdim=True)
            return self.fc(z.view(z.size(0), -1))

    torch.manual_seed(0)
    model_path = tmp_path / "tnet.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, not gone
        warnings.simplefilter("ignore")
        torch.onnx.export(Net().eval(), (torch.randn(1, 3, 16, 16),), str(model_path),
                          dynamo=False, opset_version=17)
    plan = solve_net(str(model_path), buffer_bytes="2KB").save(tmp_path / "plan.json")
    for functions in (False, True):
        out = tmp_path / f"out{functions}.onnx"
        _, data = _export(capsys, plan, model_path, out, *(["--functions"] if functions else []))
        roles = _roles(data)
        assert roles["/Shape"] == ("shape", None, []) and roles["/Div"] == ("shape", None, [])
        assert roles["/Reshape"][0:2] == ("absorbed", roles["/fc/Gemm"][1])
        assert len(data["groups"]) > 1 and data["roles"]["shape"] >= 4
        _same_outputs(model_path, out)
        if functions:
            slices = onnx.load(str(out)).functions[roles["/Slice"][1]]
            assert "/Shape" in [n.name for n in slices.node]


def _shape_across_groups(second_reads_first: bool) -> onnx.ModelProto:
    """reshape(convA(x), Shape(convB(x))): convA's group needs a Shape of convB's value;
    with ``second_reads_first`` convB's group also reads convA's group's output."""
    tail = (helper.make_node("Add", ["X", "out1"], ["out2"], name="tail") if second_reads_first
            else helper.make_node("Sigmoid", ["X"], ["out2"], name="tail"))
    nodes = [
        cases.conv("convA", "x", "wa", "Y"),
        cases.conv("convB", "x", "wb", "X"),
        helper.make_node("Shape", ["X"], ["sx"], name="shape"),
        helper.make_node("Reshape", ["Y", "sx"], ["r"], name="reshape"),
        helper.make_node("Relu", ["r"], ["out1"], name="relu"),
        tail,
    ]
    return cases.model(nodes, [("x", [1, 2, 4, 4])], ["out1", "out2"],
                       {"wa": cases.rand(2, 2, 1, 1), "wb": cases.rand(2, 2, 1, 1, seed=1)})


def test_a_shape_node_can_reorder_the_groups(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    """The plan runs convA's group first; its Reshape needs the Shape of convB's output, so
    the export runs convB's group first (the groups stay whole)."""
    model_path = cases.save(_shape_across_groups(False), tmp_path, "reorder")
    plan = _plan_of_groups(model_path, [["convA", "relu"], ["convB", "tail"]], tmp_path)
    for functions in (False, True):
        out = tmp_path / f"out{functions}.onnx"
        _, data = _export(capsys, plan, model_path, out, *(["--functions"] if functions else []))
        assert [(g["group"], g["order"]) for g in data["groups"]] == [(1, 0), (0, 1)]
        assert [n["node"] for n in data["nodes"]] == [
            "convB", "shape", "tail", "convA", "reshape", "relu"]
        _same_outputs(model_path, out)
        if functions:
            assert [n.name for n in onnx.load(str(out)).graph.node] == [
                "fuseplan_group_1", "fuseplan_group_0"]


def test_groups_that_need_each_other_through_a_shape_are_an_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model_path = cases.save(_shape_across_groups(True), tmp_path, "cycle")
    plan = _plan_of_groups(model_path, [["convA", "relu"], ["convB", "tail"]], tmp_path)
    err = _error(capsys, str(plan), "--onnx", str(model_path), "--out", str(tmp_path / "o.onnx"))
    assert "groups 0, 1 read each other's values through shape nodes" in err


def test_a_file_out_of_topological_order_is_written_in_execution_order(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m = _split_net()
    nodes = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(reversed(nodes))  # the importer sorts; onnx.checker would refuse it
    model_path = cases.save(m, tmp_path, "reversed")
    plan = _plan_of_groups(model_path, [["conv", "split:0", "relu"], ["split:1", "sigmoid"],
                                        ["concat"]], tmp_path)
    out = tmp_path / "out.onnx"
    _, data = _export(capsys, plan, model_path, out)
    assert [n.name for n in onnx.load(str(out)).graph.node] == [n["node"] for n in data["nodes"]]
    assert _roles(data)["Identity_6"] == ("absorbed", 0, ["conv"])  # named by file position
