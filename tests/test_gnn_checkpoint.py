"""Checkpoint errors (each a one-line FusePlanError), the shipped checkpoints, predict_validity
on names and masks, and `fuseplan train` end to end on a tiny configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fuseplan.explain import predict_validity  # noqa: E402
from fuseplan.explain.checkpoint import (SHIPPED_DIR, load_checkpoint, read_meta,  # noqa: E402
                                         save_checkpoint, shipped_checkpoint)
from fuseplan.explain.fingerprint import cost_fingerprint  # noqa: E402
from fuseplan.explain.gnn import HIDDEN, LAYERS, ValidityGNN  # noqa: E402
from fuseplan.models.cost import LbdfModel, register_scheme, unregister_scheme  # noqa: E402
from fuseplan.models.errors import FusePlanError  # noqa: E402
from fuseplan.models.group import as_mask  # noqa: E402
from fuseplan.models.zoo import build  # noqa: E402
from fuseplan.solver.cli import main  # noqa: E402

BLOCK = ["/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu/Relu",
         "/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add"]


@pytest.fixture()
def ckpt(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    meta = {"scheme": "lbdf", "cost_fingerprint": cost_fingerprint("lbdf"), "hidden": HIDDEN,
            "layers": LAYERS, "seed": 0}
    return save_checkpoint(ValidityGNN(), tmp_path / "ck", meta)


def _edit(path: Path, **changes: object) -> None:
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def _one_line_error(path: Path, scheme: str, match: str) -> None:
    with pytest.raises(FusePlanError, match=match) as info:
        load_checkpoint(path, scheme)
    assert "\n" not in str(info.value)


def test_other_feature_version(ckpt: Path) -> None:
    _edit(ckpt, feature_version=999)
    _one_line_error(ckpt, "lbdf", "feature version 999")


def test_other_scheme(ckpt: Path) -> None:
    _one_line_error(ckpt, "brr", "is for scheme 'lbdf', not 'brr'")


def test_other_cost_model(ckpt: Path) -> None:
    class Doubled(LbdfModel):
        def buffer_bytes(self, group: int) -> int:
            return 2 * super().buffer_bytes(group)

    register_scheme("lbdf-doubled", Doubled)
    try:
        _edit(ckpt, scheme="lbdf-doubled")
        _one_line_error(ckpt, "lbdf-doubled", "another 'lbdf-doubled' cost model")
    finally:
        unregister_scheme("lbdf-doubled")


def test_corrupt_json_and_weights(ckpt: Path) -> None:
    weights = ckpt.with_suffix(".pt")
    good = weights.read_bytes()
    weights.write_bytes(good[:100])
    _one_line_error(ckpt, "lbdf", "corrupt.*SHA-256")
    # a file whose hash is recorded but which is not a state dict
    weights.write_bytes(b"garbage" * 10)
    _edit(ckpt, weights_sha256=__import__("hashlib").sha256(weights.read_bytes()).hexdigest())
    _one_line_error(ckpt, "lbdf", "corrupt")
    weights.unlink()
    _one_line_error(ckpt, "lbdf", "do not exist")
    ckpt.write_text("{ not json")
    _one_line_error(ckpt, "lbdf", "corrupt")
    ckpt.write_text(json.dumps({"format": "something else"}))
    _one_line_error(ckpt, "lbdf", "not a fuseplan validity checkpoint")
    with pytest.raises(FusePlanError, match="does not exist"):
        read_meta(ckpt.with_name("nothing.json"))


def test_no_shipped_checkpoint_for_a_users_scheme() -> None:
    with pytest.raises(FusePlanError, match="no shipped validity checkpoint .*fuseplan train"):
        shipped_checkpoint("my-scheme")


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_shipped_checkpoint_loads_and_records_its_provenance(scheme: str) -> None:
    path = SHIPPED_DIR / f"{scheme}.json"
    model, meta = load_checkpoint(path, scheme)
    assert path.with_suffix(".pt").stat().st_size < 2_000_000
    assert meta["scheme"] == scheme and meta["seed"] == 0
    assert meta["train_nets"] and meta["command"].startswith("fuseplan train")
    assert set(meta["balanced_accuracy"]) >= {"held-out/natural", "unseen/near"}


@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_predict_validity_on_names_and_masks(scheme: str) -> None:
    g = build("resnet18")
    ids = g.op_ids(BLOCK)
    groups_by_name = [BLOCK, BLOCK[:1], [g.ops[v].name for v in range(1, 40)]]
    groups_by_mask = [as_mask(ids), as_mask(ids[:1]), as_mask(range(1, 40))]
    p = predict_validity(g, groups_by_name, 2 * 1024 * 1024, scheme=scheme)
    q = predict_validity(g, groups_by_mask, 2 * 1024 * 1024, scheme=scheme)
    assert p.shape == (3,) and np.allclose(p, q) and ((p >= 0) & (p <= 1)).all()
    # far from the boundary the shipped model must be right: one 3x3 conv of 64 channels
    # fits 2 MB; 39 ops with 2 MB of weights do not fit 16 KB
    assert p[1] > 0.5
    small = predict_validity(g, [as_mask(range(1, 40))], 16 * 1024, scheme=scheme)
    assert small[0] < 0.5
    per_group = predict_validity(g, groups_by_mask, [16 * 1024, 2 * 1024 * 1024, 16 * 1024],
                                 scheme=scheme, bytes_per_element=2)
    assert per_group.shape == (3,)


def test_predict_validity_rejects_bad_groups() -> None:
    g = build("resnet18")
    for bad, match in (([["no-such-op"]], "no op named"), ([0], "empty"),
                       ([1 << 200], "beyond"), (["abc"], "op names or a bitmask")):
        with pytest.raises(FusePlanError, match=match):
            predict_validity(g, bad, 65536)
    with pytest.raises(FusePlanError, match="one size per group"):
        predict_validity(g, [1, 2], [1, 2, 3])
    assert predict_validity(g, [], 65536).shape == (0,)


def test_train_command_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny"
    code = main(["train", "--scheme", "lbdf", "--nets", "resnet18,vgg16",
                 "--unseen-nets", "mobilenet_v1", "--groups-per-net", "15",
                 "--unseen-groups-per-net", "5", "--epochs", "1", "--quiet",
                 "--out", str(out), "--cache", str(tmp_path / "cache")])
    assert code == 0
    text = capsys.readouterr().out
    assert "held-out" in text and "mobilenet_v1" in text and "class balance" in text
    meta = read_meta(out)
    assert meta["train_nets"] == ["resnet18", "vgg16"] and meta["training"]["epochs_run"] == 1
    g = build("resnet18")
    p = predict_validity(g, [BLOCK], 65536, checkpoint=out.with_suffix(".json"))
    assert p.shape == (1,)
    assert main(["train", "--scheme", "nope", "--quiet"]) == 2
    assert main(["train", "--scheme", "lbdf", "--nets", "resnet18", "--buffers", "2MB",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown cost scheme" in err and "LOW-HIGH" in err
