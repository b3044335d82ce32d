"""Heuristic searches: the paper's recursive splitting and the searches built on it."""
