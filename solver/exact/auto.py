"""Method ``auto`` (alias ``exact``): count the ideals (with a cap) and pick.

- Few ideals (chain-like CNNs: about one per op): the shortest path over ideals (``ideals``)
  is exact and fastest.
- More (branchy nets such as GoogLeNet, 2,713, and Inception-v3, 8,535): ``ideals`` walks
  every candidate group, and large buffers admit very many (GoogLeNet at 2 MB: 1.6 million,
  minutes). When the plan of consecutive runs is within 10 % of A*'s estimate (the
  large-buffer regime) ``astar`` proves the optimum expanding a small part of the lattice
  (GoogLeNet 2 MB LBDF: 0.8 s); otherwise ``ideals``, which is faster there.
- Beyond the cap: ``astar``. It needs no complete lattice or candidate set, so when the time
  limit stops it, its bound still covers the whole problem and the gap it quotes is real
  (measured on wide:ops=200,width=8,seed=0 at 256 KB with 20 s: astar 3.909 MB proven within
  14.1 %; the CP-SAT set partition over the candidates found in time 16.697 MB with no gap).

The result's details say which method ran and why.
"""

from __future__ import annotations

from fuseplan.models.lattice import ideal_lattice

from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult

AUTO_IDEAL_CAP = 60_000
FEW_IDEALS = 1_000  # at most this many: ideals, without looking further


def solve(problem: Problem, limits: Limits, *, deadline: Deadline | None = None) -> SolveResult:
    from . import astar, ideals

    deadline = deadline or Deadline(limits)
    lattice, complete = ideal_lattice(problem.graph, AUTO_IDEAL_CAP, deadline.expired)
    if not complete:
        why = (
            f"auto: more than {AUTO_IDEAL_CAP:,} ideals (counting stopped there), too many to "
            "walk; A* over ideals, whose bound covers the whole problem even when stopped"
        )
        if len(lattice) <= AUTO_IDEAL_CAP:
            why = "auto: stopped while counting ideals; A*'s bound covers the whole problem"
        return astar.solve(problem, limits, deadline=deadline, why=why)
    count = f"{len(lattice):,} ideals"
    start: int | None = None  # A*'s estimate from the empty ideal: the whole-problem bound
    first: tuple[int, list[int]] | None = None  # the plan of consecutive runs
    if len(lattice) > FEW_IDEALS:
        search = astar.prepare(problem, deadline)
        near, upper, start = astar.near_its_estimate(search)
        # a plan and a whole-problem bound before the long walk: progress shows them at once
        deadline.report("auto: first plan and bound", upper, start)
        if near:
            why = (
                f"auto: {count}; the plan of consecutive runs ({upper:,} B) is within "
                f"{100 * astar.PASSES_WITHIN:.0f} % of the A* estimate ({start:,} B), so A* "
                "over ideals proves the optimum without walking every candidate group"
            )
            return astar.solve(problem, limits, deadline=deadline, why=why, search=search)
        from .astar_prices import chain_upper_bound

        # priced already (a few ms): the answer if the time limit cuts the walk short and
        # nothing better was found
        cost, groups = chain_upper_bound(problem, search.prices, deadline.expired)
        first = None if cost is None else (cost, groups)
    why = (
        f"auto: {count} (at most {AUTO_IDEAL_CAP:,}), so a shortest path over the ideal "
        "lattice is exact and fastest"
    )
    return ideals.solve(problem, limits, deadline=deadline, lattice=lattice, why=why,
                        trivial_bound=start, first_plan=first)
