"""Writing files atomically: a temp file in the same folder, then a rename.

A reader never sees half a file, and an interrupted run leaves the old file (or none).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import FusePlanError


def write_text_atomic(path: str | Path, text: str) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FusePlanError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, new_file_mode())  # mkstemp makes 0600; a written file gets the usual mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    if target.is_dir():
        raise FusePlanError(f"cannot write {what} {str(target)!r}: it is a folder; give a file name")
    if not folder.is_dir():
        raise FusePlanError(
            f"cannot write {what} {str(target)!r}: folder {str(folder)!r} does not exist"
        )
    if suffixes is not None and target.suffix.lower() not in suffixes:
        raise FusePlanError(
            f"cannot write {what} {str(target)!r}: use one of the suffixes {', '.join(suffixes)}"
        )
    return target


def save_figure_atomic(fig: Any, path: str | Path, *, dpi: float = 110.0) -> None:
    """Saves a matplotlib figure atomically (temp file + rename), with the usual file mode."""
    target = check_output_path(path, what="drawing", suffixes=IMAGE_SUFFIXES)
    fmt = target.suffix.lstrip(".").lower()
    fmt = "jpeg" if fmt == "jpg" else fmt
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, format=fmt, dpi=dpi)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, target)
    except ValueError as err:
        raise FusePlanError(f"cannot draw to {str(target)!r}: {err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    p = Path(path)
    if not p.exists():
        raise FusePlanError(f"{what} {str(p)!r} does not exist")
    if p.is_dir():
        raise FusePlanError(f"{what} {str(p)!r} is a directory: give the path of a file in it")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FusePlanError(f"{what} {str(p)!r} is not valid JSON: {err}") from None
    except OSError as err:
        raise FusePlanError(f"{what} {str(p)!r} cannot be read: {err.strerror or err}") from None
