"""Exact method ``ideals``: a shortest path over the ideal lattice.

Any acyclic plan of convex groups is a chain of ideals {} < I_1 < ... < all ops, each group a
difference of consecutive ideals; conversely every such chain of valid groups is a plan. So
the optimum is a shortest path from the empty ideal to the full one, where an arc I -> I + G
exists for every candidate group G that can follow I: G's outside ancestors all in I, G
disjoint from I. Arcs are found per candidate by walking the lattice from the smallest such
ideal (G's outside ancestors) while avoiding G and its descendants. Ideals are sorted by
size, so one pass in that order relaxes every arc after its tail is final.
"""

from __future__ import annotations

import time

from fuseplan.models.lattice import ideal_lattice

from ..candidates import CandidateSet, chain_plan, enumerate_candidates
from ..candidates_rows import CandidateRows, enumerate_rows, growth_threads
from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult, finish

IDEAL_CAP = 200_000
GRACE_S = 0.25  # to build the arcs of the groups found when enumeration was cut short
CHECK_EVERY = 4096  # lattice steps between two looks at the clock
# more ideals than this: grow, link and walk in compiled code (auto's FEW_IDEALS: the nets
# where auto may walk the lattice beyond the chain-like ones)
COMPILED_IDEALS = 1_000
USE_COMPILED = True  # False: the Python path (ints) only, as before the compiled linking


def lattice_arcs(
    problem: Problem, lattice: dict[int, int], cands: CandidateSet, deadline: Deadline | None,
    grace_s: float = 0.0,
) -> tuple[list[list[tuple[int, int]]], bool]:
    """Per ideal index, its out-arcs (head ideal index, candidate index); False when the
    deadline (plus ``grace_s`` seconds) cut the search short."""
    stop_at = None
    if deadline is not None and grace_s and deadline.expired():
        stop_at = time.perf_counter() + grace_s  # stopped already (time or Ctrl-C)
    elif deadline is not None and deadline.end is not None:
        stop_at = deadline.end + grace_s
    index = {ideal: i for i, ideal in enumerate(lattice)}
    frontiers = list(lattice.values())
    ideals = list(lattice)
    out: list[list[tuple[int, int]]] = [[] for _ in ideals]
    steps = 0
    total = len(cands.masks)
    for g, group in enumerate(cands.masks):
        if deadline is not None and g % 8192 == 0 and g:
            deadline.report("building arcs over ideals", done=g, total=total,
                            unit="candidate groups linked")
        avoid = group | cands.after[g]
        start = index[cands.before[g]]
        todo = [start]
        seen = {start}
        while todo:
            steps += 1
            if steps % CHECK_EVERY == 0 and _stop(stop_at, deadline, grace_s):
                return out, False  # one candidate may walk most of the lattice: look often
            i = todo.pop()
            out[i].append((index[ideals[i] | group], g))
            grow = frontiers[i] & ~avoid
            while grow:
                low = grow & -grow
                grow ^= low
                j = index[ideals[i] | low]
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
    return out, True


def _stop(stop_at: float | None, deadline: Deadline | None, grace_s: float) -> bool:
    if stop_at is not None and time.perf_counter() > stop_at:
        return True
    return not grace_s and deadline is not None and deadline.interrupted()


def shortest_path(
    out: list[list[tuple[int, int]]], costs: tuple[int, ...], n_ideals: int
) -> tuple[int | None, list[int]]:
    """The cheapest chain from ideal 0 to the last ideal: (cost, candidate indices)."""
    inf = float("inf")
    dist: list[float] = [inf] * n_ideals
    back: list[tuple[int, int]] = [(-1, -1)] * n_ideals
    dist[0] = 0
    for i in range(n_ideals):
        here = dist[i]
        if here == inf:
            continue
        for j, g in out[i]:
            d = here + costs[g]
            if d < dist[j]:
                dist[j] = d
                back[j] = (i, g)
    last = n_ideals - 1
    if dist[last] == inf:
        return None, []
    chosen = []
    j = last
    while j != 0:
        i, g = back[j]
        chosen.append(g)
        j = i
    return int(dist[last]), chosen[::-1]


def use_rows(problem: Problem, lattice: dict[int, int]) -> bool:
    """Whether the ideals path grows, links and walks in compiled code (candidate rows):
    on branchy nets (more than :data:`COMPILED_IDEALS` ideals, where the candidates run to
    hundreds of thousands) or once numba is loaded anyway; never when the kernel does not
    apply (the rows enumeration then says None and Python grows)."""
    import sys

    loaded = "fuseplan.solver.candidates_grow_kernel" in sys.modules
    return USE_COMPILED and not problem.pins and (loaded or len(lattice) > COMPILED_IDEALS)


def optimal_path(
    problem: Problem, lattice: dict[int, int], cands: CandidateSet | CandidateRows, deadline: Deadline | None,
    grace_s: float = 0.0,
) -> tuple[int | None, list[int], int, bool]:
    """(cost or None, chosen candidate indices, arcs, linking complete) of the shortest path
    over ``lattice`` through ``cands``: compiled for rows, in Python for a CandidateSet."""
    if isinstance(cands, CandidateRows):
        from .ideals_kernel import rows_shortest_path

        return rows_shortest_path(lattice, cands, deadline, grace_s)
    out, complete = lattice_arcs(problem, lattice, cands, deadline, grace_s)
    cost, chosen = shortest_path(out, cands.costs, len(lattice))
    return cost, chosen, sum(len(a) for a in out), complete


def solve(
    problem: Problem,
    limits: Limits,
    *,
    deadline: Deadline | None = None,
    candidates: CandidateSet | None = None,
    lattice: dict[int, int] | None = None,
    why: str = "asked for",
    trivial_bound: int | None = None,
    first_plan: tuple[int, list[int]] | None = None,
) -> SolveResult:
    """The optimal plan by dynamic programming over ideals (exact when nothing was cut
    short; FEASIBLE without a gap when the time limit stopped enumeration). ``first_plan``
    (fusible cost, groups: auto's plan of consecutive runs) is the answer when the time
    limit cuts the walk short and no plan found since is cheaper."""
    deadline = deadline or Deadline(limits)
    if lattice is None:
        lattice, complete_lattice = ideal_lattice(problem.graph, IDEAL_CAP, deadline.expired)
        if not complete_lattice:
            if len(lattice) <= IDEAL_CAP:  # stopped before knowing whether over the cap
                return stopped_listing_ideals(problem, limits, deadline, "ideals", why,
                                              len(lattice))
            from fuseplan.models.errors import FusePlanError

            raise FusePlanError(
                f"{problem.graph.name!r} has more than {IDEAL_CAP:,} ideals, too many for "
                "--method ideals; use --method cpsat-partition (or auto)"
            )
    warm: tuple[int | None, list[int], int | None] = (None, [], None)
    compiled = candidates is None and use_rows(problem, lattice)
    if limits.time_limit_s is not None and candidates is None:
        from .warm_start import smaller_buffer_plans

        warm = smaller_buffer_plans(problem, limits, deadline, lattice, compiled=compiled)
    rows = enumerate_rows(problem, deadline, threads=growth_threads(limits.workers)) \
        if compiled else None
    cands: CandidateSet | CandidateRows
    if rows is not None:
        cands = rows
    else:
        cands = candidates or enumerate_candidates(problem, deadline, workers=limits.workers)
    deadline.report("building arcs over ideals")
    # cut short already: one more second to build the arcs of the groups found
    grace = 0.0 if cands.complete else GRACE_S
    cost, chosen, arcs, arcs_complete = optimal_path(problem, lattice, cands, deadline, grace)
    complete = cands.complete and arcs_complete
    details = {
        "why": why,
        "ideals": len(lattice),
        "candidates": len(cands),
        "candidates_complete": cands.complete,
        "evaluated_sets": cands.evaluated,
        "enumeration_s": round(cands.seconds, 4),
        "arcs": arcs,
    }
    if rows is not None:
        details["growth_threads"] = growth_threads(limits.workers)
    groups = cands.group_masks(chosen)
    if cost is None and not complete:  # cut short: the best plan of consecutive runs
        as_set = cands.to_set() if isinstance(cands, CandidateRows) else cands
        cost, chosen = chain_plan(problem, as_set)
        groups = as_set.group_masks(chosen)
        details["fallback"] = "time limit: best plan of runs of consecutive ops"
    if not complete and warm[0] is not None and (cost is None or warm[0] < cost):
        cost, groups = warm[0], warm[1]
        details["fallback"] = f"time limit: the optimal plan at {warm[2]:,} B (valid here too)"
    if not complete and first_plan is not None and (cost is None or first_plan[0] < cost):
        cost, groups = first_plan[0], list(first_plan[1])
        details["fallback"] = "time limit: the plan of consecutive runs found first"
    if cost is None:
        status = "INFEASIBLE" if complete else "UNKNOWN"
        return finish(problem, limits, deadline, method="ideals", status=status, groups=None,
                      objective=None, bound=None, details=details)
    deadline.report("ideals", cost, cost if complete else None)
    status = "OPTIMAL" if complete else "FEASIBLE"
    if complete:
        bound = cost
    else:  # a bound over the candidates found is none for the whole problem: A*'s estimate is
        from ..bounds import whole_problem_bound

        if trivial_bound is not None:
            bound = trivial_bound
        else:
            bound = whole_problem_bound(problem, deadline)
    return finish(problem, limits, deadline, method="ideals", status=status, groups=groups,
                  objective=cost, bound=bound, details=details)


def stopped_listing_ideals(
    problem: Problem, limits: Limits, deadline: Deadline, method: str, why: str, listed: int
) -> SolveResult:
    """The time limit or a stop struck while the ideals were being listed: the best plan of
    runs of consecutive ops over the groups enumerated in what time is left (often each op
    alone), FEASIBLE with the whole-problem bound."""
    from ..bounds import whole_problem_bound

    cands = enumerate_candidates(problem, deadline)
    cost, chosen = chain_plan(problem, cands)
    details = {
        "why": why,
        "stopped": f"while listing ideals ({listed:,} listed)",
        "candidates": len(cands),
        "candidates_complete": cands.complete,
        "fallback": "time limit: best plan of runs of consecutive ops",
    }
    if cost is None:
        return finish(problem, limits, deadline, method=method, status="UNKNOWN", groups=None,
                      objective=None, bound=None, details=details)
    deadline.report(method, cost)
    return finish(problem, limits, deadline, method=method, status="FEASIBLE",
                  groups=[cands.masks[g] for g in chosen], objective=cost,
                  bound=whole_problem_bound(problem, deadline), details=details)
