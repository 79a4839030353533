"""Procedural surface textures evaluated on (u, v) surface coordinates in metres.

All patterns are closed-form functions of (u, v) and the texture's own seed, so a surface
looks the same from every camera pose and no image-space randomness leaks into labels.
"""

from __future__ import annotations

import numpy as np

from probes.synthetic.geometry import Texture

TEXTURE_KINDS: tuple[str, ...] = ("solid", "stripes", "checker", "planks", "tiles", "noise", "grid", "gradient")
_NOISE_GRID = 16


def _hash(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer lattice cell."""
    h = (i.astype(np.int64) * 73856093) ^ (j.astype(np.int64) * 19349663) ^ (seed * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF).astype(np.float64) / 65536.0


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth bilinear value noise in [0, 1) with a period of 16 units."""
    grid = np.random.default_rng(seed).random((_NOISE_GRID, _NOISE_GRID))
    fu, fv = np.floor(u), np.floor(v)
    au, av = u - fu, v - fv
    au, av = au * au * (3 - 2 * au), av * av * (3 - 2 * av)  # smoothstep: no visible lattice
    i0, j0 = fu.astype(np.int64) % _NOISE_GRID, fv.astype(np.int64) % _NOISE_GRID
    i1, j1 = (i0 + 1) % _NOISE_GRID, (j0 + 1) % _NOISE_GRID
    top = grid[i0, j0] * (1 - au) + grid[i1, j0] * au
    bottom = grid[i0, j1] * (1 - au) + grid[i1, j1] * au
    return top * (1 - av) + bottom * av


def _line(x: np.ndarray, width: float) -> np.ndarray:
    """1 on thin lines at integer x (e.g. grout, seams), else 0."""
    f = x - np.floor(x)
    return ((f < width) | (f > 1 - width)).astype(np.float64)


def shade_texture(tex: Texture, uv: np.ndarray) -> np.ndarray:
    """Albedo (M, 3) of ``tex`` at surface coordinates ``uv`` (M, 2)."""
    u, v = uv[:, 0] / tex.scale, uv[:, 1] / tex.scale
    kind = tex.kind
    if kind == "solid":
        mix = np.zeros_like(u)
    elif kind == "stripes":
        mix = np.floor(u) % 2
    elif kind == "checker":
        mix = (np.floor(u) + np.floor(v)) % 2
    elif kind == "planks":
        row = np.floor(v * 4)  # planks 1/4 of the scale wide, staggered lengthwise
        col = np.floor(u + _hash(row, row, tex.seed) * 3)
        mix = 0.75 * _hash(row, col, tex.seed) + 0.25 * value_noise(u * 6, v * 0.6, tex.seed)
        mix = np.maximum(mix, np.maximum(_line(v * 4, 0.04), _line(u + _hash(row, row, tex.seed) * 3, 0.01)))
    elif kind == "tiles":
        mix = np.maximum(_line(u, 0.04), _line(v, 0.04))
    elif kind == "noise":
        mix = 0.65 * value_noise(u, v, tex.seed) + 0.35 * value_noise(u * 3.7, v * 3.7, tex.seed + 1)
    elif kind == "grid":
        mix = np.maximum(_line(u, 0.015), _line(v, 0.015))
    elif kind == "gradient":
        mix = np.clip(v / 3.0, 0.0, 1.0)
    else:
        raise ValueError(f"unknown texture kind {kind!r}; valid: {TEXTURE_KINDS}")
    a, b = np.asarray(tex.color_a), np.asarray(tex.color_b)
    albedo = a + mix[:, None] * (b - a)
    if tex.grain > 0:
        g = value_noise(uv[:, 0] * 9.0, uv[:, 1] * 9.0, tex.seed + 7)
        albedo = albedo * (1.0 + tex.grain * (g[:, None] - 0.5))
    return np.clip(albedo, 0.0, 1.0)
