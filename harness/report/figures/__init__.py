"""Report figures as PNG bytes: nothing here touches the disk.

Every function builds one figure in memory and returns its PNG encoding, so the callers can
embed it in a self-contained HTML page and write it atomically beside report.json.

Two drawing paths:

* Pillow, directly: the affinity heatmaps (:func:`heatmap_figure`), the task trees
  (:func:`dendrogram_figure`), the attribution galleries (:func:`gallery_figure`) and the P@K /
  R@K curves (:func:`curves_figure`). These are the figures that all change, and are all
  redrawn, when one model is added to a zoo (every heatmap and tree gains a row, every gallery
  a model, the curves move); with matplotlib they took ~16 s for a 38-model zoo, nearly all of
  it text layout (tick labels, tight bounding boxes), and the curves alone ~1 s, most of it
  importing matplotlib. Drawn here from pixel arithmetic, they take tens of milliseconds each,
  and a run that only draws them never imports matplotlib. Text is Pillow's built-in FreeType
  font (``load_default(size=...)``, the same on every machine); the colour maps are lookup
  tables interpolated from public anchor colours (viridis, RdBu_r) and the curves' colours
  matplotlib's default cycle, so matplotlib is not needed for them either. The curves' lines and
  markers are drawn at twice the size and shrunk (anti-aliased); their text at 1x.
* matplotlib (Agg backend, imported lazily by :func:`_pyplot`): the compare scatter and the
  sensitivity plot, which are few, cheap, drawn by other commands and not redrawn per zoo model.

Both paths end in :func:`_png` (an adaptive 256-colour palette, optimised PNG).
"""

from __future__ import annotations

from harness.report.figures.canvas import DPI
from harness.report.figures.curves import curves_figure
from harness.report.figures.gallery import gallery_figure
from harness.report.figures.heatmap import heatmap_figure
from harness.report.figures.plots import scatter_figure, sensitivity_figure, to_png
from harness.report.figures.tree import dendrogram_figure

__all__ = ["DPI", "curves_figure", "dendrogram_figure", "gallery_figure", "heatmap_figure", "scatter_figure",
           "sensitivity_figure", "to_png"]


def __getattr__(name: str):
    # ``from harness.report.figures import plt`` (other pages' matplotlib figures) still works,
    # importing pyplot only then.
    if name == "plt":
        from harness.report.figures.plots import _pyplot

        return _pyplot()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
