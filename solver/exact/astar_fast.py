"""A*'s arcs through the compiled kernel (:mod:`.astar_kernel`): the tables it reads, the
arrays it fills (enlarged when it asks), its arcs back as Python ints.

:func:`kernel_arcs` returns None when the kernel does not apply (numba missing, a cost
model other than the built-in LBDF or BRR, a graph whose numbers could overflow int64);
``astar`` then lists arcs in Python, which stays the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from fuseplan.models.group import mask_ops

from ..bounds import Estimate
from ..problem import Problem

# sets listed between two looks at the clock (a set costs a few microseconds compiled)
SETS_PER_CALL = 20_000
# the memo of buffer bounds and prices: slots at first and at most (a slot is words + 3
# int64: 2**21 slots are 112 MB on Inception-v3's 4 words; 2**22 saved 5 % CPU there for
# 180 MB more peak)
MEMO_START_SLOTS = 1 << 14
BEST_START_SLOTS = 1 << 12  # the table of best costs per ideal (grows, one per pass)
MEMO_MAX_SLOTS = 1 << 21
NO_LIMIT = 1 << 62  # the pass limit when there is none (every sum stays far below it)


class KernelArcs:
    """The kernel's tables for one problem and estimate, and its reusable arrays."""

    def __init__(self, problem: Problem, estimate: Estimate, scheme: str, data: tuple,
                 words: int) -> None:
        from fuseplan.models.cost.kernel_data import mask_words, masks_words

        from . import astar_kernel as k

        self.k = k
        self.problem = problem
        self.estimate = estimate
        self.scheme = k.SCHEME_BRR if scheme == "brr" else k.SCHEME_LBDF
        self.data = data
        self.words = words
        self.mask_words = mask_words
        n = problem.num_ops
        n_tensors = len(problem.graph.tensors)
        self.twords = max(1, (n_tensors + 63) // 64)

        def arr(values: list[int]) -> np.ndarray:
            return np.array(values, dtype=np.int64) if values else np.zeros(1, np.int64)

        def csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
            start = [0]
            flat: list[int] = []
            for items in lists:
                flat.extend(items)
                start.append(len(flat))
            return arr(start), arr(flat)

        pred_start, pred_list = csr([mask_ops(p) for p in problem.preds])
        succ_start, succ_list = csr([mask_ops(s) for s in problem.succs])
        in_start, _ = csr([[0] * len(ins) for ins in estimate.inputs])
        inputs = [x for ins in estimate.inputs for x in ins]
        read = estimate.read
        entry = _read_entries(problem)
        assert len(entry) == len(read)
        self.tables = (
            masks_words(problem.preds, words),
            pred_start, pred_list, succ_start, succ_list,
            masks_words(problem.forbid_masks, words),
            mask_words(problem.unfusable, words),
            mask_words(problem.all_ops, words),
            masks_words(estimate.out_readers, words),
            arr([1 if leaf else 0 for leaf in estimate.out_leaves]),
            arr(estimate.out_size),
            arr(estimate.weights),
            arr(estimate.leaving),
            in_start,
            arr([x for x, _, _ in inputs]),
            arr([bit.bit_length() - 1 for _, bit, _ in inputs]),
            arr([size for _, _, size in inputs]),
            np.array([bit.bit_length() - 1 for bit, _, _ in read], dtype=np.int64),
            (masks_words([readers for _, readers, _ in read], words) if read
             else np.zeros((0, words), np.int64)),
            np.array([size for _, _, size in read], dtype=np.int64),
            np.array(estimate.spine.spine, dtype=np.int64),
            arr(estimate.spine.best),
            masks_words(problem.neighbours, words),
            np.zeros((4, max(1, n_tensors)), dtype=np.int64),  # lbdf_bounds' scratch
            arr([entry.get(x, -1) for x, _, _ in inputs]),  # its entry of ``read``, if any
            mask_words(sum(1 << v for v in range(n) if data[12][v]), words),  # join ops
        )
        self.beta = problem.buffer_bytes
        self.max_ops = problem.max_group_ops or 0
        width = 5 * words + self.twords + 2
        self.stack = np.zeros((max(64, 4 * n), width), dtype=np.int64)
        self.out = np.zeros((max(1024, 4 * n), words), dtype=np.int64)
        self.out_cost = np.zeros(len(self.out), dtype=np.int64)
        self.out_h = np.zeros(len(self.out), dtype=np.int64)
        self.keys = np.zeros((MEMO_START_SLOTS, words + 2), dtype=np.int64)
        self.kstamp = np.zeros(MEMO_START_SLOTS, dtype=np.int64)
        self.bkeys = np.zeros((BEST_START_SLOTS, words + 1), dtype=np.int64)
        self.bstamp = np.zeros(BEST_START_SLOTS, dtype=np.int64)
        self.counters = np.zeros(10, dtype=np.int64)
        self.counters[k.STAMP] = 1
        self.counters[k.BSTAMP] = 1
        self.sets = 0
        self.priced = 0
        self.bounded = 0
        self.hits = 0

    def arcs(self, ideal: int, g: int, limit: float, after: int,
             expired: Callable[[], bool]) -> list[tuple[int, int, int]] | None:
        """(group, F_D, h of ideal + group) of the arcs of ``ideal`` (reached at cost ``g``) that the Python
        loop keeps and the search does not drop at once (g + F_D + h at the limit), plus
        those it keeps while their head is known more cheaply (the search drops them);
        None once ``expired()`` says so. ``after``: the spine cuts past the next group."""
        from fuseplan.models.cost.kernel_data import words_to_masks

        k = self.k
        c = self.counters
        c[[k.SP, k.NOUT, k.SETS, k.PRICED, k.BOUNDED, k.HITS]] = 0
        ideal_w = self.mask_words(ideal, self.words)
        limit_c = NO_LIMIT if math.isinf(limit) else math.ceil(limit)
        stopped = False
        while True:
            status = k.expand(self.scheme, self.data, self.tables, ideal_w, g, limit_c,
                              after, self.beta, self.max_ops, self.twords, self.stack,
                              self.out, self.out_cost, self.out_h, self.keys, self.kstamp,
                              self.bkeys, self.bstamp, c, SETS_PER_CALL)
            if status == 0:
                break
            if status == 1:
                self._enlarge()
                continue
            if expired():
                stopped = True
                break
        self.sets += int(c[k.SETS])
        self.priced += int(c[k.PRICED])
        self.bounded += int(c[k.BOUNDED])
        self.hits += int(c[k.HITS])
        if stopped:
            return None
        nout = int(c[k.NOUT])
        groups = words_to_masks(self.out[:nout])
        costs = self.out_cost[:nout].tolist()
        return list(zip(groups, costs, self.out_h[:nout].tolist()))

    def new_pass(self) -> None:
        """Forgets the best costs of the pass before (``_best_first`` starts afresh)."""
        self.counters[self.k.BSTAMP] += 1
        self.counters[self.k.BKEYS] = 0

    def _enlarge(self) -> None:
        k = self.k
        c = self.counters
        n = self.problem.num_ops
        if c[k.SP] + n + 1 > len(self.stack):
            self.stack = np.concatenate([self.stack, np.zeros_like(self.stack)])
        if c[k.NOUT] + n + 1 > len(self.out):
            self.out = np.concatenate([self.out, np.zeros_like(self.out)])
            self.out_cost = np.concatenate([self.out_cost, np.zeros_like(self.out_cost)])
            self.out_h = np.concatenate([self.out_h, np.zeros_like(self.out_h)])
        if 2 * (c[k.BKEYS] + n) > len(self.bkeys):
            self.bkeys, self.bstamp = k.rehash(self.bkeys, self.bstamp, int(c[k.BSTAMP]),
                                               self.words, 2 * len(self.bkeys))
        if 2 * (c[k.KEYS] + n) > len(self.keys):
            if 2 * len(self.keys) > MEMO_MAX_SLOTS:
                c[k.STAMP] += 1  # full at its cap: start afresh (the old stamps no longer match)
                c[k.KEYS] = 0
            else:
                self.keys, self.kstamp = k.rehash(self.keys, self.kstamp, int(c[k.STAMP]),
                                                  self.words, 2 * len(self.keys))


def _read_entries(problem: Problem) -> dict[int, int]:
    """Tensor id -> its index in ``Estimate.read`` (the tensors a fusible op reads, in
    tensor order, as ``Estimate`` lists them)."""
    graph = problem.graph
    entry: dict[int, int] = {}
    for t in range(len(graph.tensors)):
        readers = 0
        for c in graph.consumers[t]:
            readers |= 1 << c
        if readers & ~problem.unfusable:
            entry[t] = len(entry)
    return entry


def kernel_arcs(problem: Problem, estimate: Estimate) -> KernelArcs | None:
    """The compiled arcs for ``problem``, or None when the kernel does not apply (numba
    missing, another cost model, numbers beyond int64)."""
    from fuseplan.models.cost.kernel_data import compiled_kernel

    found = compiled_kernel(problem.model)
    if found is None:
        return None
    scheme, data = found
    return KernelArcs(problem, estimate, scheme, data.arrays, data.words)
