"""Card input conventions: from RGB pixels in [0, 1] to what a model's graph expects.

Probe images are decoded once as float RGB in [0, 1]; each model then gets them resized to
its input size, in its channel order, scaled to its range and normalised by its mean/std.
The layout (NCHW/NHWC) is applied by the probed model itself, so every batch here is NCHW.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.model.card import InputSpec

#: ITU-R BT.601 luma weights, for cards with ``input.channels: gray``
LUMA = (0.299, 0.587, 0.114)


def resize(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize an NCHW batch; area averaging when shrinking (no aliasing), bilinear otherwise."""
    if tuple(batch.shape[-2:]) == tuple(size):
        return batch
    if batch.shape[-2] >= size[0] and batch.shape[-1] >= size[1]:
        return F.interpolate(batch, size=size, mode="area")
    return F.interpolate(batch, size=size, mode="bilinear", align_corners=False)


def preprocess(batch: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """RGB NCHW batch in [0, 1] -> the model's preprocessed NCHW input."""
    x = resize(batch, spec.size)
    if spec.channels == "BGR":
        x = x.flip(1)
    elif spec.channels == "gray":
        luma = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * luma).sum(dim=1, keepdim=True)
    low, high = spec.range
    x = x * (high - low) + low
    if spec.mean is not None:
        x = x - torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    if spec.std is not None:
        x = x / torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x.contiguous()


def random_input(spec: InputSpec, batch: int, seed: int = 0) -> torch.Tensor:
    """Deterministic random preprocessed NCHW input, for parity checks and shape runs."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.rand((batch, 3, *spec.size), generator=generator)
    return preprocess(pixels, spec)
