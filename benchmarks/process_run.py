"""One whole process, measured: exit code, wall time and its own peak resident memory
(``os.wait4``), with its output read as it comes and a kill at the timeout. Shared by the
benchmarks that time whole ``fuseplan`` processes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path


def measure(argv: list[str], timeout_s: float,
            cwd: Path | None = None) -> tuple[int, float, float, str, str]:
    """(exit code, wall s, peak RSS MB, stdout, stderr) of one process; -9 when killed at
    ``timeout_s``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            text=True)
    chunks: dict[str, str] = {}
    readers = [threading.Thread(target=lambda n, p: chunks.__setitem__(n, p.read()),
                                args=(n, p), daemon=True)
               for n, p in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    wall = time.perf_counter() - start
    for r in readers:
        r.join()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here: keep Popen from waiting again
    return code, wall, usage.ru_maxrss / 1024, chunks.get("out", ""), chunks.get("err", "")
