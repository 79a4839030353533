"""Checks of command-line option values, with one wording: ``option --flag: expected ..., got ...``.

Every subcommand checks its numbers and folders here before any work starts, so that a bad
value costs one line naming the flag, what it accepts, and what was given.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from harness.common.errors import HarnessError, excerpt
from harness.common.limits import Limit


def option_error(flag: str, problem: str) -> HarnessError:
    """The one-line error of a bad option value."""
    return HarnessError(f"option {flag}: {problem}")


def check_count(flag: str, value: int | None, limit: Limit | None = None, *, minimum: int = 1, maximum: int | None = None,
                hint: str = "") -> None:
    """An integer option (``None``: not given) is in ``[minimum, maximum]`` and within ``limit``."""
    if value is None:
        return
    if value < minimum or (maximum is not None and value > maximum):
        wanted = f"an integer in [{minimum}, {maximum}]" if maximum is not None else f"an integer >= {minimum}"
        raise option_error(flag, f"expected {wanted}, got {value}{f' ({hint})' if hint else ''}")
    if limit is not None:
        limit.check(value, f"option {flag}")


def check_range(flag: str, value: float | None, low: float, high: float, *, low_open: bool = False) -> None:
    """A number in ``[low, high]`` (``(low, high]`` with ``low_open``); NaN and infinities are refused."""
    if value is None:
        return
    left = "(" if low_open else "["
    inside = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not inside:
        raise option_error(flag, f"expected a number in {left}{low:g}, {high:g}], got {value}")


def check_finite(flag: str, value: float, bound: float = 1e6) -> None:
    """A finite number of magnitude below ``bound``."""
    if not (math.isfinite(value) and abs(value) < bound):
        raise option_error(flag, f"expected a finite number (|x| < {bound:g}), got {value}")


def check_seed(seed: int) -> None:
    if not 0 <= seed < 2**32:
        raise option_error("--seed", f"expected an integer in [0, 2^32), got {seed}")


def check_output_dir(path: Path | str, flag: str = "--out") -> None:
    """``path`` is (or can become) a writable folder: not a file, not under a file, not read-only."""
    path = Path(path)
    where = f"option {flag}: {excerpt(str(path), 120)}"
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{where} is {file_kind(path)}, not a folder; pass a folder for the output files")
    existing = path
    while not existing.exists():
        if existing.is_symlink():
            raise HarnessError(f"{where}: {existing} is a broken symbolic link; pass another folder")
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise HarnessError(f"{where} cannot be created: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK) or not _writable(existing):
        raise HarnessError(f"{where}: {existing} is not writable; pass a folder you can write to")


def file_kind(path: Path) -> str:
    """'a file', 'a device', 'a FIFO', 'a socket' or 'a folder': what is at ``path``, for messages."""
    import stat

    mode = path.stat().st_mode
    return ("a folder" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a file")


def _writable(folder: Path) -> bool:
    """Really create and remove a file (os.access says yes to root on read-only mounts)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".harness-write-check-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass
    return True
