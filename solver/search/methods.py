"""The searches as registered solver methods (``solver/api.py``): ``rs``, ``ls``, ``nsga2``
and ``greedy``, each ``(problem, limits, *, deadline, search) -> SolveResult``; ``search``
holds the repair strategy and the budget (:class:`~.run.SearchSettings`, defaults when None)."""

from __future__ import annotations

from ..problem import Limits, Problem
from ..progress import Deadline
from ..result import SolveResult
from .run import SearchSettings, run_search


def _run(method: str, problem: Problem, limits: Limits, deadline: Deadline | None,
         search: SearchSettings | None) -> SolveResult:
    return run_search(method, problem, limits, deadline or Deadline(limits),
                      search or SearchSettings())


def rs(problem: Problem, limits: Limits, *, deadline: Deadline | None = None,
       search: SearchSettings | None = None) -> SolveResult:
    return _run("rs", problem, limits, deadline, search)


def ls(problem: Problem, limits: Limits, *, deadline: Deadline | None = None,
       search: SearchSettings | None = None) -> SolveResult:
    return _run("ls", problem, limits, deadline, search)


def nsga2(problem: Problem, limits: Limits, *, deadline: Deadline | None = None,
          search: SearchSettings | None = None) -> SolveResult:
    return _run("nsga2", problem, limits, deadline, search)


def greedy(problem: Problem, limits: Limits, *, deadline: Deadline | None = None,
           search: SearchSettings | None = None) -> SolveResult:
    return _run("greedy", problem, limits, deadline, search)
