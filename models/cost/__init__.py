"""Cost models of fusion groups (LBDF, BRR) behind one CostModel interface.

The contract is docs/cost-models.md. Pick a model by name::

    from fuseplan.models.cost import make_cost_model
    model = make_cost_model("lbdf", graph, bytes_per_element=1)
    model.dram_bytes(0b111, 128 * 1024)   # F_D of ops {0, 1, 2} at 128 KB, or None

A model of your own plugs in the same way: any object with the :class:`CostModel`
methods, made by a factory ``(graph, bytes_per_element) -> CostModel``::

    from fuseplan.models.cost import LbdfModel, register_scheme
    from fuseplan.models.group import mask_ops

    class HalfWeights(LbdfModel):            # weights compressed 2:1 on chip
        name = "lbdf-half"

        def buffer_bytes(self, group: int) -> int:
            weights = sum(self.graph.ops[v].params for v in mask_ops(group))
            weights *= self.bytes_per_element
            return super().buffer_bytes(group) - weights + -(-weights // 2)

    register_scheme("lbdf-half", HalfWeights)
    make_cost_model("lbdf-half", graph)      # solvers take it like the built-in ones

Subclassing :class:`LbdfModel` and redefining ``buffer_bytes`` is the supported way to change
LBDF's buffer rule: the fit in ``dram_bytes``, ``group_cost`` and ``buffer_lower_bound`` then
follow the new F_beta, which must stay monotone (it never drops when an op joins a group)
unless ``buffer_lower_bound`` is redefined too. BRR chooses its buffer and its traffic in one
tiling, so a BRR variant implements the whole :class:`CostModel` protocol. Every registered
scheme must pass the conformance test (``tests/test_cost_conformance.py``).

``SCHEMES`` is a live view of the registered names (built-in: ``lbdf``, ``brr``).
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FusePlanError
from ..graph import Graph
from ..group import as_mask, is_convex, is_weakly_connected, mask_ops  # re-exported
from .barrier import with_barriers
from .base import BufferBreakdown, CostModel, GroupCost, TensorRows
from .brr import BrrModel
from .common import check_bytes_per_element, lower_bound_bytes, unfused_cost
from .lbdf import LbdfModel

CostModelFactory = Callable[[Graph, int], CostModel]

_FACTORIES: dict[str, CostModelFactory] = {"lbdf": LbdfModel, "brr": BrrModel}
SCHEMES = _FACTORIES.keys()


BUILT_IN_SCHEMES = ("lbdf", "brr")


def register_scheme(name: str, factory: CostModelFactory) -> None:
    """Makes ``make_cost_model(name, ...)`` build a model with ``factory(graph, b)``.

    The registry is one module-level dict shared by the whole process (every thread, every
    solve): a built-in name cannot be replaced, so no code can change what ``lbdf`` or
    ``brr`` means for another; registering a name again replaces your own factory. Undo it
    with :func:`unregister_scheme`. Worker processes (``fuseplan bench``) start afresh and
    know only the built-in schemes."""
    key = name.strip().lower() if isinstance(name, str) else ""
    if not key or not callable(factory):
        raise FusePlanError(
            f"register_scheme needs a non-empty name and a callable factory (got {name!r})"
        )
    if key in BUILT_IN_SCHEMES:
        raise FusePlanError(
            f"the built-in scheme {key!r} cannot be replaced: register yours under another "
            f"name, e.g. {key + '-custom'!r}"
        )
    _FACTORIES[key] = factory


def unregister_scheme(name: str) -> None:
    """Removes a scheme added by :func:`register_scheme` (the built-in ones stay)."""
    key = name.strip().lower()
    if key in BUILT_IN_SCHEMES:
        raise FusePlanError(f"the built-in scheme {key!r} cannot be unregistered")
    _FACTORIES.pop(key, None)


def make_cost_model(scheme: str, graph: Graph, bytes_per_element: int = 1) -> CostModel:
    """The cost model ``scheme`` (case-insensitive) bound to ``graph``."""
    factory = _FACTORIES.get(str(scheme).strip().lower())
    if factory is None:
        raise FusePlanError(
            f"unknown cost scheme {scheme!r}: use one of {', '.join(sorted(_FACTORIES))}"
        )
    return with_barriers(factory(graph, check_bytes_per_element(bytes_per_element)))


__all__ = [
    "SCHEMES",
    "BrrModel",
    "BufferBreakdown",
    "CostModel",
    "CostModelFactory",
    "GroupCost",
    "LbdfModel",
    "TensorRows",
    "as_mask",
    "is_convex",
    "is_weakly_connected",
    "lower_bound_bytes",
    "make_cost_model",
    "mask_ops",
    "register_scheme",
    "unregister_scheme",
    "unfused_cost",
]
