"""`fuseplan explain` end to end on ResNet-18's first residual block (the README's worked example:
F_beta = 109,696 B under LBDF): table and JSON (against models/schemas/explain.schema.json),
every strategy, the plot, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fuseplan.explain.registry import available
from fuseplan.models.cost import make_cost_model
from fuseplan.models.load import load_graph
from fuseplan.solver.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "models" / "schemas" / "explain.schema.json").read_text())
OPS = ["/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu/Relu",
       "/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add"]
BLOCK = ",".join(OPS)


def _mask(ids: list[int]) -> int:
    return sum(1 << v for v in ids)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = _run(capsys, "explain", "resnet18", *argv, "--json")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_cost_explains_the_block_that_does_not_fit(capsys):
    doc = _json(capsys, "--buffer", "96KB", "--group", BLOCK, "--no-gnn")
    v = doc["verdict"]
    assert (v["valid"], v["fits"], v["need_bytes"], v["capacity_bytes"]) == (False, False, 109_696, 98_304)
    assert v["excess_bytes"] == 109_696 - 98_304 and v["needs_cut"]
    assert doc["prediction"] == {"p_valid": None, "note": "not asked for (--no-gnn)"}
    (entry,) = doc["strategies"]
    assert entry["strategy"] == "cost" and entry["available"] and entry["verdict"] == v
    scores = [e["score"] for e in entry["edges"]]
    assert [e["rank"] for e in entry["edges"]] == [1, 2, 3] and scores == sorted(scores, reverse=True)
    # the yardstick's cut: the split whose larger half needs the least buffer, by brute force
    graph = load_graph("resnet18")
    model = make_cost_model("lbdf", graph)
    ids = graph.op_ids(OPS)
    splits = [(ids[:i], ids[i:]) for i in range(1, 4)]  # the block is a chain inside the group
    best = min(splits, key=lambda s: max(model.buffer_bytes(_mask(s[0])),
                                         model.buffer_bytes(_mask(s[1]))))
    cut = entry["cut"]
    assert cut["first"] == [graph.ops[v].name for v in best[0]]
    assert cut["second"] == [graph.ops[v].name for v in best[1]]
    assert cut["crossing"] == [{k: entry["edges"][0][k] for k in ("producer", "consumer", "tensor")}]
    first, second = cut["halves"]["first"], cut["halves"]["second"]
    assert first["need_bytes"] == model.buffer_bytes(_mask(best[0]))
    assert first["valid"] and second["valid"] and cut["valid"]
    assert entry["edges"][0]["score"] == 109_696 - max(first["need_bytes"], second["need_bytes"])


def test_table_shows_verdict_edges_and_cut(capsys):
    code, out, _ = _run(capsys, "explain", "resnet18", "--buffer", "96KB", "--group", BLOCK,
                        "--no-gnn")
    assert code == 0
    assert "NOT valid: does not fit: F_beta 109,696 B >= buffer 98,304 B (over by 11,392 B)" in out
    assert "edges ranked by cost" in out and "chosen cut" in out and "crossing" in out


def test_gnn_column_is_a_probability_or_says_there_is_none(capsys):
    doc = _json(capsys, "--buffer", "96KB", "--group", BLOCK)
    p = doc["prediction"]
    if p["p_valid"] is None:
        assert p["note"].startswith("no GNN checkpoint available")
    else:
        assert 0.0 <= p["p_valid"] <= 1.0


def test_a_valid_group_is_explained_with_a_note(capsys):
    code, out, _ = _run(capsys, "explain", "resnet18", "--buffer", "128KB", "--group", BLOCK,
                        "--no-gnn")
    assert code == 0 and "the group is already valid: it needs no cut" in out
    doc = _json(capsys, "--buffer", "128KB", "--group", BLOCK, "--no-gnn")
    assert doc["verdict"]["valid"] and not doc["verdict"]["needs_cut"]
    assert doc["strategies"][0]["cut"] is not None


def test_all_strategies_one_row_each(capsys):
    doc = _json(capsys, "--buffer", "96KB", "--group", BLOCK, "--no-gnn", "--repair", "all")
    names = [e["strategy"] for e in doc["strategies"]]
    assert names == ["gnnexplainer", "pgexplainer", "rgexplainer", "ig", "cost", "random"]
    for entry in doc["strategies"]:
        if not available(entry["strategy"]):  # registered ones may still lack their GNN
            assert not entry["available"]
        if not entry["available"]:
            assert entry["error"] and entry["cut"] is None
        else:
            assert entry["cut"]["halves"]["first"]["need_bytes"] > 0
    code, out, _ = _run(capsys, "explain", "resnet18", "--buffer", "96KB", "--group", BLOCK,
                        "--no-gnn", "--repair", "all")
    assert code == 0 and "one row per strategy" in out


def test_random_is_seeded_and_top_k_distinct(capsys):
    runs = [_json(capsys, "--buffer", "96KB", "--group", BLOCK, "--no-gnn", "--repair",
                  "random", "--seed", "5")["strategies"][0]["cut"] for _ in range(2)]
    assert runs[0] == runs[1]
    cuts = _json(capsys, "--buffer", "96KB", "--group", BLOCK, "--no-gnn", "--top", "3")
    firsts = [tuple(c["first"]) for c in cuts["strategies"][0]["cuts"]]
    assert len(firsts) == 3 and len(set(firsts)) == 3


def test_plot_is_written(capsys, tmp_path):
    target = tmp_path / "explain.png"
    code, out, _ = _run(capsys, "explain", "resnet18", "--buffer", "96KB", "--group", BLOCK,
                        "--no-gnn", "--repair", "all", "--plot", str(target))
    assert code == 0 and target.stat().st_size > 1000 and f"wrote {target}" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--group", BLOCK + ",/nope/Conv"], "no op(s) named '/nope/Conv'"),
    (["--group", "/layer1/layer1.0/conv1/Conv,/layer1/layer1.0/Add"], "not weakly connected"),
    (["--group", BLOCK, "--repair", "magic"], "unknown repair strategy 'magic'"),
    (["--group", BLOCK, "--top", "0"], "--top 0"),
])
def test_bad_input_is_one_line(capsys, argv, message):
    code, out, err = _run(capsys, "explain", "resnet18", "--buffer", "96KB", "--no-gnn", *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_a_learned_strategy_without_its_gnn_is_a_clear_error(capsys):
    missing = [n for n in ("gnnexplainer", "pgexplainer", "rgexplainer", "ig") if not available(n)]
    if not missing:
        pytest.skip("every learned strategy is available")
    code, _, err = _run(capsys, "explain", "resnet18", "--buffer", "96KB", "--no-gnn",
                        "--group", BLOCK, "--repair", missing[0])
    assert code == 2 and f"'{missing[0]}' needs the trained GNN" in err
