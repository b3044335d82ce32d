"""The validity dataset: forms, the split by group form, labels, buffers, determinism, cache."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from fuseplan.explain.dataset import (BUFFERS_PER_DIST, NEAR_FACTOR, SPLITS, DatasetSpec,
                                      build_dataset, load_or_build)
from fuseplan.explain.forms import group_form
from fuseplan.explain.group_pool import sample_groups
from fuseplan.models.cost import make_cost_model
from fuseplan.models.group import check_group
from fuseplan.models.zoo import build

SPEC = DatasetSpec("lbdf", nets=("resnet18", "resnet101"), unseen=("resnet34",),
                   groups_per_net=40, unseen_groups_per_net=30, seed=3)


@pytest.fixture(scope="module")
def data():
    return build_dataset(SPEC)


def _block(prefix: str) -> list[str]:
    return [f"{prefix}/conv1/Conv", f"{prefix}/relu/Relu", f"{prefix}/conv2/Conv",
            f"{prefix}/Add"]


def test_same_form_across_blocks_and_nets_different_shapes_differ() -> None:
    r18, r34 = build("resnet18"), build("resnet34")
    a = group_form(r18, r18.op_ids(_block("/layer1/layer1.0")))
    b = group_form(r18, r18.op_ids(_block("/layer1/layer1.1")))
    c = group_form(r34, r34.op_ids(_block("/layer1/layer1.2")))
    d = group_form(r18, r18.op_ids(_block("/layer3/layer3.1")))  # other shapes
    assert a == b == c != d
    # wiring matters: the same ops without the skip edge's reader are another form
    e = group_form(r18, r18.op_ids(_block("/layer1/layer1.0")[:3]))
    assert e != a


def test_split_puts_each_form_on_one_side(data) -> None:
    forms: dict[str, set[int]] = {}
    nets = [build(n) for n in data.nets]
    for i in range(data.inst_net.size):
        form = group_form(nets[data.inst_net[i]], data.ops_of(i).tolist())
        forms.setdefault(form, set()).add(int(data.inst_split[i]))
    unseen = SPLITS.index("unseen")
    trained = {f for f, s in forms.items() if s - {unseen}}
    for form, sides in forms.items():
        assert len(sides - {unseen}) <= 1, f"form {form} on sides {sides}"
    # resnet18 and resnet101 share forms (e.g. single ops, stem), and they went together
    assert len(trained) < sum(1 for i in range(data.inst_net.size)
                              if data.inst_split[i] != unseen)
    # novel: an unseen net's group whose form no *training* group has
    train_forms = {f for f, s in forms.items() if SPLITS.index("train") in s}
    for i in np.flatnonzero(data.inst_split == unseen):
        form = group_form(nets[data.inst_net[i]], data.ops_of(i).tolist())
        assert bool(data.inst_novel[i]) == (form not in train_forms)
    assert data.inst_novel.any() and not data.inst_novel.all()


def test_every_buffer_of_a_group_is_on_its_side(data) -> None:
    counts = np.bincount(data.samp_inst, minlength=data.inst_net.size)
    assert (counts == 2 * BUFFERS_PER_DIST).all()
    picks = np.bincount(data.samp_inst[data.samp_train_pick], minlength=data.inst_net.size)
    assert (picks == BUFFERS_PER_DIST).all()
    assert set(np.unique(data.inst_bpe)) == {1, 2}


def test_labels_come_from_check_group_and_buffers_follow_their_distribution(data) -> None:
    models = {}
    for s in range(0, data.samp_inst.size, 7):
        i = int(data.samp_inst[s])
        net, bpe = data.nets[data.inst_net[i]], int(data.inst_bpe[i])
        model = models.setdefault((net, bpe), make_cost_model("lbdf", build(net), bpe))
        check = check_group(model, data.ops_of(i).tolist(), int(data.samp_buffer[s]))
        assert check.valid == bool(data.samp_label[s])
        assert check.need_bytes == data.inst_fbeta[i]
    near = data.samp_dist == 1
    ratio = data.samp_buffer[near] / data.inst_fbeta[data.samp_inst[near]]
    assert ratio.min() >= 1 / NEAR_FACTOR - 1e-3 and ratio.max() <= NEAR_FACTOR + 1e-3
    natural = data.samp_buffer[~near]
    assert natural.min() >= 16 * 1024 and natural.max() <= 2 * 1024 * 1024


def test_group_sizes_and_sources() -> None:
    g = build("efficientnet_b3")
    groups = sample_groups(g, random.Random(0), 200)
    sizes = [m.bit_count() for m in groups]
    assert len(set(groups)) == 200 and max(sizes) <= 120 and min(sizes) >= 1
    assert max(sizes) > 60  # convex growth reaches long groups


def test_deterministic_and_cached(tmp_path: Path, data) -> None:
    again = build_dataset(SPEC)
    for key, value in data.__dict__.items():
        assert np.array_equal(np.asarray(value), np.asarray(getattr(again, key))), key
    first, path, cached = load_or_build(SPEC, tmp_path)
    assert not cached and path.exists()
    second, path2, cached2 = load_or_build(SPEC, tmp_path)
    assert cached2 and path2 == path
    assert np.array_equal(second.samp_label, data.samp_label)
    other = DatasetSpec(**{**SPEC.__dict__, "seed": 4})
    assert other.key() != SPEC.key()
    path.write_bytes(b"not a zip")  # a broken cache file is rebuilt
    third, _, cached3 = load_or_build(SPEC, tmp_path)
    assert not cached3 and np.array_equal(third.samp_buffer, data.samp_buffer)
