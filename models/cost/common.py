"""Helpers shared by the cost models, the validator and the solvers.

Sizes follow docs/cost-models.md: ``S(t) = C*H*W*b``, one row ``r(t) = C*W*b``. A group's
structure and fit are checked in ``models/group.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import FusePlanError
from ..graph import Graph, Tensor
from ..group import as_mask, mask_ops
from .base import GroupCost
from .tables import tables_for


def check_bytes_per_element(bytes_per_element: object) -> int:
    """``bytes_per_element`` as a positive int, or a clear error."""
    if isinstance(bytes_per_element, bool) or not isinstance(bytes_per_element, int):
        raise FusePlanError(
            f"bytes per element must be a whole number such as 1 (int8), 2 (fp16) or 4 (fp32), "
            f"not {bytes_per_element!r}"
        )
    if bytes_per_element < 1:
        raise FusePlanError(
            f"bytes per element must be at least 1 (got {bytes_per_element}): use 1, 2 or 4"
        )
    return bytes_per_element


def checked_mask(graph: Graph, group: int | Iterable[int]) -> int:
    """A group (bitmask or op ids) as a bitmask, or a clear error when it is empty or names
    an op the graph does not have."""
    if not isinstance(group, int):
        ids = list(group)
        bad = [v for v in ids if isinstance(v, bool) or not isinstance(v, int) or v < 0]
        if bad:
            raise FusePlanError(
                f"group {ids} holds {bad[0]!r}, not an op id of graph {graph.name!r} "
                f"(ops 0..{graph.num_ops - 1})"
            )
        group = ids
    mask = as_mask(group)
    if mask <= 0 or mask >> graph.num_ops:
        raise FusePlanError(
            f"group {mask_ops(mask) if mask > 0 else []} is not a non-empty set of op ids of "
            f"graph {graph.name!r} (ops 0..{graph.num_ops - 1})"
        )
    return mask


def tensor_bytes(tensor: Tensor, bytes_per_element: int) -> int:
    """S(t) = C * H * W * b."""
    return tensor.elements * bytes_per_element


def row_bytes(tensor: Tensor, bytes_per_element: int) -> int:
    """r(t) = C * W * b, one row of the map."""
    return tensor.row_elements * bytes_per_element


@dataclass(frozen=True, slots=True)
class GroupTensors:
    """The tensor sets of a group (tensor ids, ascending): In(G), Out(G), T(G)."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    read: tuple[int, ...]


def group_tensors(graph: Graph, mask: int) -> GroupTensors:
    """In(G), Out(G) and T(G) of the ops in ``mask`` (see docs/cost-models.md)."""
    tables = tables_for(graph)
    read = 0
    produced = 0
    outputs = 0
    m = mask
    while m:
        low = m & -m
        rec = tables.ops[low.bit_length() - 1]
        read |= rec.in_tmask
        produced |= 1 << rec.out
        if rec.out_readers & ~mask or rec.out_is_net_output:
            outputs |= 1 << rec.out
        m ^= low
    return GroupTensors(
        tuple(mask_ops(read & ~produced)), tuple(mask_ops(outputs)), tuple(mask_ops(read))
    )


def unfused_cost(
    graph: Graph, op_id: int, bytes_per_element: int = 1, *, buffer_bytes: int = 0
) -> GroupCost:
    """The cost of op ``op_id`` run alone and unfused (an unfusable op), in either scheme.

    ``dram_bytes = W(v) + sum S(In) + sum S(Out)``, split into ``weight_bytes``,
    ``input_bytes`` and ``output_bytes`` (Out is the op's output when another op reads it or
    it is a network output). ``fits`` is False; ``buffer_bytes`` is whatever the caller
    passes (the model's F_beta of the op, which reached the buffer; 0 when not given);
    no tiling is reported.
    """
    b = check_bytes_per_element(bytes_per_element)
    sets = group_tensors(graph, 1 << op_id)
    weight = graph.ops[op_id].params * b
    inputs = sum(tensor_bytes(graph.tensors[t], b) for t in sets.inputs)
    outputs = sum(tensor_bytes(graph.tensors[t], b) for t in sets.outputs)
    return GroupCost(
        buffer_bytes=buffer_bytes,
        dram_bytes=weight + inputs + outputs,
        input_bytes=inputs,
        weight_bytes=weight,
        output_bytes=outputs,
        fits=False,
    )


def lower_bound_bytes(graph: Graph, bytes_per_element: int = 1) -> int:
    """Every weight once + the network inputs + the network outputs: the traffic of one
    group holding every op with an unbounded buffer, a lower bound on any plan's all-ops
    total."""
    b = check_bytes_per_element(bytes_per_element)
    total = graph.total_params * b
    total += sum(tensor_bytes(graph.tensors[t], b) for t in graph.inputs)
    total += sum(tensor_bytes(graph.tensors[t], b) for t in graph.outputs)
    return total
