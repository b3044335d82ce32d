"""The hardware options every command that prices groups shares.

``--hw FILE_OR_PRESET`` picks a hardware description (see docs/hardware.md); ``--buffer``,
``--scheme`` and ``--bytes-per-element`` override its fields, or stand alone without it.
"""

from __future__ import annotations

import argparse

from fuseplan.models.errors import FusePlanError
from fuseplan.models.hardware import (
    BYTES_PER_ELEMENT,
    DEFAULT_SCHEME,
    HardwareConfig,
    known_schemes,
    scheme_name,
)


def add_hw_arguments(parser: argparse.ArgumentParser, *, buffer_required: bool = True) -> None:
    group = parser.add_argument_group("hardware")
    group.add_argument(
        "--hw",
        metavar="FILE_OR_PRESET",
        help="hardware preset (see `fuseplan hw list`) or YAML file; the flags below override it",
    )
    group.add_argument(
        "--buffer",
        metavar="SIZE",
        help="on-chip buffer size, e.g. 256KB, 1MB or 262144 (bytes); KB = 1024 B"
        + ("" if buffer_required else " (optional here)"),
    )
    group.add_argument(
        "--scheme",
        type=scheme_name,  # LBDF, Lbdf and lbdf are the same scheme
        choices=known_schemes(),
        help=f"fusion cost model (default: the --hw file's, else {DEFAULT_SCHEME})",
    )
    group.add_argument(
        "--bytes-per-element",
        type=int,
        choices=BYTES_PER_ELEMENT,
        help="1 = int8, 2 = fp16, 4 = fp32 (default: the --hw file's, else 1)",
    )
    parser.set_defaults(_hw_buffer_required=buffer_required)


def resolve_hw(args: argparse.Namespace) -> HardwareConfig:
    """The --hw file or preset with the flags laid over it; a clear error for a missing
    buffer when the command needs one."""
    from fuseplan.models.hardware import load_hardware
    from fuseplan.models.units import parse_bytes

    base = load_hardware(args.hw) if args.hw else None
    buffer_bytes = base.buffer_bytes if base else None
    if args.buffer is not None:
        try:
            buffer_bytes = parse_bytes(args.buffer)
        except FusePlanError as err:
            raise FusePlanError(f"--buffer: {err}") from None
    if buffer_bytes is None and getattr(args, "_hw_buffer_required", True):
        raise FusePlanError(
            "no buffer size: pass --buffer SIZE (e.g. --buffer 256KB) or --hw PRESET_OR_FILE "
            "(see `fuseplan hw list`)"
        )
    return HardwareConfig(
        name=base.name if base else "command line",
        description=base.description if base else "",
        buffer_bytes=buffer_bytes,
        bytes_per_element=(
            args.bytes_per_element
            if args.bytes_per_element is not None
            else (base.bytes_per_element if base else 1)
        ),
        scheme=args.scheme or (base.scheme if base else DEFAULT_SCHEME),
        dram_bandwidth_gb_s=base.dram_bandwidth_gb_s if base else None,
    )
