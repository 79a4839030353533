"""Pillow drawing shared by the report figures: the PNG encoding, colour tables, text and ticks.

Package-internal: the figure modules import these helpers by name (underscored: not part of
:mod:`harness.report.figures`' public surface).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import cache

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

DPI = 96


def _png(image: Image.Image) -> bytes:
    """``image`` as a PNG with an adaptive 256-colour palette (zlib level 6, no metadata).

    The figures are colour maps (256 entries), a few line colours and anti-aliased text, so it
    looks the same and keeps report.html small (measured on the default zoo: heatmaps and
    gallery ~2-3x smaller than RGB). Median cut keeps every pixel of the figures exact where
    Pillow's fast octree shifts white to 254; zlib level 6 instead of ``optimize`` (level 9 and
    filter search) encodes the 25 figures of the default zoo in 0.79 s instead of 1.47 s for
    1.5% more bytes, which matters when one added model redraws most of them.
    """
    quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    quantized.save(out, format="PNG", compress_level=6)
    return out.getvalue()


# --- colour maps: 256-entry lookup tables interpolated from anchor colours -----------------

#: viridis (matplotlib's, public data): its entries round(k * 255 / 32), k = 0..32 (33 anchors);
#: interpolated linearly they reproduce all 256 entries within 2/255 per channel.
_VIRIDIS_ANCHORS = (
    "440154 470d60 48186a 482374 472d7b 453781 424086 3e4989 3b528b 375b8d 33638d 2f6b8e 2c728e 297a8e 26828e 23898e "
    "21918c 1f978b 1f9f88 21a685 27ad81 31b57b 3dbc74 4cc26c 5cc863 6ece58 81d34d 95d840 aadc32 c0df25 d5e21a eae51a "
    "fde725")
#: RdBu_r: ColorBrewer's 11-class RdBu reversed, evenly spaced (exactly how matplotlib builds it).
_RDBU_R_ANCHORS = "053061 2166ac 4393c3 92c5de d1e5f0 f7f7f7 fddbc7 f4a582 d6604d b2182b 67001f"


def _lut(anchors: str) -> np.ndarray:
    """(256, 3) uint8: the anchor colours (evenly spaced over 0..255) interpolated linearly."""
    colours = np.array([ImageColor.getrgb(f"#{c}") for c in anchors.split()], dtype=np.float64)
    where = np.linspace(0, 255, len(colours))
    table = np.stack([np.interp(np.arange(256), where, colours[:, c]) for c in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


VIRIDIS = _lut(_VIRIDIS_ANCHORS)
RDBU_R = _lut(_RDBU_R_ANCHORS)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
NAN_GREY = (0xd0, 0xd0, 0xd0)
TREE_COLOUR = (0x33, 0x44, 0x55)  # "#345"


def _colour_index(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Lookup-table rows of ``values`` scaled from [lo, hi] (as matplotlib: below/above clip to the
    ends, lo == hi maps to the first entry); NaN gives 0 too (the callers paint it separately)."""
    x = np.zeros_like(values, dtype=np.float64) if hi <= lo else (values - lo) / (hi - lo)
    index = np.floor(np.nan_to_num(x, nan=0.0) * 256.0)
    return np.clip(index, 0, 255).astype(np.intp)


def _colourise(values: np.ndarray, lut: np.ndarray, lo: float, hi: float, bad: tuple[int, int, int]) -> np.ndarray:
    """(..., 3) uint8 colours of ``values``; NaN = ``bad``."""
    rgb = lut[_colour_index(values, lo, hi)]
    rgb[np.isnan(values)] = bad
    return rgb


# --- text ---------------------------------------------------------------------------------

#: Pixel sizes at 96 dpi: 10 pt title, 8 pt labels, 7 pt ticks as the matplotlib figures had;
#: 10 px is the floor (the built-in font's hyphens and digits run together below it).
TITLE_PX, LABEL_PX, SMALL_PX, TICK_PX = 13, 11, 10, 10


@cache
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)


def _text_width(text: str, px: int) -> int:
    return math.ceil(_font(px).getlength(text)) if text else 0


def _line_height(px: int) -> int:
    ascent, descent = _font(px).getmetrics()
    return ascent + descent


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, px: int, anchor: str = "la",
          fill: tuple[int, int, int] = BLACK, bold: bool = False) -> None:
    draw.text(xy, text, font=_font(px), fill=fill, anchor=anchor)
    if bold:  # the built-in font has one weight: overstrike one pixel to the right
        draw.text((xy[0] + 1, xy[1]), text, font=_font(px), fill=fill, anchor=anchor)


def _vertical_text(text: str, px: int) -> Image.Image:
    """``text`` on white, turned 90 degrees anticlockwise (read bottom to top)."""
    image = Image.new("RGB", (max(1, _text_width(text, px)), _line_height(px)), WHITE)
    _text(ImageDraw.Draw(image), (0, 0), text, px)
    return image.transpose(Image.Transpose.ROTATE_90)


def _fit_text(text: str, px: int, width: int, smallest: int = SMALL_PX) -> tuple[str, int]:
    """``text`` at the largest size from ``px`` down to ``smallest`` that fits ``width``, else
    shortened with an ellipsis at ``smallest``."""
    for size in range(px, smallest - 1, -1):
        if _text_width(text, size) <= width:
            return text, size
    while len(text) > 1 and _text_width(text + "…", smallest) > width:
        text = text[:-1]
    return text + "…", smallest


def _labels(values: Sequence[float], decimals: int | None = None) -> list[str]:
    """Tick labels: ``decimals`` fixed, or the fewest (2 to 6) that tell the values apart."""

    def text(value: float, d: int) -> str:
        out = f"{value:.{d}f}"
        return out[1:] if out.startswith("-") and float(out) == 0 else out  # no "-0.00"

    for d in [decimals] if decimals is not None else range(2, 7):
        texts = [text(v, d) for v in values]
        if decimals is not None or len(set(texts)) == len(texts):
            break
    return texts


def _nice_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], int]:
    """Round-valued ticks in [lo, hi] (steps 1, 2, 2.5, 5 x 10^k), at most ``max_ticks``, and the
    decimals to print them with."""
    span = hi - lo
    if not span > 0:
        return [lo], 2
    exponent = math.floor(math.log10(span / max(1, max_ticks - 1)))
    for mantissa, extra in ((1, 0), (2, 0), (2.5, 1), (5, 0), (10, 0), (20, 0), (25, 1), (50, 0)):
        step = mantissa * 10.0 ** exponent
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= max_ticks:
            ticks = [k * step for k in range(first, last + 1)]
            return ticks, max(0, -math.floor(math.log10(step) + 1e-9) + extra)
    return [lo, hi], 2


PAD = 4  # white border around every Pillow figure
TICK = 3  # tick mark length
