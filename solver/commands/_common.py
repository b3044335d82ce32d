"""Arguments and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fuseplan.models.graph import Graph

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.load import GraphLoad


def add_net_argument(parser: argparse.ArgumentParser) -> None:
    """NET_OR_FILE plus the options that shape how a net is read."""
    parser.add_argument(
        "net",
        metavar="NET_OR_FILE",
        help="a zoo name (see `fuseplan zoo`), a generated net (wide:ops=400,width=8,seed=0 or "
        "cells:cell=darts,cells=5,seed=0; see docs/bench.md), an ONNX file, or a graph JSON",
    )
    parser.add_argument(
        "--input-shape",
        metavar="NxCxHxW",
        help="static input shape for an ONNX file with symbolic dims, e.g. 1x3x224x224 "
        "(checked against the file's static dims; the batch may be set to 1)",
    )
    add_unsupported_argument(parser)
    parser.add_argument(
        "--fold-activations",
        action="store_true",
        help="fold activations into their producer (default: separate ops, as in ONNX)",
    )


def add_unsupported_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--unsupported",
        choices=("error", "barrier"),
        default="error",
        help="an ONNX op fuseplan does not know: an error listing every such op (default), or "
        "a barrier, an op never fused (an unfusable singleton at every buffer)",
    )


def load_net(args: argparse.Namespace) -> Graph:
    from fuseplan.models.load import load_graph, parse_input_shape

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    return load_graph(args.net, input_shape=shape, fold_activations=args.fold_activations,
                      unsupported=args.unsupported)


def net_load(args: argparse.Namespace, graph: Graph) -> GraphLoad:
    """How :func:`load_net` loaded ``graph``: the plan file's ``graph.load`` (validate replays
    it). Pass it to ``make_provenance(..., load=)`` or ``plan_build.with_graph_load``."""
    from fuseplan.models.load import graph_load_of, parse_input_shape

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    return graph_load_of(graph, fold_activations=args.fold_activations, input_shape=shape,
                         unsupported=args.unsupported)


def print_table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right_align: Sequence[int] = (),
    width: int | None = None,
    caption: str | None = None,
    no_wrap: Sequence[int] = (),
) -> None:
    """A table for a person: rich when stdout is a terminal, plain aligned text otherwise.
    ``width`` fixes the line width (default: the terminal's, 200 when not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold", caption=caption,
                  caption_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="right" if i in right_align else "left",
                         no_wrap=i in no_wrap)
    for row in rows:
        table.add_row(*(str(x) for x in row))
    if width is None:
        width = None if sys.stdout.isatty() else 200
    console = Console(file=sys.stdout, width=width)
    console.print(table)


def terminal_width(default: int = 120) -> int:
    """Columns to fit: $COLUMNS, else the terminal's width, else ``default`` (a pipe or file)."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((default, 24)).columns
    return default


def fmt_int(n: int) -> str:
    return f"{n:,}"
