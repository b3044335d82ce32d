"""Method ``hybrid``: a compact CP-SAT model with buffer cuts from explanations, warm-started
by a short search, pruned by must-separate pairs, with recursive splitting as the fallback.
See ``docs/hybrid.md``."""
