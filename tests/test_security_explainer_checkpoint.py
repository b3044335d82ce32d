"""Explainer checkpoints (PGExplainer, RG-Explainer) are data too (issue 16: checkpoints load
without unpickling code; a missing or corrupt one is a clear error). The crafted weights file
carries a pickle that would run a command, and its JSON records the file's true SHA-256, so
only ``torch.load(weights_only=True)`` stands between the file and the command."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from fuseplan.explain.learned.checkpoints import load_explainer, shipped_path  # noqa: E402
from fuseplan.models.errors import FusePlanError  # noqa: E402


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _crafted(folder: Path, payload: bytes) -> tuple[Path, dict]:
    """A copy of the shipped pgexplainer-lbdf checkpoint whose weights are ``payload``, its
    JSON naming the payload's real SHA-256; and the GNN record it claims to belong to."""
    meta = json.loads(shipped_path("pgexplainer", "lbdf").read_text())
    pt = folder / "pg.pt"
    pt.write_bytes(payload)
    meta["weights_sha256"] = hashlib.sha256(payload).hexdigest()
    (folder / "pg.json").write_text(json.dumps(meta))
    return folder / "pg.json", {"weights_sha256": meta["gnn_weights_sha256"]}


@pytest.mark.parametrize("form", ["torch.save", "plain pickle"])
def test_an_explainer_checkpoint_that_would_run_code_is_refused_unrun(tmp_path: Path,
                                                                     form: str) -> None:
    marker = tmp_path / "ran"
    if form == "torch.save":
        torch.save({"w": _RunsCode(marker)}, tmp_path / "payload")
        payload = (tmp_path / "payload").read_bytes()
    else:
        payload = pickle.dumps({"w": _RunsCode(marker)})
    path, gnn_meta = _crafted(tmp_path, payload)
    with pytest.raises(FusePlanError, match="are corrupt"):
        load_explainer(path, "pgexplainer", "lbdf", gnn_meta)
    assert not marker.exists(), "loading the explainer checkpoint ran code from it"


def test_missing_explainer_checkpoint_files_are_clear_errors(tmp_path: Path) -> None:
    path, gnn_meta = _crafted(tmp_path, b"\x00" * 64)
    (tmp_path / "pg.pt").unlink()
    with pytest.raises(FusePlanError, match="do not exist; retrain with"):
        load_explainer(path, "pgexplainer", "lbdf", gnn_meta)
    with pytest.raises(FusePlanError, match="does not exist"):
        load_explainer(tmp_path / "none.json", "pgexplainer", "lbdf", gnn_meta)
    path.write_text("{not json")
    with pytest.raises(FusePlanError, match="is corrupt"):
        load_explainer(path, "pgexplainer", "lbdf", gnn_meta)
    # the real shipped weights under the crafted JSON load: the refusals above are not blanket
    shipped = shipped_path("pgexplainer", "lbdf")
    good, gnn_meta = _crafted(tmp_path, shipped.with_suffix(".pt").read_bytes())
    state, _ = load_explainer(good, "pgexplainer", "lbdf", gnn_meta)
    assert state and all(isinstance(v, torch.Tensor) for v in state.values())
