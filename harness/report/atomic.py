"""Atomic writes: a report file is either the old one, the complete new one, or absent."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; reports are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_all_atomic(folder: Path, files: Mapping[str, bytes], last: str | None = None) -> None:
    """Write several files atomically, ``last`` (the index, e.g. report.json) after all the others.

    Everything is rendered in memory before the first byte is written, so an interrupted run
    writes nothing; and since ``last`` lands last, a present report.json means a complete set.
    """
    order = [name for name in files if name != last] + ([last] if last in files else [])
    for name in order:
        write_atomic(folder / name, files[name])
