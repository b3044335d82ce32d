"""The best-known yardstick (benchmarks/best_known.py) and the 3x verdict of bench_hybrid.py."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import best_known as bk  # noqa: E402
from bench_hybrid import Run, median_time, time_within, verdict, yardstick  # noqa: E402


def entry(fusible: int, status: str, bound: int | None, method: str = "auto") -> bk.Entry:
    return bk.Entry(net="googlenet", instance="googlenet", scheme="brr", buffer_kb=1024,
                    fusible=fusible, status=status, bound=bound, method=method,
                    time_limit_s=600, wall_s=12.0, command="fuseplan solve googlenet",
                    date="2026-12-03T06:00Z", load="1.00 -> 1.00", peak_rss_mb=None)


def test_best_is_least_fusible_and_bound_is_greatest(tmp_path: Path) -> None:
    path = tmp_path / "bk.jsonl"
    bk.append(entry(120, "FEASIBLE", 90), path)
    bk.append(entry(110, "FEASIBLE", 80, method="hybrid"), path)
    known = bk.best_known(path)[("googlenet", "brr", 1024)]
    assert (known.fusible, known.entry.method, known.bound, known.runs) == (110, "hybrid", 90, 2)
    assert not known.proven
    assert abs(known.gap_percent - 100 * 20 / 110) < 1e-9


def test_optimal_wins_a_tie_and_has_no_gap(tmp_path: Path) -> None:
    path = tmp_path / "bk.jsonl"
    bk.append(entry(100, "FEASIBLE", 70), path)
    bk.append(entry(100, "OPTIMAL", 100), path)
    known = bk.best_known(path)[("googlenet", "brr", 1024)]
    assert known.proven and known.gap_percent == 0.0


def test_entry_from_plan_reads_the_plan_json() -> None:
    plan = {"scheme": "lbdf", "buffer_bytes": 2 * 1024 * 1024,
            "totals": {"fusible_dram_bytes": 1234},
            "solve": {"status": "FEASIBLE", "bound_bytes": 1000}}
    e = bk.entry_from_plan(plan, "inception_v3", "inception_v3", "auto", 600, 600.04, "cmd",
                           "d", "1 -> 2", 10.0)
    assert (e.scheme, e.buffer_kb, e.fusible, e.bound, e.wall_s) == ("lbdf", 2048, 1234, 1000,
                                                                     600.0)
    assert json.loads(json.dumps(asdict(e)))["status"] == "FEASIBLE"


def run(method: str, fusible: int, curve: tuple[tuple[float, int], ...], seed: int = 0) -> Run:
    return Run("googlenet", "brr", 1024, method, seed, "cmd", 31.0, "FEASIBLE", fusible, None,
               curve, "")


def test_yardstick_prefers_the_long_run_unless_beaten() -> None:
    known = bk.BestKnown(entry(100, "OPTIMAL", 100), 100, 1)
    assert yardstick([run("auto", 105, ())], known)[0] == 100
    assert yardstick([run("auto", 99, ())], known)[0] == 99  # a run beats it: say so, use it
    assert yardstick([run("auto", 105, ())], None)[0] == 105


def test_time_within_one_percent_of_the_yardstick() -> None:
    r = run("hybrid", 100, ((1.0, 120), (2.5, 101), (9.0, 100)))
    assert time_within(r, 100) == 2.5  # 101 <= 1.01 * 100
    assert time_within(r, 90) is None  # 100 > 90.9


def test_median_counts_never_as_largest() -> None:
    assert median_time([3.0, None, 1.0, None, 2.0]) == 3.0
    assert median_time([None, None, 1.0]) is None


def test_verdict_three_times_sooner() -> None:
    hybrid = [run("hybrid", 100, ((t, 100),), seed=s) for s, t in enumerate((2.0, 3.0, 4.0))]
    fast_rival = [run("auto", 100, ((6.0, 100),))]
    slow_rival = [run("auto", 100, ((12.0, 100),))]
    assert "ratio 2.0x, hybrid NOT 3x sooner" in verdict(hybrid + fast_rival, 100)
    assert "ratio 4.0x, hybrid 3x sooner" in verdict(hybrid + slow_rival, 100)
    assert "no other method gets within 1 %" in verdict(hybrid + [run("auto", 200, ())], 100)
    never = [run("hybrid", 200, (), seed=s) for s in range(3)]
    assert "NOT 3x sooner" in verdict(never + slow_rival, 100)
