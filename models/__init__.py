"""Graphs, the network zoo, ONNX import and the cost models.

The bottom layer: imports neither ``fuseplan.explain`` nor ``fuseplan.solver``.
"""

from .errors import FusePlanError
from .graph import Graph, GraphBuilder, Op, Tensor

__all__ = ["FusePlanError", "Graph", "GraphBuilder", "Op", "Tensor"]
