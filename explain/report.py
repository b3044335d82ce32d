"""One group explained by one or more repair strategies, with the GNN's P(valid), as records and as
the JSON of ``fuseplan explain --json`` (schema: ``models/schemas/explain.schema.json``, described in
``docs/explain-json.md``).

The GNN's probability comes from ``fuseplan.explain.predict_validity`` (which imports torch on
its first call). Where no checkpoint loads, :class:`Prediction` says so in ``note`` and
carries no number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fuseplan.models.errors import FusePlanError
from fuseplan.models.graph import Graph
from fuseplan.models.group import GroupCheck, mask_ops

from .cuts import CutSpace, Edge, cut_space
from .explainer import CutReport, GroupExplanation, Half, explain_group
from .registry import STRATEGIES, check_strategy_name, make_strategy

if TYPE_CHECKING:  # pragma: no cover
    from fuseplan.models.cost.base import CostModel

JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Prediction:
    """The GNN's P(valid) for the group, or None with the reason in ``note``."""

    p_valid: float | None
    note: str


@dataclass(frozen=True, slots=True)
class StrategyOutcome:
    """One strategy's explanation, or why it did not run (``--repair all`` lists them all)."""

    name: str
    result: GroupExplanation | None
    error: str | None = None


def gnn_prediction(graph: Graph, group: int, buffer_bytes: int, scheme: str,
                   bytes_per_element: int) -> Prediction:
    """P(valid) from the shipped GNN checkpoint for ``scheme``, or the reason there is none."""
    try:
        from fuseplan.explain import load_predictor, predict_validity

        load_predictor(scheme)  # fails fast, before torch loads, when no checkpoint ships
        probs = predict_validity(graph, [group], buffer_bytes, scheme=scheme,
                                 bytes_per_element=bytes_per_element)
        p = float(probs[0])
    except (FusePlanError, ImportError, OSError) as err:
        return Prediction(None, f"no GNN checkpoint available: {err}")
    return Prediction(p, f"GNN checkpoint for {scheme}")


def strategy_names(repair: str) -> list[str]:
    """``--repair``'s value as strategy names: one name, or every name for ``all``."""
    if repair.strip().lower() == "all":
        return list(STRATEGIES)
    return [check_strategy_name(repair)]


def run_strategies(model: CostModel, group: int, buffer_bytes: int, names: Sequence[str], *,
                   seed: int = 0, top_k: int = 1,
                   space: CutSpace | None = None) -> list[StrategyOutcome]:
    """Each strategy of ``names`` on ``group``. With one name, a strategy that is not
    available is an error; with several, its outcome carries the reason instead."""
    if space is None:
        space = cut_space(model.graph, group)
    outcomes = []
    for name in names:
        try:
            algorithm = make_strategy(name, seed=seed)
        except FusePlanError as err:
            if len(names) == 1:
                raise
            outcomes.append(StrategyOutcome(name, None, str(err)))
            continue
        try:  # a learned strategy finds out only now whether its GNN fits the cost model
            result = explain_group(model, group, buffer_bytes, algorithm, top_k=top_k,
                                   space=space)
        except FusePlanError as err:
            if len(names) == 1:
                raise
            outcomes.append(StrategyOutcome(name, None, str(err)))
            continue
        outcomes.append(StrategyOutcome(name, result))
    return outcomes


# ----- JSON -----
def _score(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _edge(graph: Graph, edge: Edge) -> dict[str, str]:
    producer, consumer, tensor = edge.names(graph)
    return {"producer": producer, "consumer": consumer, "tensor": tensor}


def _names(graph: Graph, mask: int) -> list[str]:
    return [graph.ops[v].name for v in mask_ops(mask)]


def verdict_dict(check: GroupCheck, dram_bytes: int) -> dict[str, Any]:
    return {
        "valid": check.valid, "connected": check.connected, "convex": check.convex,
        "fits": check.fits, "need_bytes": check.need_bytes,
        "capacity_bytes": check.capacity_bytes, "excess_bytes": check.excess_bytes,
        "dram_bytes": dram_bytes, "reason": check.reason, "needs_cut": not check.valid,
    }


def _half(half: Half) -> dict[str, Any]:
    return {"need_bytes": half.check.need_bytes, "dram_bytes": half.dram_bytes,
            "valid": half.check.valid, "reason": half.check.reason}


def cut_dict(graph: Graph, edges: Sequence[Edge], report: CutReport) -> dict[str, Any]:
    return {
        "first": _names(graph, report.cut.first),
        "second": _names(graph, report.cut.second),
        "crossing": [_edge(graph, edges[i]) for i in report.cut.crossing],
        "mean_score": _score(report.mean_score),
        "halves": {"first": _half(report.first), "second": _half(report.second)},
        "valid": report.valid,
    }


def strategy_dict(graph: Graph, outcome: StrategyOutcome, verdict: dict[str, Any],
                  prediction: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"strategy": outcome.name, "available": outcome.result is not None,
                           "error": outcome.error, "prediction": prediction, "verdict": verdict}
    result = outcome.result
    if result is None:
        return out | {"time_ms": None, "edges": [], "cut": None, "cuts": []}
    explanation = result.explanation
    ranked = list(result.ranking)
    in_ranking = set(ranked)
    unranked = [i for i in range(len(explanation.edges)) if i not in in_ranking]
    edges = [
        _edge(graph, explanation.edges[i]) | {
            "rank": rank + 1 if rank < len(ranked) else None,
            "score": _score(explanation.edge_scores[i]),
        }
        for rank, i in enumerate(ranked + unranked)
    ]
    cuts = [cut_dict(graph, explanation.edges, report) for report in result.cuts]
    return out | {"time_ms": round(1e3 * explanation.time_s, 3), "edges": edges,
                  "cut": cuts[0] if cuts else None, "cuts": cuts}


def explain_dict(model: CostModel, group: int, buffer_bytes: int, prediction: Prediction,
                 outcomes: Sequence[StrategyOutcome], space: CutSpace) -> dict[str, Any]:
    """The document of ``fuseplan explain --json`` (docs/explain-json.md)."""
    graph = model.graph
    check_out = next((o.result.check for o in outcomes if o.result is not None), None)
    if check_out is None:
        from fuseplan.models.group import check_group

        check_out = check_group(model, group, buffer_bytes)
    verdict = verdict_dict(check_out, model.group_cost(group, buffer_bytes).dram_bytes)
    pred = {"p_valid": prediction.p_valid, "note": prediction.note}
    return {
        "schema_version": JSON_VERSION,
        "graph": graph.name,
        "scheme": model.name,
        "buffer_bytes": buffer_bytes,
        "bytes_per_element": model.bytes_per_element,
        "group": _names(graph, group),
        "verdict": verdict,
        "prediction": pred,
        "cut_space": {"cuts": len(space.cuts), "edges": len(space.edges), "exact": space.exact},
        "strategies": [strategy_dict(graph, o, verdict, pred) for o in outcomes],
    }
