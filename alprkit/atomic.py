"""Write files so that a reader sees either the old content or the new, never half of it.

Results, checkpoints and reports are written to a temporary file beside the target,
flushed to disk, then renamed over it: ``os.replace`` is atomic within one file system,
and a crash or an exception mid-write leaves the old file untouched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Iterator


_TMP_SUFFIX = ".tmp"
# ``.name.1a2b3c4d.tmp``, or with the target's suffix kept (``.clip.mp4.1a2b3c4d.tmp.mp4``, :func:`atomic_path`).
_TMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.tmp(\.[A-Za-z0-9]+)?")


def is_temporary(path) -> bool:
    """Whether ``path`` is the temporary file of an :func:`atomic_write` (left behind only by a kill)."""
    return _TMP_NAME.fullmatch(Path(path).name) is not None


def remove_stale_temporaries(folder) -> int:
    """Delete the temporary files a killed run left under ``folder``; returns how many.

    Only for folders a single alprkit run writes (the output of ``alprkit run``): a
    temporary file of a run still writing would be removed too.
    """
    removed = 0
    for path in Path(folder).rglob(f"*{_TMP_SUFFIX}*"):
        if is_temporary(path) and path.is_file():
            with suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


@contextmanager
def atomic_write(path, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing (``mode`` "w" or "wb"); the file appears only if the block succeeds.

    Missing parent folders are created. On an exception the temporary file is removed
    and the exception propagates.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so the final rename never crosses file systems. os.open with 0o666 lets the
    # umask decide the permissions, as for a plain open(); tempfile.mkstemp would leave 0o600.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary file name beside ``path``, renamed over it if the block succeeds.

    For writers that open the file themselves (OpenCV's VideoWriter); the name keeps
    ``path``'s suffix, which such writers read to choose the format.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TMP_SUFFIX}{path.suffix}")
    try:
        yield tmp
        if not tmp.is_file():
            raise OSError(f"{path}: nothing was written")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path, data) -> None:
    """Write ``data`` (bytes or any buffer, e.g. a numpy array) to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> None:
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)


def write_json_atomic(path, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as UTF-8 JSON with a final newline; non-ASCII plate text stays readable."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")
