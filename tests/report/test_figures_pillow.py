"""The heatmaps, task trees, galleries and P@K curves drawn with Pillow: colours and lines where the
values say, scipy's leaf order, valid and reproducible PNGs, and no matplotlib on their path."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.report import figures as fg
from harness.report.figures import canvas, curves, heatmap
from harness.report.figures import tree as tree_module

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
    for table, name in ((canvas.VIRIDIS, "viridis"), (canvas.RDBU_R, "RdBu_r")):
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
    _, layout = heatmap._heatmap_image("t", matrix, ids, order)
    assert pixels.shape[:2] == (layout.height, layout.width)
    row = {m: order.index(m) for m in ids}

    def colour(source: str, target: str):
        left, top, _, _ = layout.cell_box(row[source], row[target])
        return pixels[top + 2, left + 2]  # a corner: the value is printed in the middle

    assert close(colour("a", "b"), VIRIDIS_DARKEST)  # 0.2, the smallest off-diagonal value
    assert close(colour("b", "a"), VIRIDIS_BRIGHTEST)  # 0.8, the largest
    assert close(colour("b", "c"), (0xd0, 0xd0, 0xd0), tol=3)  # NaN: grey
    assert close(colour("a", "a"), VIRIDIS_BRIGHTEST)  # the diagonal (1) is above the scale
    assert close(colour("a", "c"), canvas.VIRIDIS[128])  # 0.5: the middle of [0.2, 0.8]
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
    layout = heatmap._heatmap_image("t", np.eye(40), many, many)[1]
    assert layout.cell >= canvas._line_height(layout.label_px) - 2  # one label line per row
    few = heatmap._heatmap_image("t", np.eye(3), many[:3], many[:3])[1]
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
    tree = tree_module._tree(matrix, ids)
    reference = task_tree(matrix, ids)
    ivl = dendrogram(reference.linkage, labels=ids, orientation="right", no_plot=True)["ivl"]
    assert tree.leaves == ivl == reference.leaf_order and sorted(tree.leaves) == sorted(ids)
    assert tree.leaves != ids  # the test means something: the tree reorders these models

    image, layout = tree_module._dendrogram_image("t", tree)
    pixels = decode(fg.dendrogram_figure("t", matrix, ids))
    assert pixels.shape[:2] == (image.height, image.width)
    ys = [layout.point(0.0, 10 * k + 5)[1] for k in range(len(ids))]
    assert ys == sorted(ys) and ys[0] < ys[-1]  # the first leaf on top
    for y in ys:  # every leaf's branch leaves the axis on its own row
        assert close(pixels[y, layout.x0 + 2], canvas.TREE_COLOUR, tol=8)
    for upper, lower in zip(ys, ys[1:]):  # and nothing between leaves at distance ~0
        assert close(pixels[(upper + lower) // 2, layout.x0 + 2], (255, 255, 255), tol=3)


def test_dendrogram_of_one_model_is_its_id():
    pixels = decode(fg.dendrogram_figure("one", np.ones((1, 1)), ["only"]))
    assert pixels.shape[0] == round(2.2 * fg.DPI) and (pixels.sum(axis=2) < 200).any()


def test_gallery_red_positive_blue_negative_white_between():
    plus = np.ones((8, 8))
    maps = {"m": np.stack([plus, -plus])}  # panel 1 all positive, panel 2 all negative
    pixels = decode(fg.gallery_figure("saliency", None, maps))
    strip = pixels[-canvas.PAD - 3]  # a row through the maps, above the bottom border
    width = pixels.shape[1]
    assert close(strip[int(width * 0.1)], RED_END)
    assert close(strip[int(width * 0.9)], BLUE_END)
    assert close(strip[width // 2], (255, 255, 255), tol=1)  # the gap between the two maps


def test_heatmap_tree_gallery_and_curves_do_not_import_matplotlib():
    code = (
        "import sys, numpy as np\n"
        "from harness.report.figures import heatmap_figure, dendrogram_figure, gallery_figure\n"
        "rng = np.random.default_rng(0); ids = ['a', 'b', 'c', 'd']; m = rng.uniform(size=(4, 4))\n"
        "heatmap_figure('h', m, ids, ids); dendrogram_figure('d', m, ids)\n"
        "gallery_figure('g', rng.integers(0, 255, (2, 3, 8, 8), dtype=np.uint8), {i: rng.normal(size=(2, 8, 8)) for i in ids})\n"
        "from harness.report.figures import curves_figure\n"
        "ev = {'k': [1, 2, 3], 'p_at_k': [0.5, 0.4, 0.3], 'r_at_k': [0.1, 0.2, 0.3], 'random_p_at_k': [0.3] * 3,\n"
        "      'random_r_at_k': [0.1, 0.2, 0.3], 'oracle_p_at_k': [1.0] * 3, 'oracle_r_at_k': [0.2, 0.4, 0.6]}\n"
        "curves_figure({'a': ev, 'b': ev}, {'k': [1, 2, 3], 'p_at_k': [0.9] * 3, 'r_at_k': [0.3] * 3})\n"
        "assert 'matplotlib' not in sys.modules, sorted(k for k in sys.modules if 'matplotlib' in k)[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_matplotlib_figures_still_draw_and_plt_is_importable():
    from harness.report.figures import plt, scatter_figure

    assert plt.get_backend().lower() == "agg"
    decode(scatter_figure("x", np.array([0.1, 0.5]), np.array([0.2, 0.4]), "a", "b"))


# --- P@K / R@K curves -----------------------------------------------------------------------

KS = [1, 2, 3, 4, 5, 6]
BLUE, ORANGE = (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)  # the first two colours of matplotlib's cycle


def curves_evaluation(estimators: dict[str, tuple[list, list]]) -> dict[str, dict]:
    """An evaluation as harness.evaluation.metrics.evaluate writes it (4 relevant sources, 6 K)."""
    baselines = {"random_p_at_k": [4 / 6] * 6, "random_r_at_k": [k / 6 for k in KS],
                 "oracle_p_at_k": [min(k, 4) / k for k in KS], "oracle_r_at_k": [min(k, 4) / 4 for k in KS]}
    return {name: {"k": list(KS), "p_at_k": p, "r_at_k": r, **baselines} for name, (p, r) in estimators.items()}


def dark_near(pixels: np.ndarray, xy: tuple[int, int], dx: int = 4, dy: int = 1) -> bool:
    x, y = xy
    return bool((pixels[y - dy:y + dy + 1, x - dx:x + dx + 1].max(axis=2) < 90).any())


def test_curves_lines_lie_where_their_values_say():
    a_p, a_r = [0.10, 0.15, 0.20, 0.25, 0.30, 0.35], [0.02, 0.05, 0.08, 0.12, 0.15, 0.18]
    b_p, b_r = [0.50, 0.50, 0.45, 0.45, 0.40, 0.40], [0.60, 0.10, 0.20, 0.30, 0.40, 0.50]
    evaluation = curves_evaluation({"a": (a_p, a_r), "b": (b_p, b_r)})
    pixels = decode(fg.curves_figure(evaluation, None))
    _, layout = curves._curves_image(evaluation, None)
    assert pixels.shape[:2] == (layout.height, layout.width)
    first = evaluation["a"]
    for k, oracle_p, oracle_r in zip(KS, first["oracle_p_at_k"], first["oracle_r_at_k"]):
        assert dark_near(pixels, layout.point(0, k, oracle_p)) and dark_near(pixels, layout.point(1, k, oracle_r))
    for k in KS[:4]:  # the oracle (dotted black) at the top of P@K while it is 1, nothing dark a tenth below
        top = layout.point(0, k, 1.0)
        assert dark_near(pixels, top) and not dark_near(pixels, layout.point(0, k, 0.9))
        assert top[1] - layout.panels[0][1] < 0.03 * (layout.panels[0][3] - layout.panels[0][1])  # near the box's top
    for k in KS[3:]:  # ... and of R@K from K = 4 on
        assert dark_near(pixels, layout.point(1, k, 1.0)) and not dark_near(pixels, layout.point(1, k, 0.9))
    for panel, colour, values in ((0, BLUE, a_p), (1, BLUE, a_r), (0, ORANGE, b_p), (1, ORANGE, b_r)):
        for k, value in zip(KS, values):
            x, y = layout.point(panel, k, value)
            assert close(pixels[y, x], colour, tol=30), (panel, k, value, pixels[y, x])  # the marker's centre
            assert not close(pixels[y - 12, x], colour, tol=60)  # 12 px above it: not this line
    assert layout.point(0, 1, 0.0)[1] > layout.point(0, 1, 0.5)[1] > layout.point(0, 1, 1.0)[1]
    assert layout.point(0, 1, 0.5)[0] < layout.point(0, 6, 0.5)[0] < layout.panels[1][0]


def test_curves_same_bytes_valid_png_and_changes_with_the_values():
    evaluation = curves_evaluation({"a": ([0.3] * 6, [0.2] * 6), "b": ([0.5] * 6, [0.4] * 6)})
    ceiling = {"k": list(KS), "p_at_k": [0.9] * 6, "r_at_k": [0.8] * 6}
    first = fg.curves_figure(evaluation, ceiling)
    decode(first)
    assert fg.curves_figure(evaluation, ceiling) == first
    assert fg.curves_figure(evaluation, None) != first
    evaluation["b"]["p_at_k"] = [0.6] * 6
    assert fg.curves_figure(evaluation, ceiling) != first


@pytest.mark.parametrize("n, name", [(25, "estimator-{i}"), (60, "a-rather-long-estimator-name-number-{i}")])
def test_curves_legend_of_many_estimators_is_never_clipped(n, name):
    rng = np.random.default_rng(n)
    evaluation = curves_evaluation({name.format(i=i): (rng.uniform(0, 1, 6).tolist(), rng.uniform(0, 1, 6).tolist())
                                    for i in range(n)})
    ceiling = {"k": list(KS), "p_at_k": [0.9] * 6, "r_at_k": [0.8] * 6}
    pixels = decode(fg.curves_figure(evaluation, ceiling))
    _, layout = curves._curves_image(evaluation, ceiling)
    height, width = pixels.shape[:2]
    assert (height, width) == (layout.height, layout.width)
    assert layout.legend_cols == 2  # too many entries for one column
    assert layout.legend_x > layout.panels[1][2]  # right of the second panel
    labels = [*evaluation, "random", "oracle", "ceiling (repeat)"]
    rightmost = 0
    for i, label in enumerate(labels):  # every label inside the image
        left, middle = layout.legend_entry(i)
        assert canvas.PAD <= middle - layout.legend_row_h // 2 and middle + layout.legend_row_h // 2 <= height - canvas.PAD
        rightmost = max(rightmost, left + curves._SAMPLE_W + 6 + canvas._text_width(label, layout.legend_px))
    assert rightmost <= width - canvas.PAD
    ink = np.nonzero((pixels[layout.legend_y:, layout.legend_x:].min(axis=2) < 128).any(axis=0))[0]
    assert layout.legend_x + ink.max() >= rightmost - 3  # the longest label drawn to its end ...
    assert layout.legend_x + ink.max() < width - 1  # ... and nothing runs into the image's edge
    if n == 25:  # the default width still holds 25 estimators in two columns
        assert width == round(11.0 * fg.DPI)


def test_curves_missing_values_break_the_line_and_do_not_raise():
    a_p = [0.3, 0.3, None, 0.3, float("nan"), 0.3]
    evaluation = curves_evaluation({"a": (a_p, [None] * 6), "b": ([0.6] * 6, [0.5, float("nan")] + [0.5] * 4)})
    evaluation["a"]["random_p_at_k"] = None
    del evaluation["a"]["oracle_r_at_k"]
    ceiling = {"p_at_k": [0.9, None, 0.9], "r_at_k": []}  # no "k": the evaluation's, as far as the values go
    pixels = decode(fg.curves_figure(evaluation, ceiling))
    _, layout = curves._curves_image(evaluation, ceiling)
    assert close(pixels[layout.point(0, 2, 0.3)[::-1]], BLUE, tol=30)  # the points around the gap are drawn
    assert close(pixels[layout.point(0, 4, 0.3)[::-1]], BLUE, tol=30)
    assert close(pixels[layout.point(0, 3, 0.3)[::-1]], (255, 255, 255), tol=30)  # but no line across it
    assert close(pixels[layout.point(0, 5, 0.3)[::-1]], (255, 255, 255), tol=30)
    fg.curves_figure(curves_evaluation({"only": ([None] * 6, [float("nan")] * 6)}), None)  # nothing finite at all
