"""The learned half: GNN validity predictor and explainer attributions.

Depends on ``fuseplan.models`` only; imports torch lazily in its own modules so that the
command line starts fast when the learned parts are not used.
"""
