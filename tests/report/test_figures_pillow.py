"""The heatmaps, task trees and galleries drawn with Pillow: colours where the values say, scipy's
leaf order, valid and reproducible PNGs, and no matplotlib on their path."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.report import figures as fg

VIRIDIS_DARKEST, VIRIDIS_BRIGHTEST = (0x44, 0x01, 0x54), (0xfd, 0xe7, 0x25)  # viridis' ends (public values)
RED_END, BLUE_END = (0x67, 0x00, 0x1f), (0x05, 0x30, 0x61)  # RdBu_r at +1 and -1


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    Image.open(io.BytesIO(png)).verify()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "P"  # the 256-colour palette of _png
    return np.asarray(image.convert("RGB"), dtype=np.int64)


def close(pixel, colour, tol: int = 6) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - np.asarray(colour)) <= tol))


def test_colour_tables_match_matplotlib():
    matplotlib = pytest.importorskip("matplotlib")
    for table, name in ((fg.VIRIDIS, "viridis"), (fg.RDBU_R, "RdBu_r")):
        exact = np.round(matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255)
        assert table.shape == (256, 3) and np.abs(table.astype(int) - exact).max() <= 2, name


def test_heatmap_colours_follow_the_off_diagonal_range():
    ids = ["a", "b", "c"]
    matrix = np.array([[1.0, 0.2, 0.5],
                       [0.8, 1.0, np.nan],
                       [0.3, 0.6, 1.0]])
    order = ["c", "a", "b"]  # rows and columns drawn in this order
    png = fg.heatmap_figure("t", matrix, ids, order)
    pixels = decode(png)
    _, layout = fg._heatmap_image("t", matrix, ids, order)
    assert pixels.shape[:2] == (layout.height, layout.width)
    row = {m: order.index(m) for m in ids}

    def colour(source: str, target: str):
        left, top, _, _ = layout.cell_box(row[source], row[target])
        return pixels[top + 2, left + 2]  # a corner: the value is printed in the middle

    assert close(colour("a", "b"), VIRIDIS_DARKEST)  # 0.2, the smallest off-diagonal value
    assert close(colour("b", "a"), VIRIDIS_BRIGHTEST)  # 0.8, the largest
    assert close(colour("b", "c"), (0xd0, 0xd0, 0xd0), tol=3)  # NaN: grey
    assert close(colour("a", "a"), VIRIDIS_BRIGHTEST)  # the diagonal (1) is above the scale
    assert close(colour("a", "c"), fg.VIRIDIS[128])  # 0.5: the middle of [0.2, 0.8]
    luminance = {(s, t): colour(s, t) @ np.array([0.299, 0.587, 0.114]) for s in ids for t in ids if (s, t) != ("b", "c")}
    assert min(luminance, key=luminance.get) == ("a", "b")

    def inside(source: str, target: str) -> np.ndarray:
        left, top, right, bottom = layout.cell_box(row[source], row[target])
        return pixels[top:bottom + 1, left:right + 1].reshape(-1, 3)

    # values printed (3 models <= 12): white on the darkest cell, black on the brightest
    assert (inside("a", "b").min(axis=1) > 200).sum() > 10
    assert (inside("b", "a").max(axis=1) < 60).sum() > 10
    assert not (inside("b", "c").max(axis=1) < 150).any()  # nothing printed on NaN


def test_heatmap_labels_never_overlap_and_cells_fit_the_width():
    many = [f"model-{i:02d}-with-a-long-name" for i in range(40)]
    layout = fg._heatmap_image("t", np.eye(40), many, many)[1]
    assert layout.cell >= fg._line_height(layout.label_px) - 2  # one label line per row
    few = fg._heatmap_image("t", np.eye(3), many[:3], many[:3])[1]
    assert few.width <= round(5.6 * fg.DPI) and few.cell > 50  # few models: the cells grow to fill width_in


def test_same_inputs_same_bytes_and_valid_pngs():
    rng = np.random.default_rng(3)
    ids = [f"m{i}" for i in range(7)]
    matrix = rng.uniform(0, 1, (7, 7))
    images = rng.integers(0, 255, (3, 3, 16, 16), dtype=np.uint8)
    maps = {m: rng.normal(size=(3, 16, 16)) for m in ids}
    for draw in (lambda: fg.heatmap_figure("h", matrix, ids, ids[::-1]),
                 lambda: fg.dendrogram_figure("d", matrix, ids),
                 lambda: fg.gallery_figure("saliency", images, maps)):
        first = draw()
        decode(first)
        assert draw() == first
    assert fg.heatmap_figure("h", matrix, ids, ids) != fg.heatmap_figure("h", matrix * 0.5 + matrix ** 2, ids, ids)


def test_dendrogram_leaves_top_to_bottom_in_scipy_and_tree_order():
    from scipy.cluster.hierarchy import dendrogram

    from harness.evaluation.tree import task_tree

    rng = np.random.default_rng(7)
    ids = [f"model-{i}" for i in range(9)]
    matrix = rng.uniform(0, 1, (9, 9))
    tree = fg._tree(matrix, ids)
    reference = task_tree(matrix, ids)
    ivl = dendrogram(reference.linkage, labels=ids, orientation="right", no_plot=True)["ivl"]
    assert tree.leaves == ivl == reference.leaf_order and sorted(tree.leaves) == sorted(ids)
    assert tree.leaves != ids  # the test means something: the tree reorders these models

    image, layout = fg._dendrogram_image("t", tree)
    pixels = decode(fg.dendrogram_figure("t", matrix, ids))
    assert pixels.shape[:2] == (image.height, image.width)
    ys = [layout.point(0.0, 10 * k + 5)[1] for k in range(len(ids))]
    assert ys == sorted(ys) and ys[0] < ys[-1]  # the first leaf on top
    for y in ys:  # every leaf's branch leaves the axis on its own row
        assert close(pixels[y, layout.x0 + 2], fg.TREE_COLOUR, tol=8)
    for upper, lower in zip(ys, ys[1:]):  # and nothing between leaves at distance ~0
        assert close(pixels[(upper + lower) // 2, layout.x0 + 2], (255, 255, 255), tol=3)


def test_dendrogram_of_one_model_is_its_id():
    pixels = decode(fg.dendrogram_figure("one", np.ones((1, 1)), ["only"]))
    assert pixels.shape[0] == round(2.2 * fg.DPI) and (pixels.sum(axis=2) < 200).any()


def test_gallery_red_positive_blue_negative_white_between():
    plus = np.ones((8, 8))
    maps = {"m": np.stack([plus, -plus])}  # panel 1 all positive, panel 2 all negative
    pixels = decode(fg.gallery_figure("saliency", None, maps))
    strip = pixels[-fg.PAD - 3]  # a row through the maps, above the bottom border
    width = pixels.shape[1]
    assert close(strip[int(width * 0.1)], RED_END)
    assert close(strip[int(width * 0.9)], BLUE_END)
    assert close(strip[width // 2], (255, 255, 255), tol=1)  # the gap between the two maps


def test_heatmap_tree_and_gallery_do_not_import_matplotlib():
    code = (
        "import sys, numpy as np\n"
        "from harness.report.figures import heatmap_figure, dendrogram_figure, gallery_figure\n"
        "rng = np.random.default_rng(0); ids = ['a', 'b', 'c', 'd']; m = rng.uniform(size=(4, 4))\n"
        "heatmap_figure('h', m, ids, ids); dendrogram_figure('d', m, ids)\n"
        "gallery_figure('g', rng.integers(0, 255, (2, 3, 8, 8), dtype=np.uint8), {i: rng.normal(size=(2, 8, 8)) for i in ids})\n"
        "assert 'matplotlib' not in sys.modules, sorted(k for k in sys.modules if 'matplotlib' in k)[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_matplotlib_figures_still_draw_and_plt_is_importable():
    from harness.report.figures import plt, scatter_figure

    assert plt.get_backend().lower() == "agg"
    decode(scatter_figure("x", np.array([0.1, 0.5]), np.array([0.2, 0.4]), "a", "b"))
