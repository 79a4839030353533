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


def to_png(fig: Figure) -> bytes:
    """Encode and close ``fig`` (closing keeps long runs from accumulating figures)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _symmetric_limit(values: np.ndarray) -> float:
    """99th percentile of |values|: a few extreme pixels must not wash out the map."""
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, 99)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def gallery_figure(method: str, images: np.ndarray | None, maps: Mapping[str, np.ndarray]) -> bytes:
    """NeurIPS 2019 Fig. S1 layout: one row per probe image, the image, then each model's map.

    ``images``: (g, 3, H, W) uint8 probe images (or None); ``maps``: model id -> (g, h, w).
    Each map gets its own colour scale symmetric around 0 (models' attribution scales differ).
    """
    models = list(maps)
    rows = max(len(m) for m in maps.values())
    if images is not None:
        rows = min(rows, len(images))
    cols = len(models) + (images is not None)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4), squeeze=False)
    for r in range(rows):
        c = 0
        if images is not None:
            axes[r, 0].imshow(np.transpose(images[r], (1, 2, 0)))
            if r == 0:
                axes[r, 0].set_title("probe image", fontsize=8)
            c = 1
        for model in models:
            ax = axes[r, c]
            if r < len(maps[model]):
                m = np.asarray(maps[model][r], dtype=np.float64)
                lim = _symmetric_limit(m)
                ax.imshow(m, cmap=MAP_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            if r == 0:
                ax.set_title(model, fontsize=8)
            c += 1
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{method} attribution maps (red > 0 > blue)", fontsize=9)
    return to_png(fig)


def heatmap_figure(name: str, matrix: np.ndarray, ids: Sequence[str], order: Sequence[str]) -> bytes:
    """Affinity ``A[source, target]`` with rows and columns in the task tree's leaf order."""
    a = np.asarray(matrix, dtype=np.float64)
    idx = [list(ids).index(m) for m in order]
    a = a[np.ix_(idx, idx)]
    n = len(order)
    size = max(3.5, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    # The colour scale spans the off-diagonal values: the diagonal (1, or 1 + lambda for depara)
    # would otherwise compress the contrast between the pairs that matter.
    off = a[~np.eye(n, dtype=bool)]
    limits = (float(np.nanmin(off)), float(np.nanmax(off))) if off.size and np.nanmax(off) > np.nanmin(off) else (None, None)
    image = ax.imshow(a, cmap="viridis", interpolation="nearest", vmin=limits[0], vmax=limits[1])
    ax.set_xticks(range(n), labels=order, rotation=90, fontsize=8)
    ax.set_yticks(range(n), labels=order, fontsize=8)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    if n <= 12:
        mid = (np.nanmax(a) + np.nanmin(a)) / 2
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{a[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if a[i, j] > mid else "white")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(f"{name}: affinity (task-tree order; colours span the off-diagonal range)", fontsize=10)
    return to_png(fig)


def dendrogram_figure(name: str, matrix: np.ndarray, ids: Sequence[str]) -> bytes:
    """The task similarity tree, linkage computed by :func:`task_tree` (the report's own tree)."""
    tree = task_tree(np.asarray(matrix, dtype=np.float64), ids)
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.35 * len(ids) + 1)))
    if len(ids) > 1:
        dendrogram(tree.linkage, labels=list(ids), orientation="right", ax=ax, color_threshold=0,
                   above_threshold_color="#345", leaf_font_size=9)
        ax.invert_yaxis()  # first leaf on top, as in the heatmap's rows
    else:
        ax.text(0.5, 0.5, ids[0], ha="center")
    ax.set_xlabel("single-linkage distance between affinity rows")
    ax.set_title(f"{name}: task similarity tree", fontsize=10)
    return to_png(fig)


def curves_figure(name: str, evaluation: Mapping, ceiling: Mapping | None) -> bytes:
    """P@K and R@K of one estimator against the random and oracle baselines (and the ceiling)."""
    ks = evaluation["k"]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, key, label in ((axes[0], "p_at_k", "P@K"), (axes[1], "r_at_k", "R@K")):
        ax.plot(ks, evaluation[key], "o-", color="#1f77b4", label=name)
        ax.plot(ks, evaluation[f"random_{key}"], "--", color="#888", label="random")
        ax.plot(ks, evaluation[f"oracle_{key}"], ":", color="#2ca02c", label="oracle")
        if ceiling and ceiling.get(key):
            ax.plot(ceiling.get("k", ks)[: len(ceiling[key])], ceiling[key], "-.", color="#d62728", label="ceiling (repeat)")
        ax.set_xlabel("K")
        ax.set_ylabel(label)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{name}: precision and recall at K", fontsize=10)
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
