"""Exact planners: each proves the optimal plan (or quotes a bound valid for the whole problem
when stopped early). One module per method; ``solver/api.py`` registers them by name."""
