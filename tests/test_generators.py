"""Generated nets: exact op count and width, determinism, strict specs, consistent shapes."""

from __future__ import annotations

import itertools
import subprocess
import sys

import networkx as nx
import pytest

from fuseplan.models.errors import FusePlanError
from fuseplan.models.generators import (
    GENERATORS,
    antichain_width,
    build_generated,
    canonical_spec,
)
from fuseplan.models.graph import Graph, GraphBuilder
from fuseplan.models.load import load_graph


def _width_by_networkx(graph: Graph) -> int:
    """Dilworth with networkx: ops minus a maximum matching of the transitive closure."""
    closure = nx.transitive_closure_dag(graph.to_networkx())
    bip = nx.Graph()
    left = [("L", v) for v in range(graph.num_ops)]
    bip.add_nodes_from(left)
    bip.add_nodes_from(("R", v) for v in range(graph.num_ops))
    bip.add_edges_from((("L", u), ("R", v)) for u, v in closure.edges())
    matching = nx.bipartite.hopcroft_karp_matching(bip, top_nodes=left)
    return graph.num_ops - len(matching) // 2


def _width_by_brute_force(graph: Graph) -> int:
    closure = nx.transitive_closure_dag(graph.to_networkx())
    best = 0
    for r in range(1, graph.num_ops + 1):
        for subset in itertools.combinations(range(graph.num_ops), r):
            if all(not closure.has_edge(u, v) and not closure.has_edge(v, u)
                   for u, v in itertools.combinations(subset, 2)):
                best = r
                break
    return best


def _dag(edges: list[tuple[int, int]], n: int) -> Graph:
    """A graph of n Relu/Add ops with the given op-to-op edges (u < v)."""
    b = GraphBuilder("dag")
    x = b.input("x", 1, 1, 1)
    outs: list[int] = []
    for v in range(n):
        srcs = [outs[u] for u, w in edges if w == v] or [x]
        outs.append(b.op(f"op{v}", "Add" if len(srcs) > 1 else "Relu", srcs, (1, 1, 1)))
    for t in outs:
        b.output(t)
    return b.build()


@pytest.mark.parametrize(
    ("edges", "n", "width"),
    [
        ([(0, 1), (1, 2), (2, 3)], 4, 1),  # a chain
        ([(0, 1), (0, 2), (1, 3), (2, 3)], 4, 2),  # a diamond
        ([(0, 3), (1, 3), (2, 4)], 5, 3),  # {0,1,2} or {3,4,...}: 0,1,2 incomparable
        ([(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 5)], 6, 3),
        ([(0, 2), (1, 2), (0, 3), (1, 3), (2, 4), (3, 5), (4, 6), (5, 6)], 7, 2),
        ([], 5, 5),  # five independent ops
    ],
)
def test_antichain_width_on_hand_made_dags(edges, n, width) -> None:
    g = _dag(edges, n)
    assert antichain_width(g) == width
    assert _width_by_brute_force(g) == width


@pytest.mark.parametrize("cell", ["darts", "nasnet"])
def test_antichain_width_agrees_with_networkx_on_cells(cell: str) -> None:
    g = build_generated(f"cells:cell={cell},cells=4,seed=7")
    assert antichain_width(g) == _width_by_networkx(g)


@pytest.mark.parametrize(
    ("ops", "width", "seed"),
    [(100, 4, 0), (100, 16, 1), (250, 7, 2), (500, 12, 3), (1000, 16, 4), (1000, 4, 5)],
)
def test_wide_has_exact_ops_and_width(ops: int, width: int, seed: int) -> None:
    g = build_generated(f"wide:ops={ops},width={width},seed={seed}")
    assert g.num_ops == ops
    assert antichain_width(g) == width
    if ops <= 250:
        assert _width_by_networkx(g) == width


def test_wide_is_deterministic_and_seeded() -> None:
    a = build_generated("wide:ops=300,width=8,seed=3")
    b = build_generated("wide:width=8, seed=3 ,ops=300")
    c = build_generated("wide:ops=300,width=8,seed=4")
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    assert a.name == b.name == "wide:ops=300,width=8,seed=3"
    cells = [build_generated("cells:cell=nasnet,cells=6,seed=2").fingerprint() for _ in range(2)]
    assert cells[0] == cells[1] != build_generated("cells:cell=nasnet,cells=6,seed=3").fingerprint()


def test_canonical_names() -> None:
    assert canonical_spec("wide:seed=0,width=8,ops=400") == "wide:ops=400,width=8,seed=0"
    assert canonical_spec("wide:ops=400,width=8") == "wide:ops=400,width=8,seed=0"
    assert canonical_spec("wide:ops=400,width=8,res=224") == "wide:ops=400,width=8,seed=0"
    assert canonical_spec("wide:ops=400,width=8,res=64") == "wide:ops=400,width=8,seed=0,res=64"
    assert canonical_spec("cells:") == "cells:cell=darts,cells=5,seed=0"
    assert canonical_spec("cells:channels=32,cell=nasnet") == "cells:cell=nasnet,cells=5,channels=32,seed=0"
    assert set(GENERATORS) == {"wide", "cells"}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("wide:ops=99,width=8", ["ops=", "100..1000", "e.g. wide:"]),
        ("wide:ops=1001,width=8", ["ops=", "100..1000"]),
        ("wide:ops=four,width=8", ["ops=", "100..1000"]),
        ("wide:ops=400,width=3", ["width=", "4..16"]),
        ("wide:ops=400,width=17", ["width=", "4..16"]),
        ("wide:ops=400,width=8,seed=-1", ["seed=", "0..2147483647"]),
        ("wide:ops=400,width=8,res=100", ["res=", "32..512", "multiple of 32"]),
        ("wide:ops=400,width=8,res=1024", ["res=", "32..512"]),
        ("wide:ops=400,width=8,channels=12", ["channels=", "8..128", "multiple of 8"]),
        ("wide:ops=400,width=8,depth=3", ["'depth=3'", "keys are ops, width, seed, res, channels"]),
        ("wide:ops=400,width=8,ops=500", ["'ops' is given twice"]),
        ("wide:width=8", ["'ops' is missing", "100..1000"]),
        ("wide:ops=400", ["'width' is missing", "4..16"]),
        ("wide:ops400", ["'ops400'", "key=value"]),
        ("cells:cell=enas", ["cell=", "darts|nasnet", "e.g. cells:"]),
        ("cells:cells=2", ["cells=", "3..20"]),
        ("cells:cells=21", ["cells=", "3..20"]),
        ("cells:channels=4", ["channels=", "8..64"]),
        ("cells:channels=20", ["channels=", "multiple of 8"]),
        ("cells:seed=x", ["seed="]),
        ("cells:res=48", ["res=", "multiple of 32"]),
    ],
)
def test_every_key_is_validated(spec: str, words: list[str]) -> None:
    with pytest.raises(FusePlanError) as err:
        build_generated(spec)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_unknown_prefix_through_load_graph() -> None:
    with pytest.raises(FusePlanError, match="unknown generated net 'deep'.*cells, wide"):
        load_graph("deep:ops=100")


def _check_structure(g: Graph) -> None:
    for op in g.ops:  # topological: every input exists before the op
        for t in op.inputs:
            producer = g.tensors[t].producer
            assert producer is None or producer < op.id
        shapes = [g.tensors[t].shape for t in op.inputs]
        out = g.tensors[op.output].shape
        if op.kind == "Add":
            assert len(shapes) == 2 and shapes[0] == shapes[1] == out
        if op.kind == "Concat":
            assert out[0] == sum(s[0] for s in shapes)
            assert all(s[1:] == out[1:] for s in shapes)
        if op.kind == "Conv":
            cout, cin_per_group, k, _ = op.param_shapes[0]
            assert op.params == cout * cin_per_group * k * k + cout
            assert shapes[0][0] == cin_per_group * op.attr("group")
        if op.kind in ("Relu", "MaxPool", "AveragePool", "Add", "Concat", "GlobalAveragePool"):
            assert op.params == 0
    assert nx.is_directed_acyclic_graph(g.to_networkx())
    assert nx.is_weakly_connected(g.to_networkx())


@pytest.mark.parametrize(
    "spec",
    ["wide:ops=400,width=8,seed=0", "wide:ops=1000,width=16,seed=1,res=64,channels=16",
     "cells:cell=darts,cells=5,seed=0", "cells:cell=nasnet,cells=8,seed=1"],
)
def test_shapes_and_params_are_consistent(spec: str) -> None:
    _check_structure(build_generated(spec))


def test_wide_hand_checked_stem_and_head() -> None:
    g = build_generated("wide:ops=200,width=6,seed=0")  # channels 32, res 224
    conv, relu, pool = g.ops[:3]
    assert conv.params == 32 * 3 * 3 * 3 + 32 == 896
    assert g.tensors[conv.output].shape == (32, 112, 112)
    assert (relu.kind, pool.kind, g.tensors[pool.output].shape) == ("Relu", "MaxPool", (32, 56, 56))
    gap, gemm = g.ops[-2:]
    assert g.tensors[gap.inputs[0]].shape == (256, 7, 7)  # 32 * 2**3
    assert gap.is_global and gap.k == 7
    assert gemm.params == 256 * 1000 + 1000
    downs = [op for op in g.ops if op.kind == "Conv" and op.s == 2]
    assert [g.tensors[op.output].shape for op in downs] == [
        (32, 112, 112), (64, 28, 28), (128, 14, 14), (256, 7, 7)
    ]


def test_darts_cells_hand_checked_shapes() -> None:
    # channels 16; stems: 224 -> 112 -> 56 (s0) -> 28 (s1); 5 cells, reductions at 1 and 3
    g = build_generated("cells:cell=darts,cells=5,channels=16,seed=0")
    outs = [op for op in g.ops if op.kind == "Concat" and op.name.startswith("/cell") and "/out/" in op.name]
    assert [g.tensors[op.output].shape for op in outs] == [
        (64, 28, 28), (128, 14, 14), (128, 14, 14), (256, 7, 7), (256, 7, 7)
    ]
    assert all(len(op.inputs) == 4 for op in outs)
    assert g.ops[-1].params == 256 * 1000 + 1000
    dil = [op for op in g.ops if op.attr("dilations") == (2, 2)]
    assert all(op.k == 2 * (op.attr("kernel_shape")[0] - 1) + 1 for op in dil)


def test_loadable_by_name() -> None:
    g = load_graph("wide:ops=150,width=5,seed=9")
    assert g.num_ops == 150 and g.name == "wide:ops=150,width=5,seed=9"
    assert load_graph("cells:cells=3").name == "cells:cell=darts,cells=3,seed=0"


def test_fuseplan_graph_command_accepts_a_generated_net() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fuseplan", "graph", "wide:ops=120,width=4,seed=0"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "120" in out.stdout


@pytest.mark.parametrize("spec", ["wide:ops=300,width=8,seed=0", "cells:cell=darts,cells=4,seed=0",
                                  "cells:cell=nasnet,cells=4,seed=0"])
@pytest.mark.parametrize("scheme", ["lbdf", "brr"])
def test_both_cost_models_price_generated_nets(spec: str, scheme: str) -> None:
    from fuseplan.models.cost import make_cost_model

    g = build_generated(spec)
    model = make_cost_model(scheme, g, 1)
    assert all(model.buffer_bytes(1 << v) > 0 for v in range(g.num_ops))
    # the whole net as one group with room for everything: every weight once, the input
    # image (3 x 224 x 224) and the 1000 logits, per docs/cost-models.md's lower bound
    whole = model.group_cost((1 << g.num_ops) - 1, 2**40)
    assert whole.fits and whole.dram_bytes == g.total_params + 3 * 224 * 224 + 1000
