"""report.html: one self-contained page (figures inlined as base64 PNG, no scripts, no fetches).

Rendered from the report.json document (plus the optional attribution gallery, which
report.json does not hold), so a page can be re-rendered from an old report. Every string
that comes from cards or reports is HTML-escaped. The page's building blocks (tables,
figures, escaping) are shared with ``harness compare``'s page.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.report.lookup import filled_for_tree, model_order

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
#: File-name stem of the ground-truth figures (not an estimator name, so it cannot collide).
TRUTH = "truth"

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:0 1.2em 3em;color:#222;background:#fff}
h1{margin:.8em 0 .2em;font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{margin:1.2em 0 .4em}
nav{display:flex;flex-wrap:wrap;gap:.2em 1em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}figure{margin:.6em 0 1.4em;min-width:0}
img{max-width:100%;height:auto;display:block}figcaption,.note{color:#555;font-size:12.5px}
td code{word-break:break-all;font-size:11px}.scroll{overflow-x:auto;max-width:100%}.score{color:#555}
.hit{color:#1a7f37;font-weight:600}.miss{color:#b35900}.nogt{color:#777;font-style:italic}code,pre{font-size:12px}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto}.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:0 1.5em}
.beside{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:0 1.5em}.sticky{position:sticky;top:.5em}
.verdict{background:#f4f8ff;border-left:4px solid #3a6ea5;padding:.6em 1em;margin:.8em 0}.best{font-weight:700}
details{margin:.4em 0}summary{cursor:pointer}
@media (max-width:900px){.grid,.beside{grid-template-columns:minmax(0,1fr)}.sticky{position:static}}
"""


@dataclass(frozen=True)
class Gallery:
    """What the gallery shows: the first probe images and every model's maps for them."""

    images: np.ndarray | None = None  # (g, 3, H, W) uint8
    maps: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)  # model -> method -> (g, h, w)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def slug(name: str) -> str:
    """A safe id / file-name fragment for an estimator or method name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(value: float | None, ci: Sequence[float] | None) -> str:
    return _fmt(value) + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = ()) -> str:
    """An HTML table; cells are escaped unless they are already :class:`Raw` markup."""
    numeric = set(numeric)
    out = ['<div class="scroll"><table><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell.markup if isinstance(cell, Raw) else esc(_fmt(cell))
            cells.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</tbody></table></div>"


@dataclass(frozen=True)
class Raw:
    """Markup built here from escaped pieces, inserted into a table as is."""

    markup: str


def img(png: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def figure(fig_id: str, png: bytes | None, caption: str) -> str:
    if png is None:
        return f'<p class="note" id="{esc(fig_id)}">{esc(caption)}: not available.</p>'
    return f'<figure id="{esc(fig_id)}">{img(png, caption)}<figcaption>{esc(caption)}</figcaption></figure>'


def render_figures(report: Mapping, gallery: Gallery | None = None) -> dict[str, bytes]:
    """Every figure of the report as PNG bytes, keyed by file name (``figures/<name>``).

    All heatmaps share one model order (:func:`model_order`); the ground truth's matrix
    and tree are drawn once and shown beside every estimator's.
    """
    from harness.report import figures as fg

    order, basis = model_order(report)
    out: dict[str, bytes] = {}
    if gallery and gallery.maps:
        models = [m for m in order if m in gallery.maps]
        for method in report["parameters"].get("methods", []):
            maps = {m: gallery.maps[m][method] for m in models if method in gallery.maps[m]}
            if not maps:
                continue
            shown = dict(list(maps.items())[:GALLERY_MODELS])
            out[f"gallery-{slug(method)}.png"] = fg.gallery_figure(method, gallery.images, shown)
            if len(shown) < len(maps):
                out[f"gallery-{slug(method)}-all.png"] = fg.gallery_figure(method, gallery.images, maps)
    gt = report.get("ground_truth") or {}
    if gt.get("affinity") is not None and gt.get("models"):
        truth = np.array([[np.nan if v is None else v for v in row] for row in gt["affinity"]], dtype=np.float64)
        out[f"{TRUTH}-affinity.png"] = fg.heatmap_figure("ground truth (measured transfer)", truth, gt["models"], order)
        filled = filled_for_tree(truth)
        if np.all(np.isfinite(filled)) and len(gt["models"]) > 1:
            out[f"{TRUTH}-tree.png"] = fg.dendrogram_figure("ground truth: task tree", filled, gt["models"])
    for name, est in report["estimators"].items():
        matrix = np.asarray([[np.nan if v is None else v for v in row] for row in est["affinity"]], dtype=np.float64)
        out[f"affinity-{slug(name)}.png"] = fg.heatmap_figure(f"{name}: estimated affinity", matrix, est["models"], order)
        if np.all(np.isfinite(matrix)):
            out[f"tree-{slug(name)}.png"] = fg.dendrogram_figure(f"{name}: task tree", matrix, est["models"])
    evaluation = report.get("evaluation") or {}
    if evaluation:
        out["curves.png"] = fg.curves_figure(evaluation, gt.get("ceiling"))
    return out


def render_html(report: Mapping, figures: Mapping[str, bytes]) -> str:
    """The whole page; ``figures`` from :func:`render_figures`."""
    from harness.report import sections

    zoo = report["zoo"]
    title = f"Transferability report: {zoo['name']} {zoo['version']}"
    bodies = {
        "summary": sections.summary(report), "curves": sections.curves(report, figures),
        "targets": sections.per_target(report), "affinity": sections.affinity(report, figures),
        "trees": sections.trees(report, figures), "gallery": sections.gallery(report, figures),
        "rankings": sections.rankings(report), "provenance": sections.provenance(report),
    }
    labels = dict(SECTIONS)
    for sid, label, text in sections.optional(report):  # only when the run asked for them
        labels[sid], bodies[sid] = label, text
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in labels.items())
    body = "".join(f'<section id="{sid}"><h2>{esc(labels[sid])}</h2>{bodies[sid]}</section>' for sid in labels)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><header><h1>{esc(title)}</h1>"
            f"<nav>{nav}</nav></header>{body}</body></html>\n")


def html_files(report: Mapping, gallery: Gallery | None = None) -> dict[str, bytes]:
    """report.html and figures/*.png, all rendered in memory (for :func:`write_all_atomic`)."""
    figures = render_figures(report, gallery)
    files = {f"{FIGURES_DIR}/{name}": png for name, png in figures.items()}
    files["report.html"] = render_html(report, figures).encode("utf-8")
    return files
