"""BRR against numbers worked out by hand from docs/cost-models.md (int8 unless stated)."""

from __future__ import annotations

import itertools

from cost_graphs import (
    concat_block,
    conv_chain,
    dilated_chain,
    down_up_block,
    residual_block,
    se_block,
    upsample_block,
    wide_then_thin,
)

from fuseplan.models.cost import BrrModel, LbdfModel

KB = 1024


def test_worked_example_f_beta() -> None:
    m = BrrModel(residual_block())
    # n = 56, streamed: max W 36,928 + rows x 1 + 4, t1 1 + 2, t2 1, output 1 = 10 rows
    assert m.buffer_bytes(0b111) == 36_928 + 10 * 3_584 == 72_768
    bd = m.buffer_breakdown(0b111)
    assert (bd.tiles, bd.weights_mode, bd.total_bytes) == (56, "streamed", 72_768)


def test_worked_example_at_128_kb() -> None:
    m = BrrModel(residual_block())
    cost = m.group_cost(0b111, 128 * KB)
    # n = 28 resident: rows x 2 + 4, t1 2 + 2, t2 2, out 2 = 14 rows -> B = 124,032 < 131,072
    # (n = 27: ceil(56/27) = 3 -> 18 rows -> 138,368, too big)
    assert (cost.tiles, cost.weights, cost.tiling_buffer_bytes) == (28, "resident", 124_032)
    # D = 73,856 + min(28 * 56, 56 + 27 * 4) * 3,584 + 200,704
    assert cost.dram_bytes == 73_856 + 164 * 3_584 + 200_704 == 862_336
    assert cost.buffer_bytes == 72_768
    assert m.dram_bytes(0b111, 128 * KB) == 862_336


def test_worked_example_at_256_kb() -> None:
    m = BrrModel(residual_block())
    cost = m.group_cost(0b111, 256 * KB)
    # resident needs 4c + 6 rows <= 52 with c = ceil(56/n): c = 10 at n = 6 (n = 5: c = 12)
    assert (cost.tiles, cost.weights) == (6, "resident")
    assert cost.dram_bytes == 73_856 + (56 + 5 * 4) * 3_584 + 200_704 == 546_944


def test_strict_fit_at_f_beta() -> None:
    m = BrrModel(residual_block())
    assert m.dram_bytes(0b111, 72_768) is None
    assert not m.group_cost(0b111, 72_768).fits
    # at F_beta + 1 only n = 56 streamed fits: D = 56 * 73,856 + (56 + 55 * 4) * 3,584
    # + 200,704
    cost = m.group_cost(0b111, 72_769)
    assert (cost.tiles, cost.weights) == (56, "streamed")
    assert cost.dram_bytes == 56 * 73_856 + 276 * 3_584 + 200_704


def test_group_that_does_not_fit_reports_unbounded_traffic() -> None:
    cost = BrrModel(residual_block()).group_cost(0b111, 1_000)
    assert not cost.fits and cost.tiles is None and cost.tiling_buffer_bytes is None
    assert cost.dram_bytes == 475_264  # W + S(In) + S(Out)


def test_chain_n1_vs_n_h_and_the_tie_rule() -> None:
    m = BrrModel(conv_chain())
    # halo(x) = 2 + 2 = 4, halo(t1) = 2; rows of 512 B; H = 32
    # F_beta: n = 32 streamed: 2,320 + (5 + 3 + 1) rows
    assert m.buffer_bytes(0b11) == 2_320 + 9 * 512 == 6_928
    # n = 1 resident: 4,640 + 3 * 32 rows = 53,792. Just above it, n = 1 resident and
    # n = 1 streamed have the same D (weights read once): the tie goes to resident.
    one = m.group_cost(0b11, 53_793)
    assert (one.tiles, one.weights, one.dram_bytes) == (1, "resident", 4_640 + 2 * 16_384)
    # at exactly 53,792 resident needs n = 2 (D = 4,640 + 36 * 512 + 16,384 = 39,456) but
    # streamed n = 1 fits (2,320 + 49,152 = 51,472) with D = 37,408: streamed wins
    s = m.group_cost(0b11, 53_792)
    assert (s.tiles, s.weights, s.dram_bytes) == (1, "streamed", 37_408)
    # at 51,472 streamed n = 1 no longer fits; n = 2 resident: 4,640 + 54 rows = 32,288 fits
    r = m.group_cost(0b11, 51_472)
    assert (r.tiles, r.weights, r.dram_bytes) == (2, "resident", 39_456)
    # just above F_beta only n = H = 32 streamed fits (n = 31 gives 2-row tiles, 12 rows)
    h = m.group_cost(0b11, 6_929)
    assert (h.tiles, h.weights) == (32, "streamed")
    assert h.dram_bytes == 32 * 4_640 + (32 + 31 * 4) * 512 + 16_384 == 244_736


def test_halo_is_rounded_up_to_whole_rows() -> None:
    m = BrrModel(upsample_block())
    # halo(x) = ceil((2 - 1) * 7/14) = 1, halo(u) = 1, halo(c) = 0; n_max = 14
    # F_beta at n = 14 streamed: 68 + x min(7, 1 + 1) * 28 + u 2 * 56 + c 1 * 56 + out 56
    assert m.buffer_bytes(0b111) == 68 + 56 + 112 + 56 + 56 == 348
    prof = m.profile(0b111)
    assert {t: halo for t, _, halo, _ in prof.read} == {0: 1, 1: 1, 2: 0}


def test_se_block_holds_whole_maps() -> None:
    m = BrrModel(se_block())
    # halo(x) = halo(a) = 7 (the pool), 1-row tensors 56 B, out y 1 row of 128 B at n = 8
    assert m.buffer_bytes(0b1111111) == 272 + 8 * 128 + 8 * 128 + 56 + 128 == 2_504


def test_concat_and_dilated_halos() -> None:
    # concat: halo(x) = 4 (b3a, b3b), halo(p3a) = 4; n = 16 streamed, max W 404
    assert BrrModel(concat_block()).buffer_bytes(0b11111) == (
        404 + 5 * 128 + 3 * 64 + 5 * 64 + 192
    )
    # dilated: halo(x) = 4 + 2 = 6, halo(t1) = 2; n = 32 streamed: 584 + 11 rows of 256
    assert BrrModel(dilated_chain()).buffer_bytes(0b11) == 584 + 11 * 256 == 3_400


def test_f_beta_can_drop_when_an_op_joins() -> None:
    m = BrrModel(down_up_block())
    # {down}: n_max = 28: x min(56, 2 + 1) rows of 3,584, y 1 row of 28
    assert m.buffer_bytes(0b01) == 256 + 3 * 3_584 + 28 == 11_036
    # {down, up}: n_max = 56: x 1 + 1 rows, y 1 row, z 1 row of 56
    assert m.buffer_bytes(0b11) == 256 + 2 * 3_584 + 28 + 56 == 7_508
    # the lower bound does not drop: 256 + 2 rows of x (halo 1) ...
    assert m.buffer_lower_bound(0b01) == 256 + 2 * 3_584
    assert m.buffer_lower_bound(0b11) == 256 + 2 * 3_584 + 28
    # ... while LBDF's F_beta does not drop either
    lbdf = LbdfModel(down_up_block())
    assert lbdf.buffer_bytes(0b11) >= lbdf.buffer_bytes(0b01)


def test_union_can_cost_more_than_its_parts() -> None:
    m = BrrModel(wide_then_thin())
    beta = 811_000
    # a alone, n = 1 resident: 2,305 + S(x) 802,816 + S(y) 3,136 = 808,257 < beta
    assert m.dram_bytes(0b01, beta) == 808_257
    # b alone: 10 + 3,136 + 3,136
    assert m.dram_bytes(0b10, beta) == 6_282
    # together n = 1 needs 811,403 (resident) / 811,393 (streamed) >= beta, so n = 2:
    # x is read 56 + 4 rows of 14,336 B
    assert m.dram_bytes(0b11, beta) == 2_315 + 60 * 14_336 + 3_136 == 865_611
    assert 865_611 > 808_257 + 6_282


def _brute_force(m: BrrModel, mask: int, beta: int) -> tuple[int, str, int] | None:
    """Every (n, mode) from the formulas, with the tie rule: least D, smallest n, resident."""
    prof = m.profile(mask)
    best = None
    for n, mode in itertools.product(range(1, prof.n_max + 1), ("resident", "streamed")):
        w = prof.weight_sum if mode == "resident" else prof.weight_max
        if w + prof.tensor_bytes(n) >= beta:
            continue
        key = (prof.dram(n, mode), n, mode != "resident")
        if best is None or key < best[0]:
            best = (key, (n, mode, key[0]))
    return None if best is None else best[1]


def test_binary_search_matches_brute_force_over_all_tilings() -> None:
    for build, mask in [
        (residual_block, 0b111),
        (conv_chain, 0b11),
        (concat_block, 0b11111),
        (upsample_block, 0b111),
        (wide_then_thin, 0b11),
    ]:
        m = BrrModel(build())
        f_beta = m.buffer_bytes(mask)
        full = m.profile(mask).weight_sum + m.profile(mask).full_tensor_bytes
        for beta in sorted({f_beta, f_beta + 1, full, full + 1, *range(f_beta, full + 2,
                                                                         max(1, full // 97))}):
            got = m.tiling(mask, beta)
            want = _brute_force(m, mask, beta)
            if want is None:
                assert got is None and m.dram_bytes(mask, beta) is None
            else:
                assert got is not None
                assert (got.tiles, got.weights, got.dram_bytes) == want
                assert m.dram_bytes(mask, beta) == want[2]


def test_dead_end_paths_give_no_halo() -> None:
    from fuseplan.models.graph import GraphBuilder

    g = GraphBuilder("dead_end")
    x = g.input("x", 2, 10, 10)
    y = g.op("a", "Conv", [x], (2, 10, 10), params=10, k=3)
    g.op("d", "Conv", [x], (2, 10, 10), params=20, k=5)  # read by nobody, not an output
    g.output(y)
    m = BrrModel(g.build())
    # {a, d}: halo(x) = 2 through a (d's 5x5 leads nowhere), n_max = 10, rows of 20 B:
    # max W 20 + x min(10, 1 + 2) rows + one output row of y
    assert m.buffer_bytes(0b11) == 20 + 3 * 20 + 20 == m.profile(0b11).buffer_bytes


def test_brr_is_a_cost_model_and_scales_with_bytes_per_element() -> None:
    from fuseplan.models.cost import CostModel, make_cost_model

    m = make_cost_model("brr", residual_block(), 2)
    assert isinstance(m, CostModel) and m.name == "brr"
    # every byte figure doubles; the tiling at twice the buffer is the same
    assert m.buffer_bytes(0b111) == 2 * 72_768
    assert m.dram_bytes(0b111, 2 * 128 * KB) == 2 * 862_336


def test_unfused_can_cost_less_than_fused_under_brr() -> None:
    """The contract's example: a 3x3 conv 64->64 on 56x56, int8."""
    from fuseplan.models.cost import unfused_cost
    from fuseplan.models.graph import GraphBuilder

    g = GraphBuilder("one_conv")
    x = g.input("x", 64, 56, 56)
    g.output(g.op("c", "Conv", [x], (64, 56, 56), params=36_928, k=3))
    graph = g.build()
    m = BrrModel(graph)
    # F_beta = 36,928 + (1 + 2) rows of x + 1 output row = 51,264 >= 50 KB: unfusable
    assert m.buffer_bytes(1) == 51_264 and m.dram_bytes(1, 50 * KB) is None
    assert unfused_cost(graph, 0, 1).dram_bytes == 36_928 + 2 * 200_704 == 438_336
    # at 64 KB resident fits with 2c + 2 <= 7 rows, c = ceil(56/n) = 2, n = 28:
    # D = 36,928 + (56 + 27 * 2) * 3,584 + 200,704
    assert m.dram_bytes(1, 64 * KB) == 631_872
