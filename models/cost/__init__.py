"""Cost models of fusion groups (LBDF, BRR) behind one CostModel interface."""
