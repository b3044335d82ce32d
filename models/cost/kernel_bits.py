"""Compiled helpers on int64 word masks (see :mod:`.kernel_data`): the index of a lone bit
and the op ids of a group."""

from __future__ import annotations

import numpy as np
from numba import njit

_DEBRUIJN = 0x03F79D71B4CB0A89


def _debruijn_table() -> np.ndarray:
    table = np.zeros(64, dtype=np.int64)
    for i in range(64):
        table[((_DEBRUIJN << i) & (2**64 - 1)) >> 58] = i
    return table


DEBRUIJN_TABLE = _debruijn_table()
DEBRUIJN_MUL = np.int64(_DEBRUIJN)


@njit(cache=True)
def bit_index(low: np.int64) -> int:
    """The index (0-63) of the one bit set in ``low`` (an int64 word; bit 63 is its sign)."""
    return DEBRUIJN_TABLE[((low * DEBRUIJN_MUL) >> 58) & 63]


@njit(cache=True)
def leaves(o: int, group: np.ndarray, t_readers: np.ndarray, t_net_out: np.ndarray) -> bool:
    """Whether tensor ``o`` (produced in ``group``) is in Out(G): a network output, or read
    by an op outside the group."""
    if t_net_out[o] != 0:
        return True
    for u in range(group.shape[0]):
        if t_readers[o, u] & ~group[u] != 0:
            return True
    return False


@njit(cache=True)
def group_ops(group: np.ndarray, out: np.ndarray) -> int:
    """Writes the op ids of ``group`` (int64 words) to ``out``, ascending; returns how many."""
    n = 0
    for w in range(group.shape[0]):
        word = group[w]
        while word != 0:
            low = word & -word
            word ^= low
            out[n] = w * 64 + bit_index(low)
            n += 1
    return n
