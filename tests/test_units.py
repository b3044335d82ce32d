"""Byte sizes: every accepted form and every rejection (models/units.py)."""

from __future__ import annotations

import pytest

from fuseplan.models.errors import FusePlanError
from fuseplan.models.units import format_bytes, format_mb, parse_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("262144", 262_144),
        ("1", 1),
        ("262,144", 262_144),
        ("1,048,576", 1_048_576),
        ("100B", 100),
        ("100 b", 100),
        ("256KB", 262_144),
        ("64kb", 65_536),
        ("64K", 65_536),
        ("64KiB", 65_536),
        ("1MB", 1_048_576),
        ("2 MiB", 2_097_152),
        ("1m", 1_048_576),
        ("0.5MB", 524_288),
        ("1.5KB", 1_536),
        ("0.25 kb", 256),
        ("1GB", 1_073_741_824),
        ("1.0B", 1),
        ("  128KB  ", 131_072),
        (4096, 4096),
    ],
)
def test_accepted_forms(text: str | int, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0", "positive"),
        ("0KB", "positive"),
        ("0.0MB", "positive"),
        ("-1", "negative"),
        ("-256KB", "negative"),
        (0, "positive"),
        (-5, "positive"),
        ("", "not a byte size"),
        ("abc", "not a byte size"),
        ("KB", "not a byte size"),
        ("1e3", "not a byte size"),
        ("256 TB", "unknown unit"),
        ("256 kbit", "unknown unit"),
        ("1.5", "whole number"),
        ("1.5B", "whole number"),
        ("0.1KB", "whole number"),
        ("1,5MB", "not a byte size"),
        ("1,00", "not a byte size"),
        ("256KB 1", "not a byte size"),
        (".5MB", "not a byte size"),
        ("5.MB", "not a byte size"),
        (True, "not a byte size"),
        (1.5, "not a byte size"),
    ],
)
def test_rejections_name_the_text_and_give_an_example(text: object, fragment: str) -> None:
    with pytest.raises(FusePlanError) as err:
        parse_bytes(text)  # type: ignore[arg-type]
    message = str(err.value)
    assert fragment in message
    assert repr(text) in message or str(text) in message
    assert "256KB" in message  # the example
    assert "\n" not in message


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (262_144, "256 KB"),
        (1_048_576, "1 MB"),
        (1_572_864, "1536 KB"),
        (2 * 1_073_741_824, "2 GB"),
        (1_000, "1,000 B"),
        (1_025, "1,025 B"),
        (0, "0 B"),
    ],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


@pytest.mark.parametrize("n", [1, 1023, 1024, 1_000_000, 1_572_864, 3 * 1_073_741_824 + 7])
def test_format_bytes_reads_back(n: int) -> None:
    assert parse_bytes(format_bytes(n)) == n


@pytest.mark.parametrize(
    ("n", "text"),
    [(1_048_576, "1.000"), (475_264, "0.453"), (15_101 * 1_048_576 // 1000, "15.101"), (0, "0.000")],
)
def test_format_mb(n: int, text: str) -> None:
    assert format_mb(n) == text
