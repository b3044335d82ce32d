"""One bench run: a fresh ``fuseplan solve`` process, measured from outside, read into a row.

Wall time is measured around the process, peak memory is the process's own maximum resident
set (``os.wait4``'s rusage, this run alone). The plan is written to a private temporary
folder and returned as text, so the same function runs in a local thread or on a Ray worker
on another machine; the bench process alone writes the bench directory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .child import PARENT_ENV
from .spec import RunSpec, buffer_label

MB = 1024 * 1024
_SIGNALS = {int(s) for s in signal.Signals}
POLL_S = 0.05


@dataclass(frozen=True)
class RunOutcome:
    row: dict[str, Any]
    plan_text: str | None


@dataclass(frozen=True)
class _Process:
    exit_code: int
    wall_time_s: float
    peak_rss_mb: float
    timed_out: bool


def _run_process(argv: list[str], folder: Path, timeout_s: float | None) -> _Process:
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    start = time.perf_counter()
    with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if timeout_s is not None and time.perf_counter() - start > timeout_s and not timed_out:
            timed_out = True
            os.kill(proc.pid, signal.SIGKILL)
        time.sleep(POLL_S)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here: keep Popen from waiting again
    return _Process(code, wall, usage.ru_maxrss * 1024 / MB, timed_out)  # ru_maxrss is in KB


def _error_line(folder: Path) -> str:
    """The last non-empty line of the run's stderr (the CLI's one-line error)."""
    text = (folder / "stderr.txt").read_text(errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else "no message on stderr"


def _plan_fields(plan: dict[str, Any]) -> dict[str, Any]:
    totals, solve = plan.get("totals", {}), plan.get("solve", {})
    details = solve.get("details") or {}
    fusible, all_ops = totals.get("fusible_dram_bytes"), totals.get("all_dram_bytes")
    bound = solve.get("bound_bytes")
    return {
        "status": solve.get("status", "UNKNOWN"),
        "fusible_dram_bytes": fusible,
        "fusible_dram_mb": None if fusible is None else round(fusible / MB, 6),
        "all_dram_bytes": all_ops,
        "all_dram_mb": None if all_ops is None else round(all_ops / MB, 6),
        # the solver's bound is on the fusible total; unfusable ops cost the same in every
        # plan at this buffer, so it lifts to the all-ops total by adding their traffic
        "bound_bytes": bound,
        "all_bound_bytes": None if None in (bound, fusible, all_ops) else bound + all_ops - fusible,
        "lower_bound_bytes": totals.get("lower_bound_bytes"),
        "upper_bound_bytes": totals.get("upper_bound_bytes"),
        "gap": solve.get("gap"),
        "solve_time_s": solve.get("wall_time_s"),
        "ops": (plan.get("graph") or {}).get("ops"),
        "ideals": details.get("ideals"),
        "candidates": details.get("candidates"),
        # searches (rs, ls, nsga2, greedy): their own time, budget used and reference
        "search_time_s": details.get("search_time_s"),
        "evaluations": details.get("evaluations"),
        "reference": details.get("reference"),
    }


def spec_fields(spec: RunSpec) -> dict[str, Any]:
    fields = asdict(spec)
    fields["passthrough"] = " ".join(spec.passthrough)
    return {"key": spec.key, **fields, "buffer": buffer_label(spec.buffer_bytes)}


def run_one(spec: RunSpec, timeout_s: float | None = None) -> RunOutcome:
    """Runs one spec in a fresh process; a failure becomes a row with its error."""
    folder = Path(tempfile.mkdtemp(prefix="fuseplan-bench-"))
    try:
        plan_path = folder / "plan.json"
        argv = [sys.executable, "-m", "fuseplan.solver.bench.child",
                *spec.solve_argv(str(plan_path))]
        proc = _run_process(argv, folder, timeout_s)
        row: dict[str, Any] = {
            **spec_fields(spec),
            **_plan_fields({}),
            "status": "ERROR", "error": None,
            "wall_time_s": round(proc.wall_time_s, 3),
            "peak_rss_mb": round(proc.peak_rss_mb, 1),
            "exit_code": proc.exit_code,
        }
        plan_text = None
        if proc.timed_out:
            row.update(status="TIMEOUT", error=f"killed after {timeout_s:g} s (--run-timeout)")
        elif proc.exit_code < 0:  # the solver crashed (a signal): say which, with its last words
            name = signal.Signals(-proc.exit_code).name if -proc.exit_code in _SIGNALS else str(-proc.exit_code)
            row["error"] = f"the solver process died of signal {name}: {_error_line(folder)}"
        elif proc.exit_code != 0:
            row["error"] = _error_line(folder)
        elif not plan_path.exists():
            row["error"] = "the run ended without writing a plan"
        else:
            plan_text = plan_path.read_text()
            try:
                row.update(_plan_fields(json.loads(plan_text)))
            except (json.JSONDecodeError, AttributeError) as err:
                row["error"] = f"unreadable plan file: {err}"
                plan_text = None
        row["host"] = socket.gethostname()
        row["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return RunOutcome(row, plan_text)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def failed_outcome(spec: RunSpec, message: str) -> RunOutcome:
    """The row of a run that could not even be started or collected."""
    row = {**spec_fields(spec), **_plan_fields({}), "status": "ERROR", "error": message[:500],
           "wall_time_s": 0.0, "peak_rss_mb": None, "exit_code": None,
           "host": socket.gethostname(),
           "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    return RunOutcome(row, None)
