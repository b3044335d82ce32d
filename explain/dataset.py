"""The validity dataset of one scheme: sampled groups, buffers, labels from ``check_group``.

An *instance* is one group of one net at one bytes-per-element (every group is taken at 1 and
at 2). Each instance gets 5 buffers from each of two distributions:

- ``natural``: log-uniform over 16 KB .. 2 MB;
- ``near``: F_beta(G) x 1.5^u with u uniform in [-1, 1] (within a factor of 1.5 of the
  boundary).

Labels are ``check_group(model, group, buffer).valid``. Training takes 5 of the 10 samples
of an instance, slot by slot from one distribution or the other (a seeded coin: an even mix);
evaluation uses all 10 and reports each distribution apart.

The split is by form (``forms.py``): all groups of one form, from any net, go to one side
with all their buffers: 80 % of forms train, 10 % validation (early stopping), 10 % test.
Groups of the unseen nets are split ``unseen``; ``novel`` marks those whose form no training
group has. Everything is a function of the inputs and the seed; :func:`load_or_build` keeps
the result in a cache directory keyed by a hash of those inputs (graph and cost-model
fingerprints included), so a changed input rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fuseplan.models.cost import make_cost_model
from fuseplan.models.errors import FusePlanError
from fuseplan.models.group import check_group, mask_ops
from fuseplan.models.zoo import build

from .fingerprint import cost_fingerprint
from .forms import group_form
from .group_pool import MAX_OPS, sample_groups

DATASET_VERSION = 1
TRAIN_NETS = ("vgg16", "squeezenet1_0", "mobilenet_v2", "mobilenet_v3_small",
              "mobilenet_v3_large", "resnet18", "resnet101", "efficientnet_b0", "efficientnet_b3")
UNSEEN_NETS = ("resnet34", "resnet50", "resnet152", "densenet121", "googlenet", "inception_v3",
               "efficientnet_b1", "efficientnet_b2", "mobilenet_v1")
BYTES_PER_ELEMENT = (1, 2)
BUFFERS_PER_DIST = 5
NATURAL_RANGE = (16 * 1024, 2 * 1024 * 1024)
NEAR_FACTOR = 1.5
SPLITS = ("train", "val", "test", "unseen")
DISTS = ("natural", "near")


@dataclass(frozen=True)
class DatasetSpec:
    scheme: str
    nets: tuple[str, ...] = TRAIN_NETS
    unseen: tuple[str, ...] = UNSEEN_NETS
    groups_per_net: int = 560
    unseen_groups_per_net: int = 200
    seed: int = 0
    natural_range: tuple[int, int] = NATURAL_RANGE

    def key(self) -> str:
        """A hash of every input the dataset depends on."""
        graphs = {n: build(n).fingerprint() for n in (*self.nets, *self.unseen)}
        text = json.dumps({
            "version": DATASET_VERSION, "scheme": self.scheme, "nets": self.nets,
            "unseen": self.unseen, "groups_per_net": self.groups_per_net,
            "unseen_groups_per_net": self.unseen_groups_per_net, "seed": self.seed,
            "graphs": graphs, "cost": cost_fingerprint(self.scheme), "max_ops": MAX_OPS,
            "bpe": BYTES_PER_ELEMENT, "buffers": BUFFERS_PER_DIST, "near": NEAR_FACTOR,
            "natural": list(self.natural_range),
        }, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Dataset:
    """Instances (arrays indexed by instance) and samples (arrays indexed by sample)."""

    nets: tuple[str, ...]  # net names; inst_net indexes this
    inst_net: np.ndarray
    inst_bpe: np.ndarray
    inst_ops: np.ndarray  # all instances' op ids, concatenated
    inst_offsets: np.ndarray  # instance i's ops are inst_ops[off[i]:off[i+1]]
    inst_fbeta: np.ndarray
    inst_split: np.ndarray  # index into SPLITS
    inst_novel: np.ndarray  # unseen-net group whose form no training group has
    samp_inst: np.ndarray
    samp_buffer: np.ndarray
    samp_dist: np.ndarray  # index into DISTS
    samp_label: np.ndarray
    samp_train_pick: np.ndarray  # in the even-mix training selection

    def ops_of(self, i: int) -> np.ndarray:
        return self.inst_ops[self.inst_offsets[i]:self.inst_offsets[i + 1]]

    def save(self, path: Path) -> None:
        arrays = {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, nets=np.array(self.nets), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "Dataset":
        with np.load(path, allow_pickle=False) as z:
            fields = {k: z[k] for k in z.files}
        fields["nets"] = tuple(str(n) for n in fields["nets"])
        return cls(**fields)


def _split_of_form(form: str, seed: int) -> int:
    bucket = int(hashlib.sha256(f"{seed}:{form}".encode()).hexdigest()[:8], 16) % 10
    return 0 if bucket < 8 else 1 if bucket == 8 else 2


def _buffers(rng: random.Random, fbeta: int,
             natural: tuple[int, int]) -> list[tuple[int, int]]:
    lo, hi = math.log(natural[0]), math.log(natural[1])
    out = [(round(math.exp(rng.uniform(lo, hi))), 0) for _ in range(BUFFERS_PER_DIST)]
    out += [(max(1, round(fbeta * NEAR_FACTOR ** rng.uniform(-1.0, 1.0))), 1)
            for _ in range(BUFFERS_PER_DIST)]
    return out


def build_dataset(spec: DatasetSpec, progress: Callable[[str], None] | None = None) -> Dataset:
    """Samples, labels and splits the dataset of ``spec`` (deterministic in ``spec.seed``)."""
    if set(spec.nets) & set(spec.unseen):
        raise FusePlanError("a net cannot be both a training net and an unseen net")
    if not 0 < spec.natural_range[0] < spec.natural_range[1]:
        raise FusePlanError(f"the buffer range needs 0 < low < high (got {spec.natural_range})")
    nets = (*spec.nets, *spec.unseen)
    rows: list[tuple[int, int, list[int], int, str]] = []  # net, bpe, ops, fbeta, form
    samples: list[tuple[int, int, int, int, bool]] = []
    for n_idx, name in enumerate(nets):
        if progress:
            progress(name)
        graph = build(name)
        rng = random.Random(f"{spec.seed}:{name}")
        count = spec.groups_per_net if n_idx < len(spec.nets) else spec.unseen_groups_per_net
        groups = sample_groups(graph, rng, count)
        forms = [group_form(graph, mask_ops(g)) for g in groups]
        for bpe in BYTES_PER_ELEMENT:
            model = make_cost_model(spec.scheme, graph, bpe)
            for g, form in zip(groups, forms):
                inst = len(rows)
                fbeta = model.buffer_bytes(g)
                rows.append((n_idx, bpe, mask_ops(g), fbeta, form))
                buffers = _buffers(rng, fbeta, spec.natural_range)
                picks = [rng.random() < 0.5 for _ in range(BUFFERS_PER_DIST)]
                for j, (beta, dist) in enumerate(buffers):
                    label = check_group(model, g, beta).valid
                    pick = picks[j % BUFFERS_PER_DIST] == bool(dist)
                    samples.append((inst, beta, dist, int(label), pick))
    n_train_nets = len(spec.nets)
    split = np.array([_split_of_form(r[4], spec.seed) if r[0] < n_train_nets else 3
                      for r in rows], dtype=np.int8)
    train_forms = {r[4] for r, s in zip(rows, split) if s == 0}
    novel = np.array([s == 3 and r[4] not in train_forms for r, s in zip(rows, split)])
    lengths = [len(r[2]) for r in rows]
    s_arr = np.array(samples, dtype=np.int64)
    return Dataset(
        nets=nets,
        inst_net=np.array([r[0] for r in rows], dtype=np.int16),
        inst_bpe=np.array([r[1] for r in rows], dtype=np.int8),
        inst_ops=np.array([v for r in rows for v in r[2]], dtype=np.int32),
        inst_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        inst_fbeta=np.array([r[3] for r in rows], dtype=np.int64),
        inst_split=split,
        inst_novel=novel,
        samp_inst=s_arr[:, 0].astype(np.int32),
        samp_buffer=s_arr[:, 1],
        samp_dist=s_arr[:, 2].astype(np.int8),
        samp_label=s_arr[:, 3].astype(np.int8),
        samp_train_pick=s_arr[:, 4].astype(bool),
    )


def default_cache_dir() -> Path:
    """``$FUSEPLAN_CACHE`` or ``~/.cache/fuseplan``, plus ``gnn``."""
    root = os.environ.get("FUSEPLAN_CACHE") or Path.home() / ".cache" / "fuseplan"
    return Path(root) / "gnn"


def load_or_build(spec: DatasetSpec, cache_dir: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> tuple[Dataset, Path, bool]:
    """The dataset of ``spec`` from the cache, or built and cached; returns it, its file and
    whether it came from the cache."""
    folder = cache_dir or default_cache_dir()
    path = folder / f"dataset-{spec.scheme}-{spec.key()}.npz"
    if path.exists():
        try:
            return Dataset.load(path), path, True
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a broken cache file is rebuilt
    data = build_dataset(spec, progress)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data.save(path)
    except OSError as err:
        raise FusePlanError(f"cannot write the dataset cache {path}: {err}") from None
    return data, path, False


def class_balance(data: Dataset, edges: Sequence[int]) -> list[tuple[str, str, int, float]]:
    """Per distribution and buffer range (bounds ``edges`` in bytes): (dist, range, samples,
    share valid)."""
    out = []
    for d, dist in enumerate(DISTS):
        sel = data.samp_dist == d
        bins = np.digitize(data.samp_buffer[sel], edges)
        labels = data.samp_label[sel]
        for b in range(len(edges) + 1):
            in_bin = bins == b
            if in_bin.any():
                out.append((dist, range_name(edges, b), int(in_bin.sum()),
                            float(labels[in_bin].mean())))
    return out


def range_name(edges: Sequence[int], b: int) -> str:
    def kb(x: int) -> str:
        return f"{x // (1024 * 1024)}MB" if x >= 1024 * 1024 else f"{x // 1024}KB"
    if b == 0:
        return f"<{kb(edges[0])}"
    if b == len(edges):
        return f">={kb(edges[-1])}"
    return f"{kb(edges[b - 1])}-{kb(edges[b])}"
