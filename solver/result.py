"""The one result every method returns, and the function that assembles it.

A method hands :func:`finish` its groups (bitmasks), status, objective and bound; it builds
the validated :class:`Plan` (``plan_build.build_plan``), computes the gap against the bound
and freezes everything with the anytime curve and the method's details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseplan.models.plan import Plan, SolveInfo, Status

from .problem import Limits, Problem
from .progress import Deadline

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.cost import CostModel
    from fuseplan.models.graph import Graph


@dataclass(frozen=True)
class SolveResult:
    """What a method found.

    ``objective_bytes`` is the plan's fusible DRAM total (unfusable ops left out) and
    ``bound_bytes`` a proven lower bound on it over the whole problem (None when the method
    has none, e.g. a candidate set cut short); ``gap`` = (objective - bound) / objective.
    ``curve`` holds (seconds, fusible bytes) for every improved plan. ``plan`` is None only
    when no plan was found (status INFEASIBLE or UNKNOWN). ``graph`` and ``model`` are the
    net and cost model the plan is priced on; :meth:`save` writes the plan JSON (validated,
    atomic) that ``fuseplan validate`` re-checks on its own.
    """

    method: str
    status: Status
    plan: Plan | None
    groups: tuple[int, ...]
    objective_bytes: int | None
    bound_bytes: int | None
    gap: float | None
    wall_time_s: float
    curve: tuple[tuple[float, int], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    graph: Graph | None = field(default=None, repr=False, compare=False)
    model: CostModel | None = field(default=None, repr=False, compare=False)

    def _parts(self) -> tuple[Any, Graph, CostModel]:
        from fuseplan.models.errors import FusePlanError

        if self.plan is None:
            raise FusePlanError(f"no plan to save: the solve ended {self.status}")
        if self.graph is None or self.model is None:
            raise FusePlanError("this result does not carry its graph and cost model")
        return self.plan, self.graph, self.model

    def save(self, path: str | Path) -> Path:
        """Writes the plan as JSON (docs/plan-json.md) after validating it; returns the path.
        A plan from ``solve_net(spec, ...)`` records how its graph was loaded (``graph.load``:
        the spec, ``input_shape``, ``fold_activations``), so ``fuseplan validate PATH`` needs
        no flags."""
        from fuseplan.models.plan_io import write_plan_json

        plan, graph, model = self._parts()
        write_plan_json(plan, graph, model, path)
        return Path(path)

    def save_csv(self, path: str | Path) -> Path:
        """Writes one CSV row per group (docs/plan-json.md, "CSV"); returns the path."""
        from fuseplan.models.plan_io import write_groups_csv

        plan, graph, _ = self._parts()
        write_groups_csv(plan, graph, path)
        return Path(path)


def relative_gap(objective: int | None, bound: int | None) -> float | None:
    if objective is None or bound is None:
        return None
    if objective <= 0:
        return 0.0 if bound >= objective else None
    return max(0.0, (objective - bound) / objective)


def finish(
    problem: Problem,
    limits: Limits,
    deadline: Deadline,
    *,
    method: str,
    status: Status,
    groups: list[int] | tuple[int, ...] | None,
    objective: int | None,
    bound: int | None,
    details: dict[str, Any],
    command: str | None = None,
) -> SolveResult:
    """Freezes a method's answer: plan built and priced, gap, wall time, curve."""
    from fuseplan.models.plan_build import build_plan, make_provenance

    wall = deadline.elapsed()
    if bound is not None and objective is not None:
        bound = min(bound, objective)
    gap = relative_gap(objective, bound)
    if status == "FEASIBLE" and gap is not None and gap == 0.0:
        status = "OPTIMAL"
    if deadline.interrupted():
        details = {**details, "interrupted": True}
    info = SolveInfo(
        solver=method,
        status=status,
        wall_time_s=round(wall, 4),
        bound_bytes=bound,
        gap=gap,
        details={**details, "curve": [list(p) for p in deadline.curve]},
    )
    plan = None
    if groups:
        plan = build_plan(
            problem.model,
            list(groups),
            problem.buffer_bytes,
            solve=info,
            provenance=make_provenance(problem.graph, seed=limits.seed, command=command),
        )
        if objective is not None and plan.totals.fusible_dram_bytes != objective:
            raise AssertionError(
                f"{method}: objective {objective:,} B but the plan prices at "
                f"{plan.totals.fusible_dram_bytes:,} B"
            )
        ordered = tuple(_ops_mask(g.ops) for g in plan.groups)
    else:
        ordered = ()
    return SolveResult(
        method=method,
        status=status,
        plan=plan,
        groups=ordered,
        objective_bytes=objective,
        bound_bytes=bound,
        gap=gap,
        wall_time_s=wall,
        curve=tuple(deadline.curve),
        details=details,
        graph=problem.graph,
        model=problem.model,
    )


def _ops_mask(ops: tuple[int, ...]) -> int:
    mask = 0
    for v in ops:
        mask |= 1 << v
    return mask
