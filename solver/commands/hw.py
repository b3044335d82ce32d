"""``fuseplan hw``: the hardware presets, and what a preset or file holds."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ._common import fmt_int, print_table

NAME = "hw"
HELP = "list the hardware presets (hw list) or show one preset or YAML file (hw show NAME_OR_FILE)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="hw_action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the presets (figures are illustrative)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="one preset or hardware YAML file, checked")
    show.add_argument("name", metavar="NAME_OR_FILE", help="a preset name or a YAML file")
    show.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.hardware import PRESETS, load_hardware

    configs = list(PRESETS.values()) if args.hw_action == "list" else [load_hardware(args.name)]
    if args.json:
        data = [asdict(c) for c in configs]
        print(json.dumps(data if args.hw_action == "list" else data[0], indent=2))
        return 0
    if args.hw_action == "list":
        _print_list(configs)
    else:
        _print_one(configs[0])
    return 0


def _bandwidth(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g} GB/s"


def _print_list(configs: list) -> None:  # type: ignore[type-arg]
    from fuseplan.models.units import format_bytes

    rows = [
        (c.name, format_bytes(c.buffer_bytes), c.bytes_per_element, c.scheme,
         _bandwidth(c.dram_bandwidth_gb_s), c.description)
        for c in configs
    ]
    print_table(
        "hardware presets (illustrative figures, not datasheets; use with --hw NAME)",
        ("name", "buffer", "B/element", "scheme", "DRAM bandwidth", "description"),
        rows,
        right_align=(1, 2),
    )


def _print_one(config) -> None:  # type: ignore[no-untyped-def]
    from fuseplan.models.units import format_bytes

    rows = [
        ("name", config.name),
        ("description", config.description or "-"),
        ("buffer", f"{format_bytes(config.buffer_bytes)} ({fmt_int(config.buffer_bytes)} B)"),
        ("bytes per element", str(config.bytes_per_element)),
        ("scheme", config.scheme),
        ("DRAM bandwidth", _bandwidth(config.dram_bandwidth_gb_s)),
    ]
    print_table(f"hardware {config.name}", ("field", "value"), rows)
