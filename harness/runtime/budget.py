"""Memory the reduction needs, checked before any model is probed.

Per-model arrays are read back in chunks, so the reduction's memory does not grow with the
number of models (the N x N results aside). It does grow with the number of probe images n:

- map estimators (saliency, gradxinput, elrp, ...): chunked over images, bounded by
  ``EstimatorParams.chunk_bytes`` (256 MiB) whatever n is;
- image-pair estimators (depara, rsa): one model at a time holds its features in float64 (and
  a centred copy), its n(n-1)/2 pairwise distances, their ranks and the sort's workspace:
  about ``PAIR_BYTES_PER_PAIR * n(n-1)/2 + 16 * n * units`` bytes — quadratic in n
  (n = 1000: 36 MB of pairs; n = 20 000: 14 GB); every model's standardised ranks are kept
  in memory until they reach ``RANK_SPILL_BYTES``, then spilled to disk
  (:func:`harness.estimators.ranks.spearman_matrix`): ``min(models * 8 * n(n-1)/2, RANK_SPILL_BYTES)``;
- the decoded probe set, uint8.

This is the one memory estimate of a run: the preflight and the run both call :func:`check`,
with the limit of :func:`memory_limit` (``--max-memory``, else the smaller of 75% of physical
memory and what :mod:`harness.runtime.resources` says is available: cgroup, ``ulimit -v``,
``HARNESS_MEMORY_LIMIT``). A run whose estimate exceeds it is refused before the first model
is probed, instead of failing hours later.
"""

from __future__ import annotations

import os
import re

from harness.common.errors import HarnessError

#: Bytes per image pair at the peak of one model's pdist + rankdata (float64 distances, float64 ranks,
#: int64 sort order and temporaries): 65 measured (benchmarks/scale.py --only pairs, n = 3000 and 5000), 72 with a margin.
PAIR_BYTES_PER_PAIR = 72
PAIRWISE_ESTIMATORS = ("depara", "rsa", "cka", "cka-linear", "cka-rbf", "cka-linear-debiased", "cka-rbf-debiased", "dds")
#: Fixed allowance for the chunked map reduction and the interpreter.
BASE_BYTES = 768 * 2**20
#: Standardised rank vectors stay in memory up to this size, then go to a temporary file (ranks.spearman_matrix).
RANK_SPILL_BYTES = 256 * 2**20

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str, option: str = "--max-memory") -> int:
    """'512M', '8G', '1.5g', '1000000' -> bytes."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtKMGT]?)i?[bB]?\s*", str(text))
    if not match:
        raise HarnessError(f"option {option}: expected a size like 512M, 8G or a number of bytes, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_limit() -> int:
    total = physical_memory()
    return int(0.75 * total) if total else 8 * 2**30


def memory_limit(max_memory: int | None) -> int:
    """``--max-memory`` when given, else the smaller of 75% of physical memory and what is available."""
    if max_memory is not None:
        return max_memory
    from harness.runtime.resources import available_bytes

    return min(default_limit(), available_bytes()[0])


def _pairwise(estimators: tuple[str, ...]) -> bool:
    return any(e.split("@", 1)[0] in PAIRWISE_ESTIMATORS for e in estimators)


def reduction_bytes(n_images: int, max_units: int, estimators: tuple[str, ...], n_models: int = 1,
                    probe_size: int = 0) -> int:
    """Peak bytes of the reduction for ``n_images`` probe images (see the module docstring)."""
    total = BASE_BYTES + n_images * 3 * probe_size * probe_size
    if _pairwise(estimators):
        pairs = n_images * (n_images - 1) // 2
        total += PAIR_BYTES_PER_PAIR * pairs + 16 * n_images * max_units + min(n_models * 8 * pairs, RANK_SPILL_BYTES)
    return total


def max_images(limit: int, max_units: int, estimators: tuple[str, ...], n_models: int = 1, probe_size: int = 0) -> int:
    """The largest probe set the limit allows (binary search over the estimate)."""
    low, high = 2, 10**7
    while low < high:
        mid = (low + high + 1) // 2
        if reduction_bytes(mid, max_units, estimators, n_models, probe_size) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def check(n_images: int, max_units: int, estimators: tuple[str, ...], limit: int, n_models: int = 1,
          probe_size: int = 0) -> int:
    """The estimate, or a one-line refusal naming the images, the estimate and the way out."""
    need = reduction_bytes(n_images, max_units, estimators, n_models, probe_size)
    if need > limit:
        floor = reduction_bytes(2, max_units, estimators, n_models, probe_size)
        if floor > limit:
            raise HarnessError(f"memory: even 2 probe images need about {floor / 2**30:.1f} GiB (models, probe images at "
                               f"{probe_size} px, working buffers), over the limit of {limit / 2**30:.1f} GiB; "
                               "raise --max-memory or free memory")
        cap = max_images(limit, max_units, estimators, n_models, probe_size)
        raise HarnessError(
            f"probe set of {n_images} images: the image-pair estimators ({', '.join(PAIRWISE_ESTIMATORS)}) need about "
            f"{need / 2**30:.1f} GiB (quadratic in images), over the limit of {limit / 2**30:.1f} GiB; use --images {cap} "
            "or fewer, drop the image-pair estimators from --estimators, or raise --max-memory"
        )
    return need
