"""Rules for the ONNX nodes that do not map one node to one plain op: Split along channels
(one Slice op per used output), Gather selecting channels (a Slice), a Transpose that is not
part of a folded pattern, and an op the importer does not know, read as a barrier
(docs/graph-json.md, docs/cost-models.md).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

from .errors import FusePlanError
from .graph import AttrValue
from .onnx_ops import NodeIO, OpSpec, _base, _global, collect_params, node_attrs
from .onnx_patterns import progression


def split_specs(io: NodeIO, used: Callable[[str], bool]) -> list[tuple[str, str, OpSpec]] | None:
    """A Split along channels (axis 1 of a rank-3 or rank-4 map, constant sizes): one Slice op
    per output that something reads, as (name ``<split name>:<output position>``, output,
    spec); None when the Split is not of that form."""
    node = io.node
    data = io.data_inputs()
    if len(data) != 1:
        return None
    dims = io.dims_of(data[0])
    axis = int(node_attrs(node).get("axis", 0))  # type: ignore[arg-type]
    if len(dims) not in (3, 4) or axis % len(dims) != 1:
        return None
    sizes = _split_sizes(io, int(dims[1]))
    if sizes is None:
        return None
    out: list[tuple[str, str, OpSpec]] = []
    start = 0
    for j, (value, size) in enumerate(zip(node.output, sizes)):
        if value and used(value):
            attrs: dict[str, AttrValue] = {"axes": (1,), "ends": (start + size,), "starts": (start,)}
            out.append((f"{io.name}:{j}", value, OpSpec("Slice", tuple(data), attrs=attrs)))
        start += size
    return out


def _split_sizes(io: NodeIO, channels: int) -> list[int] | None:
    n = len(io.node.output)
    attrs = node_attrs(io.node)
    given = io.const_input(1)
    if given is not None:
        sizes = [int(v) for v in np.asarray(given).reshape(-1)]
    elif io.input(1):
        return None  # sizes from a data tensor
    elif "split" in attrs:
        sizes = [int(v) for v in attrs["split"]]  # type: ignore[union-attr]
    else:
        parts = int(attrs.get("num_outputs", n))  # type: ignore[arg-type]
        step = -(-channels // parts)
        sizes = [min(step, channels - j * step) for j in range(parts)]
    return sizes if len(sizes) == n and sum(sizes) == channels and min(sizes) >= 0 else None


def channel_gather_spec(io: NodeIO) -> OpSpec | None:
    """A Gather on axis 1 of a rank-3/4 data tensor with constant 1-D indices that step evenly
    (``x[:, 2:6]``, ``x[:, ::2]``): a Slice of those channels; None otherwise."""
    data = io.data_inputs()
    idx = io.const_input(1)
    if len(data) != 1 or idx is None or idx.ndim != 1 or idx.size == 0:
        return None
    dims = io.dims_of(data[0])
    axis = int(node_attrs(io.node).get("axis", 0))  # type: ignore[arg-type]
    if len(dims) not in (3, 4) or axis % len(dims) != 1:
        return None
    c = int(dims[1])
    indices = [int(v) % c for v in idx.reshape(-1)]
    run = progression(indices)
    if run is None:
        return None
    start, step = run
    end = indices[-1] + step
    if end < 0:
        end = -(c + 1)  # past the first channel, going down
    attrs: dict[str, AttrValue] = {"axes": (1,), "ends": (end,), "starts": (start,)}
    if step != 1:
        attrs["steps"] = (step,)
    return OpSpec("Slice", tuple(data), attrs=attrs)


def is_identity_gather(io: NodeIO) -> bool:
    """A Gather whose constant indices take every element of its data in order, only shaped
    anew (torch's ``as_strided`` after a pooling, as the default exporter writes it): a
    shape-only op."""
    data = io.data_inputs()
    idx = io.const_input(1)
    if len(data) != 1 or idx is None:
        return False
    dims = io.dims_of(data[0])
    axis = int(node_attrs(io.node).get("axis", 0))  # type: ignore[arg-type]
    if len(dims) != 1 or axis % 1 != 0:
        return False
    flat = np.asarray(idx).reshape(-1)
    return bool(flat.size == dims[0] and np.array_equal(flat, np.arange(dims[0])))


def transpose_spec(io: NodeIO) -> OpSpec:
    """A Transpose outside the folded patterns: global (k = H) when it moves H or W, since
    one output row then needs the whole input; else an elementwise copy (k = 1)."""
    rank = len(io.dims_of(io.data_inputs()[0]))
    perm = tuple(int(v) for v in node_attrs(io.node).get("perm", tuple(reversed(range(rank)))))  # type: ignore[union-attr]
    if rank >= 3 and any(perm[a] != a for a in range(2, rank)):
        return _global(io)
    return _base(io)


def barrier_spec(io: NodeIO) -> OpSpec:
    """An op the importer does not know, kept as a barrier: its own kind, its data inputs, the
    float constants that feed it as parameters; k = 1 (it is never in a group with others)."""
    if not io.data_inputs():
        raise FusePlanError(f"{io.where()} reads no data tensor: it cannot be a barrier")
    params, shapes = collect_params(io)
    _, h_in, _ = io.chw_of(io.data_inputs()[0])
    _, h_out, _ = io.chw_of(io.node.output[0])
    return OpSpec(io.node.op_type, io.data_inputs(), s=Fraction(h_in, h_out), attrs=node_attrs(io.node),
                  params=params, param_shapes=shapes, barrier=True)
