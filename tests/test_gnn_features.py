"""The GNN's node features: vocabulary, columns, group context, one function for both uses."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fuseplan.explain import features as F
from fuseplan.explain.batching import bank_for_graph
from fuseplan.models.zoo import BUILDERS, build

BLOCK = ["/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu/Relu",
         "/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add"]


def test_vocabulary_covers_the_zoo_and_the_new_kinds() -> None:
    kinds = {op.kind for name in BUILDERS for op in build(name).ops}
    assert kinds <= set(F.VOCAB) - {"other"}
    for kind in ("Gelu", "LayerNormalization", "ChannelShuffle", "Transpose", "Barrier"):
        assert kind in F.VOCAB
    assert F.VOCAB[-1] == "other" and len(set(F.VOCAB)) == len(F.VOCAB)
    assert F.kind_index("MyCustomOp") == F.VOCAB.index("other")


def test_group_graph_nodes_edges_and_context() -> None:
    g = build("resnet18")
    ids = g.op_ids(BLOCK)
    gg = F.group_graph(F.op_table(g, 1), list(reversed(ids)))
    assert gg.ops.tolist() == sorted(ids)
    assert gg.x.shape == (4, F.NUM_FEATURES)
    # conv1 -> relu -> conv2 -> add: three inner edges, local ids in op order
    assert sorted(map(tuple, gg.edge_index.T.tolist())) == [(0, 1), (1, 2), (2, 3)]
    kinds = [F.VOCAB[i] for i in gg.x[:, :F.N_KIND].argmax(axis=1)]
    assert kinds == ["Conv", "Relu", "Conv", "Add"]
    # only the add's output leaves the group; conv1 and the add read the block input x
    assert gg.x[:, F.COL_OUT_OUTSIDE].tolist() == [0, 0, 0, 1]
    assert gg.x[:, F.COL_IN_OUTSIDE].tolist() == [1, 0, 0, 1]
    conv = g.ops[ids[0]]
    assert gg.ratio_bytes[0, 0] == conv.params
    # x (64x56x56, one row 3,584 B) is read by conv1 (k 3) and the add (k 1): held once,
    # 3 rows, owned by conv1, its first reader in the group; conv1 also owns one row of
    # its output (read by the relu, k 1); the relu owns 3 rows of its output (conv2, k 3)
    row = 64 * 56
    assert gg.ratio_bytes[:, 1].tolist() == [4 * row, 3 * row, 1 * row, 0]
    # the buffer columns are zero until a buffer is given
    assert not gg.x[:, F.COL_BUFFER:].any()


def test_bytes_per_element_and_buffer_columns() -> None:
    g = build("resnet18")
    ids = g.op_ids(BLOCK)
    one = F.group_graph(F.op_table(g, 1), ids)
    two = F.group_graph(F.op_table(g, 2), ids)
    assert np.array_equal(two.ratio_bytes, 2 * one.ratio_bytes)
    x = F.with_buffer(one.x.copy(), one.ratio_bytes, np.full(4, 131072.0), np.ones(4))
    assert np.allclose(x[:, F.COL_BUFFER], 17 / 24)
    assert np.allclose(x[:, F.COL_BPE], 0.0)
    expect = np.minimum(one.ratio_bytes / 131072.0, F.RATIO_CLIP)
    assert np.allclose(x[:, F.COL_RATIO:F.COL_RATIO + 3], expect)
    with pytest.raises(Exception, match="bytes per element"):
        F.op_table(g, 3)


def test_a_group_alone_has_no_outside_flags_set_by_its_position() -> None:
    g = build("resnet18")
    first = F.group_graph(F.op_table(g, 1), [0])
    assert first.x[0, F.COL_IN_OUTSIDE] == 1  # reads the network input
    last = F.group_graph(F.op_table(g, 1), [g.num_ops - 1])
    assert last.x[0, F.COL_OUT_OUTSIDE] == 1  # writes the network output


def test_training_and_inference_batches_are_the_same_rows() -> None:
    g = build("mobilenet_v2")
    groups = [[3, 4, 5], [10], list(range(20, 31))]
    bank = bank_for_graph(g, groups, 2)
    batch = bank.batch(np.array([2, 0, 1]), np.array([1 << 18, 1 << 16, 1 << 20]))
    table = F.op_table(g, 2)
    rows = []
    for gi, beta in ((2, 1 << 18), (0, 1 << 16), (1, 1 << 20)):
        gg = F.group_graph(table, groups[gi])
        n = gg.x.shape[0]
        rows.append(F.with_buffer(gg.x.copy(), gg.ratio_bytes, np.full(n, float(beta)),
                                  np.full(n, 2.0)))
    assert np.allclose(batch.x, np.concatenate(rows))
    assert batch.batch.tolist() == [0] * 11 + [1] * 3 + [2]
    assert batch.edge_index.max() < batch.x.shape[0]


def test_importing_explain_imports_no_torch() -> None:
    code = ("import sys; import fuseplan.explain as e; from fuseplan.explain import "
            "predict_validity; import fuseplan.explain.features, fuseplan.explain.dataset; "
            "print('torch' in sys.modules, 'torch_geometric' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


def test_scores() -> None:
    from fuseplan.explain.metrics import scores

    s = scores(np.array([0.9, 0.1, 0.8, 0.2]), np.array([1, 0, 0, 0]))
    assert (s.accuracy, s.f1) == (0.75, 2 / 3)
    assert s.balanced_accuracy == pytest.approx((1 + 2 / 3) / 2)
    assert scores(np.array([0.9, 0.9]), np.array([1, 1])).balanced_accuracy == 1.0
