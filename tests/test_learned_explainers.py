"""The learned repair strategies (gnnexplainer, ig, pgexplainer) on a tiny GNN: one finite
score per edge, the same scores under the same seed, explainer checkpoints tied to their GNN,
a learned strategy under a cost model its GNN was not trained on, train-explainer end to end,
and no torch import for `cost`. No full training here: the GNN is random and tiny."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from fuseplan.explain.checkpoint import save_checkpoint  # noqa: E402
from fuseplan.explain.cuts import cut_space  # noqa: E402
from fuseplan.explain.fingerprint import cost_fingerprint  # noqa: E402
from fuseplan.explain.gnn import ValidityGNN  # noqa: E402
from fuseplan.explain.learned.data import TrainGroup  # noqa: E402
from fuseplan.explain.registry import make_strategy  # noqa: E402
from fuseplan.models.cost import LbdfModel, make_cost_model, register_scheme  # noqa: E402
from fuseplan.models.cost import unregister_scheme  # noqa: E402
from fuseplan.models.errors import FusePlanError  # noqa: E402
from fuseplan.models.zoo import build  # noqa: E402
from fuseplan.solver.cli import main  # noqa: E402

HIDDEN, LAYERS = 16, 2
BUFFER = 96 * 1024


def _gnn(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    meta = {"scheme": "lbdf", "cost_fingerprint": cost_fingerprint("lbdf"), "hidden": HIDDEN,
            "layers": LAYERS, "seed": seed}
    return save_checkpoint(ValidityGNN(hidden=HIDDEN, layers=LAYERS), path, meta)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from fuseplan.explain.learned import pgexplainer
    from fuseplan.explain.learned.checkpoints import save_explainer
    from fuseplan.explain.predict import load_predictor

    root = tmp_path_factory.mktemp("learned")
    gnn_a, gnn_b = _gnn(root / "gnn-a", 0), _gnn(root / "gnn-b", 1)
    graph = build("resnet18")
    model = make_cost_model("lbdf", graph)
    group = sum(1 << v for v in range(5, 20))  # layer1 and the head of layer2: residual joins
    gnn, meta = load_predictor("lbdf", gnn_a)
    groups = [TrainGroup(model, cut_space(graph, group), BUFFER)]
    state, info = pgexplainer.train(gnn, meta, groups, epochs=2, seed=0)
    pg = save_explainer(state, root / "pg", {
        "algorithm": "pgexplainer", "scheme": "lbdf", "gnn_weights_sha256": meta["weights_sha256"],
        "cost_fingerprint": meta["cost_fingerprint"], "seed": 0, **info})
    from fuseplan.explain.learned import rgexplainer

    state, info = rgexplainer.train(gnn, meta, groups, epochs=1, rollouts=2, seed=0)
    rg = save_explainer(state, root / "rg", {
        "algorithm": "rgexplainer", "scheme": "lbdf", "gnn_weights_sha256": meta["weights_sha256"],
        "cost_fingerprint": meta["cost_fingerprint"], "seed": 0, **info})
    return {"gnn": gnn_a, "other_gnn": gnn_b, "pg": pg, "rg": rg, "model": model, "group": group,
            "space": cut_space(graph, group)}


def _options(name: str, setup: dict) -> dict:
    opts = {"checkpoint": setup["gnn"]}
    if name == "pgexplainer":
        opts["explainer_checkpoint"] = setup["pg"]
    if name == "rgexplainer":
        opts["explainer_checkpoint"] = setup["rg"]
    if name == "gnnexplainer":
        opts["epochs"] = 20
    return opts


@pytest.mark.parametrize("name", ["gnnexplainer", "ig", "pgexplainer", "rgexplainer"])
def test_one_finite_score_per_edge_and_seeded(name: str, setup: dict) -> None:
    space = setup["space"]
    runs = [make_strategy(name, seed=seed, **_options(name, setup))(
        setup["model"], setup["group"], BUFFER, space=space) for seed in (3, 3)]
    scores = runs[0].edge_scores
    assert len(scores) == len(space.edges) > 10
    assert all(math.isfinite(s) for s in scores)
    assert runs[0].edge_scores == runs[1].edge_scores
    assert runs[0].strategy == name and runs[0].time_s > 0
    # one instance, called twice on the same group: the same scores (seeded per group)
    algorithm = make_strategy(name, seed=3, **_options(name, setup))
    first = algorithm(setup["model"], setup["group"], BUFFER, space=space).edge_scores
    algorithm(setup["model"], setup["group"] & ~(1 << 19), BUFFER)
    assert algorithm(setup["model"], setup["group"], BUFFER, space=space).edge_scores == first


def test_masks_lie_in_zero_one_and_pgexplainer_ranks_by_its_logits(setup: dict) -> None:
    scores = make_strategy("gnnexplainer", **_options("gnnexplainer", setup))(
        setup["model"], setup["group"], BUFFER).edge_scores
    assert all(0.0 <= s <= 1.0 for s in scores)
    mask = make_strategy("pgexplainer", read="mask", **_options("pgexplainer", setup))(
        setup["model"], setup["group"], BUFFER).edge_scores
    logits = make_strategy("pgexplainer", **_options("pgexplainer", setup))(
        setup["model"], setup["group"], BUFFER).edge_scores
    assert all(0.0 <= s <= 1.0 for s in mask)
    assert torch.allclose(torch.sigmoid(torch.tensor(logits)), torch.tensor(mask), atol=1e-6)


@pytest.mark.parametrize(("name", "key"), [("pgexplainer", "pg"), ("rgexplainer", "rg")])
def test_explainer_trained_against_another_gnn_is_refused(setup: dict, name: str,
                                                          key: str) -> None:
    algorithm = make_strategy(name, checkpoint=setup["other_gnn"],
                              explainer_checkpoint=setup[key])
    with pytest.raises(FusePlanError, match="trained against another validity GNN") as err:
        algorithm(setup["model"], setup["group"], BUFFER)
    assert "\n" not in str(err.value)
    assert f"fuseplan train-explainer --algorithm {name} --scheme lbdf" in str(err.value)


def test_rgexplainer_is_a_pyg_algorithm_with_a_policy(setup: dict) -> None:
    from torch_geometric.explain.algorithm import ExplainerAlgorithm

    from fuseplan.explain.learned.rgexplainer import MAX_NODES, RGExplainer

    algorithm = make_strategy("rgexplainer", **_options("rgexplainer", setup))
    assert algorithm(setup["model"], setup["group"], BUFFER).edge_scores  # loads it
    explainer = next(iter(algorithm._explainers.values()))
    assert isinstance(explainer.algorithm, RGExplainer)
    assert isinstance(explainer.algorithm, ExplainerAlgorithm)
    from fuseplan.explain.learned.common import group_tensors

    t = group_tensors(setup["model"].graph, 1, setup["space"], BUFFER)
    order = explainer.algorithm.explain_order(explainer.model, t.x, t.edge_index)
    assert 1 <= len(order) <= MAX_NODES and len(set(order)) == len(order)
    # the untrained policy is the same algorithm with its seeded initial weights
    untrained = make_strategy("rgexplainer", untrained=True, checkpoint=setup["gnn"])
    a = untrained(setup["model"], setup["group"], BUFFER).edge_scores
    b = make_strategy("rgexplainer", untrained=True, checkpoint=setup["gnn"])(
        setup["model"], setup["group"], BUFFER).edge_scores
    assert a == b


@pytest.mark.parametrize(("field", "value", "match"), [
    ("algorithm", "rgexplainer", "is a 'rgexplainer' checkpoint, not 'pgexplainer'"),
    ("scheme", "brr", "is for scheme 'brr', not 'lbdf'"),
    ("weights_sha256", "0" * 64, "are corrupt"),
    ("format", "other", "is not a fuseplan explainer checkpoint"),
])
def test_explainer_checkpoint_mismatches(setup: dict, tmp_path: Path, field: str,
                                         value: str, match: str) -> None:
    meta = json.loads(Path(setup["pg"]).read_text())
    meta[field] = value
    (tmp_path / "pg.json").write_text(json.dumps(meta))
    (tmp_path / "pg.pt").write_bytes(Path(setup["pg"]).with_suffix(".pt").read_bytes())
    algorithm = make_strategy("pgexplainer", checkpoint=setup["gnn"],
                              explainer_checkpoint=tmp_path / "pg.json")
    with pytest.raises(FusePlanError, match=match):
        algorithm(setup["model"], setup["group"], BUFFER)


@pytest.mark.parametrize("name", ["gnnexplainer", "ig", "pgexplainer", "rgexplainer"])
def test_a_cost_model_the_gnn_was_not_trained_on_is_refused(name: str, setup: dict) -> None:
    class Doubled(LbdfModel):
        def buffer_bytes(self, group: int) -> int:
            return 2 * super().buffer_bytes(group)

    brr = make_cost_model("brr", setup["model"].graph)
    with pytest.raises(FusePlanError, match=f"'{name}' needs the trained GNN of the 'brr'"):
        make_strategy(name, **_options(name, setup))(brr, setup["group"], BUFFER)
    register_scheme("lbdf-doubled", Doubled)
    try:
        other = make_cost_model("lbdf-doubled", setup["model"].graph)
        assert other.name == "lbdf"  # calls itself lbdf, prices otherwise
        with pytest.raises(FusePlanError, match="prices groups unlike the 'lbdf' cost model"):
            make_strategy(name, **_options(name, setup))(other, setup["group"], BUFFER)
    finally:
        unregister_scheme("lbdf-doubled")


def test_train_explainer_command(setup: dict, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pg-cli"
    code = main(["train-explainer", "--algorithm", "pgexplainer", "--scheme", "lbdf",
                 "--gnn", str(setup["gnn"]), "--nets", "resnet18", "--groups-per-net", "2",
                 "--epochs", "1", "--out", str(out), "--quiet"])
    assert code == 0 and "checkpoint" in capsys.readouterr().out
    meta = json.loads(out.with_suffix(".json").read_text())
    gnn_meta = json.loads(Path(setup["gnn"]).read_text())
    assert meta["gnn_weights_sha256"] == gnn_meta["weights_sha256"]
    assert meta["command"].startswith("fuseplan train-explainer --algorithm pgexplainer")
    scores = make_strategy("pgexplainer", checkpoint=setup["gnn"], explainer_checkpoint=out)(
        setup["model"], setup["group"], BUFFER).edge_scores
    assert len(scores) == len(setup["space"].edges)
    assert main(["train-explainer", "--algorithm", "pgexplainer", "--scheme", "lbdf",
                 "--gnn", str(setup["gnn"]), "--epochs", "0", "--quiet"]) == 2


def test_cost_and_help_import_no_torch() -> None:
    code = ("import sys; from fuseplan.explain.registry import make_strategy; "
            "from fuseplan.models.zoo import build; from fuseplan.models.cost import "
            "make_cost_model; g = build('resnet18'); make_strategy('cost')(make_cost_model("
            "'lbdf', g), sum(1 << v for v in range(5, 12)), 96 * 1024); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    help_code = ("import sys; from fuseplan.solver.cli import main\ntry: main(['--help'])\n"
                 "except SystemExit: pass\nassert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", help_code], check=True, capture_output=True)


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
@pytest.mark.parametrize("name", ["pgexplainer", "rgexplainer"])
def test_shipped_explainer_checkpoints_fit_the_shipped_gnn(name: str, scheme: str) -> None:
    from fuseplan.explain.checkpoint import SHIPPED_DIR

    if not (SHIPPED_DIR / f"{scheme}.json").exists() or \
            not (SHIPPED_DIR / f"{name}-{scheme}.json").exists():
        pytest.skip(f"no shipped {name} or GNN checkpoint for {scheme}")
    meta = json.loads((SHIPPED_DIR / f"{name}-{scheme}.json").read_text())
    gnn = json.loads((SHIPPED_DIR / f"{scheme}.json").read_text())
    assert meta["gnn_weights_sha256"] == gnn["weights_sha256"]
    assert (SHIPPED_DIR / meta["weights_file"]).stat().st_size < 1_000_000  # small, ships
    model = make_cost_model(scheme, build("resnet18"))
    group = sum(1 << v for v in range(5, 20))
    scores = make_strategy(name)(model, group, BUFFER).edge_scores
    assert len(scores) == len(cut_space(model.graph, group).edges)
