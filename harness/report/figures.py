"""Report figures as PNG bytes (matplotlib, Agg backend): nothing here touches the disk.

Every function builds one figure in memory and returns its PNG encoding, so the callers can
embed it in a self-contained HTML page and write it atomically beside report.json.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless and deterministic; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from scipy.cluster.hierarchy import dendrogram  # noqa: E402

from harness.evaluation.tree import task_tree  # noqa: E402

DPI = 96
#: Diverging, symmetric around 0: red = positive attribution, blue = negative.
MAP_CMAP = "RdBu_r"


def to_png(fig: Figure, *, palette: bool = True) -> bytes:
    """Encode and close ``fig`` (closing keeps long runs from accumulating figures).

    ``palette``: store the PNG with an adaptive 256-colour palette: the figures are colour
    maps (256 entries), a few line colours and anti-aliased text, so it looks the same and
    keeps report.html small (measured on the default zoo: heatmaps and gallery ~2-3x smaller).
    """
    buffer = io.BytesIO()
    # With a palette the PNG is only an intermediate that PIL decodes again: store it
    # uncompressed (same pixels, without deflating and inflating it).
    extra = {"pil_kwargs": {"compress_level": 0}} if palette else {}
    try:
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.05, metadata={"Software": None}, **extra)
    finally:
        plt.close(fig)
    if not palette:
        return buffer.getvalue()
    from PIL import Image

    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _symmetric_limit(values: np.ndarray) -> float:
    """99th percentile of |values|: a few extreme pixels must not wash out the map."""
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, 99)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


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
    rows = -(-len(models) // cols) + (images is not None)
    # One axes per model: its g maps side by side in one array (each map scaled by its own
    # symmetric limit to [-1, 1], NaN gaps between them), so a 28-model gallery draws 29 images
    # instead of 116 axes (what made the HTML report the slowest part of a cached rerun).
    panel = width_in / (cols * (g + 0.35))
    fig = plt.figure(figsize=(width_in, rows * panel * 1.32 + 0.35))
    grid = fig.add_gridspec(rows, cols, wspace=0.06, hspace=0.42, left=0.005, right=0.995, bottom=0.005,
                            top=1 - 0.35 / (rows * panel * 1.32 + 0.35))
    cmap = plt.get_cmap(MAP_CMAP).with_extremes(bad="white")

    r0 = 0
    if images is not None:
        ax = fig.add_subplot(grid[0, 0])
        strip = _strip([np.transpose(images[i], (1, 2, 0)).astype(np.float64) / 255.0 for i in range(g)], g)
        ax.imshow(np.nan_to_num(strip, nan=1.0), interpolation="nearest")
        ax.set_title("probe images 1.." + str(g), fontsize=8, loc="left")
        ax.set_axis_off()
        r0 = 1
    for k, model in enumerate(models):
        ax = fig.add_subplot(grid[r0 + k // cols, k % cols])
        ax.set_axis_off()
        scaled = []
        for i in range(min(g, len(maps[model]))):
            m = np.asarray(maps[model][i], dtype=np.float64)
            scaled.append(m / _symmetric_limit(m))
        if scaled:
            ax.imshow(np.ma.masked_invalid(_strip(scaled, g)), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(model, fontsize=9, loc="left", fontweight="bold")
    fig.suptitle(f"{method}: channel-mean attribution maps (red > 0 > blue, one scale per map)", fontsize=10)
    return to_png(fig)


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


def _reindex(matrix: np.ndarray, ids: Sequence[str], order: Sequence[str]) -> np.ndarray:
    """``matrix`` (rows/cols = ``ids``) in ``order``; models not in ``ids`` become NaN rows and columns."""
    pos = {m: i for i, m in enumerate(ids)}
    out = np.full((len(order), len(order)), np.nan)
    for a, s in enumerate(order):
        for b, t in enumerate(order):
            if s in pos and t in pos:
                out[a, b] = matrix[pos[s], pos[t]]
    return out


def heatmap_figure(title: str, matrix: np.ndarray, ids: Sequence[str], order: Sequence[str], *, width_in: float = 5.6) -> bytes:
    """Affinity ``A[source, target]`` with rows and columns in ``order`` (one order for every
    heatmap of a report, so that they can be compared by eye); grey = not available."""
    a = _reindex(np.asarray(matrix, dtype=np.float64), ids, order)
    n = len(order)
    fig, ax = plt.subplots(figsize=(width_in, width_in * 0.9))
    # The colour scale spans the off-diagonal values: the diagonal (1, or 1 + lambda for depara)
    # would otherwise compress the contrast between the pairs that matter.
    off = a[~np.eye(n, dtype=bool)]
    off = off[np.isfinite(off)]
    limits = (float(off.min()), float(off.max())) if off.size and off.max() > off.min() else (None, None)
    cmap = plt.get_cmap("viridis").with_extremes(bad="#d0d0d0")
    image = ax.imshow(np.ma.masked_invalid(a), cmap=cmap, interpolation="nearest", vmin=limits[0], vmax=limits[1])
    font = 8 if n <= 20 else 6.5
    ax.set_xticks(range(n), labels=order, rotation=90, fontsize=font)
    ax.set_yticks(range(n), labels=order, fontsize=font)
    ax.set_xlabel("target", fontsize=8)
    ax.set_ylabel("source", fontsize=8)
    if n <= 12:
        mid = (np.nanmax(a) + np.nanmin(a)) / 2
        for i in range(n):
            for j in range(n):
                if np.isfinite(a[i, j]):
                    ax.text(j, i, f"{a[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="black" if a[i, j] > mid else "white")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return to_png(fig)


def dendrogram_figure(title: str, matrix: np.ndarray, ids: Sequence[str], *, width_in: float = 5.6) -> bytes:
    """The task similarity tree, linkage computed by :func:`task_tree` (the report's own tree)."""
    tree = task_tree(np.asarray(matrix, dtype=np.float64), ids)
    fig, ax = plt.subplots(figsize=(width_in, max(2.2, 0.165 * len(ids) + 0.9)))
    if len(ids) > 1:
        dendrogram(tree.linkage, labels=list(ids), orientation="right", ax=ax, color_threshold=0,
                   above_threshold_color="#345", leaf_font_size=8 if len(ids) <= 20 else 7)
        ax.invert_yaxis()  # first leaf on top, as in the heatmap's rows
    else:
        ax.text(0.5, 0.5, ids[0], ha="center")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("single-linkage distance between affinity rows", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return to_png(fig)


def curves_figure(evaluation: Mapping[str, Mapping], ceiling: Mapping | None, *, width_in: float = 11.0) -> bytes:
    """P@K and R@K of every estimator in one figure, with the random and oracle baselines and
    the ceiling (a repeat measurement of the ground truth scored as an estimator)."""
    first = next(iter(evaluation.values()))
    ks = first["k"]
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
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
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
