"""The README's "From Python" section runs as written (a doctest, in a temporary folder)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from fuseplan.solver.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_section() -> str:
    text = README.read_text()
    section = text.split("### From Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: the From Python section has no python block"
    return match.group(1)


def test_readme_from_python_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(_python_section(), {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 4
    assert main(["validate", "plan.json"]) == 0  # the saved plan re-checks on its own
    assert (tmp_path / "groups.csv").read_text().startswith("group,first_op")
