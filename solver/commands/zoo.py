"""``fuseplan zoo``: the built-in nets, with ops, parameters and input size."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ._common import fmt_int, print_table

NAME = "zoo"
HELP = "list the built-in nets (any command that takes a file also takes one of these names)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.zoo import entries

    rows = entries()
    if args.json:
        data = []
        for e in rows:
            record = asdict(e.info)
            record["input_shape"] = list(e.info.input_shape)
            record.update(built=e.built, ops=e.ops, params=e.params)
            data.append(record)
        print(json.dumps(data, indent=2))
        return 0
    table = []
    for e in rows:
        c, h, w = e.info.input_shape
        note = e.info.note if e.built else "; ".join(x for x in ("builder not written", e.info.note) if x)
        table.append((
            e.info.name, e.info.family, f"{c}x{h}x{w}",
            "-" if e.ops is None else e.ops,
            "-" if e.params is None else fmt_int(e.params),
            fmt_int(e.info.published_params), note,
        ))
    print_table(
        "fuseplan zoo (params: after BatchNorm folding; published: before, as the publisher counts)",
        ("name", "family", "input", "ops", "params", "published", "note"), table,
        right_align=(3, 4, 5),
    )
    return 0
