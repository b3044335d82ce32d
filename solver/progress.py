"""Run control shared by the methods: a deadline (time limit or Ctrl-C), progress events,
and the live progress line the command line shows on stderr.

Methods never print. They call :meth:`Deadline.report` with the best objective and bound
they know and, where they can count, how much is done (``done`` of ``total`` ``unit``); the
command line turns the events into a rich status line on a terminal after the first second,
or a plain line every few seconds when stderr is a log file or a pipe (``--quiet`` turns
both off).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from .problem import Limits


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run is: seconds since start, its phase, best fusible bytes and bound so far,
    and, when the phase can count, ``done`` of ``total`` (None: unknown) ``unit``."""

    seconds: float
    phase: str
    best_bytes: int | None = None
    bound_bytes: int | None = None
    done: int | None = None
    total: int | None = None
    unit: str = ""

    @property
    def gap(self) -> float | None:
        if self.best_bytes is None or self.bound_bytes is None or self.best_bytes <= 0:
            return None
        return max(0.0, (self.best_bytes - self.bound_bytes) / self.best_bytes)


class Deadline:
    """The time left and whether to stop (time limit reached, or the stop event set)."""

    def __init__(self, limits: Limits, start: float | None = None) -> None:
        self.start = time.perf_counter() if start is None else start
        self.limits = limits
        self.end = None if limits.time_limit_s is None else self.start + limits.time_limit_s
        self.curve: list[tuple[float, int]] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float | None:
        if self.end is None:
            return None
        return max(0.0, self.end - time.perf_counter())

    def interrupted(self) -> bool:
        return self.limits.stop is not None and self.limits.stop.is_set()

    def expired(self) -> bool:
        if self.interrupted():
            return True
        return self.end is not None and time.perf_counter() >= self.end

    def report(
        self, phase: str, best: int | None = None, bound: int | None = None, *,
        done: int | None = None, total: int | None = None, unit: str = "",
    ) -> None:
        """Records an improved plan on the anytime curve and tells the progress callback."""
        now = self.elapsed()
        if best is not None and (not self.curve or best < self.curve[-1][1]):
            self.curve.append((round(now, 4), int(best)))
        if self.limits.progress is not None:
            self.limits.progress(ProgressEvent(now, phase, best, bound, done, total, unit))


class StopWatcher:
    """Calls ``on_stop`` from a helper thread once the deadline's stop event is set (used to
    stop a solver running in C++ when the user presses Ctrl-C)."""

    def __init__(self, deadline: Deadline, on_stop: Callable[[], None]) -> None:
        self._deadline = deadline
        self._on_stop = on_stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.wait(0.1):
            if self._deadline.interrupted():
                self._on_stop()
                return

    def __enter__(self) -> StopWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


PHASES: tuple[tuple[str, str], ...] = (
    # what a phase means, for a person reading the progress line
    (r"^optimal at (\d+) KB$",
     r"first plans: solved exactly at a smaller buffer (\1 KB), a valid plan at this one too"),
    (r"^enumerating candidates$", "listing candidate groups (connected, convex, fitting)"),
    (r"^building arcs over ideals$", "linking candidate groups to the ideals they extend"),
    (r"^counting ideals$", "counting ideals (op sets closed under predecessors)"),
    (r"^astar: best-first over ideals$", "A*: expanding ideals, cheapest estimate first"),
    (r"^astar: plan of consecutive runs$", "A*: first plan, the best runs of consecutive ops"),
    (r"^(ideals|astar)$", r"\1: done"),
    (r"^starting$", "setting up the method (bounds, a first plan)"),
    (r"^auto: first plan and bound$",
     "auto: a first plan (runs of consecutive ops) and a bound for the whole problem"),
)


def describe_phase(phase: str) -> str:
    """A method's phase name in words (``optimal at 128 KB`` -> what that is for)."""
    for pattern, words in PHASES:
        if re.match(pattern, phase):
            return re.sub(pattern, words, phase)
    return phase


def _bytes(n: int | None) -> str:
    return "-" if n is None else f"{n:,} B"


class LiveProgress:
    """Progress on stderr: a one-line rich status (phase, counts, best, bound, gap, time) on a
    terminal, shown once a run has lasted ``delay_s``; otherwise a plain line every
    ``every_s`` seconds (default 5, or ``$FUSEPLAN_PROGRESS_EVERY``), for a log file or CI.

    A ticker thread refreshes the time between the method's events, so a long phase that
    reports rarely still shows it is alive."""

    def __init__(
        self, delay_s: float = 1.0, force: bool = False, *, stream: TextIO | None = None,
        every_s: float | None = None, ticker: bool = True,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = force or self.stream.isatty()
        self.delay_s = delay_s
        if every_s is None:
            try:
                every_s = float(os.environ.get("FUSEPLAN_PROGRESS_EVERY", "") or 5.0)
            except ValueError:
                every_s = 5.0
        self.every_s = every_s if every_s > 0 else 5.0
        self.enabled = True
        self._status = None
        self._start = time.perf_counter()
        self._event = ProgressEvent(0.0, "starting")
        self._best: int | None = None
        self._bound: int | None = None
        self._rates: dict[str, tuple[float, int]] = {}  # phase -> (seconds, done) at its start
        self._last_line = 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = None
        if ticker:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            # the best plan only improves, the best bound only rises (each one is valid)
            if event.best_bytes is not None:
                self._best = min(event.best_bytes, self._best or event.best_bytes)
            if event.bound_bytes is not None:
                self._bound = max(event.bound_bytes, self._bound or 0)
            if event.done is not None and event.phase not in self._rates:
                self._rates[event.phase] = (event.seconds, event.done)
            if event.done is None and event.phase == self._event.phase:
                # a bare event of the same phase keeps the counts already known
                event = ProgressEvent(event.seconds, event.phase, event.best_bytes,
                                      event.bound_bytes, self._event.done, self._event.total,
                                      self._event.unit)
            self._event = event
            self._show(event.seconds)

    def _tick(self) -> None:
        step = 0.5 if self.live else min(1.0, self.every_s)
        while not self._done.wait(step):
            with self._lock:
                self._show(time.perf_counter() - self._start)

    def _show(self, seconds: float) -> None:
        if self.live:
            if seconds < self.delay_s:
                return
            text = self.text(seconds)
            if self._status is None:
                from rich.console import Console

                self._status = Console(file=self.stream).status(text)
                self._status.start()
            else:
                self._status.update(text)
        elif seconds - self._last_line >= self.every_s:
            self._last_line = seconds
            print(f"fuseplan: {self.text(seconds, plain=True)}", file=self.stream, flush=True)

    def _count(self, seconds: float) -> str:
        e = self._event
        if e.done is None:
            return ""
        what = f"{e.done:,}" + (f" of {e.total:,}" if e.total else "") + f" {e.unit}".rstrip()
        if e.total:
            what += f" ({100 * e.done / e.total:.0f} %"
            t0, d0 = self._rates.get(e.phase, (e.seconds, e.done))
            if e.done > d0 and e.seconds > t0:
                rate = (e.done - d0) / (e.seconds - t0)
                what += f", about {max(0.0, (e.total - e.done) / rate):.0f} s left"
            what += ")"
        return what

    def text(self, seconds: float, *, plain: bool = False) -> str:
        gap = ProgressEvent(0, "", self._best, self._bound).gap
        parts = [describe_phase(self._event.phase)]
        count = self._count(seconds)
        if count:
            parts.append(count)
        parts += [
            f"best plan {_bytes(self._best)}",
            f"bound {_bytes(self._bound)}",
            f"gap {'-' if gap is None else f'{100 * gap:.2f} %'}",
            f"{seconds:.1f} s elapsed",
        ]
        line = "; ".join(parts)
        return line if plain else f"{line} (Ctrl-C stops and keeps the best plan)"

    def close(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._status is not None:
            self._status.stop()
            self._status = None
