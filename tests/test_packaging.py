"""The package layout: every subpackage is listed, imports flow models <- explain <- solver."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"models": 0, "explain": 1, "solver": 2}


def _listed_packages() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"packages = \[(.*?)\]", text, re.S)
    assert block, "pyproject.toml lists no packages"
    return set(re.findall(r'"([\w.]+)"', block.group(1)))


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = _listed_packages()
    for top in LAYERS:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).parts
            name = ".".join(("fuseplan",) + rel)
            assert name in listed, f"{name} is missing from [tool.setuptools] packages"


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    pkg_parts = ("fuseplan",) + path.parent.relative_to(ROOT).parts
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                names.append(".".join(base + ((node.module,) if node.module else ())))
            elif node.module:
                names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_imports_flow_one_way(layer: str) -> None:
    for path in (ROOT / layer).rglob("*.py"):
        for name in _imported_modules(path):
            parts = name.split(".")
            assert parts[0] not in LAYERS, f"{path}: import {name!r}: use fuseplan.{name}"
            assert parts[0] != "benchmarks", f"{path}: library code imports benchmarks"
            if parts[0] == "fuseplan" and len(parts) > 1 and parts[1] in LAYERS:
                assert LAYERS[parts[1]] <= LAYERS[layer], (
                    f"{path} imports {name}: {layer} may not depend on {parts[1]}"
                )


def test_light_commands_do_not_import_torch() -> None:
    code = (
        "import sys; from fuseplan.solver.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'torch_geometric', 'ortools', 'onnx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_and_no_traceback_on_user_error() -> None:
    from fuseplan import __version__

    out = subprocess.run(
        [sys.executable, "-m", "fuseplan", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == f"fuseplan {__version__}"


def test_package_data_carries_the_validity_checkpoints() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"fuseplan\.explain" = \[[^\]]*"checkpoints/\*\.pt"', text)
    assert re.search(r'"fuseplan\.explain" = \[[^\]]*"checkpoints/\*\.json"', text)
    for scheme in ("lbdf", "brr"):
        assert (ROOT / "explain" / "checkpoints" / f"{scheme}.pt").exists()
