"""The frozen benchmark instances where exact search is hard (wide DAGs and NAS cell nets).

FIXED BEFORE ANY MEASUREMENT (2026-11-25, before the first solver ran on a generated net).
Do not edit an entry after seeing results: add a new list instead, so that nobody can tune
the instances to the method. Each entry says why it is there. Difficulty is expected to grow
with the width (the number of ideals grows roughly like (branch length + 1) ** width per
block) and with the size; the list runs from easy to hard:

* width 4 at 200 / 500 / 1000 ops: 1,961 / 4,782 / 11,181 ideals (counted, a structural
  fact, not a solver measurement); the exact shortest path over ideals should prove these,
  and they check that the hybrid loses nothing on easy nets;
* width 8 at 200 / 500 / 1000 ops: 107,326 ideals at 200 ops, over 300,000 beyond; the
  frontier of the exact methods;
* width 12 at 200 / 500 ops and width 16 at 200 / 1000 ops: ideal enumeration is hopeless
  (over 300,000 and growing fast), CP-SAT and the hybrid must do the work;
* NAS cell nets (DARTS-like, NASNet-like, 5 and 8 cells; 179 / 264 / 281 ops, width 8-10,
  over 300,000 ideals): real-looking irregular wiring where cells overlap in time, the case
  the field notes call hard.

Buffers: 128 KB (tight: many groups, many unfusable choices) and 512 KB (loose: large groups,
the candidate count explodes). Both schemes (LBDF, BRR) are run on every instance.

``python benchmarks/instances.py --nets`` (or ``--buffers``) prints that value for
``fuseplan bench``; without an option, both and the list.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchInstance:
    name: str  # short label for tables
    spec: str  # the net name any fuseplan command accepts
    buffers_kb: tuple[int, ...]
    why: str


BUFFERS_KB = (128, 512)

WIDE_INSTANCES: tuple[BenchInstance, ...] = (
    BenchInstance("w4-200", "wide:ops=200,width=4,seed=0", BUFFERS_KB, "easy: narrow and small"),
    BenchInstance("w4-500", "wide:ops=500,width=4,seed=0", BUFFERS_KB, "easy: narrow, mid size"),
    BenchInstance("w4-1000", "wide:ops=1000,width=4,seed=0", BUFFERS_KB, "narrow but large: size alone"),
    BenchInstance("w8-200", "wide:ops=200,width=8,seed=0", BUFFERS_KB, "medium: ~1e5 ideals"),
    BenchInstance("w8-500", "wide:ops=500,width=8,seed=0", BUFFERS_KB, "medium width, mid size"),
    BenchInstance("w8-1000", "wide:ops=1000,width=8,seed=0", BUFFERS_KB, "medium width, large"),
    BenchInstance("w12-200", "wide:ops=200,width=12,seed=0", BUFFERS_KB, "hard: wide, small"),
    BenchInstance("w12-500", "wide:ops=500,width=12,seed=0", BUFFERS_KB, "hard: wide, mid size"),
    BenchInstance("w16-200", "wide:ops=200,width=16,seed=0", BUFFERS_KB, "hardest width, small"),
    BenchInstance("w16-1000", "wide:ops=1000,width=16,seed=0", BUFFERS_KB, "hardest: widest and largest"),
)

CELL_INSTANCES: tuple[BenchInstance, ...] = (
    BenchInstance("darts-5", "cells:cell=darts,cells=5,seed=0", BUFFERS_KB, "DARTS-like, 5 cells"),
    BenchInstance("nasnet-5", "cells:cell=nasnet,cells=5,seed=0", BUFFERS_KB, "NASNet-like, 5 cells"),
    BenchInstance("darts-8", "cells:cell=darts,cells=8,seed=0", BUFFERS_KB, "DARTS-like, 8 cells: longer"),
)

ALL_INSTANCES: tuple[BenchInstance, ...] = WIDE_INSTANCES + CELL_INSTANCES


def nets_argument(instances: tuple[BenchInstance, ...] = ALL_INSTANCES) -> str:
    """The ``--nets`` value of ``fuseplan bench`` for these instances.

    Specs hold commas, so they are joined with ';' (bench splits on ';' when one is present).
    """
    return ";".join(i.spec for i in instances)


def buffers_argument() -> str:
    return ",".join(f"{b}KB" for b in BUFFERS_KB)


if __name__ == "__main__":
    if "--nets" in sys.argv:
        print(nets_argument())
    elif "--buffers" in sys.argv:
        print(buffers_argument())
    else:
        for inst in ALL_INSTANCES:
            print(f"{inst.name:10} {inst.spec:36} {inst.why}")
        print(f"--nets '{nets_argument()}' --buffers {buffers_argument()}")
