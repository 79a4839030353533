"""How much memory this run may use: what the machine, the container or the user allows.

The estimate of what a run needs is in :mod:`harness.runtime.budget` (one estimate for the preflight
and the run); this module answers the other half: ``HARNESS_MEMORY_LIMIT`` when set, else the
smallest of the address-space limit (``ulimit -v``), the container's memory limit (cgroup) and
the memory available on the machine.
"""

from __future__ import annotations

import os
import resource

from harness.common.errors import ResourceLimit

MEMORY_ENV = "HARNESS_MEMORY_LIMIT"
#: Everything else the process holds (torch, onnxruntime, one imported model), roughly.
BASELINE_BYTES = 1 << 30


def available_bytes() -> tuple[int, str]:
    """(bytes, where the number comes from): the override, the address-space limit, cgroup, or free RAM."""
    override = os.environ.get(MEMORY_ENV)
    if override:
        try:
            return int(_parse_bytes(override)), MEMORY_ENV
        except ValueError:
            raise ResourceLimit(f"environment variable {MEMORY_ENV}: expected bytes such as 8G or 512M, got {override[:40]!r}") from None
    candidates: list[tuple[int, str]] = []
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft not in (resource.RLIM_INFINITY, -1):
        candidates.append((max(soft - _vm_size(), 0) + BASELINE_BYTES, "the address-space limit (ulimit -v)"))
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        value = _read_int(path)
        if value and value < 1 << 60:
            candidates.append((value, "the container's memory limit"))
            break
    meminfo = _meminfo_available()
    if meminfo:
        candidates.append((meminfo + BASELINE_BYTES, "the memory available on this machine"))
    return min(candidates) if candidates else (1 << 62, "no known limit")


def _parse_bytes(text: str) -> float:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    number = float(text[:-1] if text[-1:] in "KMGT" else text)
    if not number > 0 or number == float("inf"):
        raise ValueError(text)
    return number * scale


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _proc_bytes(path: str, field: str) -> int | None:
    """A ``field: N kB`` line of a /proc status file, in bytes (None when unreadable or absent)."""
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _meminfo_available() -> int | None:
    return _proc_bytes("/proc/meminfo", "MemAvailable:")


def _vm_size() -> int:
    return _proc_bytes("/proc/self/status", "VmSize:") or 0
