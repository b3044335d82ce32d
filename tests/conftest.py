"""Shared pytest set-up: the ``slow`` marker.

``.venv/bin/python -m pytest -q`` runs every test (the README's command, which .ci/run
calls); ``-m "not slow"`` leaves out the tests marked slow for quick iteration: the ONNX
round trips of the largest zoo nets (random weights for 60-140 M parameters), the Ray
backend, the bench killed with -9, torch's dynamo exporter.
"""

from __future__ import annotations


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers", "slow: long-running (seconds to a minute each); skip with -m \"not slow\""
    )
