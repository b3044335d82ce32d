"""Byte sizes as people write them, and back.

Binary units throughout (docs/cost-models.md): KB = KiB = K = 1024 bytes, MB = MiB = M =
2^20 bytes, GB = GiB = G = 2^30 bytes; case does not matter (``64kb`` = ``64KB``). A bare
number, or a number with ``B``, is bytes. The number may have a decimal part as long as the
result is a whole number of bytes (``0.5MB`` = 524,288 B; ``1.5B`` and ``0.1KB`` are
rejected), may be grouped in thousands with commas (``262,144``) and may be separated from
its unit by spaces (``2 MiB``). Zero, negative sizes, exponents and anything else are
rejected with a :class:`FusePlanError` that names the text and shows an example.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import FusePlanError

KB = 1024
MB = 1024 * 1024
GB = 1024 * 1024 * 1024

UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": KB,
    "kb": KB,
    "kib": KB,
    "m": MB,
    "mb": MB,
    "mib": MB,
    "g": GB,
    "gb": GB,
    "gib": GB,
}

_SIZE = re.compile(
    r"^\s*(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?\s*(?P<unit>[a-z]*)\s*$"
)
_EXAMPLE = "write e.g. 256KB, 1MB, 0.5MB or 262144 (bytes)"


def parse_bytes(text: str | int) -> int:
    """A positive whole number of bytes from ``text`` (see the module docstring)."""
    if isinstance(text, bool):
        raise FusePlanError(f"size {text!r} is not a byte size: {_EXAMPLE}")
    if isinstance(text, int):
        if text <= 0:
            raise FusePlanError(f"size {text} must be positive: {_EXAMPLE}")
        return text
    if not isinstance(text, str):
        raise FusePlanError(f"size {text!r} is not a byte size: {_EXAMPLE}")
    if text.strip().startswith("-"):
        raise FusePlanError(f"size {text!r} is negative: {_EXAMPLE}")
    match = _SIZE.match(text.lower())
    if not match:
        raise FusePlanError(f"size {text!r} is not a byte size: {_EXAMPLE}")
    unit = match.group("unit")
    if unit not in UNITS:
        raise FusePlanError(
            f"size {text!r} has an unknown unit {unit!r}: use B, KB, MB or GB (KiB, MiB, GiB "
            f"are the same); {_EXAMPLE}"
        )
    number = Fraction(match.group("num").replace(",", ""))
    if match.group("frac"):
        frac = match.group("frac")
        number += Fraction(int(frac), 10 ** len(frac))
    value = number * UNITS[unit]
    if value.denominator != 1:
        raise FusePlanError(
            f"size {text!r} is not a whole number of bytes ({float(value):g} B): {_EXAMPLE}"
        )
    if value <= 0:
        raise FusePlanError(f"size {text!r} must be positive: {_EXAMPLE}")
    return int(value)


def format_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that divides it exactly, else in bytes with
    thousands commas: 262144 -> ``256 KB``, 1572864 -> ``1536 KB``, 1000 -> ``1,000 B``.
    :func:`parse_bytes` reads every result back to ``n``."""
    if n > 0:
        for unit, size in (("GB", GB), ("MB", MB), ("KB", KB)):
            if n % size == 0:
                return f"{n // size} {unit}"
    return f"{n:,} B"


def format_mb(n: int) -> str:
    """``n`` bytes in MB (2^20 bytes) with 3 decimals and no unit: 1048576 -> ``1.000``."""
    return f"{n / MB:.3f}"
