"""Inference speed of predict_validity: groups per second, batched, on CPU.

    .venv/bin/python benchmarks/gnn_speed.py [--scheme lbdf] [--groups 5000] [--net efficientnet_b3]

Groups are sampled as the training set's are (segment parts, cut halves, convex growth, 1-120
ops); the time covers features, batching and the forward passes (the checkpoint is loaded
and warmed up first). Prints one line with the machine's cores and load.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np

from fuseplan.explain.group_pool import sample_groups
from fuseplan.explain.predict import load_predictor, predict_validity
from fuseplan.models.zoo import build


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scheme", default="lbdf")
    parser.add_argument("--net", default="efficientnet_b3")
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    graph = build(args.net)
    groups = sample_groups(graph, random.Random(0), args.groups)
    load_predictor(args.scheme, args.checkpoint)
    predict_validity(graph, groups[:64], 256 * 1024, args.scheme, checkpoint=args.checkpoint)
    start, cpu = time.perf_counter(), time.process_time()
    p = predict_validity(graph, groups, 256 * 1024, args.scheme, checkpoint=args.checkpoint)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    sizes = np.array([g.bit_count() for g in groups])
    print(f"{args.scheme} {args.net}: {len(groups)} groups (mean {sizes.mean():.1f} ops) in "
          f"{wall:.2f} s wall = {len(groups) / wall:,.0f} groups/s ({len(groups) / used:,.0f} "
          f"per CPU-second); {args.threads} torch thread(s), {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; mean P(valid) {p.mean():.3f}")


if __name__ == "__main__":
    main()
