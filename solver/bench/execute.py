"""Running the pending runs of a bench: a local pool or Ray, a progress bar, rows as they end.

``process`` backend: ``jobs`` slots, each runs one fresh ``fuseplan solve`` process at a time
(threads only wait on the processes). ``ray`` backend: the same :func:`run_one` as Ray tasks
that each reserve ``workers`` CPUs, on a local Ray or on the cluster at ``ray_address``.
Either way the bench process receives the finished rows and is the only writer.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from fuseplan.models.errors import FusePlanError

from .runner import RunOutcome, failed_outcome, run_one
from .spec import RunSpec
from .store import ResultStore

BACKENDS = ("process", "ray")


@dataclass(frozen=True)
class BenchSummary:
    """What one ``fuseplan bench`` call did; ``failed`` counts its ERROR/TIMEOUT rows,
    ``failed_kept`` the error rows of earlier calls it skipped (not retried without
    ``retry_errors``)."""

    out_dir: str
    total: int
    skipped: int
    done: int
    failed: int
    wall_time_s: float
    failed_kept: int = 0


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_timeout(spec: RunSpec, run_timeout_s: float | None) -> float | None:
    """The kill timeout of a run: the one given, else 3 x its time limit + 120 s, else none."""
    if run_timeout_s is not None:
        return run_timeout_s
    return None if spec.time_limit_s is None else 3 * spec.time_limit_s + 120


def _process_results(
    runs: Sequence[RunSpec], jobs: int, run_timeout_s: float | None,
    on_launch: Callable[[RunSpec], None] | None = None,
) -> Iterator[RunOutcome]:
    def launch(spec: RunSpec) -> RunOutcome:
        if on_launch is not None:
            on_launch(spec)
        return run_one(spec, run_timeout(spec, run_timeout_s))

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="bench") as pool:
        spec_of: dict[Future[RunOutcome], RunSpec] = {
            pool.submit(launch, spec): spec for spec in runs
        }
        pending = set(spec_of)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        outcome = future.result()
                    except OSError as err:  # could not start the process, no temp folder, ...
                        outcome = failed_outcome(spec_of[future], f"could not run: {err}")
                    except Exception as err:  # a bug in one run's collection: the others go on
                        outcome = failed_outcome(
                            spec_of[future], f"the run failed: {type(err).__name__}: {err}")
                    yield outcome
        finally:
            for future in pending:
                future.cancel()


def _ray_results(
    runs: Sequence[RunSpec], jobs: int, run_timeout_s: float | None, address: str | None
) -> Iterator[RunOutcome]:
    try:
        import ray
    except ImportError:
        raise FusePlanError(
            "--backend ray needs Ray: pip install \"fuseplan[ray]\" (or use --backend process)"
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            try:
                ray.init(address=address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise FusePlanError(
                    f"--ray-address {address}: cannot connect to a Ray cluster ({err}); start "
                    "one with `ray start --head` (its token must be readable here), or leave "
                    "--ray-address out for a local Ray"
                ) from None
        else:
            # "local": a new Ray of our own, even if `ray start` left a cluster behind
            ray.init(address="local", num_cpus=jobs, include_dashboard=False, **quiet)
    try:
        remote = ray.remote(run_one)
        refs = [
            remote.options(num_cpus=spec.workers).remote(spec, run_timeout(spec, run_timeout_s))
            for spec in runs
        ]
        spec_of = {ref: spec for ref, spec in zip(refs, runs)}
        while refs:
            done, refs = ray.wait(refs, num_returns=1)
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayError as err:  # the task itself died (worker lost, ...)
                yield failed_outcome(spec_of[done[0]], f"Ray task failed: {err}".splitlines()[0])
    finally:
        if started_here:
            ray.shutdown()


def run_bench(
    runs: Sequence[RunSpec],
    out_dir: str | Path,
    *,
    jobs: int | None = None,
    backend: str = "process",
    ray_address: str | None = None,
    retry_errors: bool = False,
    run_timeout_s: float | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_row: Callable[[dict], None] | None = None,
    on_launch: Callable[[RunSpec], None] | None = None,
) -> BenchSummary:
    """Runs every spec not yet in ``out_dir`` and appends a row as each one ends.

    ``on_start(pending, skipped)`` is called once before the runs, ``on_launch(spec)`` as a
    run starts (process backend; Ray queues its tasks itself), ``on_row(row)`` after each
    row is stored (the command line draws its progress bar with them).
    """
    if backend not in BACKENDS:
        raise FusePlanError(f"--backend {backend!r}: use {' or '.join(BACKENDS)}")
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise FusePlanError(f"--jobs must be at least 1 (got {jobs})")
    start = time.perf_counter()
    store = ResultStore(out_dir)
    try:
        finished = store.finished_keys(include_errors=not retry_errors)
        pending = [spec for spec in runs if spec.key not in finished]
        wanted = {spec.key for spec in runs}
        failed_kept = len(wanted & (finished - store.finished_keys(include_errors=False)))
        pending = list({spec.key: spec for spec in pending}.values())
        if on_start:
            on_start(len(pending), len(runs) - len(pending))
        results = (
            _ray_results(pending, jobs, run_timeout_s, ray_address)
            if backend == "ray" and pending
            else _process_results(pending, jobs, run_timeout_s, on_launch)
        )
        failed = 0
        for outcome in results:
            store.append(outcome.row, outcome.plan_text)
            failed += outcome.row["status"] in ("ERROR", "TIMEOUT")
            if on_row:
                on_row(outcome.row)
    finally:
        store.close()
    return BenchSummary(
        out_dir=str(out_dir),
        total=len(runs),
        skipped=len(runs) - len(pending),
        done=len(pending),
        failed=failed,
        wall_time_s=round(time.perf_counter() - start, 3),
        failed_kept=failed_kept,
    )
