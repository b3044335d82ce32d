"""GNN checkpoints are data: a crafted weights file whose pickle would run code is refused
without running it, through the public loader; a missing or corrupt checkpoint is a clear
error. (The loader lives in explain/checkpoint.py; this only feeds it crafted files.) The
same for the explainer checkpoints (PGExplainer, RG-Explainer; explain/learned/checkpoints.py),
whose crafted JSON names the payload's true SHA-256, so only ``torch.load(weights_only=True)``
stands between the file and the command."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest

checkpoint = pytest.importorskip("fuseplan.explain.checkpoint")
torch = pytest.importorskip("torch")

from fuseplan.models.errors import FusePlanError  # noqa: E402


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _meta(pt: Path, scheme: str = "lbdf") -> dict:
    from fuseplan.explain.features import FEATURE_VERSION, NUM_FEATURES
    from fuseplan.explain.fingerprint import cost_fingerprint

    return {"format": checkpoint.FORMAT, "format_version": checkpoint.FORMAT_VERSION,
            "feature_version": FEATURE_VERSION, "in_features": NUM_FEATURES, "scheme": scheme,
            "cost_fingerprint": cost_fingerprint(scheme), "hidden": 8, "layers": 2,
            "weights_file": pt.name, "weights_sha256": hashlib.sha256(pt.read_bytes()).hexdigest()}


def _write(folder: Path, payload: bytes) -> Path:
    pt = folder / "evil.pt"
    pt.write_bytes(payload)
    (folder / "evil.json").write_text(json.dumps(_meta(pt)))
    return folder / "evil.json"


def _payload(form: str, folder: Path, marker: Path) -> bytes:
    """Weights whose unpickling would create ``marker``: torch.save's zip or a plain pickle."""
    if form == "torch.save":
        torch.save({"w": _RunsCode(marker)}, folder / "payload")
        return (folder / "payload").read_bytes()
    return pickle.dumps({"w": _RunsCode(marker)})


# torch warns that the crafted plain pickle uses protocol 4 before refusing it: expected here.
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize("form", ["torch.save", "plain pickle"])
def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path: Path, form: str) -> None:
    marker = tmp_path / "ran"
    payload = _payload(form, tmp_path, marker)
    assert not marker.exists()
    with pytest.raises(FusePlanError, match="corrupt"):
        checkpoint.load_checkpoint(_write(tmp_path, payload), "lbdf")
    assert not marker.exists(), "loading the checkpoint ran code from it"


def test_missing_and_corrupt_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FusePlanError, match="does not exist"):
        checkpoint.load_checkpoint(tmp_path / "none.json", "lbdf")
    path = _write(tmp_path, b"\x00" * 64)
    with pytest.raises(FusePlanError, match="corrupt"):
        checkpoint.load_checkpoint(path, "lbdf")
    (tmp_path / "evil.pt").write_bytes(b"\x00" * 65)  # changed after its JSON was written
    with pytest.raises(FusePlanError, match="SHA-256 differs"):
        checkpoint.load_checkpoint(path, "lbdf")
    path.write_text("{not json")
    with pytest.raises(FusePlanError, match="corrupt"):
        checkpoint.load_checkpoint(path, "lbdf")


def _explainer(folder: Path, payload: bytes) -> tuple[Path, dict]:
    """A copy of the shipped pgexplainer-lbdf checkpoint whose weights are ``payload``, its
    JSON naming the payload's real SHA-256; and the GNN record it claims to belong to."""
    from fuseplan.explain.learned.checkpoints import shipped_path

    meta = json.loads(shipped_path("pgexplainer", "lbdf").read_text())
    (folder / "pg.pt").write_bytes(payload)
    meta["weights_sha256"] = hashlib.sha256(payload).hexdigest()
    (folder / "pg.json").write_text(json.dumps(meta))
    return folder / "pg.json", {"weights_sha256": meta["gnn_weights_sha256"]}


# torch warns that the crafted plain pickle uses protocol 4 before refusing it: expected here.
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize("form", ["torch.save", "plain pickle"])
def test_an_explainer_checkpoint_that_would_run_code_is_refused_unrun(tmp_path: Path,
                                                                     form: str) -> None:
    from fuseplan.explain.learned.checkpoints import load_explainer

    marker = tmp_path / "ran"
    path, gnn_meta = _explainer(tmp_path, _payload(form, tmp_path, marker))
    with pytest.raises(FusePlanError, match="are corrupt"):
        load_explainer(path, "pgexplainer", "lbdf", gnn_meta)
    assert not marker.exists(), "loading the explainer checkpoint ran code from it"


def test_missing_explainer_checkpoint_files_are_clear_errors(tmp_path: Path) -> None:
    from fuseplan.explain.learned.checkpoints import load_explainer, shipped_path

    path, gnn_meta = _explainer(tmp_path, b"\x00" * 64)
    (tmp_path / "pg.pt").unlink()
    with pytest.raises(FusePlanError, match="do not exist; retrain with"):
        load_explainer(path, "pgexplainer", "lbdf", gnn_meta)
    with pytest.raises(FusePlanError, match="does not exist"):
        load_explainer(tmp_path / "none.json", "pgexplainer", "lbdf", gnn_meta)
    path.write_text("{not json")
    with pytest.raises(FusePlanError, match="is corrupt"):
        load_explainer(path, "pgexplainer", "lbdf", gnn_meta)
    # the shipped weights under the crafted JSON load: the refusals above are not blanket
    shipped = shipped_path("pgexplainer", "lbdf").with_suffix(".pt")
    good, gnn_meta = _explainer(tmp_path, shipped.read_bytes())
    state, _ = load_explainer(good, "pgexplainer", "lbdf", gnn_meta)
    assert state and all(isinstance(v, torch.Tensor) for v in state.values())
