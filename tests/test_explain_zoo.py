"""Every repair strategy on every zoo net through the same call (``explain_group``), checked
by ``benchmarks/explain_zoo.py``: a cut that partitions the group, is one of its cuts, has no
edge back from the second half into the first and structurally valid halves, or "no cut"
only where the group has none. Slow: GNNExplainer (100 optimisation steps per explanation)
is left to the benchmark itself (``benchmarks/results/explain_zoo.md``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_fast_strategy_gives_a_correct_cut_on_every_zoo_net() -> None:
    from fuseplan.models.zoo import NAMES

    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "explain_zoo.py"), "--schemes", "lbdf",
         "--strategies", "cost,random,pgexplainer,rgexplainer,ig"],
        capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "failures: 0" in run.stdout
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ")][1:]
    assert {row.split(" | ")[0].strip("| ") for row in rows} == set(NAMES)
    assert not any("FAIL" in row or "no invalid group" in row for row in rows)
