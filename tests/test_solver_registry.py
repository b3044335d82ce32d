"""The method registry: every method is exact or heuristic, has a one-line description that
`fuseplan solve --help` shows, and the descriptions quote the numbers the code uses."""

from __future__ import annotations

import subprocess
import sys

from fuseplan.solver.api import METHODS, MethodInfo, method_function, method_names


def test_every_method_is_typed_and_loads() -> None:
    for name, info in METHODS.items():
        assert isinstance(info, MethodInfo)
        assert info.kind in ("exact", "heuristic"), name
        assert info.description and "\n" not in info.description, name
        assert callable(method_function(name))
    assert set(method_names("exact")) | set(method_names("heuristic")) == set(METHODS)
    assert method_names() == list(METHODS)


def test_solve_help_shows_every_description() -> None:
    out = subprocess.run([sys.executable, "-m", "fuseplan", "solve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    for name, info in METHODS.items():
        assert f"{name} {info.kind}: {info.description}" in flat, name


def test_descriptions_quote_the_code_s_numbers() -> None:
    from fuseplan.solver.exact import astar, auto, cpsat, ideals

    text = METHODS["auto"].description
    assert f"{auto.AUTO_IDEAL_CAP:,}" in text and f"{auto.FEW_IDEALS:,}" in text
    assert f"{100 * astar.PASSES_WITHIN:.0f} %" in text
    assert "astar" in text and "ideals" in text and "cpsat" not in text
    assert f"{cpsat.FLOW_CAP:,}" in METHODS["cpsat"].description
    assert f"{ideals.IDEAL_CAP:,}" in METHODS["ideals"].description
