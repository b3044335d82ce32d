"""The arrays the compiled pricing kernels read (numpy only; :mod:`.kernel` compiles them).

A group is a row of ``words`` int64 words (bit i of word w = op 64 w + i, two's complement,
so bit 63 is the sign bit: the kernels only AND, OR, XOR and negate words, never shift them
right). :class:`KernelData` packs one graph's per-op and per-tensor tables, in bytes at the
model's bytes per element, with the scratch arrays a pricing call reuses, into one tuple
(``arrays``) that both schemes' kernels take. All numbers are int64: :func:`kernel_data`
returns None (the pure-Python model then prices) when a product the kernels form could
overflow, or when a path step is negative (BRR's fast path has the same exception).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lbdf import _tensor_descendants
from .tables import GraphTables, tables_for

INT64_SAFE = 1 << 62  # every product and sum a kernel forms stays below this


@dataclass(frozen=True)
class KernelData:
    """``arrays``: the tuple of :data:`FIELDS` order; ``words``: int64 words per op mask."""

    arrays: tuple
    words: int


# the order of KernelData.arrays (the kernels index the tuple by these constants)
FIELDS = (
    "op_out", "op_w", "in_start", "in_t", "in_k", "in_step", "t_h", "t_row", "t_size",
    "t_readers", "t_net_out", "t_desc", "is_join", "consts",
    "g", "g2", "mark", "mark2", "kmax", "nread", "read_list", "out_list", "terms",
    "halo_inputs", "op_list", "counter", "prod", "outmark",
)


SCRATCH_FROM = FIELDS.index("g")  # arrays from here on are scratch a pricing call writes


def private_arrays(arrays: tuple) -> tuple:
    """``arrays`` with fresh copies of the scratch arrays (the tables shared): what a second
    thread pricing at the same time needs (every field from ``g`` on is written)."""
    return arrays[:SCRATCH_FROM] + tuple(a.copy() for a in arrays[SCRATCH_FROM:])


def mask_words(mask: int, words: int) -> np.ndarray:
    """A Python int mask as ``words`` int64 words (little-endian)."""
    return np.frombuffer(mask.to_bytes(8 * words, "little"), dtype=np.int64).copy()


def masks_words(masks: list[int] | tuple[int, ...], words: int) -> np.ndarray:
    """Many masks as rows of a (len, words) int64 array."""
    raw = b"".join(m.to_bytes(8 * words, "little") for m in masks)
    return np.frombuffer(raw, dtype=np.int64).reshape(len(masks), words).copy()


def words_to_masks(rows: np.ndarray) -> list[int]:
    """Rows of int64 words back to Python ints (fixed-width byte strings: numpy's ``S``
    view drops trailing zero bytes, the high bytes, which leaves the value unchanged)."""
    if len(rows) == 0:
        return []
    width = rows.shape[1] * 8
    from_bytes = int.from_bytes
    return [from_bytes(b, "little") for b in np.ascontiguousarray(rows).view(f"S{width}").ravel().tolist()]


def kernel_data(tables: GraphTables, b: int) -> KernelData | None:
    """The kernels' arrays for a graph at ``b`` bytes per element, or None when int64
    arithmetic could overflow on it (or a path step is negative)."""
    ops = tables.ops
    n = len(ops)
    nt = len(tables.t_h)
    words = max(1, (n + 63) // 64)
    q = tables.t_q
    in_start = [0]
    in_t: list[int] = []
    in_k: list[int] = []
    in_step: list[int] = []
    for r in ops:
        for x, k in r.inputs:
            in_t.append(x)
            in_k.append(k)
            in_step.append((k - 1) * q[x])
        in_start.append(len(in_t))
    if any(s < 0 for s in in_step):
        return None
    max_h = max(tables.t_h, default=1)
    # the largest path weight is at most the sum over ops of their largest step
    path_bound = sum(max((in_step[e] for e in range(in_start[v], in_start[v + 1])),
                         default=0) for v in range(n))
    t_row = [r * b for r in tables.t_row]
    t_size = [r * h for r, h in zip(t_row, tables.t_h)]
    weights = [r.weight * b for r in ops]
    # BRR's streamed traffic n * sum W and halo re-reads (n - 1) * halo * r, n <= max H
    total_bytes = (sum(weights) + 2 * sum(t_size)) * max(1, max_h)
    if (max_h * (path_bound + tables.lcm_h) >= INT64_SAFE or total_bytes >= INT64_SAFE
            or tables.lcm_h >= INT64_SAFE):
        return None
    t_desc = list(_tensor_descendants(tables))

    def arr(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64) if values else np.zeros(1, dtype=np.int64)

    scratch_t = max(1, nt)
    arrays = (
        arr([r.out for r in ops]),
        arr(weights),
        arr(in_start),
        arr(in_t),
        arr(in_k),
        arr(in_step),
        arr(list(tables.t_h)),
        arr(t_row),
        arr(t_size),
        masks_words(list(tables.t_readers), words) if nt else np.zeros((1, words), np.int64),
        arr([1 if o else 0 for o in tables.t_net_output]),
        masks_words(t_desc, words) if nt else np.zeros((1, words), np.int64),
        arr([tables.join_ops >> v & 1 for v in range(n)]),
        arr([tables.lcm_h, words, nt, n]),
        np.full(scratch_t, -1, dtype=np.int64),  # g: BRR path weights, LBDF largest
        np.zeros(scratch_t, dtype=np.int64),  # g2: LBDF smallest path weight
        np.zeros(scratch_t, dtype=np.int64),  # mark: tensor read by the group (stamp)
        np.zeros(scratch_t, dtype=np.int64),  # mark2: tensor reached in an LBDF pass
        np.zeros(scratch_t, dtype=np.int64),  # kmax per tensor
        np.zeros(scratch_t, dtype=np.int64),  # nread: readers in the group per tensor
        np.zeros(scratch_t, dtype=np.int64),  # read_list
        np.zeros(scratch_t, dtype=np.int64),  # out_list
        np.zeros((3, 2 * scratch_t), dtype=np.int64),  # terms: H, halo, row bytes
        np.zeros((3, scratch_t), dtype=np.int64),  # halo inputs: H, halo, row bytes
        np.zeros(max(1, n), dtype=np.int64),  # op_list
        np.zeros(2, dtype=np.int64),  # counter: stamps of mark, mark2
        np.zeros(scratch_t, dtype=np.int64),  # prod: tensor produced in the group (stamp)
        np.zeros(scratch_t, dtype=np.int64),  # outmark: tensor of Out(G) (stamp)
    )
    assert len(arrays) == len(FIELDS)
    return KernelData(arrays, words)


def compiled_kernel(model: object) -> tuple[str, KernelData] | None:
    """:func:`model_kernel` when numba can be imported, else None (the Python paths run)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return None
    return model_kernel(model)


def model_kernel(model: object) -> tuple[str, KernelData] | None:
    """("brr" or "lbdf", the kernels' arrays) when ``model`` is the built-in BRR or LBDF
    model (a barrier wrapper around one included: enumeration never grows into barriers),
    None for any other model, a subclass, or a graph the kernels cannot price in int64.
    The arrays are kept on the model for the next enumeration."""
    from .barrier import BarrierModel
    from .brr import BrrModel
    from .lbdf import LbdfModel

    inner = model.inner if isinstance(model, BarrierModel) else model
    if type(inner) is BrrModel:
        scheme = "brr"
    elif type(inner) is LbdfModel:
        scheme = "lbdf"
    else:
        return None
    cached = inner.__dict__.get("_kernel_data", False)
    if cached is False:
        cached = kernel_data(tables_for(inner.graph), inner.bytes_per_element)
        inner.__dict__["_kernel_data"] = cached
    return None if cached is None else (scheme, cached)
