"""Attribution tensors -> the flattened maps the estimators compare.

A map is the signed mean over input channels (the NeurIPS 2019 recipe), brought to one
square resolution shared by every model of a run so that models with different input sizes
can be compared pixel by pixel: area averaging when shrinking, bilinear when enlarging.
Every model's input is a resize of the same probe image, so pixel (i, j) of every map
refers to the same point of the probe image.
"""

from __future__ import annotations

import torch

from harness.preprocess import resize


def channel_mean_maps(attribution: torch.Tensor, map_size: int) -> torch.Tensor:
    """(B, C, H, W) attribution -> (B, map_size * map_size) float32 maps."""
    signed = attribution.float().mean(dim=1, keepdim=True)
    return resize(signed, (map_size, map_size)).flatten(1)
