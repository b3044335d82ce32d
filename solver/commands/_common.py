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
        help="a zoo name (see `fuseplan zoo`), a generated net (wide:ops=400,width=8,seed=0), "
        "an ONNX file, or a graph JSON",
    )
    parser.add_argument(
        "--input-shape",
        metavar="NxCxHxW",
        help="static input shape for an ONNX file with symbolic dims, e.g. 1x3x224x224",
    )
    parser.add_argument(
        "--fold-activations",
        action="store_true",
        help="fold activations into their producer (default: separate ops, as in ONNX)",
    )


def load_net(args: argparse.Namespace) -> Graph:
    from fuseplan.models.load import load_graph, parse_input_shape

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    return load_graph(args.net, input_shape=shape, fold_activations=args.fold_activations)


def net_load(args: argparse.Namespace, graph: Graph) -> GraphLoad:
    """How :func:`load_net` loaded ``graph``: the plan file's ``graph.load`` (validate replays
    it). Pass it to ``make_provenance(..., load=)`` or ``plan_build.with_graph_load``."""
    from fuseplan.models.load import graph_load_of, parse_input_shape

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    return graph_load_of(graph, fold_activations=args.fold_activations, input_shape=shape)


def print_table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right_align: Sequence[int] = (),
) -> None:
    """A table for a person: rich when stdout is a terminal, plain aligned text otherwise."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for i, h in enumerate(headers):
        table.add_column(h, justify="right" if i in right_align else "left")
    for row in rows:
        table.add_row(*(str(x) for x in row))
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    console.print(table)


def fmt_int(n: int) -> str:
    return f"{n:,}"
