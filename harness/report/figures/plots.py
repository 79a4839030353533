"""The matplotlib figures (compare scatter, sensitivity plot): few, cheap, drawn by other commands,
not redrawn per zoo model. matplotlib is imported on first use only (:func:`_pyplot`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from harness.report.figures.canvas import DPI, _png

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@cache
def _pyplot():
    """matplotlib.pyplot on the headless, deterministic Agg backend, imported on first use only."""
    import matplotlib

    matplotlib.use("Agg")  # must precede pyplot
    import matplotlib.pyplot as plt

    return plt


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
