"""A normal (non-editable) install carries every module under `fuseplan.*` and nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("fuseplan-*.whl")
    return whl


def test_wheel_holds_only_the_fuseplan_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"fuseplan"}


def test_wheel_holds_every_source_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for layer in ("models", "explain", "solver"):
        for path in (ROOT / layer).rglob("*"):
            if path.suffix in {".py", ".json", ".yaml", ".pt"} and "__pycache__" not in path.parts:
                rel = "fuseplan/" + path.relative_to(ROOT).as_posix()
                assert rel in names, f"{rel} is missing from the wheel"


def test_installed_wheel_runs_the_cli(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, text=True,
    )
    code = (
        "import fuseplan.solver.cli as c, fuseplan.models.graph as g; "
        "print(c.__file__.startswith(r'%s'), g.__file__.startswith(r'%s'))" % (target, target)
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, r'{target}'); {code}"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    assert out.stdout.split() == ["True", "True"]


def test_wheel_ships_the_validity_checkpoints(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for scheme in ("lbdf", "brr"):
        for suffix in (".pt", ".json"):
            assert f"fuseplan/explain/checkpoints/{scheme}{suffix}" in names
