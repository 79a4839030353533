"""The per-layer contribution figure (after the seed's visualization/featurecontribution.py).

Left of each row, the seed's picture: every unit of the layer is one square whose colour
mixes the two heads' normalised contributions, (R, G, B) = (c_B, c_B, c_A): blue units serve
head A only, yellow units head B only, white units both, black units neither. Units are
sorted by c_A - c_B. Right, the same contributions as a scatter (each head normalised by its
own maximum) with the "matters" threshold drawn, so the shared units are the upper-right box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from harness.report.figures import plt, to_png


def _grid(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    order = np.argsort(-(ca - cb), kind="stable")
    n = len(ca)
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    image = np.full((rows * cols, 3), 0.5)
    image[:n] = np.stack([cb[order], cb[order], ca[order]], axis=1)
    return image.reshape(rows, cols, 3)


def contribution_figure(layers: Sequence[Mapping], pair: tuple[str, str], threshold: float, title: str) -> bytes:
    """One row per layer: ``layers`` items carry 'name' and 'contributions' {head: list}."""
    a, b = pair
    fig, axes = plt.subplots(len(layers), 2, figsize=(8.5, 3.4 * len(layers)), squeeze=False)
    for row, layer in enumerate(layers):
        ca = np.asarray(layer["contributions"][a], float)
        cb = np.asarray(layer["contributions"][b], float)
        top = max(ca.max(), cb.max(), 1e-300)
        ax = axes[row, 0]
        ax.imshow(np.clip(_grid(ca / top, cb / top), 0, 1), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{layer['name']} ({len(ca)} units)\nblue: {a} only, yellow: {b} only, white: both", fontsize=9)
        ax = axes[row, 1]
        na = ca / ca.max() if ca.max() > 0 else ca
        nb = cb / cb.max() if cb.max() > 0 else cb
        ax.scatter(na, nb, s=14, alpha=0.75, color="#1f77b4")
        ax.axvline(threshold, color="#999", lw=0.8, ls="--")
        ax.axhline(threshold, color="#999", lw=0.8, ls="--")
        ax.set_xlim(-0.03, 1.05)
        ax.set_ylim(-0.03, 1.05)
        ax.set_xlabel(f"contribution to {a} (/ max)", fontsize=9)
        ax.set_ylabel(f"contribution to {b} (/ max)", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return to_png(fig)
