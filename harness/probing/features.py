"""Probe-layer features, kept in bounded memory.

The estimators compare models through image-by-image similarity of their probe-layer
features. Wide layers (e.g. 2048 x 7 x 7) times many images would not fit, so a 4-D feature
map whose flattened size exceeds ``max_units`` is average-pooled spatially (channels kept)
down to at most that many units; the report says when this happened.

Which axis holds the channels is not a guess from the shape (an 8x8x8 bottleneck reads the
same either way): the caller passes the probe tensor's layout, found by following the ONNX
graph from the card's input layout (:mod:`harness.model.layout`). An NHWC tensor is brought to
NCHW before pooling, so pooling averages positions and never channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from harness.model.layout import channel_axis


def pooled_grid(channels: int, height: int, width: int, max_units: int) -> tuple[int, int] | None:
    """Spatial size to pool a (C, H, W) map to, or None when it already fits."""
    if channels * height * width <= max_units:
        return None
    scale = math.sqrt(max_units / (channels * height * width))
    return max(1, int(height * scale)), max(1, int(width * scale))


def channels_first(output: torch.Tensor, layout: str | None) -> torch.Tensor:
    """A 4-D tensor in ``layout`` as NCHW (unknown layout: taken as NCHW, ONNX's convention)."""
    if output.dim() != 4 or channel_axis(layout) == 1:
        return output
    if layout is None or sorted(layout) != sorted("NCHW") or layout[0] != "N":
        raise ValueError(f"unsupported 4-D layout {layout!r}")
    return output.permute(0, layout.index("C"), layout.index("H"), layout.index("W"))


def flatten_features(output: torch.Tensor, max_units: int, layout: str | None = "NCHW") -> tuple[torch.Tensor, bool]:
    """(B, ...) probe output -> ((B, units) float32, whether it was pooled).

    ``layout`` is the probe tensor's layout when it is 4-D (``NCHW`` or ``NHWC``).
    """
    if output.dim() == 4:
        nchw = channels_first(output, layout)
        grid = pooled_grid(*nchw.shape[1:], max_units)
        if grid is not None:
            return F.adaptive_avg_pool2d(nchw.float(), grid).flatten(1), True
        return nchw.float().flatten(1), False
    return output.float().flatten(1), False
