"""Run control shared by the methods: a deadline (time limit or Ctrl-C), progress events,
and the live progress line the command line shows on stderr.

Methods never print. They call :meth:`Deadline.report` with the best objective and bound
they know; the command line turns the events into a rich status line after the first
second (``--quiet`` turns it off).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .problem import Limits


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run is: seconds since start, its phase, best fusible bytes and bound so far."""

    seconds: float
    phase: str
    best_bytes: int | None = None
    bound_bytes: int | None = None

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

    def report(self, phase: str, best: int | None = None, bound: int | None = None) -> None:
        """Records an improved plan on the anytime curve and tells the progress callback."""
        now = self.elapsed()
        if best is not None and (not self.curve or best < self.curve[-1][1]):
            self.curve.append((round(now, 4), int(best)))
        if self.limits.progress is not None:
            self.limits.progress(ProgressEvent(now, phase, best, bound))


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


class LiveProgress:
    """A one-line rich status on stderr (best, bound, gap, time), shown only once a run has
    lasted ``delay_s`` seconds and only when stderr is a terminal (or ``force``)."""

    def __init__(self, delay_s: float = 1.0, force: bool = False) -> None:
        self.delay_s = delay_s
        self.enabled = force or sys.stderr.isatty()
        self._status = None
        self._best: int | None = None
        self._bound: int | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.best_bytes is not None:
            self._best = event.best_bytes
        if event.bound_bytes is not None:
            self._bound = event.bound_bytes
        if not self.enabled or event.seconds < self.delay_s:
            return
        text = self._text(event)
        if self._status is None:
            from rich.console import Console

            self._status = Console(file=sys.stderr).status(text)
            self._status.start()
        else:
            self._status.update(text)

    def _text(self, event: ProgressEvent) -> str:
        best = "-" if self._best is None else f"{self._best:,} B"
        bound = "-" if self._bound is None else f"{self._bound:,} B"
        gap = ProgressEvent(0, "", self._best, self._bound).gap
        gap_text = "-" if gap is None else f"{100 * gap:.2f} %"
        return (
            f"{event.phase}: best {best}  bound {bound}  gap {gap_text}  "
            f"{event.seconds:.1f} s (Ctrl-C stops and keeps the best plan)"
        )

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
