"""Method ``cpsat``: CP-SAT in the formulation that suits the graph.

A flow over the ideal lattice when the ideals are few enough to walk (one Boolean per arc,
no cycle constraints), else the set partition over candidate groups with cycle cuts.
"""

from __future__ import annotations

from fuseplan.models.lattice import ideal_lattice

from . import cpsat_flow, cpsat_partition
from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult

FLOW_CAP = 20_000


def solve(problem: Problem, limits: Limits, *, deadline: Deadline | None = None) -> SolveResult:
    deadline = deadline or Deadline(limits)
    # stopped while listing (len(lattice) <= FLOW_CAP): the partition, which stops at once
    lattice, complete = ideal_lattice(problem.graph, FLOW_CAP, deadline.expired)
    if complete:
        why = f"cpsat: {len(lattice):,} ideals (at most {FLOW_CAP:,}): flow over the ideal lattice"
        return cpsat_flow.solve(problem, limits, deadline=deadline, lattice=lattice, why=why)
    why = f"cpsat: more than {FLOW_CAP:,} ideals: set partition over candidate groups"
    return cpsat_partition.solve(problem, limits, deadline=deadline, why=why)
