"""Task similarity trees (Pillow): the report's own single-linkage tree, drawn as a dendrogram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy.cluster.hierarchy import dendrogram

from harness.evaluation.tree import task_tree
from harness.report.figures.canvas import (
    BLACK,
    DPI,
    LABEL_PX,
    PAD,
    SMALL_PX,
    TICK,
    TICK_PX,
    TITLE_PX,
    TREE_COLOUR,
    WHITE,
    _labels,
    _line_height,
    _nice_ticks,
    _png,
    _text,
    _text_width,
)


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
