"""Affinity heatmaps (Pillow): one shared model order for every heatmap of a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from harness.report.figures.canvas import (
    BLACK,
    DPI,
    LABEL_PX,
    NAN_GREY,
    PAD,
    SMALL_PX,
    TICK,
    TICK_PX,
    TITLE_PX,
    VIRIDIS,
    WHITE,
    _colourise,
    _labels,
    _line_height,
    _png,
    _text,
    _text_width,
    _vertical_text,
)


@dataclass(frozen=True)
class _HeatmapLayout:
    """Pixel geometry of a heatmap: cell (i, j) covers x0 + j*cell .. x0 + (j+1)*cell - 1 (and rows alike)."""

    width: int
    height: int
    x0: int
    y0: int
    cell: int
    label_px: int

    def cell_box(self, i: int, j: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), inclusive, of row ``i`` (source) and column ``j`` (target)."""
        x, y = self.x0 + j * self.cell, self.y0 + i * self.cell
        return x, y, x + self.cell - 1, y + self.cell - 1


def _heatmap_layout(title: str, order: Sequence[str], width_in: float, bar_labels: Sequence[str]) -> _HeatmapLayout:
    n = max(1, len(order))
    label_px = LABEL_PX if n <= 20 else SMALL_PX
    label_w = max((_text_width(m, label_px) for m in order), default=0)
    axis_h = _line_height(LABEL_PX)
    left = PAD + axis_h + 4 + label_w + 3 + TICK
    right = 10 + 12 + TICK + 3 + max((_text_width(t, TICK_PX) for t in bar_labels), default=0) + PAD
    # Cells as large as the width allows, but never shorter than a label line (labels must not
    # overlap: with many models the figure grows past width_in instead), and wide enough for
    # the printed values when there are any.
    pitch = _line_height(label_px) - 2
    if n <= 12:
        pitch = max(pitch, _text_width("-0.00", SMALL_PX) + 6)
    cell = max(pitch, (round(width_in * DPI) - left - right) // n)
    width = max(left + n * cell + right, _text_width(title, TITLE_PX) + 2 * PAD)
    top = PAD + _line_height(TITLE_PX) + 6
    bottom = TICK + 3 + label_w + 4 + axis_h + PAD
    return _HeatmapLayout(width, top + n * cell + bottom, left, top, cell, label_px)


def _bar_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour bar ticks: the ends of the scale and three values between."""
    values = [lo] if not hi > lo else [float(v) for v in np.linspace(lo, hi, 5)]
    return values, _labels(values)


def _heatmap_limits(a: np.ndarray) -> tuple[float, float]:
    """The colour scale: the finite off-diagonal range (the diagonal, 1 or 1 + lambda for depara,
    would otherwise compress the contrast between the pairs that matter); else all finite values."""
    n = len(a)
    off = a[~np.eye(n, dtype=bool)]
    off = off[np.isfinite(off)]
    if off.size and off.max() > off.min():
        return float(off.min()), float(off.max())
    finite = a[np.isfinite(a)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)


def heatmap_figure(title: str, matrix: np.ndarray, ids: Sequence[str], order: Sequence[str], *, width_in: float = 5.6) -> bytes:
    """Affinity ``A[source, target]`` with rows and columns in ``order`` (one order for every
    heatmap of a report, so that they can be compared by eye); grey = not available."""
    return _png(_heatmap_image(title, matrix, ids, order, width_in=width_in)[0])


def _heatmap_image(title: str, matrix: np.ndarray, ids: Sequence[str], order: Sequence[str], *,
                   width_in: float = 5.6) -> tuple[Image.Image, _HeatmapLayout]:
    a = _reindex(np.asarray(matrix, dtype=np.float64), ids, order)
    n = len(order)
    lo, hi = _heatmap_limits(a)
    ticks, tick_labels = _bar_ticks(lo, hi)
    lay = _heatmap_layout(title, order, width_in, tick_labels)
    image = Image.new("RGB", (lay.width, lay.height), WHITE)
    draw = ImageDraw.Draw(image)
    cell, x0, y0 = lay.cell, lay.x0, lay.y0
    side = n * cell
    x1, y1 = x0 + side, y0 + side  # one past the last cell

    cells = _colourise(a, VIRIDIS, lo, hi, NAN_GREY)
    image.paste(Image.fromarray(np.repeat(np.repeat(cells, cell, axis=0), cell, axis=1)), (x0, y0))
    draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=BLACK)
    if n <= 12 and np.isfinite(a).any():
        mid = (np.nanmax(a) + np.nanmin(a)) / 2
        for i in range(n):
            for j in range(n):
                if np.isfinite(a[i, j]):
                    _text(draw, (x0 + j * cell + cell // 2, y0 + i * cell + cell // 2), f"{a[i, j]:.2f}", SMALL_PX, "mm",
                          BLACK if a[i, j] > mid else WHITE)

    # Row labels (sources) right-aligned beside their ticks; column labels (targets) drawn
    # horizontally on their own image, turned to read bottom to top under their ticks.
    label_px = lay.label_px
    label_w = max((_text_width(m, label_px) for m in order), default=1)
    columns = Image.new("RGB", (max(1, label_w), max(1, side)), WHITE)
    column_draw = ImageDraw.Draw(columns)
    for k, model in enumerate(order):
        centre = k * cell + cell // 2
        draw.line((x0 - 1 - TICK, y0 + centre, x0 - 2, y0 + centre), fill=BLACK)
        draw.line((x0 + centre, y1 + 1, x0 + centre, y1 + TICK), fill=BLACK)
        _text(draw, (x0 - 1 - TICK - 3, y0 + centre), model, label_px, "rm")
        _text(column_draw, (label_w, centre), model, label_px, "rm")
    image.paste(columns.transpose(Image.Transpose.ROTATE_90), (x0, y1 + 1 + TICK + 3))

    _text(draw, (x0 + side // 2, lay.height - PAD), "target", LABEL_PX, "md")
    source = _vertical_text("source", LABEL_PX)
    image.paste(source, (PAD, y0 + (side - source.height) // 2))
    title_w = _text_width(title, TITLE_PX)
    title_x = min(max(PAD, x0 + side // 2 - title_w // 2), lay.width - PAD - title_w)
    _text(draw, (title_x, PAD), title, TITLE_PX)

    # Colour bar: the lookup table from lo (bottom) to hi (top), as tall as the matrix.
    bx0, bx1 = x1 + 10, x1 + 10 + 12
    rows = np.arange(side)[::-1] / max(1, side - 1)  # 1 at the top
    bar = VIRIDIS[np.clip(np.floor(rows * 256.0), 0, 255).astype(np.intp)]
    image.paste(Image.fromarray(np.repeat(bar[:, None, :], bx1 - bx0, axis=1)), (bx0, y0))
    draw.rectangle((bx0 - 1, y0 - 1, bx1, y1), outline=BLACK)
    for value, text in zip(ticks, tick_labels):
        y = y0 + side // 2 if not hi > lo else y0 + round((hi - value) / (hi - lo) * (side - 1))
        draw.line((bx1 + 1, y, bx1 + TICK, y), fill=BLACK)
        _text(draw, (bx1 + TICK + 3, y), text, TICK_PX, "lm")
    return image, lay


def _reindex(matrix: np.ndarray, ids: Sequence[str], order: Sequence[str]) -> np.ndarray:
    """``matrix`` (rows/cols = ``ids``) in ``order``; models not in ``ids`` become NaN rows and columns."""
    pos = {m: i for i, m in enumerate(ids)}
    out = np.full((len(order), len(order)), np.nan)
    for a, s in enumerate(order):
        for b, t in enumerate(order):
            if s in pos and t in pos:
                out[a, b] = matrix[pos[s], pos[t]]
    return out
