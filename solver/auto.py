"""Method ``auto`` (alias ``exact``): count the ideals (with a cap) and pick.

Few ideals (chain-like CNNs, GoogLeNet's 2,713, Inception-v3's 8,535): the shortest path over
ideals is exact and fastest. Beyond the cap the lattice is too large to walk, and the set
partition over candidate groups in CP-SAT takes over. The result's details say which method
ran and why.
"""

from __future__ import annotations

from fuseplan.models.lattice import ideal_lattice

from .problem import Limits, Problem
from .progress import Deadline
from .result import SolveResult

AUTO_IDEAL_CAP = 60_000


def solve(problem: Problem, limits: Limits, *, deadline: Deadline | None = None) -> SolveResult:
    deadline = deadline or Deadline(limits)
    lattice, complete = ideal_lattice(problem.graph, AUTO_IDEAL_CAP)
    if complete:
        from . import ideals

        why = (
            f"auto: {len(lattice):,} ideals (at most {AUTO_IDEAL_CAP:,}), so a shortest path "
            "over the ideal lattice is exact and fastest"
        )
        return ideals.solve(problem, limits, deadline=deadline, lattice=lattice, why=why)
    from . import cpsat_partition

    why = (
        f"auto: more than {AUTO_IDEAL_CAP:,} ideals (counting stopped there), too many to walk; "
        "CP-SAT set partition over candidate groups"
    )
    return cpsat_partition.solve(problem, limits, deadline=deadline, why=why)
