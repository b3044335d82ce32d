"""The candidate groups as int64 word rows, grown by the compiled kernel on several threads.

The same groups, costs and order as :func:`.candidates.enumerate_candidates` (singletons
first, then seed by seed in op order), but kept as numpy rows (:mod:`.candidates_kernel`'s
words) instead of Python ints: the ideals path links them to the lattice and finds the
shortest path in compiled code too (``exact/ideals_kernel``), and turns only the chosen
groups into ints. Rows take about 3 x 8 x words + 8 bytes a group, where Python ints took
about 250.

Growth runs on ``threads`` threads, each with its own kernel arrays (the kernel releases
the GIL); a thread takes the next seed op when it is done with one, and the seeds' groups
are put together in seed order, so the result does not depend on the threads.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from .candidates import CandidateSet, _no_cyclic_gc, _Watch, singletons
from .candidates_kernel import KernelGrower, SeedRows, kernel_grower
from .problem import Problem
from .progress import Deadline


@dataclass(frozen=True)
class CandidateRows:
    """Candidate groups as rows of ``3 * words`` int64 words (group, before, after: the ops
    outside the group that must run before / after it) and their fusible F_D; ``complete``
    and ``evaluated`` as in :class:`.candidates.CandidateSet`. The rows are kept in
    ``blocks`` as the kernel gave them (singletons, then each seed op's groups), not copied
    into one array: copying a million rows costs page faults worth 10-20 % of the run."""

    blocks: tuple[np.ndarray, ...]
    costs: np.ndarray
    words: int
    complete: bool
    evaluated: int
    seconds: float

    def __len__(self) -> int:
        return len(self.costs)

    def starts(self) -> np.ndarray:
        """The index of each block's first candidate, then the count."""
        starts = np.zeros(len(self.blocks) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in self.blocks], out=starts[1:])
        return starts

    @property
    def rows(self) -> np.ndarray:
        """Every row in one array (a copy)."""
        if not self.blocks:
            return np.zeros((0, 3 * self.words), dtype=np.int64)
        return np.concatenate(self.blocks)

    def group_masks(self, indices: list[int]) -> list[int]:
        """The masks (Python ints) of the candidates at ``indices``."""
        from fuseplan.models.cost.kernel_data import words_to_masks

        starts = self.starts()
        picked = []
        for g in indices:
            b = int(np.searchsorted(starts, g, side="right")) - 1
            picked.append(self.blocks[b][g - starts[b], :self.words])
        if not picked:
            return []
        return words_to_masks(np.array(picked, dtype=np.int64))

    def to_set(self) -> CandidateSet:
        """The same candidates as a :class:`.candidates.CandidateSet` (Python ints)."""
        from fuseplan.models.cost.kernel_data import words_to_masks

        rows, w = self.rows, self.words
        return CandidateSet(
            masks=tuple(words_to_masks(rows[:, :w])),
            costs=tuple(self.costs.tolist()),
            before=tuple(words_to_masks(rows[:, w:2 * w])),
            after=tuple(words_to_masks(rows[:, 2 * w:])),
            complete=self.complete,
            evaluated=self.evaluated,
            seconds=self.seconds,
        )


def growth_threads(workers: int = 1) -> int:
    """Threads for the compiled growth: ``workers`` (``--workers``), at least 2 when the
    machine has 2 cores or more, at most its cores. Threads cost no fork and no copy of the
    candidates, so two pay even when the user asked CP-SAT for one worker."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, max(workers, 2)))


# bytes a candidate takes as Python ints (mask, cost, before, after and the lists' slots),
# which MAX_CANDIDATES was set for, and what a row costs beside its words: its F_D, and
# about 30 B of arcs over ideals (tail, head, candidate, sort order)
INT_CANDIDATE_BYTES = 250
ROW_EXTRA_BYTES = 38


def rows_cap(words: int) -> int:
    """The candidate cap for rows: the memory ``candidates.MAX_CANDIDATES`` allows as Python
    ints (about 1.5 GB), in rows of ``words`` words (4 words, up to 256 ops: 2.2 times as
    many candidates)."""
    from . import candidates

    per_row = 3 * 8 * words + ROW_EXTRA_BYTES
    return max(candidates.MAX_CANDIDATES,
               candidates.MAX_CANDIDATES * INT_CANDIDATE_BYTES // per_row)


def enumerate_rows(
    problem: Problem, deadline: Deadline | None = None, *, threads: int = 1
) -> CandidateRows | None:
    """The candidates of ``problem`` as rows, or None when the compiled kernel does not
    apply (numba missing, another cost model, numbers beyond int64) or the problem pins ops
    (pins filter groups in Python: :func:`.candidates.enumerate_candidates` then)."""
    if problem.pins:
        return None
    first = kernel_grower(problem, True)
    if first is None:
        return None
    from fuseplan.models.cost.kernel_data import masks_words

    start = time.perf_counter()
    alone, seeds = singletons(problem)
    words = first.words
    end = None if deadline is None else deadline.end
    stop = None if deadline is None else deadline.limits.stop
    watch = _Watch(end, stop, cap=rows_cap(words))
    watch.count(len(alone.masks))
    growers = [first] + [kernel_grower(problem, True, private=True)
                         for _ in range(1, min(threads, len(seeds)))]
    with _no_cyclic_gc():
        parts = _grow_threads(growers, seeds, watch, deadline)
    head = np.concatenate([masks_words(alone.masks, words), masks_words(alone.before, words),
                           masks_words(alone.after, words)], axis=1)
    done = [p for p in parts if p is not None]
    complete = len(done) == len(parts) and all(p.complete for p in done)
    evaluated = alone.evaluated + sum(p.evaluated for p in done)
    del parts
    blocks = [head] + [p.rows for p in done if len(p.rows)]
    costs = np.concatenate([np.array(alone.costs, dtype=np.int64)] + [p.costs for p in done])
    return CandidateRows(blocks=tuple(blocks), costs=costs, words=words, complete=complete,
                         evaluated=evaluated, seconds=time.perf_counter() - start)


def _grow_threads(
    growers: list[KernelGrower], seeds: list[int], watch: _Watch, deadline: Deadline | None
) -> list[SeedRows | None]:
    """Each seed's rows, in seed order (None: not grown, a stop came first). One thread per
    grower; the calling thread reports progress (the callback is not thread-safe)."""
    parts: list[SeedRows | None] = [None] * len(seeds)
    lock = threading.Lock()
    state = {"next": 0, "stop": False}
    errors: list[BaseException] = []

    def work(grower: KernelGrower) -> None:
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= len(seeds) or state["stop"]:
                        return
                    state["next"] = i + 1
                if watch.should_stop(0):
                    state["stop"] = True
                    return
                part = grower.grow_rows(seeds[i], watch)
                parts[i] = part
                if not part.complete:
                    state["stop"] = True
                    return
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)
            state["stop"] = True

    if len(growers) == 1:
        work(growers[0])
    else:
        pool = [threading.Thread(target=work, args=(g,), daemon=True) for g in growers]
        for t in pool:
            t.start()
        if deadline is not None:
            deadline.report("enumerating candidates (compiled, threads)")
        for t in pool:
            while t.is_alive():
                t.join(0.5)
                if deadline is not None:
                    deadline.report("enumerating candidates (compiled, threads)",
                                    done=watch.total, unit="candidate groups found")
    if errors:
        raise errors[0]
    return parts
