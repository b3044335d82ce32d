"""LBDF against numbers worked out by hand from docs/cost-models.md (int8 unless stated)."""

from __future__ import annotations

import pytest
from cost_graphs import (
    concat_block,
    conv_chain,
    depthwise_separable,
    dilated_chain,
    residual_block,
    se_block,
    upsample_block,
)

from fuseplan.models.cost import (
    SCHEMES,
    CostModel,
    LbdfModel,
    lower_bound_bytes,
    make_cost_model,
    register_scheme,
    unfused_cost,
    unregister_scheme,
)
from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph, GraphBuilder

KB = 1024


def test_worked_example_residual_block() -> None:
    m = LbdfModel(residual_block())
    group = 0b111  # c1, c2, add
    # R(x) = 5 (D = 4), R(t1) = 3, R(t2) = 1: 9 rows of 3,584 B + W 2 * 36,928
    assert m.buffer_bytes(group) == 73_856 + 9 * 3_584 == 106_112
    # W + S(x) + S(out) = 73,856 + 200,704 + 200,704
    assert m.dram_bytes(group, 128 * KB) == 475_264
    cost = m.group_cost([0, 1, 2], 128 * KB)
    assert (cost.weight_bytes, cost.input_bytes, cost.output_bytes) == (73_856, 200_704, 200_704)
    assert cost.fits and cost.tiles is None


def test_worked_example_with_separate_relu() -> None:
    m = LbdfModel(residual_block(relu=True))
    # R(x) = 5, R(c1 out) = 1 (read by the relu, k = 1), R(relu out) = 3, R(c2 out) = 1
    assert m.buffer_bytes(0b1111) == 73_856 + 10 * 3_584 == 109_696


def test_fits_is_strict_at_the_boundary() -> None:
    m = LbdfModel(residual_block())
    assert m.dram_bytes(0b111, 106_112) is None
    assert m.dram_bytes(0b111, 106_113) == 475_264
    assert not m.group_cost(0b111, 106_112).fits
    assert m.group_cost(0b111, 106_113).fits


def test_bytes_per_element_scales_everything() -> None:
    m = LbdfModel(residual_block(), bytes_per_element=2)
    assert m.buffer_bytes(0b111) == 2 * 106_112
    assert m.dram_bytes(0b111, 10**9) == 2 * 475_264


def test_chain_of_two_3x3_convs() -> None:
    m = LbdfModel(conv_chain())
    # rows of 16 * 32 = 512 B: R(x) = 3, R(t1) = 3; W = 2 * 2,320
    assert m.buffer_bytes(0b11) == 4_640 + 6 * 512 == 7_712
    # S = 16 * 32 * 32 = 16,384 for x and y
    assert m.dram_bytes(0b11, 10**6) == 4_640 + 2 * 16_384 == 37_408
    # c1 alone: W + 3 rows of x; its output leaves the group
    assert m.buffer_bytes(0b01) == 2_320 + 3 * 512
    assert m.dram_bytes(0b01, 10**6) == 2_320 + 2 * 16_384


def test_depthwise_separable_block() -> None:
    m = LbdfModel(depthwise_separable())
    # rows of 32 * 112 = 3,584 B: R(x) = 3, R(dw out) = 1, R(relu out) = 1; W = 320 + 2,112
    assert m.buffer_bytes(0b111) == 2_432 + 5 * 3_584 == 20_352
    # S(x) = 401,408, S(y) = 64 * 112 * 112 = 802,816
    assert m.dram_bytes(0b111, 10**6) == 2_432 + 401_408 + 802_816


def test_se_block_holds_whole_maps() -> None:
    m = LbdfModel(se_block())
    # x is read by c1 only (K = 1) but the mul's paths from x differ by the global pool:
    # h = (8 - 1) * 8/8 = 7, so D(x) = 7 and R(x) = min(8, 8) = 8. R(a) = K = 8 (gap).
    # 1-row tensors g, f1, r1, f2, s: 16 + 4 + 4 + 16 + 16 = 56 B. W = 272 + 68 + 80.
    assert m.buffer_bytes(0b1111111) == 420 + 8 * 128 + 8 * 128 + 56 == 2_524
    # without c1 the group reads a whole (K = 8 through the pool) and nothing else of x
    assert m.buffer_bytes(0b1111110) == 148 + 8 * 128 + 56
    # mul alone: one row of a and of s
    assert m.buffer_bytes(1 << 6) == 128 + 16


def se_block_with_skip() -> Graph:
    """se_block (ops 0-6, mul's output m) plus a skip: c3, a 3x3 conv 16->16 on x
    (W = 2,320, op 7) -> u, and add(m, u) (op 8)."""
    base = se_block()
    g = GraphBuilder("se_block_with_skip")
    x = g.input("x", 16, 8, 8)
    a = g.op("c1", "Conv", [x], (16, 8, 8), params=base.ops[0].params)
    t = g.op("gap", "GlobalAveragePool", [a], (16, 1, 1), k=8, is_global=True)
    t = g.op("fc1", "Conv", [t], (4, 1, 1), params=base.ops[2].params)
    t = g.op("relu", "Relu", [t], (4, 1, 1))
    t = g.op("fc2", "Conv", [t], (16, 1, 1), params=base.ops[4].params)
    s = g.op("sigmoid", "Sigmoid", [t], (16, 1, 1))
    m = g.op("mul", "Mul", [a, s], (16, 8, 8))
    u = g.op("c3", "Conv", [x], (16, 8, 8), params=16 * 16 * 9 + 16, k=3)
    g.output(g.op("add", "Add", [m, u], (16, 8, 8)))
    return g.build()


def test_delay_capped_in_a_bigger_group_holds_in_any_order() -> None:
    # one model, groups asked biggest first: the delay of x found capped at H in the big
    # group (its paths into the mul differ by the pool) is reused only for the groups that
    # still hold those paths. Rows of the 16x8x8 maps are 128 B.
    m = LbdfModel(se_block_with_skip())
    # W = 272 + 68 + 80 + 2,320; R(x) = R(a) = 8; 1-row g, f1, r1, f2, s (56 B); m, u 1 row
    assert m.buffer_bytes(0b111111111) == 2_740 + 8 * 128 + 8 * 128 + 56 + 2 * 128 == 5_100
    # without the pool x reaches the add by c1 -> mul (h 0) and c3 (h 2): D(x) = 2,
    # R(x) = 3; a, m, u one row; s (16 B a row) comes from outside
    assert m.buffer_bytes(0b111000001) == 272 + 2_320 + 3 * 128 + 3 * 128 + 16 == 3_376
    assert m.buffer_bytes(0b1111111) == 2_524  # se_block alone
    m.clear_cache()
    assert m.buffer_bytes(0b111000001) == 3_376


def test_concat_block_with_different_kernel_paths() -> None:
    m = LbdfModel(concat_block())
    # paths from x into the concat: 0 (b1), 2 (b2), 0 + 4 (b3a, b3b): D(x) = 4, R(x) = 5
    # R(p1) = R(p2) = R(p3) = 1, R(p3a) = 5 (b3b's kernel); rows: x 128 B, others 64 B
    assert m.buffer_bytes(0b11111) == 768 + 5 * 128 + 3 * 64 + 5 * 64 == 1_920
    # without b3a/b3b: paths 0 and 2, D = 2, R(x) = max(3, 3) = 3; one row each of p1, p2
    # and of p3, which now comes from outside the group
    assert m.buffer_bytes(0b10011) == 36 + 292 + 3 * 128 + 3 * 64


def test_upsample_makes_fractional_delay() -> None:
    m = LbdfModel(upsample_block())
    # paths from x (H 7) into the add: up, c: (2 - 1) * 7/14 = 1/2; up: 0 -> D(x) = 1/2,
    # R(x) = ceil(max(1, 3/2)) = 2 rows of 28 B. u: K = 2, D = 1 -> 2 rows of 56 B.
    # c out: 1 row of 56 B. W = 68.
    assert m.buffer_bytes(0b111) == 68 + 2 * 28 + 2 * 56 + 56 == 292
    # up alone reads one row of x
    assert m.buffer_bytes(0b001) == 28


def test_dilated_conv_uses_the_dilated_kernel_height() -> None:
    m = LbdfModel(dilated_chain())
    # k(c1) = 2 * (3 - 1) + 1 = 5 rows of x, 3 rows of t1, rows of 256 B, W = 2 * 584
    assert m.buffer_bytes(0b11) == 1_168 + 8 * 256 == 3_216


def test_unfusable_op_and_its_unfused_cost() -> None:
    graph = conv_chain()
    m = LbdfModel(graph)
    buffer = 2_320 + 3 * 512  # exactly c1's F_beta: c1 cannot run even alone
    assert m.buffer_bytes(1 << 0) >= buffer
    assert m.dram_bytes(1 << 0, buffer) is None
    cost = unfused_cost(graph, 0, 1)
    # W 2,320 + S(x) 16,384 + S(t1) 16,384
    assert cost.dram_bytes == 35_088 and not cost.fits
    assert (cost.weight_bytes, cost.input_bytes, cost.output_bytes) == (2_320, 16_384, 16_384)


def test_lower_bound_is_weights_inputs_outputs() -> None:
    assert lower_bound_bytes(residual_block()) == 73_856 + 200_704 + 200_704
    assert lower_bound_bytes(conv_chain(), 2) == 2 * (4_640 + 2 * 16_384)


def test_breakdown_sums_to_f_beta() -> None:
    m = LbdfModel(residual_block())
    bd = m.buffer_breakdown(0b111)
    assert bd.total_bytes == 106_112
    assert {t.tensor: t.rows for t in bd.tensors} == {0: 5, 1: 3, 2: 1}
    assert dict(bd.weights) == {0: 36_928, 1: 36_928, 2: 0}


def test_factory_registry_and_errors() -> None:
    graph = conv_chain()
    assert {"lbdf", "brr"} <= set(SCHEMES)
    model = make_cost_model("LBDF", graph, 2)
    assert isinstance(model, CostModel) and model.bytes_per_element == 2
    with pytest.raises(FusePlanError, match="unknown cost scheme"):
        make_cost_model("nope", graph)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(FusePlanError, match="bytes per element"):
            make_cost_model("lbdf", graph, bad)  # type: ignore[arg-type]
    with pytest.raises(FusePlanError, match="not a non-empty set"):
        LbdfModel(graph).group_cost(0b100, 10**6)

    class Doubled(LbdfModel):
        name = "lbdf2"

        def buffer_bytes(self, group: int) -> int:
            return 2 * super().buffer_bytes(group)

    register_scheme("lbdf2", Doubled)
    try:
        assert "lbdf2" in SCHEMES
        assert make_cost_model("lbdf2", graph).buffer_bytes(0b11) == 2 * 7_712
    finally:
        unregister_scheme("lbdf2")
