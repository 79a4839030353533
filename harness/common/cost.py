"""What one piece of work costs: wall seconds and the peak memory it added.

Reports show each estimator's quality beside its cost. Peak memory is the highest resident
set size seen while the work ran, minus the resident size when it started, sampled by a
background thread every few milliseconds from ``/proc/self/statm``: unlike tracemalloc it
does not slow the work down (timings stay honest) and it sees torch's and BLAS's buffers,
not only Python's. A spike shorter than the sampling period can be missed, so the figure is
a lower bound; on systems without ``/proc`` it is None.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: Seconds between two samples of the resident set size.
SAMPLE_SECONDS = 0.005
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """Resident set size of this process, or None where /proc is unavailable."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Cost:
    seconds: float = 0.0
    peak_bytes: int | None = None  # resident bytes added at the peak (lower bound)

    def as_dict(self) -> dict[str, float | None]:
        mb = None if self.peak_bytes is None else round(self.peak_bytes / 2**20, 1)
        return {"seconds": round(self.seconds, 4), "peak_mb": mb}


@contextmanager
def measured() -> Iterator[Cost]:
    """``with measured() as cost: ...`` fills ``cost`` when the block ends (also on error)."""
    cost = Cost()
    start = resident_bytes()
    peak = [start or 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            now = resident_bytes()
            if now is not None and now > peak[0]:
                peak[0] = now

    sampler = threading.Thread(target=sample, daemon=True) if start is not None else None
    if sampler:
        sampler.start()
    tick = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - tick
        stop.set()
        if sampler:
            sampler.join()
            end = resident_bytes() or 0
            cost.peak_bytes = max(peak[0], end) - start
