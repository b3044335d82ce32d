"""A bench directory: ``rows.jsonl`` (one JSON row per finished run), ``rows.csv`` (the same
rows, fixed columns) and ``plans/<key>.json``.

Only the bench process writes (single writer; a lock file keeps a second bench off the same
directory). A row is appended with one ``write`` on an O_APPEND file and fsynced, after its
plan file is in place, so a ``kill -9`` loses at most the runs in flight. On opening, a torn
last line is cut off and the CSV is rebuilt from the JSONL, which is the record.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import os
from pathlib import Path
from typing import Any

from fuseplan.models.errors import FusePlanError
from fuseplan.models.fileio import write_error, write_text_atomic

ROWS_JSONL = "rows.jsonl"
ROWS_CSV = "rows.csv"
PLANS = "plans"
CSV_COLUMNS = (
    "key", "net", "scheme", "buffer_bytes", "buffer", "method", "seed", "time_limit_s",
    "workers", "passthrough", "tool_version", "status", "error",
    "fusible_dram_bytes", "fusible_dram_mb", "all_dram_bytes", "all_dram_mb",
    "bound_bytes", "all_bound_bytes", "lower_bound_bytes", "upper_bound_bytes", "gap",
    "wall_time_s", "solve_time_s", "peak_rss_mb", "exit_code",
    "ops", "ideals", "candidates", "plan_file", "finished_at",
)


def _csv_line(row: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return buf.getvalue()


class ResultStore:
    """The rows of one bench directory; :meth:`append` adds one finished run."""

    def __init__(self, out_dir: str | Path, *, lock: bool = True) -> None:
        self.dir = Path(out_dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise FusePlanError(f"--out {str(self.dir)!r} is a file, not a directory")
        self._lock_fd: int | None = None
        try:
            (self.dir / PLANS).mkdir(parents=True, exist_ok=True)
            if lock:
                self._take_lock()
            self._rows = self._load()
        except OSError as err:  # a read-only folder, a full disk: one line, not a traceback
            self.close()
            raise write_error(self.dir, err) from None
        write_text_atomic(self.dir / ROWS_CSV, self._csv_text(self._rows))

    def _take_lock(self) -> None:
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FusePlanError(
                f"another fuseplan bench is writing to {str(self.dir)!r}: wait for it to end "
                "or use another --out"
            ) from None
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            try:  # no empty .lock left behind; removed while still held, so no one is waiting
                os.unlink(self.dir / ".lock")
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load(self) -> list[dict[str, Any]]:
        path = self.dir / ROWS_JSONL
        if not path.exists():
            return []
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line from a killed writer: cut it off
            with open(path, "r+b") as fh:
                fh.truncate(end)
        rows = []
        for number, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise FusePlanError(
                    f"{str(path)!r} line {number} is not JSON: fix or delete that line"
                ) from None
        return rows

    @staticmethod
    def _csv_text(rows: list[dict[str, Any]]) -> str:
        return ",".join(CSV_COLUMNS) + "\n" + "".join(_csv_line(r) for r in rows)

    def rows(self) -> list[dict[str, Any]]:
        """Every row, the latest per key (a retried run replaces its error row)."""
        latest: dict[str, dict[str, Any]] = {}
        for row in self._rows:
            latest[row["key"]] = row
        return list(latest.values())

    def finished_keys(self, *, include_errors: bool = True) -> set[str]:
        return {
            r["key"] for r in self.rows() if include_errors or r.get("status") not in ("ERROR", "TIMEOUT")
        }

    def plan_path(self, key: str) -> Path:
        return self.dir / PLANS / f"{key}.json"

    def append(self, row: dict[str, Any], plan_text: str | None) -> None:
        """Writes the plan file (if any), then appends the row to the JSONL and the CSV."""
        if plan_text is not None:
            write_text_atomic(self.plan_path(row["key"]), plan_text)
            row = {**row, "plan_file": f"{PLANS}/{row['key']}.json"}
        line = (json.dumps(row, sort_keys=False) + "\n").encode()
        try:
            self._append_bytes(self.dir / ROWS_JSONL, line)
            self._append_bytes(self.dir / ROWS_CSV, _csv_line(row).encode())
        except OSError as err:  # the rows stored so far stay; the bench stops with one line
            raise write_error(self.dir / ROWS_JSONL, err) from None
        self._rows.append(row)

    @staticmethod
    def _append_bytes(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                written = os.write(fd, data)
                if written != len(data):  # a full disk takes part of the line
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)  # no torn line for the next append to follow
                raise
        finally:
            os.close(fd)


def read_rows(out_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of a bench directory without writing anything (the latest row per key; a
    torn last line is skipped), for reports made while a bench may still be running."""
    path = Path(out_dir) / ROWS_JSONL
    if not path.is_file():
        raise FusePlanError(
            f"{str(path)!r} does not exist: is {str(out_dir)!r} the --out of a fuseplan bench?"
        )
    latest: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "key" in row:
            latest[row["key"]] = row
    return list(latest.values())
