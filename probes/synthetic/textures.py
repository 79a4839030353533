"""Procedural surface textures evaluated on (u, v) surface coordinates in metres.

All patterns are closed-form functions of (u, v) and the texture's own seed, so a surface
looks the same from every camera pose and no image-space randomness leaks into labels.
Periodic patterns are box-filtered analytically over each pixel's footprint on the surface
(one sample per pixel would otherwise alias thin lines into random dashes at 64 px).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from harness.probes.synthetic.geometry import Texture

TEXTURE_KINDS: tuple[str, ...] = ("solid", "stripes", "checker", "planks", "tiles", "noise", "grid", "gradient")
_NOISE_GRID = 16
#: Display gamma: texture colours are display-space, shading happens in linear light.
GAMMA = 2.2


def _hash(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer lattice cell."""
    h = (i.astype(np.int64) * 73856093) ^ (j.astype(np.int64) * 19349663) ^ (seed * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF).astype(np.float64) / 65536.0


@lru_cache(maxsize=1024)
def _noise_grid(seed: int) -> np.ndarray:
    grid = np.random.default_rng(seed).random((_NOISE_GRID, _NOISE_GRID))
    grid.setflags(write=False)
    return grid


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth bilinear value noise in [0, 1) with a period of 16 units."""
    grid = _noise_grid(seed)
    fu, fv = np.floor(u), np.floor(v)
    au, av = u - fu, v - fv
    au, av = au * au * (3 - 2 * au), av * av * (3 - 2 * av)  # smoothstep: no visible lattice
    i0, j0 = fu.astype(np.int64) % _NOISE_GRID, fv.astype(np.int64) % _NOISE_GRID
    i1, j1 = (i0 + 1) % _NOISE_GRID, (j0 + 1) % _NOISE_GRID
    top = grid[i0, j0] * (1 - au) + grid[i1, j0] * au
    bottom = grid[i0, j1] * (1 - au) + grid[i1, j1] * au
    return top * (1 - av) + bottom * av


def _box(integral, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average of a periodic pattern over [x - w/2, x + w/2], from its antiderivative."""
    return (integral(x + w / 2) - integral(x - w / 2)) / w


def stripes(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Filtered square wave: 1 on odd unit intervals, 0 on even ones."""
    return _box(lambda s: np.floor(s / 2) + np.maximum(s % 2 - 1, 0), x, w)


def lines(x: np.ndarray, w: np.ndarray, half_width: float) -> np.ndarray:
    """Filtered thin lines of total width 2 * half_width centred on integers."""
    return _box(lambda s: np.floor(s + half_width) * 2 * half_width + np.minimum((s + half_width) % 1, 2 * half_width), x, w)


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b - a * b


def shade_texture(tex: Texture, uv: np.ndarray, footprint: np.ndarray | float = 0.0) -> np.ndarray:
    """Linear-light albedo (M, 3) of ``tex`` at surface coordinates ``uv`` (M, 2), averaged over ``footprint`` metres.

    Texture colours are given in display (sRGB-like, gamma 2.2) space.
    """
    u, v = uv[:, 0] / tex.scale, uv[:, 1] / tex.scale
    w = np.maximum(np.broadcast_to(np.asarray(footprint, dtype=np.float64) / tex.scale, u.shape), 1e-4)
    kind = tex.kind
    if kind == "solid":
        mix = np.zeros_like(u)
    elif kind == "stripes":
        mix = stripes(u, w)
    elif kind == "checker":
        su, sv = stripes(u, w), stripes(v, w)
        mix = su + sv - 2 * su * sv  # xor, exact under a separable box filter
    elif kind == "planks":
        row = np.floor(v * 4)  # planks 1/4 of the scale wide, staggered lengthwise
        shift = _hash(row, row, tex.seed) * 3
        tone = 0.75 * _hash(row, np.floor(u + shift), tex.seed) + 0.25 * value_noise(u * 6, v * 0.6, tex.seed)
        fade = np.clip(1.5 - 4 * w, 0.0, 1.0)  # per-plank tones average out when planks get sub-pixel
        mix = _union(_union(0.5 + fade * (tone - 0.5), lines(v * 4, w * 4, 0.05)), lines(u + shift, w, 0.012))
    elif kind == "tiles":
        mix = _union(lines(u, w, 0.04), lines(v, w, 0.04))
    elif kind == "noise":
        fine = np.clip(1.0 - 2.0 * w * 3.7, 0.0, 1.0)
        mix = 0.5 + 0.65 * (value_noise(u, v, tex.seed) - 0.5) + 0.35 * fine * (value_noise(u * 3.7, v * 3.7, tex.seed + 1) - 0.5)
    elif kind == "grid":
        mix = _union(lines(u, w, 0.02), lines(v, w, 0.02))
    elif kind == "gradient":
        mix = np.clip(uv[:, 1] / 3.0, 0.0, 1.0)  # by height in metres, not by scale
    else:
        raise ValueError(f"unknown texture kind {kind!r}; valid: {TEXTURE_KINDS}")
    a, b = np.asarray(tex.color_a) ** GAMMA, np.asarray(tex.color_b) ** GAMMA  # mix in linear space
    albedo = a + mix[:, None] * (b - a)
    if tex.grain > 0:
        fp = np.broadcast_to(np.asarray(footprint, dtype=np.float64), u.shape)
        amp = tex.grain * np.clip(1.0 - 2.0 * fp * 9.0, 0.0, 1.0)
        albedo = albedo * (1.0 + amp * (value_noise(uv[:, 0] * 9.0, uv[:, 1] * 9.0, tex.seed + 7) - 0.5))[:, None]
    return np.clip(albedo, 0.0, 1.0)
