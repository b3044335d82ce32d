"""``fuseplan graph``: what a network is made of; its graph JSON or a drawing on request."""

from __future__ import annotations

import argparse

from fuseplan.models.graph import Graph

from ._common import add_net_argument, fmt_int, load_net, print_table

NAME = "graph"
HELP = (
    "show a network's operator graph (ops by kind, parameters, largest tensor, structure, "
    "ideals); write it as graph JSON (--json) or draw it (--plot)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_net_argument(parser)
    parser.add_argument(
        "--json", metavar="OUT",
        help="write the graph JSON (docs/graph-json.md) to OUT; '-' prints it instead of the table",
    )
    parser.add_argument("--plot", metavar="OUT.png", help="draw the graph, layered by depth "
                        "(deep nets in side-by-side bands), to OUT.png or OUT.svg (vector)")
    parser.add_argument(
        "--ops", action="store_true",
        help="also list every op: name, kind, what it reads, output shape, params, k, s",
    )
    parser.add_argument(
        "--ideal-cap", type=int, default=100_000, metavar="N",
        help="stop counting ideals (downward-closed op sets) past N (default 100,000)",
    )


VECTOR_KINDS = ("Gemm", "MatMul", "Flatten")  # their output is a vector: C, not C x 1 x 1


def _shape(shape: tuple[int, int, int]) -> str:
    return "x".join(map(str, shape))


def _tensor_shape(graph: Graph, name: str, shape: tuple[int, int, int]) -> str:
    """``1000`` for a Gemm's output (a vector), ``C x H x W`` for a feature map."""
    tensor = next((t for t in graph.tensors if t.name == name), None)
    producer = None if tensor is None or tensor.producer is None else graph.ops[tensor.producer]
    if producer is not None and producer.kind in VECTOR_KINDS and shape[1:] == (1, 1):
        return f"{shape[0]} (vector)"
    return _shape(shape)


def run(args: argparse.Namespace) -> int:
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.graph_summary import summarise

    from fuseplan.models.fileio import IMAGE_SUFFIXES, check_output_path

    if args.ideal_cap < 1:
        raise FusePlanError(f"--ideal-cap must be a positive integer, not {args.ideal_cap}")
    if args.json and args.json != "-":
        check_output_path(args.json, what="graph JSON")
    if args.plot:
        check_output_path(args.plot, what="drawing", suffixes=IMAGE_SUFFIXES)
    graph = load_net(args)
    if args.json == "-":
        import json

        from fuseplan.models.graph_json import graph_to_dict

        print(json.dumps(graph_to_dict(graph), indent=2))
        return 0
    s = summarise(graph, ideal_cap=args.ideal_cap)
    rows: list[tuple[str, str]] = [
        ("ops", fmt_int(s.num_ops)),
        *((f"  {kind}", fmt_int(n)) for kind, n in s.ops_by_kind),
        ("parameters", fmt_int(s.params)),
        ("inputs", ", ".join(f"{t.name} {_shape(t.shape)}" for t in s.inputs)),
        ("outputs", ", ".join(f"{t.name} {_tensor_shape(graph, t.name, t.shape)}"
                              for t in s.outputs)),
        ("largest tensor", f"{s.largest_tensor.name} {_shape(s.largest_tensor.shape)} "
                           f"({fmt_int(s.largest_tensor.elements)} elements)"),
        ("global ops", fmt_int(s.global_ops)),
        ("most readers of a tensor", fmt_int(s.max_readers)),
        ("structure", s.structure),
        ("ideals", s.ideals_text),
    ]
    title = f"{graph.name}" + (f" ({graph.source})" if graph.source and graph.source != graph.name else "")
    print_table(title, ["property", "value"], rows)
    if args.ops:
        _print_ops(graph)
    if args.json:
        from fuseplan.models.graph_json import write_graph_json

        write_graph_json(graph, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        from fuseplan.models.graph_plot import plot_graph

        plot_graph(graph, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _print_ops(graph: Graph) -> None:
    from fuseplan.models.graph_summary import kind_label

    def source(t: int) -> str:
        producer = graph.tensors[t].producer
        return graph.tensors[t].name if producer is None else graph.ops[producer].name

    rows = [
        (op.id, op.name, kind_label(graph, op), ", ".join(source(t) for t in op.inputs),
         _tensor_shape(graph, graph.tensors[op.output].name, graph.tensors[op.output].shape),
         fmt_int(op.params), op.k, str(op.s),
         "yes" if op.is_global else "")
        for op in graph.ops
    ]
    print_table(f"{graph.name}: ops in graph order", ["#", "op", "kind", "reads", "output", "params",
                "k", "s", "global"], rows, right_align=(0, 5, 6, 7))
