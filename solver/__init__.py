"""Planners (exact and heuristic) and the ``fuseplan`` command line.

Depends on ``fuseplan.models`` and ``fuseplan.explain``; nothing imports it back.
"""
