"""Checkpoints of the validity GNN: weights without pickle, configuration in JSON beside them.

A checkpoint is two files with one stem: ``NAME.pt``, a plain ``state_dict`` written by
``torch.save`` and read back with ``torch.load(weights_only=True)`` (no pickle of code), and
``NAME.json``: format, feature version, scheme, cost-model fingerprint, training nets, seed,
model sizes, the SHA-256 of the weights file, the measured accuracy and the command that made
it. The shipped ones are ``explain/checkpoints/<scheme>.{pt,json}`` (package data).

:func:`load_checkpoint` refuses, with one line saying what to do, a checkpoint made for another
feature version, another scheme or another cost model (fingerprint), and a missing or corrupt
file. torch is imported only when weights are read or written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseplan.models.errors import FusePlanError

from .features import FEATURE_VERSION, NUM_FEATURES
from .fingerprint import cost_fingerprint

if TYPE_CHECKING:  # pragma: no cover
    from .gnn import ValidityGNN

FORMAT = "fuseplan-validity-gnn"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent / "checkpoints"


def shipped_checkpoint(scheme: str) -> Path:
    """The checkpoint shipped for ``scheme`` (its ``.json``); an error when there is none."""
    path = SHIPPED_DIR / f"{scheme.strip().lower()}.json"
    if not path.exists():
        shipped = sorted(p.stem for p in SHIPPED_DIR.glob("*.json") if _is_validity(p))
        raise FusePlanError(
            f"no shipped validity checkpoint for scheme {scheme!r} (shipped: "
            f"{', '.join(shipped) or 'none'}); train one with `fuseplan train --scheme {scheme} "
            f"--out PATH` and pass checkpoint=PATH"
        )
    return path


def _is_validity(path: Path) -> bool:
    """True when ``path`` is the JSON of a validity checkpoint (the folder holds others)."""
    try:
        return json.loads(path.read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """The JSON and weights files of a checkpoint named by either (or by their stem)."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".pt") else p
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".pt")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(model: ValidityGNN, path: str | Path, meta: dict[str, Any]) -> Path:
    """Writes ``model``'s weights and ``meta`` plus the format fields; returns the JSON path."""
    import torch

    json_path, pt_path = checkpoint_paths(path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # not a file name: torch.save would record it inside the archive
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, buffer)
    tmp = pt_path.with_name(pt_path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, pt_path)
    record = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "feature_version": FEATURE_VERSION, "in_features": NUM_FEATURES,
              **meta, "weights_file": pt_path.name, "weights_sha256": file_sha256(pt_path)}
    tmp_json = json_path.with_name(json_path.name + f".{os.getpid()}.tmp")
    tmp_json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_json, json_path)
    return json_path


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON record of a checkpoint, checked for format (not yet for fit)."""
    json_path, _ = checkpoint_paths(path)
    try:
        meta = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise FusePlanError(f"checkpoint {json_path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FusePlanError(f"checkpoint {json_path} is corrupt ({err.__class__.__name__}); "
                            "retrain it with `fuseplan train`") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FusePlanError(f"{json_path} is not a fuseplan validity checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise FusePlanError(f"checkpoint {json_path} has format version "
                            f"{meta.get('format_version')!r}, this fuseplan reads {FORMAT_VERSION}")
    return meta


def check_fit(meta: dict[str, Any], scheme: str, where: Path) -> None:
    """Refuses a checkpoint made for another feature version, scheme or cost model."""
    if meta.get("feature_version") != FEATURE_VERSION:
        raise FusePlanError(
            f"checkpoint {where} was made for feature version {meta.get('feature_version')!r}, "
            f"this fuseplan computes version {FEATURE_VERSION}; retrain with `fuseplan train`"
        )
    key = scheme.strip().lower()
    if meta.get("scheme") != key:
        raise FusePlanError(f"checkpoint {where} is for scheme {meta.get('scheme')!r}, "
                            f"not {key!r}")
    now = cost_fingerprint(key)
    if meta.get("cost_fingerprint") != now:
        raise FusePlanError(
            f"checkpoint {where} was trained under another {key!r} cost model (fingerprint "
            f"{meta.get('cost_fingerprint')!r}, now {now!r}); retrain with "
            f"`fuseplan train --scheme {key}`"
        )


def load_checkpoint(path: str | Path, scheme: str) -> tuple[ValidityGNN, dict[str, Any]]:
    """The model and record of the checkpoint at ``path`` (either file, or their stem),
    checked to fit ``scheme`` under the current cost model and features."""
    import torch

    from .gnn import ValidityGNN

    meta = read_meta(path)
    json_path, pt_path = checkpoint_paths(path)
    check_fit(meta, scheme, json_path)
    corrupt = f"checkpoint weights {pt_path} are corrupt; retrain with `fuseplan train`"
    try:
        if file_sha256(pt_path) != meta.get("weights_sha256"):
            raise FusePlanError(corrupt + " (SHA-256 differs from its JSON)")
        state = torch.load(pt_path, weights_only=True, map_location="cpu")
        model = ValidityGNN(int(meta["in_features"]), int(meta["hidden"]), int(meta["layers"]))
        model.load_state_dict(state)
    except FileNotFoundError:
        raise FusePlanError(f"checkpoint weights {pt_path} do not exist") from None
    except FusePlanError:
        raise
    except Exception as err:  # torch raises many types on a bad file
        raise FusePlanError(f"{corrupt} ({err.__class__.__name__})") from None
    model.eval()
    return model, meta
