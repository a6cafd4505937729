"""Files the matching engine writes into the data directory: whole or not at all."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def write_atomically(path: Path, data: bytes | Callable[[BinaryIO], None], durable: bool = False) -> None:
    """Write data to path through a temporary sibling renamed into place: a reader sees the old file or the new one.

    data: the bytes, or a function that writes them to the open file (so a large file, such as an index
    snapshot, need not be held in memory whole first). durable: flush the file to disk before the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached(
    path: Path,
    read: Callable[[Path], T],
    build: Callable[[], T],
    save: Callable[[T, Path], None],
    what: str,
    save_errors: tuple[type[Exception], ...] = (OSError,),
) -> T:
    """Return read(path) when the cache there is usable, else build() it and save(value, path) for next time.

    An unreadable cache is rebuilt, never trusted; a failed write (a read-only data directory) only
    costs the cache. Both are logged with what the cache holds.
    """
    try:
        return read(path)
    except FileNotFoundError:
        pass
    except Exception as exc:
        log.warning("%s cache %s not used (%s); building it again", what, path, exc)
    value = build()
    try:
        save(value, path)
    except save_errors as exc:
        log.warning("could not cache the %s: %s", what, exc)
    return value
