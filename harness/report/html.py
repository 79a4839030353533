"""report.html: one self-contained page (figures inlined as base64 PNG, no scripts, no fetches).

Rendered from the report.json document (plus the optional attribution gallery, which
report.json does not hold), so a page can be re-rendered from an old report. Every string
that comes from cards or reports is HTML-escaped. The page's building blocks (tables,
figures, escaping) are :mod:`harness.report.markup`, shared with every other page.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from harness.report import sections
from harness.report.figure_cache import FigureCache, plain_draw
from harness.report.lookup import filled_for_tree, model_order
from harness.report.markup import STYLE, TRUTH, esc, slug

#: Section ids of the page, in order; stable so that links and tests can rely on them.
SECTIONS = {
    "summary": "Summary",
    "curves": "P@K and R@K",
    "targets": "Per-target results",
    "affinity": "Affinity matrices",
    "trees": "Task similarity trees",
    "gallery": "Attribution maps",
    "rankings": "Ranked sources",
    "provenance": "Provenance",
}
FIGURES_DIR = "figures"
#: Models shown in the page's gallery; with more, the page shows the first ones (in the
#: heatmaps' order) and links the full gallery, written beside the page as a file. 16, not
#: all: the inline gallery is most of the page's bytes (measured on the 38-model 64-px default
#: zoo: 1.37 MB of a 2.0 MB page with 32 models shown).
GALLERY_MODELS = 16
#: Threads drawing figures (see :func:`render_figures`).
FIGURE_THREADS = 2


@dataclass(frozen=True)
class Gallery:
    """What the gallery shows: the first probe images and every model's maps for them."""

    images: np.ndarray | None = None  # (g, 3, H, W) uint8
    maps: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)  # model -> method -> (g, h, w)


def render_figures(report: Mapping, gallery: Gallery | None = None, cache: FigureCache | None = None) -> dict[str, bytes]:
    """Every figure of the report as PNG bytes, keyed by file name (``figures/<name>``).

    All heatmaps share one model order (:func:`model_order`); the ground truth's matrix
    and tree are drawn once and shown beside every estimator's. With ``cache``, a figure whose
    inputs were drawn before is read back instead of drawn (same bytes; see figure_cache).
    """
    draw = cache.draw if cache is not None else plain_draw
    jobs = figure_jobs(report, gallery)
    if len(jobs) < 2:
        return {file: draw(name, *args) for file, (name, args) in jobs.items()}
    # Pillow draws, quantises and encodes with the GIL released for most of the work (PNG
    # encoding: 0.73 s -> 0.39 s for the default zoo's figures on two threads); FreeType text
    # calls keep it, so no font is used by two threads at once.
    with ThreadPoolExecutor(max_workers=FIGURE_THREADS, thread_name_prefix="figures") as pool:
        futures = {file: pool.submit(draw, name, *args) for file, (name, args) in jobs.items()}
        return {file: future.result() for file, future in futures.items()}


def figure_jobs(report: Mapping, gallery: Gallery | None = None) -> dict[str, tuple[str, tuple]]:
    """What :func:`render_figures` draws: file name -> (drawing function, its arguments), in page order."""
    order, basis = model_order(report)
    out: dict[str, tuple[str, tuple]] = {}
    if gallery and gallery.maps:
        models = [m for m in order if m in gallery.maps]
        for method in report["parameters"].get("methods", []):
            maps = {m: gallery.maps[m][method] for m in models if method in gallery.maps[m]}
            if not maps:
                continue
            shown = dict(list(maps.items())[:GALLERY_MODELS])
            out[f"gallery-{slug(method)}.png"] = ("gallery_figure", (method, gallery.images, shown))
            if len(shown) < len(maps):
                out[f"gallery-{slug(method)}-all.png"] = ("gallery_figure", (method, gallery.images, maps))
    gt = report.get("ground_truth") or {}
    if gt.get("affinity") is not None and gt.get("models"):
        truth = np.array([[np.nan if v is None else v for v in row] for row in gt["affinity"]], dtype=np.float64)
        out[f"{TRUTH}-affinity.png"] = ("heatmap_figure", ("ground truth (measured transfer)", truth, gt["models"], order))
        filled = filled_for_tree(truth)
        if np.all(np.isfinite(filled)) and len(gt["models"]) > 1:
            out[f"{TRUTH}-tree.png"] = ("dendrogram_figure", ("ground truth: task tree", filled, gt["models"]))
    for name, est in report["estimators"].items():
        matrix = np.asarray([[np.nan if v is None else v for v in row] for row in est["affinity"]], dtype=np.float64)
        out[f"affinity-{slug(name)}.png"] = ("heatmap_figure", (f"{name}: estimated affinity", matrix, est["models"], order))
        if np.all(np.isfinite(matrix)):
            out[f"tree-{slug(name)}.png"] = ("dendrogram_figure", (f"{name}: task tree", matrix, est["models"]))
    evaluation = report.get("evaluation") or {}
    if evaluation:
        out["curves.png"] = ("curves_figure", (evaluation, gt.get("ceiling")))
    return out


def render_html(report: Mapping, figures: Mapping[str, bytes]) -> str:
    """The whole page; ``figures`` from :func:`render_figures`. An evaluation of estimates
    computed elsewhere (``kind: evaluation``) has no zoo, probe set, gallery or provenance
    of probing, so it shows the evaluation's sections only."""
    if report.get("kind") == "evaluation":
        title = f"Evaluation against {report['ground_truth']['path']}"
        bodies = {"summary": sections.evaluation_summary(report)}
    else:
        zoo = report["zoo"]
        title = f"Transferability report: {zoo['name']} {zoo['version']}"
        bodies = {"summary": sections.summary(report)}
    bodies.update({
        "curves": sections.curves(report, figures), "targets": sections.per_target(report),
        "affinity": sections.affinity(report, figures), "trees": sections.trees(report, figures),
    })
    if report.get("kind") != "evaluation":
        bodies["gallery"] = sections.gallery(report, figures)
    bodies["rankings"] = sections.rankings(report)
    if report.get("kind") != "evaluation":
        bodies["provenance"] = sections.provenance(report)
    labels = {sid: label for sid, label in SECTIONS.items() if sid in bodies}
    for sid, label, text in sections.optional(report):  # only when the run asked for them
        labels[sid], bodies[sid] = label, text
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in labels.items())
    body = "".join(f'<section id="{sid}"><h2>{esc(labels[sid])}</h2>{bodies[sid]}</section>' for sid in labels)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><header><h1>{esc(title)}</h1>"
            f"<nav>{nav}</nav></header>{body}</body></html>\n")


def html_files(report: Mapping, gallery: Gallery | None = None, cache: FigureCache | None = None) -> dict[str, bytes]:
    """report.html and figures/*.png, all rendered in memory (for :func:`write_all_atomic`)."""
    figures = render_figures(report, gallery, cache)
    files = {f"{FIGURES_DIR}/{name}": png for name, png in figures.items()}
    files["report.html"] = render_html(report, figures).encode("utf-8")
    return files
