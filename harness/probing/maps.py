"""Attribution tensors -> the flattened maps the estimators compare.

A map is the signed mean over input channels (the NeurIPS 2019 recipe). By default it stays
at the model's input resolution. Models with different input sizes are brought to one grid
when maps are *read* (:func:`resample_rows`, see :mod:`harness.estimators.grid`): area averaging
when shrinking, bilinear when enlarging. Every model's input is a resize of the same probe
image, so pixel (i, j) of every map refers to the same point of the probe image.
"""

from __future__ import annotations

import numpy as np
import torch

from harness.model.preprocess import resize


def channel_mean_maps(attribution: torch.Tensor, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """(B, C, H, W) attribution -> (B, h * w) float32 maps; ``size`` None keeps (H, W)."""
    signed = attribution.float().mean(dim=1, keepdim=True)
    if size is not None:
        signed = resize(signed, (size, size) if isinstance(size, int) else tuple(size))
    return signed.flatten(1)


def resample_rows(rows: np.ndarray, shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Flattened (n, H*W) maps at ``shape`` -> (n, h*w) float32 at ``grid`` (same resampling as above)."""
    if tuple(shape) == tuple(grid):
        return rows
    batch = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).view(-1, 1, *shape)
    return resize(batch, tuple(grid)).flatten(1).numpy()
