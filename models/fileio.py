"""Writing files atomically: a temp file in the same folder, then a rename.

A reader never sees half a file, and an interrupted run leaves the old file (or none).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import FusePlanError


def write_text_atomic(path: str | Path, text: str) -> None:
    """Writes ``text`` to ``path`` whole or not at all; a full disk or a folder that cannot be
    written is a one-line :class:`FusePlanError` (the old file, if any, is left as it was)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FusePlanError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise write_error(target, err) from None
    try:
        os.fchmod(fd, new_file_mode())  # mkstemp makes 0600; a written file gets the usual mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise write_error(target, err) from None
        raise


def write_error(target: str | Path, err: OSError) -> FusePlanError:
    """The one-line error for a write that failed: what, why, and what to do."""
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        todo = "free some space or write to another folder"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        todo = "the folder is read-only for you (or closed to you): write to another folder"
    else:
        todo = "check the folder, or write to another one"
    return FusePlanError(f"cannot write {str(target)!r}: {reason}; {todo}")


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0666 less this process's umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


def check_output_path(
    path: str | Path, *, what: str = "output file", suffixes: tuple[str, ...] | None = None
) -> Path:
    """Checks, before any work is done, that ``path`` can be written: its folder exists, it
    is not a folder, and (when ``suffixes`` is given) its suffix is one of them."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        if target.is_dir():
            raise FusePlanError(f"cannot write {what} {str(target)!r}: it is a folder; give a file name")
        if not folder.is_dir():
            raise FusePlanError(
                f"cannot write {what} {str(target)!r}: folder {str(folder)!r} does not exist"
            )
    except OSError as err:  # a folder on the way that is closed to this user
        raise write_error(target, err) from None
    if not os.access(folder, os.W_OK | os.X_OK):  # the file is replaced, so only the folder counts
        raise FusePlanError(
            f"cannot write {what} {str(target)!r}: its folder is read-only for you: write to "
            "another folder"
        )
    if suffixes is not None and target.suffix.lower() not in suffixes:
        raise FusePlanError(
            f"cannot write {what} {str(target)!r}: use one of the suffixes {', '.join(suffixes)}"
        )
    return target


@contextmanager
def atomic_temp_path(target: Path) -> Iterator[str]:
    """The name of a temp file in ``target``'s folder for the block to write; when the block
    ends without an error the file gets the usual mode and replaces ``target``, otherwise it
    is removed. An OSError is a one-line :class:`FusePlanError`."""
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise write_error(target, err) from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, target)
    except OSError as err:
        raise write_error(target, err) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_figure_atomic(fig: Any, path: str | Path, *, dpi: float = 110.0) -> None:
    """Saves a matplotlib figure atomically (temp file + rename), with the usual file mode."""
    target = check_output_path(path, what="drawing", suffixes=IMAGE_SUFFIXES)
    fmt = target.suffix.lstrip(".").lower()
    fmt = "jpeg" if fmt == "jpg" else fmt
    with atomic_temp_path(target) as tmp:
        try:
            fig.savefig(tmp, format=fmt, dpi=dpi)
        except ValueError as err:
            raise FusePlanError(f"cannot draw to {str(target)!r}: {err}") from None


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


# A plan or graph JSON of a 5,000-op net is a few MB, and nests 6 levels deep.
MAX_JSON_BYTES = 256 * 2**20
MAX_JSON_DEPTH = 64


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """The data of a JSON file; a one-line error for a missing, unreadable, invalid, larger
    than :data:`MAX_JSON_BYTES` (checked before reading) or deeper than
    :data:`MAX_JSON_DEPTH` file."""
    p = Path(path)
    if not p.exists():
        raise FusePlanError(f"{what} {str(p)!r} does not exist")
    if p.is_dir():
        raise FusePlanError(f"{what} {str(p)!r} is a directory: give the path of a file in it")
    try:
        size = p.stat().st_size
        if size > MAX_JSON_BYTES:
            raise FusePlanError(
                f"{what} {str(p)!r} is larger than {MAX_JSON_BYTES // 2**20} MiB ({size:,} bytes): "
                "it is not a file fuseplan wrote; check the path"
            )
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FusePlanError(f"{what} {str(p)!r} is not valid JSON: {err}") from None
    except RecursionError:
        data = None  # deeper than Python's recursion limit: refused below
        depth = MAX_JSON_DEPTH + 1
    except OSError as err:
        raise FusePlanError(f"{what} {str(p)!r} cannot be read: {err.strerror or err}") from None
    else:
        depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise FusePlanError(
            f"{what} {str(p)!r} is nested deeper than {MAX_JSON_DEPTH} levels: it is not a file "
            "fuseplan wrote; check the path"
        )
    return data


def json_depth(data: Any) -> int:
    """How deeply lists and objects nest in ``data`` (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((v, depth + 1) for v in value)
    return deepest
