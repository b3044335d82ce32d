"""GNN checkpoints are data: a crafted weights file whose pickle would run code is refused
without running it, through the public loader; a missing or corrupt checkpoint is a clear
error. (The loader lives in explain/checkpoint.py; this only feeds it crafted files.)"""

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


@pytest.mark.parametrize("form", ["torch.save", "plain pickle"])
def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path: Path, form: str) -> None:
    marker = tmp_path / "ran"
    if form == "torch.save":
        torch.save({"w": _RunsCode(marker)}, tmp_path / "payload")
        payload = (tmp_path / "payload").read_bytes()
    else:
        payload = pickle.dumps({"w": _RunsCode(marker)})
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
