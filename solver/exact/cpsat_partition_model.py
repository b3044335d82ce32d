"""The CP-SAT set-partition model, built in one public function with the hooks a caller
(the hybrid) needs: a hint plan, pairs of ops kept apart, extra constraints.

:func:`build_cpsat_partition` follows the OR-Tools sample's shape: data (the columns: the
candidates that survive ``separate``, then the hint's groups that were not candidates,
priced by the cost model) -> model -> one Boolean per column -> constraints (every op
covered once, unfusable singletons fixed, 2-cycle cliques; see :mod:`.partition_model`)
-> objective (the fusible F_D in integer bytes) -> the caller's ``extra`` -> hint. Solving,
with the lazy cycle cuts, is :func:`.cpsat_partition.solve_cpsat_partition`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..candidates import CandidateSet
from ..problem import Problem
from ..progress import Deadline
from .partition_model import PartitionData, build_partition


@dataclass(frozen=True)
class PartitionModel:
    """A built model. ``x[i]`` is the Boolean of column ``i``, the group
    ``columns.masks[i]`` of fusible cost ``columns.costs[i]``; ``problem`` is the problem as
    restricted by ``separate`` (:meth:`Problem.with_separate`). ``hint`` lists the columns
    of the hint plan, empty when none was given or when some hint group is no column (it
    does not fit, is not a connected convex group, or breaks a pin or a separate pair)."""

    problem: Problem
    model: Any  # ortools.sat.python.cp_model.CpModel
    x: tuple[Any, ...]  # cp_model.IntVar, one Boolean per column
    columns: CandidateSet
    data: PartitionData
    hint: tuple[int, ...]
    hint_columns_added: int
    hint_groups_dropped: int
    separated_candidates: int


Extra = Callable[[PartitionModel], None]


@dataclass(frozen=True)
class Columns:
    """The data of the model: ``columns`` are the candidates that hold no separate pair of
    ``problem``, then the hint's groups that were not candidates; ``hint`` the hint plan's
    column indices (see :class:`PartitionModel`)."""

    problem: Problem
    columns: CandidateSet
    hint: tuple[int, ...]
    hint_columns_added: int
    hint_groups_dropped: int
    separated_candidates: int


def partition_columns(
    problem: Problem,
    cands: CandidateSet,
    *,
    hint: Sequence[int] | None = None,
    separate: Iterable[tuple[int, int]] = (),
) -> Columns:
    """The columns of the set partition (the data step of :func:`build_cpsat_partition`)."""
    restricted = problem.with_separate(separate)
    kept = _without_separated(restricted, cands)
    columns, hint_cols, added, dropped = _with_hint_columns(restricted, kept, hint)
    return Columns(problem=restricted, columns=columns, hint=hint_cols,
                   hint_columns_added=added, hint_groups_dropped=dropped,
                   separated_candidates=len(cands) - len(kept))


def build_cpsat_partition(
    problem: Problem,
    cands: CandidateSet,
    *,
    hint: Sequence[int] | None = None,
    separate: Iterable[tuple[int, int]] = (),
    extra: Extra | None = None,
    deadline: Deadline | None = None,
) -> PartitionModel | None:
    """The set partition of ``problem`` over ``cands`` (complete or not) in CP-SAT; None
    when ``deadline`` struck while building it.

    ``hint``: a complete plan as group masks; its groups that are not among ``cands`` are
    added as columns (priced by the cost model, when they are valid groups) and the whole
    plan is the model's solution hint. ``separate``: op-id pairs that must end up in
    different groups; candidates holding both ops of a pair are left out. ``extra``: called
    with the built :class:`PartitionModel` to add constraints over ``x``.
    """
    data = partition_columns(problem, cands, hint=hint, separate=separate)
    return model_of(data, extra=extra, deadline=deadline)


def model_of(
    data: Columns, *, extra: Extra | None = None, deadline: Deadline | None = None
) -> PartitionModel | None:
    """The CP-SAT model over ``data``'s columns (see :func:`build_cpsat_partition`); None
    when the deadline struck before the model was complete (cover lists or constraints)."""
    from ortools.sat.python import cp_model

    columns = data.columns
    partition = build_partition(data.problem, columns, deadline)
    if not partition.complete:
        return None

    # model and variables
    model = cp_model.CpModel()
    x = tuple(model.new_bool_var(f"g{g}") for g in range(len(columns)))
    if _expired(deadline):
        return None

    # constraints
    for i, cover in enumerate(partition.cover):
        model.add_exactly_one(x[g] for g in cover)  # every op in exactly one group
        if i % 64 == 63 and _expired(deadline):
            return None
    for g in partition.fixed:
        model.add(x[g] == 1)  # unfusable singletons
    for i, clique in enumerate(partition.cliques):
        model.add_at_most_one(x[g] for g in clique)  # no 2-cycle through direct edges
        if i % 4096 == 4095 and _expired(deadline):
            return None

    # objective
    model.minimize(sum(c * x[g] for g, c in enumerate(columns.costs) if c))
    if _expired(deadline):
        return None

    built = PartitionModel(
        problem=data.problem, model=model, x=x, columns=columns, data=partition,
        hint=data.hint, hint_columns_added=data.hint_columns_added,
        hint_groups_dropped=data.hint_groups_dropped,
        separated_candidates=data.separated_candidates,
    )
    if extra is not None:
        extra(built)
    if data.hint:
        set_hint(built, data.hint)
    return built


def _expired(deadline: Deadline | None) -> bool:
    return deadline is not None and deadline.expired()


def set_hint(built: PartitionModel, chosen: Iterable[int]) -> None:
    """Replaces the model's solution hint by the plan of columns ``chosen`` (complete: every
    Boolean gets a value)."""
    chosen_set = set(chosen)
    built.model.clear_hints()
    for g, var in enumerate(built.x):
        built.model.add_hint(var, g in chosen_set)


def _without_separated(problem: Problem, cands: CandidateSet) -> CandidateSet:
    """The candidates that hold no ``separate`` pair of ``problem`` (all, when it has none)."""
    if not problem.separate:
        return cands
    keep = [g for g, mask in enumerate(cands.masks)
            if not any(mask >> a & 1 and mask >> b & 1 for a, b in problem.separate)]
    if len(keep) == len(cands):
        return cands
    return _select(cands, keep)


def _select(cands: CandidateSet, keep: list[int]) -> CandidateSet:
    return CandidateSet(
        masks=tuple(cands.masks[g] for g in keep),
        costs=tuple(cands.costs[g] for g in keep),
        before=tuple(cands.before[g] for g in keep),
        after=tuple(cands.after[g] for g in keep),
        complete=cands.complete,
        evaluated=cands.evaluated,
        seconds=cands.seconds,
    )


def _with_hint_columns(
    problem: Problem, cands: CandidateSet, hint: Sequence[int] | None
) -> tuple[CandidateSet, tuple[int, ...], int, int]:
    """(columns, the hint's column indices, columns added, hint groups dropped). The hint's
    column list is empty unless every one of its groups is a column."""
    if not hint:
        return cands, (), 0, 0
    covered = 0
    for mask in hint:
        if mask <= 0 or mask & covered or mask > problem.all_ops:
            raise ValueError("hint: the groups must be disjoint, non-empty sets of op ids")
        covered |= mask
    if covered != problem.all_ops:
        raise ValueError("hint: a complete plan is expected (its groups cover every op)")
    index = {mask: g for g, mask in enumerate(cands.masks)}
    chosen: list[int] = []
    new: list[tuple[int, int]] = []  # (mask, cost)
    dropped = 0
    for mask in hint:
        g = index.get(mask)
        if g is not None:
            chosen.append(g)
            continue
        cost = _price(problem, mask)
        if cost is None:
            dropped += 1
            continue
        chosen.append(len(cands) + len(new))
        new.append((mask, cost))
    if new:
        anc = [0] * len(new)
        desc = [0] * len(new)
        for i, (mask, _) in enumerate(new):
            for v in range(problem.num_ops):
                if mask >> v & 1:
                    anc[i] |= problem.ancestors[v]
                    desc[i] |= problem.descendants[v]
        cands = CandidateSet(
            masks=cands.masks + tuple(m for m, _ in new),
            costs=cands.costs + tuple(c for _, c in new),
            before=cands.before + tuple(a & ~m for a, (m, _) in zip(anc, new)),
            after=cands.after + tuple(d & ~m for d, (m, _) in zip(desc, new)),
            complete=cands.complete,
            evaluated=cands.evaluated,
            seconds=cands.seconds,
        )
    return cands, (tuple(chosen) if not dropped else ()), len(new), dropped


def _price(problem: Problem, mask: int) -> int | None:
    """The fusible F_D of ``mask`` as a column of ``problem``, or None when it cannot be one:
    an unfusable op with others, a group that is not weakly connected, not convex or does
    not fit (``check_group``), or one the problem's pins, forbids or separate pairs rule
    out. An unfusable singleton costs 0 (outside the fusible total)."""
    from fuseplan.models.group import check_group

    if mask & problem.unfusable:
        return 0 if mask.bit_count() == 1 and problem.group_allowed(mask) else None
    if not problem.group_allowed(mask):
        return None
    if not check_group(problem.model, mask, problem.buffer_bytes).valid:
        return None
    cost = problem.model.dram_bytes(mask, problem.buffer_bytes)
    return None if cost is None else int(cost)
