"""Candidate growth through the compiled kernel (:mod:`.candidates_grow_kernel`), one seed op
at a time: the arrays it needs, enlarged when it asks, its groups back as Python ints.

:func:`kernel_grower` returns None when the kernel does not apply (numba missing, a cost
model other than the built-in LBDF or BRR, a graph whose numbers could overflow int64);
``candidates`` then grows in Python, which stays the reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .candidates import _Found
from .problem import Problem

# kernel steps between two looks at the clock, the stop event and the candidate cap
STEPS_PER_CALL = 20_000


@dataclass(frozen=True)
class SeedRows:
    """One seed's groups as the kernel found them: ``rows`` (group, before, after words per
    row), their F_D, the sets evaluated, and False when a stop cut the seed short."""

    rows: np.ndarray
    costs: np.ndarray
    evaluated: int
    complete: bool


class KernelGrower:
    """The kernel's arrays for one problem (growth state reused from seed to seed)."""

    def __init__(self, problem: Problem, scheme: str, arrays: tuple, words: int) -> None:
        from fuseplan.models.cost.kernel_data import mask_words, masks_words

        from . import candidates_grow_kernel as k

        self.k = k
        self.problem = problem
        self.scheme = k.SCHEME_BRR if scheme == "brr" else k.SCHEME_LBDF
        self.data = arrays
        self.words = words
        n = problem.num_ops
        self.mask_words = mask_words
        self.anc = masks_words(problem.ancestors, words)
        self.desc = masks_words(problem.descendants, words)
        self.nbr = masks_words(problem.neighbours, words)
        self.forbid = masks_words(problem.forbid_masks, words)
        self.max_ops = problem.max_group_ops or 0
        self.beta = problem.buffer_bytes
        self.stack = np.zeros((max(64, 4 * n), 5 * words + 2), dtype=np.int64)
        size = 1 << 12
        self.keys = np.zeros((size, words), dtype=np.int64)
        self.kstamp = np.zeros(size, dtype=np.int64)
        self.kflag = np.zeros(size, dtype=np.int8)
        self.found = np.zeros((max(1024, 4 * n), 3 * words), dtype=np.int64)
        self.costs = np.zeros(len(self.found), dtype=np.int64)
        self.counters = np.zeros(5, dtype=np.int64)
        self.pins = bool(problem.pins)

    def grow(self, v: int, watch, deadline) -> _Found:
        """Every candidate of two or more ops whose lowest op is ``v`` (growth through ops
        of higher id, never into unfusable ones), as ``candidates._grow`` finds them.
        ``watch`` (``candidates._Watch``) is polled between kernel calls."""
        nf, evaluated, complete = self._grow_seed(v, watch, deadline)
        out = _Found()
        out.complete = complete
        self._collect(out, nf)
        out.evaluated = evaluated
        return out

    def grow_rows(self, v: int, watch) -> SeedRows:
        """What :meth:`grow` finds for seed ``v``, kept as int64 words (copies), without
        pins (the caller filters them; ``candidates_rows`` takes no pinned problem)."""
        nf, evaluated, complete = self._grow_seed(v, watch, None)
        return SeedRows(self.found[:nf].copy(), self.costs[:nf].copy(), evaluated, complete)

    def _grow_seed(self, v: int, watch, deadline) -> tuple[int, int, bool]:
        """Runs the kernel on seed ``v``: (groups found, sets evaluated, complete); the groups
        are the first rows of ``self.found`` and ``self.costs``."""
        k = self.k
        problem = self.problem
        words = self.words
        higher = ~((2 << v) - 1) & ~problem.unfusable & problem.all_ops
        higher_w = self.mask_words(higher, words)
        c = self.counters
        c[k.SP] = 1
        c[k.FOUND] = 0
        c[k.EVALUATED] = 0
        c[k.KEYS] = 0
        c[k.STAMP] += 1
        k.push_seed(self.stack, v, self.mask_words(1 << v, words), self.anc, self.desc,
                    self.nbr, self.forbid)
        complete = True
        reported = time.perf_counter()
        counted = 0  # groups of this seed counted against the cap so far
        while True:
            status = k.grow_seed(self.scheme, self.data, self.anc, self.desc, self.nbr,
                                 self.forbid, higher_w, self.max_ops, self.beta, self.stack,
                                 self.keys, self.kstamp, self.kflag, self.found, self.costs,
                                 c, STEPS_PER_CALL)
            if status == 0:
                break
            if status == 1:
                self._enlarge()
                continue
            nf = int(c[k.FOUND])
            stop = watch.should_stop(nf - counted)
            counted = nf
            if stop:
                complete = False
                break
            if deadline is not None and time.perf_counter() - reported > 1.0:
                reported = time.perf_counter()
                deadline.report("enumerating candidates (compiled)", done=int(c[k.FOUND]),
                                unit="candidate groups found for this seed op")
        nf = int(c[k.FOUND])
        watch.count(nf - counted)
        return nf, int(c[k.EVALUATED]), complete

    def _collect(self, out: _Found, nf: int) -> None:
        from fuseplan.models.cost.kernel_data import words_to_masks

        words = self.words
        rows = self.found[:nf]
        masks = words_to_masks(rows[:, :words])
        costs = self.costs[:nf].tolist()
        before = words_to_masks(rows[:, words:2 * words])
        after = words_to_masks(rows[:, 2 * words:])
        if self.pins:
            allowed = self.problem.group_allowed
            keep = [i for i, m in enumerate(masks) if allowed(m)]
            masks = [masks[i] for i in keep]
            costs = [costs[i] for i in keep]
            before = [before[i] for i in keep]
            after = [after[i] for i in keep]
        out.masks, out.costs, out.before, out.after = masks, costs, before, after

    def _enlarge(self) -> None:
        k = self.k
        c = self.counters
        n = self.problem.num_ops
        if c[k.SP] + n > len(self.stack):
            self.stack = np.concatenate([self.stack, np.zeros_like(self.stack)])
        if c[k.FOUND] + n > len(self.found):
            self.found = np.concatenate([self.found, np.zeros_like(self.found)])
            self.costs = np.concatenate([self.costs, np.zeros_like(self.costs)])
        size = len(self.keys)
        while 2 * (c[k.KEYS] + n) > size:
            size *= 2
        if size != len(self.keys):
            self.keys, self.kstamp, self.kflag = k.rehash(self.keys, self.kstamp, self.kflag,
                                                          int(c[k.STAMP]), size)


def kernel_grower(problem: Problem, prune: bool, private: bool = False) -> KernelGrower | None:
    """The compiled grower for ``problem``, or None when the kernel does not apply (growth
    without pruning, numba missing, another cost model, numbers beyond int64). ``private``:
    with its own copy of the pricing scratch arrays (one per thread)."""
    if not prune:
        return None
    from fuseplan.models.cost.kernel_data import compiled_kernel

    found = compiled_kernel(problem.model)
    if found is None:
        return None
    scheme, data = found
    arrays = data.arrays
    if private:
        from fuseplan.models.cost.kernel_data import private_arrays

        arrays = private_arrays(arrays)
    return KernelGrower(problem, scheme, arrays, data.words)
