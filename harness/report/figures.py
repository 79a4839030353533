"""Report figures as PNG bytes: nothing here touches the disk.

Every function builds one figure in memory and returns its PNG encoding, so the callers can
embed it in a self-contained HTML page and write it atomically beside report.json.

Two drawing paths:

* Pillow, directly: the affinity heatmaps (:func:`heatmap_figure`), the task trees
  (:func:`dendrogram_figure`) and the attribution galleries (:func:`gallery_figure`). These are
  the figures that all change, and are all redrawn, when one model is added to a zoo (every
  heatmap and tree gains a row, every gallery a model); with matplotlib they took ~16 s for a
  38-model zoo, nearly all of it text layout (tick labels, tight bounding boxes). Drawn here
  from pixel arithmetic, they take tens of milliseconds each, and a run that only draws them
  never imports matplotlib. Text is Pillow's built-in FreeType font (``load_default(size=...)``,
  the same on every machine); the colour maps are lookup tables interpolated from public
  anchor colours (viridis, RdBu_r), so matplotlib is not needed for them either.
* matplotlib (Agg backend, imported lazily by :func:`_pyplot`): the P@K curves, the compare
  scatter and the sensitivity plot, which are few, cheap and not redrawn per zoo model.

Both paths end in :func:`_png` (an adaptive 256-colour palette, optimised PNG).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.cluster.hierarchy import dendrogram

from harness.evaluation.tree import task_tree

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 96
#: Diverging, symmetric around 0: red = positive attribution, blue = negative.
MAP_CMAP = "RdBu_r"


@cache
def _pyplot():
    """matplotlib.pyplot on the headless, deterministic Agg backend, imported on first use only."""
    import matplotlib

    matplotlib.use("Agg")  # must precede pyplot
    import matplotlib.pyplot as plt

    return plt


def __getattr__(name: str):
    # ``from harness.report.figures import plt`` (other pages' matplotlib figures) still works,
    # importing pyplot only then.
    if name == "plt":
        return _pyplot()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _png(image: Image.Image) -> bytes:
    """``image`` as a PNG with an adaptive 256-colour palette (optimised, no metadata).

    The figures are colour maps (256 entries), a few line colours and anti-aliased text, so it
    looks the same and keeps report.html small (measured on the default zoo: heatmaps and
    gallery ~2-3x smaller than RGB).
    """
    quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def to_png(fig: Figure, *, palette: bool = True) -> bytes:
    """Encode and close the matplotlib ``fig`` (closing keeps long runs from accumulating figures).

    ``palette``: finish through :func:`_png` (256-colour palette); else the RGBA PNG as saved.
    """
    buffer = io.BytesIO()
    # With a palette the PNG is only an intermediate that PIL decodes again: store it
    # uncompressed (same pixels, without deflating and inflating it).
    extra = {"pil_kwargs": {"compress_level": 0}} if palette else {}
    try:
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.05, metadata={"Software": None}, **extra)
    finally:
        _pyplot().close(fig)
    if not palette:
        return buffer.getvalue()
    return _png(Image.open(io.BytesIO(buffer.getvalue())))


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
    colours = np.array([[int(c[i:i + 2], 16) for i in (0, 2, 4)] for c in anchors.split()], dtype=np.float64)
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


# --- heatmap --------------------------------------------------------------------------------

PAD = 4  # white border around every Pillow figure
TICK = 3  # tick mark length


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


# --- task tree ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tree:
    """What the task tree shows, in scipy's data coordinates: leaf k (top to bottom) at y = 10k + 5,
    each link a polyline of four (distance, y) points; y grows downwards (the first leaf on top,
    as in the heatmap's rows)."""

    leaves: list[str]
    links: list[list[tuple[float, float]]]
    height: float  # the largest merge distance


def _tree(matrix: np.ndarray, ids: Sequence[str]) -> _Tree:
    """The report's own tree (:func:`task_tree`) laid out by scipy's dendrogram (no plot)."""
    tree = task_tree(np.asarray(matrix, dtype=np.float64), ids)
    if len(ids) < 2:
        return _Tree(list(ids), [], 0.0)
    drawn = dendrogram(tree.linkage, labels=list(ids), orientation="right", no_plot=True, color_threshold=0)
    links = [list(zip(d, i)) for i, d in zip(drawn["icoord"], drawn["dcoord"])]
    return _Tree(list(drawn["ivl"]), links, float(max(max(d) for d in drawn["dcoord"])))


def dendrogram_figure(title: str, matrix: np.ndarray, ids: Sequence[str], *, width_in: float = 5.6) -> bytes:
    """The task similarity tree, linkage computed by :func:`task_tree` (the report's own tree)."""
    return _png(_dendrogram_image(title, _tree(matrix, ids), width_in=width_in)[0])


@dataclass(frozen=True)
class _TreeLayout:
    """Pixel geometry of a tree: the plot box (x0, y0)-(x1, y1) inclusive, and the data range shown."""

    width: int
    height: int
    x0: int
    y0: int
    x1: int
    y1: int
    x_max: float  # distance at x1
    y_max: float  # scipy y at y1 (10 per leaf)

    def point(self, distance: float, y: float) -> tuple[int, int]:
        return (self.x0 + round(distance / self.x_max * (self.x1 - self.x0)),
                self.y0 + round(y / self.y_max * (self.y1 - self.y0)))


def _dendrogram_image(title: str, tree: _Tree, *, width_in: float = 5.6) -> tuple[Image.Image, _TreeLayout]:
    n = len(tree.leaves)
    leaf_px = LABEL_PX if n <= 20 else SMALL_PX
    # scipy's axis: the root at the right, 5% beyond the highest merge; one leaf = 10 units
    x_max = tree.height * 1.05 if n > 1 and tree.height > 0 else 1.0
    label_w = max(_text_width(m, leaf_px) for m in tree.leaves) if n > 1 else 0
    half_tick = _text_width("0.000", TICK_PX) // 2 + 1  # room for a tick label centred on an edge
    left = PAD + max(label_w + 3 + TICK if n > 1 else 0, half_tick) + 1
    right = PAD + half_tick
    top = PAD + _line_height(TITLE_PX) + 6
    bottom = TICK + 2 + _line_height(TICK_PX) + 4 + _line_height(LABEL_PX) + PAD
    width = max(round(width_in * DPI), left + 160 + right, _text_width(title, TITLE_PX) + 2 * PAD)
    height = max(round(max(2.2, 0.165 * n + 0.9) * DPI), top + n * (_line_height(leaf_px) - 1) + bottom)
    lay = _TreeLayout(width, height, left, top, width - right - 1, height - bottom - 1, x_max, 10.0 * max(1, n))

    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((lay.x0 - 1, lay.y0 - 1, lay.x1 + 1, lay.y1 + 1), outline=BLACK)
    if n > 1:
        for link in tree.links:
            draw.line([lay.point(d, y) for d, y in link], fill=TREE_COLOUR, width=1)
        for k, leaf in enumerate(tree.leaves):
            y = lay.point(0, 10 * k + 5)[1]
            draw.line((lay.x0 - 1 - TICK, y, lay.x0 - 2, y), fill=BLACK)
            _text(draw, (lay.x0 - 1 - TICK - 3, y), leaf, leaf_px, "rm")
    else:  # one model: no tree, just its id
        _text(draw, ((lay.x0 + lay.x1) // 2, (lay.y0 + lay.y1) // 2), tree.leaves[0], LABEL_PX, "mm")

    # x axis: round distances, as many as fit side by side
    for count in range(8, 1, -1):
        ticks, decimals = _nice_ticks(0.0, x_max, count)
        texts = _labels(ticks, decimals)
        if (max(_text_width(t, TICK_PX) for t in texts) + 10) * len(ticks) <= lay.x1 - lay.x0:
            break
    for value, text in zip(ticks, texts):
        x = lay.point(value, 0)[0]
        draw.line((x, lay.y1 + 2, x, lay.y1 + 1 + TICK), fill=BLACK)
        _text(draw, (x, lay.y1 + 2 + TICK + 2), text, TICK_PX, "ma")
    _text(draw, ((lay.x0 + lay.x1) // 2, height - PAD), "single-linkage distance between affinity rows", LABEL_PX, "md")
    title_w = _text_width(title, TITLE_PX)
    _text(draw, (min(max(PAD, (lay.x0 + lay.x1) // 2 - title_w // 2), width - PAD - title_w), PAD), title, TITLE_PX)
    return image, lay


# --- attribution gallery --------------------------------------------------------------------

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


def _reindex(matrix: np.ndarray, ids: Sequence[str], order: Sequence[str]) -> np.ndarray:
    """``matrix`` (rows/cols = ``ids``) in ``order``; models not in ``ids`` become NaN rows and columns."""
    pos = {m: i for i, m in enumerate(ids)}
    out = np.full((len(order), len(order)), np.nan)
    for a, s in enumerate(order):
        for b, t in enumerate(order):
            if s in pos and t in pos:
                out[a, b] = matrix[pos[s], pos[t]]
    return out


def curves_figure(evaluation: Mapping[str, Mapping], ceiling: Mapping | None, *, width_in: float = 11.0) -> bytes:
    """P@K and R@K of every estimator in one figure, with the random and oracle baselines and
    the ceiling (a repeat measurement of the ground truth scored as an estimator)."""
    first = next(iter(evaluation.values()))
    ks = first["k"]
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(width_in, 3.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^vP*Xh<>"
    for ax, key, label in ((axes[0], "p_at_k", "P@K"), (axes[1], "r_at_k", "R@K")):
        for i, (name, ev) in enumerate(evaluation.items()):
            ax.plot(ev["k"], ev[key], marker=markers[i % len(markers)], ms=3.5, lw=1.4, color=colors[i % len(colors)], label=name)
        ax.plot(ks, first[f"random_{key}"], "--", color="#777", lw=1.4, label="random")
        ax.plot(ks, first[f"oracle_{key}"], ":", color="#000", lw=1.6, label="oracle")
        if ceiling and ceiling.get(key):
            ax.plot(ceiling.get("k", ks)[: len(ceiling[key])], ceiling[key], "-.", color="#b00", lw=1.4, label="ceiling (repeat)")
        ax.set_xlabel("K (sources taken per target)", fontsize=9)
        ax.set_ylabel(label, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    fig.suptitle("precision and recall at K against the ground truth (relevant = true top 5)", fontsize=10)
    fig.tight_layout()
    return to_png(fig)


def scatter_figure(name: str, x: np.ndarray, y: np.ndarray, xlabel: str, ylabel: str) -> bytes:
    """Off-diagonal affinities of two reports against each other (for ``harness compare``)."""
    fig, ax = _pyplot().subplots(figsize=(3.6, 3.4))
    ax.scatter(x, y, s=14, alpha=0.7)
    if len(x):
        lo, hi = float(min(np.min(x), np.min(y))), float(max(np.max(x), np.max(y)))
        ax.plot([lo, hi], [lo, hi], ":", color="#888")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(f"{name}: affinities", fontsize=9)
    return to_png(fig)


def sensitivity_figure(rows: Sequence[Mapping], estimators: Sequence[str], probes: Sequence[str], reference: str) -> bytes:
    """Correlation with the reference affinities vs probe size: colour = estimator, line style =
    probe set; a second panel shows P@5 when the rows carry it (ground truth)."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    with_gt = any(r["estimators"][e].get("p_at_5") is not None for r in rows for e in estimators)
    fig, axes = plt.subplots(1, 2 if with_gt else 1, figsize=(11 if with_gt else 6.5, 4), squeeze=False)
    styles = ["-", "--", ":", "-."]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = [("affinity_spearman", f"Spearman with the reference\n({reference})")] + ([("p_at_5", "P@5 against ground truth")] if with_gt else [])
    for ax, (key, label) in zip(axes[0], panels):
        for i, est in enumerate(estimators):
            for j, probe in enumerate(probes):
                pts = [(r["n_images"], r["estimators"][est].get(key)) for r in rows if r["probe"] == probe]
                pts = [(n, v) for n, v in pts if v is not None]
                if pts:
                    xs, ys = zip(*pts)
                    ax.plot(xs, ys, styles[j % len(styles)], marker="o", ms=3, color=colors[i % len(colors)])
        ax.set_xscale("log")
        sizes = sorted({r["n_images"] for r in rows})
        ax.set_xticks(sizes, labels=[str(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel("probe images")
        ax.set_ylabel(label)
        ax.set_ylim(min(-0.02, ax.get_ylim()[0]), 1.02)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colors[i % len(colors)], label=e) for i, e in enumerate(estimators)]
    handles += [Line2D([], [], color="#555", linestyle=styles[j % len(styles)], label=p) for j, p in enumerate(probes)]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("sensitivity of the estimated affinities to the probe set and its size", fontsize=10)
    return to_png(fig)
