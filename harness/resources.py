"""Memory a run will need, estimated before any model is probed.

Most of a run grows linearly with the number of probe images N. The pairwise estimators do
not: DEPARA's edges and RSA compare every pair of images, so each model contributes a
condensed distance vector of N(N-1)/2 float64 values, rank-transformed and stacked for all M
models. Measured with tracemalloc on ``spearman_matrix`` (benchmarks/memory_pairwise.py), the
peak is ``(M + max(M, 6) + 1) * N(N-1)/2 * 8`` bytes: 2 models x 8000 images need 2.3 GB,
28 models x 8000 images 15 GB. A run whose estimate exceeds the memory available is refused
up front with the largest N that fits, instead of failing after every model was probed.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

from harness.errors import ResourceLimit

#: Estimators whose memory grows with the square of the number of probe images.
PAIRWISE_ESTIMATORS = frozenset({"depara", "rsa"})
MEMORY_ENV = "HARNESS_MEMORY_LIMIT"
#: Everything else the process holds (torch, onnxruntime, one imported model), roughly.
BASELINE_BYTES = 1 << 30
GIB = float(1 << 30)


def pairwise_bytes(n_images: int, n_models: int) -> int:
    """Peak bytes of one pairwise estimator (see the module docstring for the measurement)."""
    pairs = n_images * (n_images - 1) // 2
    return (n_models + max(n_models, 6) + 1) * pairs * 8


@dataclass(frozen=True)
class MemoryEstimate:
    probe_images: int  # the decoded probe set (uint8)
    maps: int  # attribution maps of every model (float32)
    pairwise: int  # the largest pairwise estimator's peak (0 without one)

    @property
    def total(self) -> int:
        return self.probe_images + self.maps + self.pairwise + BASELINE_BYTES


def estimate(n_images: int, n_models: int, probe_size: int, map_size: int, n_methods: int, estimators: tuple[str, ...]) -> MemoryEstimate:
    pairwise = pairwise_bytes(n_images, n_models) if PAIRWISE_ESTIMATORS & set(estimators) else 0
    return MemoryEstimate(
        probe_images=n_images * 3 * probe_size * probe_size,
        maps=n_models * n_methods * n_images * map_size * map_size * 4,
        pairwise=pairwise,
    )


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


def check_memory(n_images: int, n_models: int, probe_size: int, map_size: int, n_methods: int, estimators: tuple[str, ...]) -> MemoryEstimate:
    """Refuse a run whose estimated peak exceeds the memory available, saying what fits."""
    est = estimate(n_images, n_models, probe_size, map_size, n_methods, estimators)
    limit, source = available_bytes()
    if est.total <= limit:
        return est
    pairwise = sorted(PAIRWISE_ESTIMATORS & set(estimators))
    fit = _largest_fit(limit, n_models, probe_size, map_size, n_methods, estimators)
    parts = [f"probe images {est.probe_images / GIB:.2f} GiB", f"attribution maps {est.maps / GIB:.2f} GiB"]
    if pairwise:
        parts.append(f"pairwise distances for {', '.join(pairwise)} {est.pairwise / GIB:.2f} GiB (grows with N^2)")
    fixes = [f"use --images {fit} or fewer" if fit >= 2 else "use fewer models or smaller inputs"]
    if pairwise:
        fixes.append(f"drop {'/'.join(pairwise)} from --estimators")
    fixes.append(f"or set {MEMORY_ENV} (e.g. 64G) if more memory is really there")
    raise ResourceLimit(
        f"this run needs about {est.total / GIB:.1f} GiB for {n_images} probe images x {n_models} models "
        f"({'; '.join(parts)}), more than the {limit / GIB:.1f} GiB of {source}; {', '.join(fixes)}"
    )


def _largest_fit(limit: int, n_models: int, probe_size: int, map_size: int, n_methods: int, estimators: tuple[str, ...]) -> int:
    low, high = 1, 1 << 24
    while low < high:
        mid = (low + high + 1) // 2
        if estimate(mid, n_models, probe_size, map_size, n_methods, estimators).total <= limit:
            low = mid
        else:
            high = mid - 1
    return low


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


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _vm_size() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
