"""The names of the repair strategies, the same in every command (``--repair NAME``).

``cost`` and ``random`` are built in and import no torch. The learned strategies
(``gnnexplainer``, ``pgexplainer``, ``rgexplainer``, ``ig``) are named here too; each is made
by a factory registered with :func:`register_strategy`, given either as a callable or as a
``"module:attribute"`` string that is imported only when that strategy is asked for (so
``import fuseplan.explain`` and ``fuseplan --help`` never import torch). A name without a
factory is a one-line :class:`FusePlanError`, never a stand-in.

Every factory is called with the keyword arguments of :func:`make_strategy` (``seed`` and
any options the strategy documents) and returns a
:class:`~fuseplan.explain.strategies.RepairAlgorithm`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from fuseplan.models.errors import FusePlanError

from .strategies import CostAttribution, RandomCut, RepairAlgorithm

Factory = Callable[..., RepairAlgorithm]

BUILTIN_STRATEGIES = ("cost", "random")
LEARNED_STRATEGIES = ("gnnexplainer", "pgexplainer", "rgexplainer", "ig")
STRATEGIES = (*LEARNED_STRATEGIES, *BUILTIN_STRATEGIES)  # the order of `--repair all`


def _cost(**_: Any) -> RepairAlgorithm:
    return CostAttribution()


def _random(seed: int = 0, **_: Any) -> RepairAlgorithm:
    return RandomCut(seed)


_FACTORIES: dict[str, Factory | str] = {
    "cost": _cost,
    "random": _random,
    # the learned ones: imported (with torch) only when asked for
    "gnnexplainer": "fuseplan.explain.learned.gnnexplainer:make",
    "ig": "fuseplan.explain.learned.ig:make",
    "pgexplainer": "fuseplan.explain.learned.pgexplainer:make",
    "rgexplainer": "fuseplan.explain.learned.rgexplainer:make",
}


def register_strategy(name: str, factory: Factory | str) -> None:
    """Makes ``name`` (one of :data:`STRATEGIES`) available: ``factory`` is a callable or a
    lazily imported ``"module:attribute"``."""
    if name not in STRATEGIES:
        raise FusePlanError(f"unknown repair strategy {name!r}: use one of {', '.join(STRATEGIES)}")
    _FACTORIES[name] = factory


def check_strategy_name(name: str) -> str:
    """``name`` lower-cased; a clear error when it is not a strategy."""
    key = name.strip().lower()
    if key not in STRATEGIES:
        raise FusePlanError(
            f"unknown repair strategy {name!r}: use one of {', '.join(STRATEGIES)} (or all)"
        )
    return key


def available(name: str) -> bool:
    """True when strategy ``name`` has a factory registered."""
    return check_strategy_name(name) in _FACTORIES


def make_strategy(name: str, **options: Any) -> RepairAlgorithm:
    """The strategy ``name`` built with ``options`` (``seed=...`` for the seeded ones)."""
    key = check_strategy_name(name)
    factory = _FACTORIES.get(key)
    if factory is None:
        raise FusePlanError(
            f"repair strategy {key!r} needs the trained GNN and its explainer, which are not "
            f"available in this build yet: use --repair cost or --repair random"
        )
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
    return factory(**options)
