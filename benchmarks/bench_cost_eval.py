"""How fast the cost models evaluate groups, on one core.

Three figures per (net, scheme):

* ``cold``: distinct random weakly connected groups of 1-10 ops, each evaluated once with
  ``buffer_bytes`` + ``dram_bytes`` on a fresh model (no per-group memo hits);
* ``grow``: groups grown op by op from a random seed op (the enumerator's case), every
  prefix evaluated (``buffer_lower_bound``, then ``dram_bytes`` unless the bound reached the
  buffer, where growth stops), distinct prefixes only;
* ``warm``: the cold groups again on the same model (memo hits, as in a buffer sweep).

Times are CPU time of this process (``time.process_time``), so other jobs on the machine
disturb them less than wall time; each figure is the best of ``--repeat`` runs.

Run::

    .venv/bin/python benchmarks/bench_cost_eval.py [--groups 20000] [--buffer-kb 256]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from fuseplan.models import zoo
from fuseplan.models.cost import make_cost_model
from fuseplan.models.cost.tables import tables_for
from fuseplan.models.graph import Graph


def connected_groups(graph: Graph, max_ops: int = 10) -> list[int]:
    """Every weakly connected group of 1..``max_ops`` ops, level by level."""
    nbr = tables_for(graph).nbr_mask
    level = {1 << v for v in range(graph.num_ops)}
    found = list(level)
    for _ in range(max_ops - 1):
        grown: set[int] = set()
        for mask in level:
            frontier = 0
            m = mask
            while m:
                low = m & -m
                frontier |= nbr[low.bit_length() - 1]
                m ^= low
            frontier &= ~mask
            while frontier:
                low = frontier & -frontier
                grown.add(mask | low)
                frontier ^= low
        level = grown
        found.extend(level)
    return found


def random_groups(graph: Graph, count: int, seed: int) -> list[int]:
    """Up to ``count`` distinct weakly connected groups of 1-10 ops, in random order."""
    groups = connected_groups(graph)
    random.Random(seed).shuffle(groups)
    return groups[:count]


def growth_sequences(graph: Graph, count: int, seed: int) -> list[list[int]]:
    """``count`` sequences of masks, each op by op from one op up to 10 ops."""
    rng = random.Random(seed)
    nbr = tables_for(graph).nbr_mask
    seqs = []
    seen: set[int] = set()
    for _ in range(50 * count):
        if len(seqs) >= count:
            break
        v = rng.randrange(graph.num_ops)
        mask = 1 << v
        frontier = nbr[v]
        seq = [mask]
        for _ in range(9):
            frontier &= ~mask
            if not frontier:
                break
            bits = [i for i in range(frontier.bit_length()) if frontier >> i & 1]
            u = rng.choice(bits)
            mask |= 1 << u
            frontier |= nbr[u]
            seq.append(mask)
        seq = [m for m in seq if m not in seen]
        seen.update(seq)
        if seq:
            seqs.append(seq)
    return seqs


def time_cold(scheme: str, graph: Graph, groups: list[int], buffer: int) -> tuple[float, float]:
    model = make_cost_model(scheme, graph)
    model.buffer_bytes(groups[0])  # per-graph tables built outside the timing
    model.clear_cache()
    bb, db = model.buffer_bytes, model.dram_bytes
    start = time.process_time()
    for m in groups:
        bb(m)
        db(m, buffer)
    elapsed = time.process_time() - start
    start = time.process_time()
    for m in groups:
        bb(m)
        db(m, buffer)
    warm = time.process_time() - start
    return len(groups) / elapsed, len(groups) / warm


def time_grow(scheme: str, graph: Graph, seqs: list[list[int]], buffer: int) -> float:
    model = make_cost_model(scheme, graph)
    model.buffer_bytes(seqs[0][0])
    model.clear_cache()
    lb, db = model.buffer_lower_bound, model.dram_bytes
    n = 0
    start = time.process_time()
    for seq in seqs:
        for m in seq:
            n += 1
            if lb(m) >= buffer:
                break
            db(m, buffer)
    return n / (time.process_time() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--buffer-kb", type=int, default=256)
    parser.add_argument("--nets", nargs="*", default=["mobilenet_v2", "resnet50"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    buffer = args.buffer_kb * 1024
    print("command: .venv/bin/python " + " ".join(["benchmarks/bench_cost_eval.py", *sys.argv[1:]]))
    print(f"buffer {args.buffer_kb} KB, int8, up to {args.groups} distinct connected groups "
          "of 1-10 ops, one core")
    print(f"{'net':14} {'scheme':6} {'cold eval/s':>12} {'grow eval/s':>12} {'warm eval/s':>12}")
    for name in args.nets:
        graph = zoo.build(name)
        groups = random_groups(graph, args.groups, seed=1)
        seqs = growth_sequences(graph, args.groups // 5, seed=2)
        for scheme in ("lbdf", "brr"):
            runs = [time_cold(scheme, graph, groups, buffer) for _ in range(args.repeat)]
            cold = max(r[0] for r in runs)
            warm = max(r[1] for r in runs)
            grow = max(time_grow(scheme, graph, seqs, buffer) for _ in range(args.repeat))
            print(f"{name:14} {scheme:6} {cold:12,.0f} {grow:12,.0f} {warm:12,.0f}"
                  f"   ({len(groups)} groups, {sum(map(len, seqs))} grown prefixes)")


if __name__ == "__main__":
    main()
