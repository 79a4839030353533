"""How many probe images one forward/backward pass takes: chosen from memory, not fixed.

A 224-px ResNet-50 holds every activation of its forward for the backward of three
attribution methods: about 100 MB per image on CPU, so a fixed batch of 32 needs several GB
while a 64-px net needs a few MB. Unless ``--batch-size`` is given, each model's batch is
chosen from a measurement: one attribution pass on :data:`PROBE_IMAGES` images, whose peak
memory (resident set on CPU, allocated bytes on CUDA) divided by the images is the model's
per-image footprint; the batch is what the memory left under the budget holds of it, with
:data:`HEADROOM` for what the measurement cannot see, between 1 and :data:`MAX_BATCH`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from harness.common.cost import measured, resident_bytes

#: Images in the measuring pass (two, so a per-batch constant is not mistaken for per-image cost).
PROBE_IMAGES = 2
#: The largest batch chosen (beyond it a CPU gains nothing; the former fixed default).
MAX_BATCH = 32
#: Factor on the measured footprint: allocator slack, the features and maps of the batch.
HEADROOM = 1.5
#: Memory kept free under the budget for everything that is not this model's batch.
RESERVE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class BatchChoice:
    size: int
    per_image_bytes: int | None  # None when the size was given, not measured
    budget_bytes: int | None
    source: str  # "given", "fixed by the graph", "measured"


def measure_footprint(run_pass: Callable[[], None], device: torch.device) -> int:
    """Peak bytes one call of ``run_pass`` adds (CUDA: allocated; CPU: resident set, sampled)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run_pass()
        torch.cuda.synchronize(device)
        return max(0, torch.cuda.max_memory_allocated(device) - start)
    with measured() as cost:
        run_pass()
    return max(0, cost.peak_bytes or 0)


def choose_batch(per_image_bytes: int, budget_bytes: int, in_use_bytes: int) -> int:
    """The batch the free memory holds: (budget - in use - reserve) / (footprint x headroom), in [1, MAX_BATCH]."""
    free = budget_bytes - in_use_bytes - RESERVE_BYTES
    if per_image_bytes <= 0:
        return MAX_BATCH
    return int(max(1, min(MAX_BATCH, free // int(per_image_bytes * HEADROOM))))


def auto_batch(run_pass: Callable[[], None], device: torch.device, budget_bytes: int) -> BatchChoice:
    """Measure one pass of :data:`PROBE_IMAGES` images and choose the batch for the budget."""
    peak = measure_footprint(run_pass, device)
    per_image = max(1, peak // PROBE_IMAGES)
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
        in_use, budget = torch.cuda.memory_allocated(device), total
    else:
        in_use, budget = resident_bytes() or 0, budget_bytes
    return BatchChoice(choose_batch(per_image, budget, in_use), per_image, budget, "measured")
