"""One-line entry points and the method registry.

``solve_net("googlenet", buffer_bytes=256 * 1024)`` loads the net, binds the cost model,
checks the constraints and runs a method; ``solve_problem`` does the last step for a
:class:`Problem` built by hand. Methods register by name in :data:`METHODS` (a
:class:`MethodInfo`: the module whose ``solve`` runs it, exact or heuristic, a one-line
description shown by ``fuseplan solve --help``), so later searches join the same
``--method`` flag, and the tests, by adding a line here. Modules load on first use: ``auto``
on a chain-like net never imports OR-Tools.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph

from .problem import Limits, Problem, make_problem
from .progress import Deadline, ProgressEvent

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from fuseplan.models.load import GraphLoad

    from .hybrid.method import HybridSettings
    from .result import SolveResult
    from .search.run import SearchSettings

Kind = Literal["exact", "heuristic"]


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: ``module`` (under ``fuseplan.solver``) has its ``solve``;
    ``kind`` is "exact" (proves the optimum when it runs to the end: the tests hold it to
    brute force) or "heuristic" (a valid plan, no proof: held to validity and cost >= the
    optimum); ``description`` is one line for ``fuseplan solve --help``."""

    module: str
    kind: Kind
    description: str
    entry: str = "solve"  # the function of ``module`` that runs it


METHODS: dict[str, MethodInfo] = {
    "auto": MethodInfo(
        "exact.auto", "exact",
        "the default: count ideals (cap 60,000); at most 1,000: ideals; up to 60,000: astar "
        "when the plan of consecutive runs is within 10 % of A*'s estimate (large buffers "
        "on branchy nets), else ideals; beyond 60,000: astar"),
    "exact": MethodInfo("exact.auto", "exact", "another name for auto"),
    "ideals": MethodInfo(
        "exact.ideals", "exact",
        "shortest path over the ideal lattice, arcs from every candidate group (up to "
        "200,000 ideals)"),
    "cpsat": MethodInfo(
        "exact.cpsat", "exact",
        "CP-SAT: cpsat-flow when at most 20,000 ideals, else cpsat-partition"),
    "cpsat-flow": MethodInfo(
        "exact.cpsat_flow", "exact",
        "CP-SAT unit flow over the ideal lattice, one Boolean per arc"),
    "cpsat-partition": MethodInfo(
        "exact.cpsat_partition", "exact",
        "CP-SAT set partition over candidate groups, cycles cut lazily"),
    "milp": MethodInfo(
        "exact.milp", "exact",
        "the same set partition in PuLP/CBC (the independent cross-check)"),
    "astar": MethodInfo(
        "exact.astar", "exact",
        "best-first search (A*) over ideals, groups priced only where needed; its bound "
        "holds for the whole problem when stopped"),
    "hybrid": MethodInfo(
        "hybrid.method", "exact",
        "compact CP-SAT model (op positions, edge Booleans, no candidate list) with buffer "
        "cuts from the --repair explainer, must-separate pairs, a short ls warm start and "
        "recursive splitting as the fallback; easy graphs (<= 1,000 ideals, or auto's "
        "enumeration done in a short probe) go to auto; --prune aggressive adds the "
        "explainer's unproven pairs"),
    "rs": MethodInfo(
        "search.methods", "heuristic",
        "the paper's random search: random cut positions (K segments), invalid parts "
        "repaired by recursive splitting with --repair", "rs"),
    "ls": MethodInfo(
        "search.methods", "heuristic",
        "the paper's local search: move one cut by 1..--delta positions, first improvement, "
        "restart when stuck; repairs as rs", "ls"),
    "nsga2": MethodInfo(
        "search.methods", "heuristic",
        "NSGA-II (pymoo) over cut positions, objectives DRAM and repairs needed; repairs "
        "as rs", "nsga2"),
    "greedy": MethodInfo(
        "search.methods", "heuristic",
        "the compiler's rule: grow the current group in topological order while it stays "
        "valid (the floor every search must beat)", "greedy"),
}


def method_names(kind: Kind | None = None) -> list[str]:
    """The registered names, or those of one kind."""
    return [name for name, info in METHODS.items() if kind is None or info.kind == kind]


def methods_help(columns: int = 79) -> str:
    """Each method's description, for ``fuseplan solve --help`` (wrapped at ``columns``)."""
    import textwrap

    width = max(len(name) for name in METHODS)
    return "\n".join(
        textwrap.fill(f"{name:<{width}}  {info.kind}: {info.description}", columns,
                      initial_indent="  ", subsequent_indent=" " * (width + 4),
                      break_on_hyphens=False)
        for name, info in METHODS.items()
    )


def split_method(spec: str) -> tuple[str, str | None]:
    """``"ls:cost"`` -> ("ls", "cost"): a heuristic method with its repair strategy (the form
    ``fuseplan bench --methods`` uses); ``"auto"`` -> ("auto", None). A clear error for an
    unknown method, or a repair given to an exact one."""
    name, _, repair = spec.partition(":")
    name = name.strip()
    if name not in METHODS:
        raise FusePlanError(f"unknown method {name!r}: use one of {', '.join(METHODS)}")
    if repair and (METHODS[name].kind != "heuristic" or name == "greedy"):
        raise FusePlanError(f"method {name!r} takes no repair strategy (got {spec!r}): "
                            "only rs, ls and nsga2 repair invalid groups")
    return name, repair.strip() or None


def method_function(name: str) -> Callable[..., SolveResult]:
    name, _ = split_method(name)
    info = METHODS[name]
    module = importlib.import_module(f"fuseplan.solver.{info.module}")
    return getattr(module, info.entry)


def parse_pin(text: str) -> list[str]:
    """``"a,b,c"`` -> ["a", "b", "c"]."""
    return [name.strip() for name in text.split(",")]


def parse_forbid(text: str) -> list[str]:
    """``"a|b"`` -> ["a", "b"]."""
    return [name.strip() for name in text.split("|")]


def solve_problem(problem: Problem, limits: Limits, method: str = "auto",
                  search: SearchSettings | None = None,
                  hybrid: HybridSettings | None = None) -> SolveResult:
    """Runs one method on a problem; an infeasible constraint set is a user error.

    ``method`` may name a repair strategy (``"ls:cost"``), which overrides ``search.repair``;
    ``search`` (the searches' settings) is passed to heuristic methods and the hybrid;
    ``hybrid`` (its settings: ``prune``, ``repair``, ...) to the hybrid only."""
    name, repair = split_method(method)
    if hybrid is not None and name != "hybrid":
        raise FusePlanError(f"--prune applies to --method hybrid only (got --method {name})")
    solve = method_function(name)
    deadline = Deadline(limits)
    if METHODS[name].kind == "heuristic":
        from .search.run import SearchSettings

        settings = search or SearchSettings()
        if repair is not None:
            settings = dataclasses.replace(settings, repair=repair)
        result = solve(problem, limits, deadline=deadline, search=settings.check())
    elif name == "hybrid":  # its explainer is the searches' --repair
        result = solve(problem, limits, deadline=deadline, search=search, settings=hybrid)
    else:
        result = solve(problem, limits, deadline=deadline)
    if result.status == "INFEASIBLE":
        raise FusePlanError(
            f"no valid plan of {problem.graph.name!r} at {problem.buffer_bytes:,} B satisfies "
            "the --pin/--forbid/--max-group-ops constraints together (for instance, pinned "
            "groups that would depend on each other in a cycle); relax one of them"
        )
    return result


def solve_net(
    net: str | Graph,
    *,
    buffer_bytes: int | str,
    scheme: str = "lbdf",
    bytes_per_element: int = 1,
    input_shape: Sequence[int] | str | None = None,
    fold_activations: bool = False,
    unsupported: str = "error",
    method: str = "auto",
    time_limit_s: float | None = None,
    gap: float | None = None,
    workers: int = 1,
    seed: int = 0,
    pins: Sequence[str | Sequence[str]] = (),
    forbids: Sequence[str | Sequence[str]] = (),
    max_group_ops: int | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    stop: threading.Event | None = None,
    search: SearchSettings | None = None,
    hybrid: HybridSettings | None = None,
) -> SolveResult:
    """Loads ``net`` (a zoo name, generator spec, file or Graph) and solves it.

    ``buffer_bytes`` is a number of bytes or a size string (``"256KB"``; KB = 1024 B).
    ``input_shape`` (``"1x3x224x224"`` or a tuple) fixes an ONNX file's symbolic dims and
    ``fold_activations`` folds activations and ``unsupported="barrier"`` makes an ONNX op
    the importer does not know a barrier, as the CLI flags do; the plan records all three
    (``graph.load``), so ``result.save(path)`` writes a plan ``fuseplan validate`` reloads
    without flags.

    ``pins`` are "a,b,c" strings or name lists; ``forbids`` are "a|b" strings or name lists.
    ``method`` may carry a repair strategy (``"ls:cost"``); ``search`` sets the searches'
    budget and options (``fuseplan.solver.search.run.SearchSettings``); ``hybrid`` the
    hybrid's (``fuseplan.solver.hybrid.method.HybridSettings``, e.g. ``prune="aggressive"``).
    """
    from fuseplan.models.cost import make_cost_model

    graph, load = _load_net(net, input_shape, fold_activations, unsupported)
    buffer_bytes = _buffer_size(buffer_bytes)
    from fuseplan.models.hardware import scheme_name

    scheme = scheme_name(scheme)  # "LBDF" = "lbdf", as on the command line
    split_method(method)
    if time_limit_s is not None and not 0 < time_limit_s < math.inf:  # nan fails both
        raise FusePlanError(f"--time-limit must be a positive, finite number of seconds "
                            f"(got {time_limit_s})")
    if gap is not None and not 0 <= gap < 1:
        raise FusePlanError(f"--gap is a relative gap in [0, 1), e.g. 0.01 (got {gap})")
    if workers < 1:
        raise FusePlanError(f"--workers must be at least 1 (got {workers})")
    model = make_cost_model(scheme, graph, bytes_per_element)
    problem = make_problem(
        graph,
        model,
        buffer_bytes,
        pins=[parse_pin(p) if isinstance(p, str) else list(p) for p in pins],
        forbids=[parse_forbid(f) if isinstance(f, str) else list(f) for f in forbids],
        max_group_ops=max_group_ops,
    )
    limits = Limits(time_limit_s=time_limit_s, gap=gap, workers=workers, seed=seed,
                    progress=progress, stop=stop)
    return _with_load(solve_problem(problem, limits, method, search, hybrid), load)


def _load_net(
    net: str | Graph, input_shape: Sequence[int] | str | None, fold_activations: bool,
    unsupported: str = "error",
) -> tuple[Graph, GraphLoad | None]:
    """The graph and, for a spec, how it was loaded (the plan's ``graph.load``)."""
    if isinstance(net, Graph):
        if input_shape is not None or fold_activations or unsupported != "error":
            raise FusePlanError(
                "input_shape, fold_activations and unsupported apply when solve_net loads the "
                "net: pass its spec or file name, not a Graph already loaded"
            )
        return net, None  # validate reloads it from graph.source
    from fuseplan.models.load import graph_load_of, load_graph, parse_input_shape

    if isinstance(input_shape, str):
        shape: tuple[int, ...] | None = parse_input_shape(input_shape)
    else:
        shape = None if input_shape is None else tuple(int(d) for d in input_shape)
    try:
        graph = load_graph(net, input_shape=shape, fold_activations=fold_activations,
                           unsupported=unsupported)
    except FusePlanError as err:
        if "--input-shape" not in str(err):
            raise
        raise FusePlanError(
            f"{err} (from Python: solve_net(..., input_shape=\"1x3x224x224\"))"
        ) from None
    return graph, graph_load_of(graph, fold_activations=fold_activations, input_shape=shape,
                                unsupported=unsupported)


def _buffer_size(value: int | str) -> int:
    """Bytes from ``262144`` or ``"256KB"``; a one-line error otherwise."""
    from fuseplan.models.units import parse_bytes

    try:
        return parse_bytes(value)
    except FusePlanError as err:
        raise FusePlanError(f"buffer_bytes: {err}") from None


def _with_load(result: SolveResult, load: GraphLoad | None) -> SolveResult:
    """The result whose plan records how its graph was loaded."""
    if load is None or result.plan is None:
        return result
    import dataclasses

    from fuseplan.models.plan_build import with_graph_load

    return dataclasses.replace(result, plan=with_graph_load(result.plan, load))
