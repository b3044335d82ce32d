"""Checkpoints of the trained explainers (PGExplainer, RG-Explainer), tied to their GNN.

Two files with one stem, as the GNN's (``explain/checkpoint.py``): ``STEM.pt``, a plain
``state_dict`` read back with ``torch.load(weights_only=True)`` (no pickle of code), and
``STEM.json``: format, algorithm, scheme, the SHA-256 of the GNN weights it was trained
against (``gnn_weights_sha256``) and that GNN's cost fingerprint and feature version, the
algorithm's configuration, seed, training summary, the command that made it, and the SHA-256
of its own weights. The shipped ones are ``explain/checkpoints/<algorithm>-<scheme>.{pt,json}``.

:func:`load_explainer` refuses, in one line that says how to retrain, a checkpoint of another
algorithm or scheme, one trained against another GNN (the weights differ), and a missing or
corrupt file.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import torch

from fuseplan.models.errors import FusePlanError

from ..checkpoint import SHIPPED_DIR, checkpoint_paths, file_sha256

FORMAT = "fuseplan-explainer"
FORMAT_VERSION = 1


def shipped_path(algorithm: str, scheme: str) -> Path:
    return SHIPPED_DIR / f"{algorithm}-{scheme}.json"


def retrain_hint(algorithm: str, scheme: str) -> str:
    return ("retrain with `fuseplan train-explainer --algorithm "
            f"{shlex.quote(algorithm)} --scheme {shlex.quote(scheme)}`")


def save_explainer(state: dict[str, torch.Tensor], path: str | Path,
                   meta: dict[str, Any]) -> Path:
    """Writes ``state`` and ``meta`` (with the format fields); returns the JSON path."""
    json_path, pt_path = checkpoint_paths(path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pt_path.with_name(pt_path.name + f".{os.getpid()}.tmp")
    torch.save({k: v.detach().clone() for k, v in state.items()}, tmp)
    os.replace(tmp, pt_path)
    record = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta,
              "weights_file": pt_path.name, "weights_sha256": file_sha256(pt_path)}
    tmp_json = json_path.with_name(json_path.name + f".{os.getpid()}.tmp")
    tmp_json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_json, json_path)
    return json_path


def load_explainer(path: str | Path | None, algorithm: str, scheme: str,
                   gnn_meta: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The weights and record of the ``algorithm`` checkpoint at ``path`` (the shipped one of
    ``scheme`` when None), checked to belong to the GNN whose record is ``gnn_meta``."""
    hint = retrain_hint(algorithm, scheme)
    if path is None:
        path = shipped_path(algorithm, scheme)
        if not path.exists():
            raise FusePlanError(f"no shipped {algorithm} checkpoint for scheme {scheme!r}; "
                                f"{hint}")
    json_path, pt_path = checkpoint_paths(path)
    try:
        meta = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise FusePlanError(f"explainer checkpoint {json_path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FusePlanError(f"explainer checkpoint {json_path} is corrupt "
                            f"({err.__class__.__name__}); {hint}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FusePlanError(f"{json_path} is not a fuseplan explainer checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise FusePlanError(f"explainer checkpoint {json_path} has format version "
                            f"{meta.get('format_version')!r}, this fuseplan reads {FORMAT_VERSION}")
    if meta.get("algorithm") != algorithm:
        raise FusePlanError(f"{json_path} is a {meta.get('algorithm')!r} checkpoint, "
                            f"not {algorithm!r}")
    if meta.get("scheme") != scheme:
        raise FusePlanError(f"{algorithm} checkpoint {json_path} is for scheme "
                            f"{meta.get('scheme')!r}, not {scheme!r}; {hint}")
    gnn_sha = gnn_meta.get("weights_sha256")
    if meta.get("gnn_weights_sha256") != gnn_sha:
        raise FusePlanError(
            f"{algorithm} checkpoint {json_path} was trained against another validity GNN "
            f"(weights {str(meta.get('gnn_weights_sha256'))[:12]}, the GNN loaded is "
            f"{str(gnn_sha)[:12]}); {hint}")
    try:
        if file_sha256(pt_path) != meta.get("weights_sha256"):
            raise FusePlanError(f"explainer weights {pt_path} are corrupt (SHA-256 differs "
                                f"from its JSON); {hint}")
        state = torch.load(pt_path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise FusePlanError(f"explainer weights {pt_path} do not exist; {hint}") from None
    except FusePlanError:
        raise
    except Exception as err:  # torch raises many types on a bad file
        raise FusePlanError(f"explainer weights {pt_path} are corrupt "
                            f"({err.__class__.__name__}); {hint}") from None
    return state, meta
