"""Probe-layer features, kept in bounded memory.

The estimators compare models through image-by-image similarity of their probe-layer
features. Wide layers (e.g. 2048 x 7 x 7) times many images would not fit, so a 4-D feature
map whose flattened size exceeds ``max_units`` is average-pooled spatially (channels kept)
down to at most that many units; the report says when this happened.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pooled_grid(channels: int, height: int, width: int, max_units: int) -> tuple[int, int] | None:
    """Spatial size to pool a (C, H, W) map to, or None when it already fits."""
    if channels * height * width <= max_units:
        return None
    scale = math.sqrt(max_units / (channels * height * width))
    return max(1, int(height * scale)), max(1, int(width * scale))


def flatten_features(output: torch.Tensor, max_units: int) -> tuple[torch.Tensor, bool]:
    """(B, ...) probe output -> ((B, units) float32, whether it was pooled)."""
    if output.dim() == 4:
        grid = pooled_grid(*output.shape[1:], max_units)
        if grid is not None:
            return F.adaptive_avg_pool2d(output.float(), grid).flatten(1), True
    return output.float().flatten(1), False
