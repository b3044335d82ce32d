"""One-line entry points and the method registry.

``solve_net("googlenet", buffer_bytes=256 * 1024)`` loads the net, binds the cost model,
checks the constraints and runs a method; ``solve_problem`` does the last step for a
:class:`Problem` built by hand. Methods register by name in :data:`METHODS` (a module path
and its ``solve`` function), so later searches join the same ``--method`` flag by adding a
line here. Modules load on first use: ``auto`` on a chain-like net never imports OR-Tools.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph

from .problem import Limits, Problem, make_problem
from .progress import Deadline, ProgressEvent

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from .result import SolveResult

# name -> (module under fuseplan.solver, one-line description)
METHODS: dict[str, tuple[str, str]] = {
    "auto": ("exact.auto", "count ideals, then ideals or cpsat-partition (default)"),
    "exact": ("exact.auto", "another name for auto"),
    "ideals": ("exact.ideals", "shortest path over the ideal lattice (dynamic programming)"),
    "cpsat": ("exact.cpsat", "CP-SAT: flow over ideals when they are few, else set partition"),
    "cpsat-flow": ("exact.cpsat_flow", "CP-SAT flow over the ideal lattice, one Boolean per arc"),
    "cpsat-partition": ("exact.cpsat_partition", "CP-SAT set partition over candidate groups"),
    "milp": ("exact.milp", "PuLP/CBC set partition over candidate groups (cross-check)"),
    "astar": ("exact.astar", "best-first search over ideals, groups listed only where needed"),
}


def method_names() -> list[str]:
    return list(METHODS)


def method_function(name: str) -> Callable[..., SolveResult]:
    if name not in METHODS:
        raise FusePlanError(f"unknown method {name!r}: use one of {', '.join(METHODS)}")
    module = importlib.import_module(f"fuseplan.solver.{METHODS[name][0]}")
    return module.solve


def parse_pin(text: str) -> list[str]:
    """``"a,b,c"`` -> ["a", "b", "c"]."""
    return [name.strip() for name in text.split(",")]


def parse_forbid(text: str) -> list[str]:
    """``"a|b"`` -> ["a", "b"]."""
    return [name.strip() for name in text.split("|")]


def solve_problem(problem: Problem, limits: Limits, method: str = "auto") -> SolveResult:
    """Runs one method on a problem; an infeasible constraint set is a user error."""
    solve = method_function(method)
    deadline = Deadline(limits)
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
    buffer_bytes: int,
    scheme: str = "lbdf",
    bytes_per_element: int = 1,
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
) -> SolveResult:
    """Loads ``net`` (a zoo name, generator spec, file or Graph) and solves it.

    ``pins`` are "a,b,c" strings or name lists; ``forbids`` are "a|b" strings or name lists.
    """
    from fuseplan.models.cost import make_cost_model

    if isinstance(net, Graph):
        graph = net
    else:
        from fuseplan.models.load import load_graph

        graph = load_graph(net)
    if method not in METHODS:
        raise FusePlanError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
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
    return solve_problem(problem, limits, method)
