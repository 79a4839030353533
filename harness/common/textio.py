"""Reading a user's file whole, safely: regular files only, bounded size, one-line decode errors.

Every text the harness reads whole (cards, zoo files, image lists, ground-truth CSVs, reports)
goes through :func:`read_bytes` / :func:`read_text`, so none of them can hang on a FIFO or a
device (``harness validate /dev/zero``), swallow a many-GB file, or raise a raw
``UnicodeDecodeError``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from harness.common.errors import HarnessError, ValidationError
from harness.common.limits import Limit


def open_regular(path: Path, what: str, error: type[HarnessError] = ValidationError) -> int:
    """A read-only descriptor on ``path``, refusing anything but a regular file (never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{path}: cannot read {what}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder; expected a regular file ({what})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:  # pragma: no cover - fstat on an open descriptor
        os.close(fd)
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise error(f"{path}: is {kind}; expected a regular file ({what})")
    return fd


def read_bytes(path: Path | str, what: str, limit: Limit, error: type[HarnessError] = ValidationError) -> bytes:
    """The whole file, refusing non-regular files and files larger than ``limit``."""
    path = Path(path)
    fd = open_regular(path, what, error)
    cap = limit.value
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise error(f"{path}: {what} of {size} bytes is above {limit.how()}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise error(f"{path}: {what} is above {limit.how()}")
    except OSError as exc:
        code = f"{errno.errorcode.get(exc.errno, '')} " if exc.errno else ""
        raise error(f"{path}: cannot read {what} ({code}{exc.strerror or exc})") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def decode(data: bytes, path: Path | str, what: str, encoding: str = "utf-8", error: type[HarnessError] = ValidationError) -> str:
    """``data`` as text; a decoding error names the file, the line and the byte."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}:{line}: {what} is not {encoding.upper().removesuffix('-SIG')} text "
                    f"(byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None


def read_text(path: Path | str, what: str, limit: Limit, encoding: str = "utf-8", error: type[HarnessError] = ValidationError) -> str:
    """:func:`read_bytes` then :func:`decode`; NUL bytes are refused too (binary, not text)."""
    data = read_bytes(path, what, limit, error)
    text = decode(data, path, what, encoding, error)
    nul = text.find("\0")
    if nul >= 0:
        raise error(f"{path}:{text.count(chr(10), 0, nul) + 1}: {what} holds a NUL byte; expected a text file")
    return text


def read_csv_rows(path: Path | str, what: str, limit: Limit, error: type[HarnessError] = ValidationError) -> list[list[str]]:
    """Every row of a CSV file (read whole through :func:`read_text`: bounded, regular files only)."""
    import csv
    import io

    text = read_text(path, what, limit, encoding="utf-8-sig", error=error)
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise error(f"{path}: {what} is not a readable CSV ({exc}); save it as comma-separated UTF-8 text") from None

