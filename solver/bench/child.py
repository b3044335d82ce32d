"""The process of one bench run: ``python -m fuseplan.solver.bench.child solve NET ...``.

It runs the ``fuseplan`` command line in this very process (so the parent's ``wait4`` sees
this run's own peak memory), after asking Linux to kill it when the bench that started it
dies: a ``kill -9`` of the bench leaves no orphan solvers running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_ENV = "FUSEPLAN_BENCH_PARENT"
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    parent = int(os.environ.get(PARENT_ENV, "0") or 0)
    if not parent or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux after all
        return
    if os.getppid() != parent:  # the parent died before the call above
        os._exit(137)


def main() -> int:
    die_with_parent()
    from fuseplan.solver.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
