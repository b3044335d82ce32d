"""fuseplan: fusion planning for DNN accelerators.

Subpackages: ``fuseplan.models`` (graphs, zoo, ONNX import, cost models),
``fuseplan.explain`` (GNN validity predictor and explainers) and ``fuseplan.solver``
(exact and heuristic planners, the ``fuseplan`` command line). Data flows one way:
models <- explain <- solver.
"""

__version__ = "0.1.0"
