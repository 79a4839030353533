"""Attribution galleries (Pillow): probe images on top, each model's maps below."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageDraw

from harness.report.figures.canvas import DPI, LABEL_PX, PAD, RDBU_R, TITLE_PX, WHITE, _colourise, _fit_text, _line_height, _png, _text, _text_width


def _symmetric_limit(values: np.ndarray) -> float:
    """99th percentile of |values|: a few extreme pixels must not wash out the map."""
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, 99)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def _strip(panels: list[np.ndarray], g: int) -> np.ndarray:
    """``panels`` (each (h, w) or (h, w, 3)) side by side with NaN gaps of a quarter panel, padded to ``g`` panels."""
    h, w = panels[0].shape[:2]
    gap = np.full((h, max(1, w // 4), *panels[0].shape[2:]), np.nan)
    blank = np.full_like(panels[0], np.nan, dtype=np.float64)
    cells = [np.asarray(p, dtype=np.float64) if p.shape[:2] == (h, w) else blank for p in panels]
    cells += [blank] * (g - len(cells))
    parts = []
    for i, cell in enumerate(cells):
        parts += [cell] + ([gap] if i < len(cells) - 1 else [])
    return np.concatenate(parts, axis=1)


def _resample(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) ``values`` at ``size`` (width, height): area averages of the finite values when
    shrinking, blocks when enlarging; NaN where most of a pixel's area is NaN."""
    missing = np.isnan(values)
    total = np.asarray(Image.fromarray(np.where(missing, 0.0, values).astype(np.float32)).resize(size, Image.Resampling.BOX))
    if not missing.any():
        return total.astype(np.float64)
    share = np.asarray(Image.fromarray(missing.astype(np.float32)).resize(size, Image.Resampling.BOX))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / (1.0 - share)
    out[share > 0.5] = np.nan
    return out.astype(np.float64)


def _strip_height(strip: np.ndarray, width: int) -> int:
    return max(1, round(strip.shape[0] * width / strip.shape[1]))


def gallery_figure(method: str, images: np.ndarray | None, maps: Mapping[str, np.ndarray], *,
                   cols: int = 4, width_in: float = 11.0) -> bytes:
    """A grid of models (``cols`` per row, in the order of ``maps``), each a strip of its maps
    for the first probe images; the probe images themselves head the grid.

    ``images``: (g, 3, H, W) uint8 probe images (or None); ``maps``: model id -> (g, h, w).
    Each map gets its own colour scale symmetric around 0 (models' attribution scales differ).
    """
    models = list(maps)
    g = max(len(m) for m in maps.values())
    if images is not None:
        g = min(g, len(images))
    cols = max(1, min(cols, len(models)))
    # One strip per model: its g maps side by side in one array (each map scaled by its own
    # symmetric limit to [-1, 1], NaN gaps between them, white), coloured with RdBu_r.
    strips: list[np.ndarray | None] = []
    for model in models:
        scaled = [np.asarray(maps[model][i], dtype=np.float64) for i in range(min(g, len(maps[model])))]
        strips.append(_strip([m / _symmetric_limit(m) for m in scaled], g) if scaled else None)
    probe = None
    if images is not None:
        probe = _strip([np.transpose(images[i], (1, 2, 0)).astype(np.float64) / 255.0 for i in range(g)], g)

    width = round(width_in * DPI)
    gap = round(0.06 * (width - 2 * PAD) / (cols + 0.06 * (cols - 1)))  # between columns, as the old grid's wspace
    cell = (width - 2 * PAD - (cols - 1) * gap) // cols
    heading = f"{method}: channel-mean attribution maps (red > 0 > blue, one scale per map)"
    title_h, name_h, row_gap = _line_height(TITLE_PX) + 6, _line_height(LABEL_PX + 1) + 1, 10
    width = max(width, _text_width(heading, TITLE_PX) + 2 * PAD)
    rows = [strips[r:r + cols] for r in range(0, len(strips), cols)]
    heights = [max((_strip_height(s, cell) for s in row if s is not None), default=0) for row in rows]
    probe_h = _strip_height(probe, cell) if probe is not None else 0
    height = PAD + title_h + (name_h + probe_h + row_gap if probe is not None else 0) + sum(name_h + h + row_gap for h in heights) - row_gap + PAD

    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    _text(draw, (width // 2, PAD), heading, TITLE_PX, "ma")
    y = PAD + title_h
    if probe is not None:
        _text(draw, (PAD, y + name_h - 2), f"probe images 1..{g}", LABEL_PX, "ld")
        pixels = (np.nan_to_num(probe, nan=1.0) * 255.0).round().clip(0, 255).astype(np.uint8)
        image.paste(Image.fromarray(pixels).resize((cell, probe_h), Image.Resampling.BOX), (PAD, y + name_h))
        y += name_h + probe_h + row_gap
    for r, row in enumerate(rows):
        for c, strip in enumerate(row):
            x = PAD + c * (cell + gap)
            name, px = _fit_text(models[r * cols + c], LABEL_PX + 1, cell + gap - 4)
            _text(draw, (x, y + name_h - 2), name, px, "ld", bold=True)
            if strip is not None:
                values = _resample(strip, (cell, _strip_height(strip, cell)))
                image.paste(Image.fromarray(_colourise(values, RDBU_R, -1.0, 1.0, WHITE)), (x, y + name_h))
        y += name_h + heights[r] + row_gap
    return _png(image)
