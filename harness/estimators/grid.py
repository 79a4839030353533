"""The common resolution attribution maps are compared at, and lazy resampling to it.

Default (``--map-size`` not given): when every model has the same input size, maps are
compared at that native resolution — no resampling at all (area-downsampling 96 px maps to
32 px changed gradient*input affinities by up to 0.5 on a held-out zoo). With mixed input
sizes each *pair* of models is compared at the smaller of its two grids (min height, min
width): the larger map is area-averaged down, no map is enlarged (no detail is invented),
and A[s, t] depends on s and t only — adding a model never changes the other pairs'
affinities. ``--map-size N`` forces an N x N grid for every model.

Maps are stored at native resolution (so a cached model's artifacts do not depend on which
other models are in the zoo) and resampled chunk by chunk as the estimators read them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.probing.maps import resample_rows

GRID_RULE = ("native resolution when all models share an input size; otherwise each pair at the smaller of its two "
             "input sizes (min height, min width), the larger map area-averaged down; --map-size N forces N x N")


def common_grid(shapes: Sequence[tuple[int, int]], map_size: int | None) -> tuple[int, int]:
    if map_size is not None:
        return (map_size, map_size)
    return (min(s[0] for s in shapes), min(s[1] for s in shapes))


class GridMaps:
    """A lazy (n_images, h*w) view of native (n_images, H*W) maps, resampled per chunk read."""

    def __init__(self, source, shape: tuple[int, int], grid: tuple[int, int]) -> None:
        self.source, self.native, self.grid = source, tuple(shape), tuple(grid)
        self.shape = (source.shape[0], grid[0] * grid[1])
        self.dtype = np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def content_sha256(self) -> str | None:
        """Identifies the resampled content: the source file's digest with both grids (None when the source has none)."""
        digest = getattr(self.source, "content_sha256", None)
        if digest is None:
            return None
        return hashlib.sha256(f"{digest}:{self.native}->{self.grid}".encode()).hexdigest()

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return resample_rows(np.asarray(self.source[index]), self.native, self.grid)
        return np.asarray(self)[index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        data = self[0 : self.shape[0]]
        return data if dtype is None else data.astype(dtype, copy=False)


def on_grid(artifacts: ModelArtifacts, grid: tuple[int, int]) -> ModelArtifacts:
    """The artifacts with maps viewed at ``grid`` (unchanged when already there)."""
    if artifacts.map_shape is None or tuple(artifacts.map_shape) == tuple(grid):
        return artifacts
    maps = {m: GridMaps(v, artifacts.map_shape, grid) for m, v in artifacts.maps.items()}
    return replace(artifacts, maps=maps, map_shape=tuple(grid))


def resolved_grid(shapes: Sequence[tuple[int, int]], map_size: int | None) -> tuple[int, int] | str | None:
    """What the report states: one (h, w) grid, "per pair" for mixed sizes, None without maps."""
    if map_size is not None:
        return (map_size, map_size)
    distinct = sorted({tuple(s) for s in shapes})
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else "per pair"


def estimate_on_grids(name: str, artifacts: Sequence[ModelArtifacts], params, map_size: int | None,
                      uses_maps: bool | None = None):
    """``estimate(name, ...)`` with maps compared per :data:`GRID_RULE`.

    ``uses_maps`` defaults to what the registry says the estimator reads (features-only estimators
    never need a grid).

    Mixed sizes: the matrix is assembled block by block, one block per pair of input sizes,
    each block estimated on the models of those two sizes viewed at the smaller grid.
    """
    from harness.estimators import ESTIMATORS, Affinity, estimate, parse_estimator

    if uses_maps is None:
        uses_maps = bool(ESTIMATORS.get(parse_estimator(name)[0]).reads)

    shapes = sorted({tuple(a.map_shape) for a in artifacts if a.map_shape})
    if map_size is not None or len(shapes) <= 1 or not uses_maps:
        grid = common_grid(shapes, map_size) if shapes else None
        return estimate(name, [on_grid(a, grid) for a in artifacts] if grid else list(artifacts), params)
    n = len(artifacts)
    matrix = np.full((n, n), np.nan)
    for i, sa in enumerate(shapes):
        for sb in shapes[i:]:
            grid = common_grid([sa, sb], None)
            idx = [k for k, a in enumerate(artifacts) if tuple(a.map_shape) in (sa, sb)]
            block = estimate(name, [on_grid(artifacts[k], grid) for k in idx], params).matrix
            for p, s in enumerate(idx):
                for q, t in enumerate(idx):
                    if {tuple(artifacts[s].map_shape), tuple(artifacts[t].map_shape)} == {sa, sb}:
                        matrix[s, t] = block[p, q]
    matrix.setflags(write=False)
    return Affinity(name=name, model_ids=tuple(a.model_id for a in artifacts), matrix=matrix)
