"""The learned repair strategies, on the validity GNN through PyG's ``torch_geometric.explain``.

- ``gnnexplainer`` (:mod:`.gnnexplainer`): PyG's GNNExplainer, ``explanation_type='model'``,
  ``edge_mask_type='object'``.
- ``pgexplainer`` (:mod:`.pgexplainer`): PyG's PGExplainer (phenomenon), trained by
  ``fuseplan train-explainer --algorithm pgexplainer``; its checkpoint is tied to the GNN's.
- ``rgexplainer`` (:mod:`.rgexplainer`): RG-Explainer (Shan et al., NeurIPS 2021) written as
  a PyG ``ExplainerAlgorithm``; trained by REINFORCE.
- ``ig``: integrated gradients through PyG's ``CaptumExplainer`` (:mod:`.ig`).

Every one explains toward "invalid": the model explained is the GNN with its logit negated
(:class:`.common.InvalidLogit`), and the target is that class whatever the GNN predicts.
This package's modules import torch; importing the package itself does not, and the registry
(``explain/registry.py``) names the factories as ``"module:attr"`` strings, imported only when
a learned strategy is asked for.
"""
