"""Atomic writes leave a file with the mode a plain write would give it (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fuseplan.models.fileio import write_json_atomic, write_text_atomic


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.csv", "x\n")
        write_json_atomic(tmp_path / "p.json", {"a": 1})
        os.umask(0o077)
        write_text_atomic(tmp_path / "private.txt", "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "p.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600
    assert (tmp_path / "p.json").read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
