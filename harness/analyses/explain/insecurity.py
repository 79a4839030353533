"""Insecurities: per class pair (a, b), I = c_a * c_b * d, upsampled to the input; masks keep its top.

Pairs come from the class maps: at every location, the ``per_location`` classes with the
largest class maps; every pair among them seen anywhere is one insecurity (the seed: top 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Insecurity:
    """One class pair of one image: indices into the image's top-class list, map and mask at input size."""

    pair: tuple[int, int]
    map: np.ndarray  # (H, W) float, input resolution
    mask: np.ndarray  # (H, W) bool, top ``keep`` fraction of ``map``
    score: float  # sum over the layer grid of c_a * c_b * d


def class_pairs(class_maps: torch.Tensor, per_location: int) -> list[tuple[int, int]]:
    """Sorted unique pairs (i < j) among the ``per_location`` largest class maps at each location.

    ``class_maps``: (k, h, w) for one image.
    """
    k = class_maps.shape[0]
    m = min(per_location, k)
    if m < 2:
        return []
    top = class_maps.reshape(k, -1).topk(m, dim=0).indices.T.sort(dim=1).values  # (locations, m)
    pairs = {(int(row[i]), int(row[j])) for row in top.tolist() for i in range(m) for j in range(i + 1, m)}
    return sorted(pairs)


def upsample(grid_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of an (h, w) map to the input size."""
    return F.interpolate(grid_map[None, None].double(), size=size, mode="bilinear", align_corners=False)[0, 0]


def keep_mask(values: np.ndarray, keep: float) -> np.ndarray:
    """The top ``keep`` fraction of pixels (at least one; ties broken by raster order)."""
    flat = values.ravel()
    n = max(1, int(round(keep * flat.size)))
    order = np.argsort(-flat, kind="stable")
    mask = np.zeros(flat.size, dtype=bool)
    mask[order[:n]] = True
    return mask.reshape(values.shape)


def insecurities(class_maps: torch.Tensor, difficulty: torch.Tensor, size: tuple[int, int], keep: float,
                 per_location: int = 3) -> list[Insecurity]:
    """All insecurities of one image, strongest (largest score) first."""
    out = []
    for a, b in class_pairs(class_maps, per_location):
        grid = class_maps[a] * class_maps[b] * difficulty
        full = upsample(grid, size).cpu().numpy()
        out.append(Insecurity((a, b), full, keep_mask(full, keep), float(grid.double().sum())))
    return sorted(out, key=lambda ins: -ins.score)


def difficulty_mask(difficulty: torch.Tensor, size: tuple[int, int], keep: float) -> np.ndarray:
    """The difficulty map alone, upsampled and thresholded like an insecurity (an evaluation baseline)."""
    return keep_mask(upsample(difficulty, size).cpu().numpy(), keep)
