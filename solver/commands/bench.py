"""``fuseplan bench``: many ``fuseplan solve`` runs, resumable, in parallel; ``fuseplan bench
report DIR`` turns a bench directory into a Markdown (or HTML) report with plots."""

from __future__ import annotations

import argparse
import sys
from typing import Any

NAME = "bench"
HELP = "run many solves (nets x schemes x buffers x methods x seeds) into DIR; `bench report DIR`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fuseplan.solver.bench.passthrough import add_passthrough_arguments

    parser.add_argument(
        "--nets", metavar="NETS",
        help="comma-separated: zoo names, families (mobilenets, resnets, efficientnets, paper, "
        "zoo, all), generated nets (wide:ops=200,width=4,seed=0, cells:cell=darts,cells=5), "
        ".onnx files or graph JSON files; ';' also separates",
    )
    parser.add_argument("--buffers", metavar="SIZES",
                        help="e.g. 128KB,256KB, or sweep (16KB to 2MB in powers of two)")
    parser.add_argument("--schemes", default="lbdf", metavar="S,S",
                        help="cost models, e.g. lbdf,brr (default: lbdf)")
    parser.add_argument(
        "--methods", default="auto", metavar="M[:REPAIR],...",
        help="`fuseplan solve --method` names (default: auto). `exact` is another name for "
        "auto (the exact default), `cpsat` picks cpsat-flow or cpsat-partition by the "
        "number of ideals; M:REPAIR runs method M with the repair strategy REPAIR "
        "(`--repair`, for the heuristic searches; exact methods take none)",
    )
    parser.add_argument("--time-limit", type=float, metavar="S", help="seconds per run")
    parser.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 0..N-1 (default 1)")
    parser.add_argument("--jobs", type=int, metavar="N", help="runs at once (default: the cores)")
    parser.add_argument("--workers-per-job", type=int, default=1, metavar="W",
                        help="solver workers of each run (default 1)")
    parser.add_argument("--backend", choices=("process", "ray"), default="process",
                        help="local processes (default) or Ray tasks")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="an existing Ray cluster (default: start a local Ray)")
    parser.add_argument("--run-timeout", type=float, metavar="S",
                        help="kill a run after S seconds (default: 3 x --time-limit + 120, "
                        "none without a time limit)")
    parser.add_argument("--retry-errors", action="store_true",
                        help="run again the runs whose row is an error")
    parser.add_argument("--out", metavar="DIR", help="bench directory (rows.jsonl, rows.csv, plans/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-run lines")
    add_passthrough_arguments(parser)
    parser.usage = (
        "fuseplan bench --nets NETS --buffers SIZES --out DIR [options]\n"
        "       fuseplan bench report DIR [--format md|html]"
    )
    sub = parser.add_subparsers(
        dest="bench_command", metavar="report DIR", title="optional subcommand",
        description="`fuseplan bench report DIR` reports on a bench directory instead of running",
    )
    report = sub.add_parser("report", help="write DIR/report/report.md (or .html) with plots",
                            description="write a report of a bench directory with tables and plots")
    report.add_argument("dir", metavar="DIR", help="a bench directory (--out of fuseplan bench)")
    report.add_argument("--format", choices=("md", "html"), default="md")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "bench_command", None) == "report":
        return _report(args)
    return _bench(args)


def _report(args: argparse.Namespace) -> int:
    from fuseplan.solver.bench.report import write_report

    path = write_report(args.dir, fmt=args.format)
    print(path)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from fuseplan import __version__
    from fuseplan.models.errors import FusePlanError
    from fuseplan.solver.bench.execute import run_bench
    from fuseplan.solver.bench.passthrough import passthrough_argv
    from fuseplan.solver.bench.spec import (
        expand_runs, parse_buffers, parse_methods, parse_nets, parse_schemes,
    )

    for flag, value in (("--nets", args.nets), ("--buffers", args.buffers), ("--out", args.out)):
        if not value:
            raise FusePlanError(
                f"{flag} is required, e.g. fuseplan bench --nets mobilenet_v2 --buffers 128KB "
                "--out bench/mbv2 (or `fuseplan bench report DIR`)"
            )
    runs = expand_runs(
        parse_nets(args.nets), parse_schemes(args.schemes), parse_buffers(args.buffers),
        parse_methods(args.methods),
        seeds=args.seeds, time_limit_s=args.time_limit, workers=args.workers_per_job,
        passthrough=passthrough_argv(args), tool_version=__version__,
    )
    from fuseplan.solver.bench.execute import default_jobs

    progress = _Progress(quiet=args.quiet, jobs=args.jobs or default_jobs())
    try:
        summary = run_bench(
            runs, args.out, jobs=args.jobs, backend=args.backend, ray_address=args.ray_address,
            retry_errors=args.retry_errors, run_timeout_s=args.run_timeout,
            on_start=progress.start, on_row=progress.row, on_launch=progress.launch,
        )
    finally:
        progress.stop()
    from pathlib import Path

    rows = Path(summary.out_dir) / "rows.jsonl"  # runs/ + rows.jsonl, not runs//rows.jsonl
    print(
        f"{summary.total} runs: {summary.skipped} already in {Path(summary.out_dir)}, "
        f"{summary.done} run now ({summary.failed} failed) in {summary.wall_time_s:.1f} s; "
        f"rows: {rows}, rows.csv"
    )
    if summary.failed_kept:
        print(
            f"fuseplan bench: {summary.failed_kept} run(s) failed in an earlier call and were "
            f"not run again (their rows in {rows} say why); rerun with --retry-errors",
            file=sys.stderr,
        )
    return 1 if summary.failed or summary.failed_kept else 0


class _Progress:
    """A rich progress bar on stderr (done of total, elapsed, ETA, the runs in progress), and
    one line per finished run with the same counts, so a log file shows them too.

    The ETA counts the runs still going: each running run is expected to take the mean time
    of the finished ones (at least as long as it has run already), each queued run the mean,
    spread over the ``jobs`` slots."""

    def __init__(self, quiet: bool, jobs: int = 1) -> None:
        import threading

        self.quiet = quiet
        self.jobs = max(1, jobs)
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._running: dict[str, tuple[str, float]] = {}  # key -> (label, start)
        self._times: list[float] = []
        self._pending = 0

    def start(self, pending: int, skipped: int) -> None:
        self._pending = pending
        if self.quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        outer = self

        class _Live(ProgressColumn):
            def render(self, task: Any) -> Text:  # noqa: ARG002 - the state is outer's
                return Text(outer.status(), overflow="ellipsis", no_wrap=True)

        console = Console(file=sys.stderr)
        if skipped:
            console.print(f"{skipped} runs already done, {pending} to run")
        self._bar = Progress(
            TextColumn("bench"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TimeElapsedColumn(), _Live(), console=console,
        )
        self._task = self._bar.add_task("bench", total=pending)
        self._bar.start()

    def launch(self, spec: Any) -> None:
        import time

        with self._lock:
            self._running[spec.key] = (spec.label(), time.perf_counter())

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds until every run has ended, or None before any run has."""
        import time

        now = time.perf_counter() if now is None else now
        with self._lock:
            if not self._times:
                return None
            mean = sum(self._times) / len(self._times)
            running = [now - t0 for _, t0 in self._running.values()]
            queued = max(0, self._pending - len(self._times) - len(running))
        left = [max(mean - age, 0.0) for age in running]
        work = sum(left) + queued * mean
        return max(work / self.jobs, max(left, default=0.0))

    def status(self) -> str:
        """``ETA ~ 40 s; running: net scheme buffer method (12 s), ...``"""
        import time

        eta = self.eta_s()
        now = time.perf_counter()
        with self._lock:
            running = sorted(self._running.values(), key=lambda r: r[1])
        text = "ETA " + ("-" if eta is None else f"~ {_duration(eta)}")
        if running:
            text += "; running: " + ", ".join(
                f"{label} ({now - t0:.0f} s)" for label, t0 in running)
        return text

    def row(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._running.pop(row["key"], None)
            if row.get("wall_time_s") is not None:
                self._times.append(float(row["wall_time_s"]))
            done = len(self._times)
        if self._bar is None:
            return
        from rich.markup import escape

        if row["status"] in ("ERROR", "TIMEOUT"):
            what = f"[red]{row['status']}[/red] {escape(str(row.get('error')))}"
        else:
            mb, gap = row.get("all_dram_mb"), row.get("gap")
            what = f"{row['status']} {mb:.3f} MB" if mb is not None else row["status"]
            if row["status"] == "FEASIBLE" and gap is not None:
                what += f" (gap {100 * gap:.1f} %)"
        eta = self.eta_s()
        with self._lock:
            running = len(self._running)
        counts = f"[{done}/{self._pending}" + (f", {running} running" if running else "") + (
            "" if eta is None or done == self._pending else f", ETA ~ {_duration(eta)}") + "]"
        self._bar.console.print(
            f"{escape(row['net'])} {row['scheme']} {row['buffer']} {row['method']} seed={row['seed']}: "
            f"{what} ({row['wall_time_s']:.1f} s) {escape(counts)}", markup=True, highlight=False,
            soft_wrap=True,
        )
        self._bar.advance(self._task)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
