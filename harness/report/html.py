"""report.html: one self-contained page (figures inlined as base64 PNG, no scripts, no fetches).

Rendered from the report.json document (plus the optional attribution gallery, which
report.json does not hold), so a page can be re-rendered from an old report. Every string
that comes from cards or reports is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Section ids of the page, in order; stable so that links and tests can rely on them.
SECTIONS = {
    "summary": "Summary",
    "gallery": "Attribution maps",
    "affinity": "Affinity matrices",
    "trees": "Task similarity trees",
    "curves": "P@K and R@K",
    "rankings": "Ranked sources",
    "provenance": "Provenance",
}
FIGURES_DIR = "figures"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:0 1.2em 3em;color:#222;background:#fff}
h1{margin:.8em 0 .2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{margin:1.2em 0 .4em}
nav a{margin-right:1em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:.6em 0 1.4em}
img{max-width:100%;height:auto;display:block}figcaption,.note{color:#555;font-size:12.5px}
td code{word-break:break-all;font-size:11px}.scroll{overflow-x:auto}.score{color:#555}.hit{color:#1a7f37;font-weight:600}.miss{color:#b35900}code,pre{font-size:12px}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto}.grid{display:flex;flex-wrap:wrap;gap:1.5em}
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


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped unless they are already :class:`Raw` markup."""
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
    """Every figure of the page as PNG bytes, keyed by file name (``figures/<name>``)."""
    from harness.report import figures as fg

    out: dict[str, bytes] = {}
    if gallery and gallery.maps:
        models = [m["id"] for m in report["models"] if m["id"] in gallery.maps]
        for method in report["parameters"].get("methods", []):
            maps = {m: gallery.maps[m][method] for m in models if method in gallery.maps[m]}
            if maps:
                out[f"gallery-{slug(method)}.png"] = fg.gallery_figure(method, gallery.images, maps)
    ceiling = (report.get("ground_truth") or {}).get("ceiling")
    for name, est in report["estimators"].items():
        matrix = np.asarray(est["affinity"], dtype=np.float64)
        order = report.get("tree_leaf_order", {}).get(name) or est["models"]
        out[f"affinity-{slug(name)}.png"] = fg.heatmap_figure(name, matrix, est["models"], order)
        if np.all(np.isfinite(matrix)):
            out[f"tree-{slug(name)}.png"] = fg.dendrogram_figure(name, matrix, est["models"])
        if name in (report.get("evaluation") or {}):
            out[f"curves-{slug(name)}.png"] = fg.curves_figure(name, report["evaluation"][name], ceiling)
    return out


def _summary(report: Mapping) -> str:
    zoo, probe = report["zoo"], report["probe"]
    parts = [f"<p>Zoo <b>{esc(zoo['name'])}</b> {esc(zoo['version'])}: {len(report['models'])} models; probe set "
             f"<b>{esc(probe['name'])}</b> ({esc(probe['n_images'])} images at {esc(probe.get('size'))} px); "
             f"estimators: {esc(', '.join(report['estimators']))}. Affinity convention: <code>A[source, target]</code>, "
             "higher = the source transfers better to the target.</p>"]
    evaluation = report.get("evaluation") or {}
    if not evaluation:
        return parts[0] + '<p class="note">No ground truth: no evaluation.</p>'
    first = next(iter(evaluation.values()))
    k5 = min(5, len(first["random_p_at_k"])) - 1
    rows: list[Sequence[object]] = [
        ("random", first["random_p_at_k"][0], first["random_p_at_k"][k5], "0", "0"),
        ("oracle", first["oracle_p_at_k"][0], first["oracle_p_at_k"][k5], "1", "1"),
    ]
    ceiling = (report.get("ground_truth") or {}).get("ceiling")
    if ceiling:
        rows.append(("ceiling (repeat)", ceiling["p_at_1"], ceiling["p_at_5"], _ci(ceiling["spearman"], ceiling.get("spearman_ci")),
                     _fmt(ceiling.get("kendall"))))
    for name, e in evaluation.items():
        rows.append((name, e["p_at_1"], e["p_at_5"], _ci(e["spearman"], e.get("spearman_ci")), _ci(e["kendall"], e.get("kendall_ci"))))
    parts.append(f"<p>{esc(first['n_targets'])} targets, {esc(first['n_models'])} models; relevant = true top "
                 f"{esc(first['relevant'])}; 95% bootstrap CIs over targets ({esc(first['n_boot'])} resamples).</p>")
    parts.append(table(("estimator", "P@1", "P@5", "mean Spearman [95% CI]", "mean Kendall [95% CI]"), rows, (1, 2, 3, 4)))
    return "".join(parts)


def _gallery(report: Mapping, figures: Mapping[str, bytes]) -> str:
    shown = [m for m in report["parameters"].get("methods", []) if f"gallery-{slug(m)}.png" in figures]
    if not shown:
        return '<p class="note">No attribution maps kept for this report (re-rendered from report.json).</p>'
    return ('<p class="note">First probe images (left) and each model\'s channel-mean attribution map at the model\'s '
            "input resolution; diverging colour map symmetric around 0 per map.</p>"
            + "".join(figure(f"gallery-{slug(m)}", figures[f"gallery-{slug(m)}.png"], f"{m} attribution maps") for m in shown))


def _per_estimator(report: Mapping, figures: Mapping[str, bytes], prefix: str, caption: str) -> str:
    cells = [figure(f"{prefix}-{slug(n)}", figures.get(f"{prefix}-{slug(n)}.png"), f"{n}: {caption}") for n in report["estimators"]]
    return '<div class="grid">' + "".join(cells) + "</div>"


def _trees(report: Mapping, figures: Mapping[str, bytes]) -> str:
    parts = ['<p class="note">Single linkage on Euclidean distances between affinity rows, optimal leaf order '
             "(the same tree as report.json's).</p>", _per_estimator(report, figures, "tree", "task similarity tree")]
    for name in report["estimators"]:
        newick = report.get("tree", {}).get(name)
        if newick:
            parts.append(f"<details><summary>{esc(name)}: Newick</summary><pre>{esc(newick)}</pre></details>")
    return "".join(parts)


def _curves(report: Mapping, figures: Mapping[str, bytes]) -> str:
    evaluation = report.get("evaluation") or {}
    if not evaluation:
        return '<p class="note">No ground truth: no P@K / R@K curves.</p>'
    return '<div class="grid">' + "".join(
        figure(f"curves-{slug(n)}", figures.get(f"curves-{slug(n)}.png"), f"{n}: P@K and R@K") for n in evaluation) + "</div>"


def _rankings(report: Mapping, top: int = 5) -> str:
    parts = []
    for name in report["estimators"]:
        evaluation = (report.get("evaluation") or {}).get(name) or {}
        per_target, relevant = evaluation.get("per_target", {}), evaluation.get("relevant", 5)
        rows = []
        width = 0
        for target, sources in report["rankings"][name].items():
            scores = report["scores"][name][target]
            true_ranks = (per_target.get(target) or {}).get("true_rank_of_estimated_sources") or []
            cells = []
            for i, (source, score) in enumerate(zip(sources[:top], scores[:top])):
                markup = f"{esc(source)} <span class=\"score\">{esc(_fmt(score))}</span>"
                rank = true_ranks[i] if i < len(true_ranks) else None
                if rank is not None:
                    markup += f' <span class="{"hit" if rank <= relevant else "miss"}">true #{esc(rank)}</span>'
                cells.append(Raw(markup))
            width = max(width, len(cells))
            rows.append([target, *cells])
        rows = [r + [""] * (width + 1 - len(r)) for r in rows]
        parts.append(f'<h3 id="ranking-{esc(slug(name))}">{esc(name)}</h3>')
        parts.append(table(["target", *(f"#{i + 1}" for i in range(width))], rows))
    note = ('<p class="note">Best sources per target with their affinity score; with ground truth, '
            '<span class="hit">true #r</span> marks a source among the true top-5, <span class="miss">true #r</span> one outside it.</p>')
    return note + "".join(parts)


def _kv(mapping: Mapping) -> str:
    return table(("key", "value"), ((k, v if not isinstance(v, (dict, list)) else str(v)) for k, v in mapping.items()))


def _provenance(report: Mapping) -> str:
    zoo, env, timings = report["zoo"], report["environment"], report["timings"]
    by_id = {m["id"]: m for m in report["models"]}
    models = [(cid, Raw(f"<code>{esc(h)}</code>"), by_id.get(cid, {}).get("task"), by_id.get(cid, {}).get("framework"),
               by_id.get(cid, {}).get("probe_layer"), _g(by_id.get(cid, {}).get("parity_max_abs_err")),
               _g(by_id.get(cid, {}).get("parity_max_rel_err")), by_id.get(cid, {}).get("parity_provider"))
              for cid, h in zoo["cards"].items()]
    gt = report.get("ground_truth") or {}
    parts = [
        f"<p>harness {esc(report['harness_version'])}, report schema {esc(report['schema_version'])}, created {esc(report['created'])}.</p>",
        "<h3>Zoo</h3>", _kv({"name": zoo["name"], "version": zoo["version"], "description": zoo.get("description"),
                             "ground truth": gt.get("path"), "ground truth repeat": gt.get("repeat_path")}),
        "<h3>Models (card hashes, parity against onnxruntime)</h3>",
        table(("id", "card sha256", "task", "framework", "probe layer", "parity max abs err", "parity max rel err", "provider"), models, (5, 6)),
        "<h3>Probe set</h3>", _kv(report["probe"]),
        "<h3>Parameters</h3>", _kv(report["parameters"]),
        "<h3>Environment</h3>", _kv({k: v for k, v in env.items() if k != "packages"}), _kv(env.get("packages", {})),
        "<h3>Timings (seconds)</h3>", table(("stage", "seconds"), ((k, f"{v:.2f}") for k, v in timings["stages"].items()), (1,)),
    ]
    per_model = timings.get("per_model") or {}
    if per_model:
        stages = list(dict.fromkeys(s for t in per_model.values() for s in t))
        parts.append(table(("model", *stages), ((m, *(f"{t.get(s, 0):.2f}" for s in stages)) for m, t in per_model.items()),
                           tuple(range(1, len(stages) + 1))))
    return "".join(parts)


def _g(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"


def render_html(report: Mapping, figures: Mapping[str, bytes]) -> str:
    """The whole page; ``figures`` from :func:`render_figures`."""
    zoo = report["zoo"]
    title = f"Transferability report: {zoo['name']} {zoo['version']}"
    bodies = {
        "summary": _summary(report), "gallery": _gallery(report, figures),
        "affinity": '<p class="note">Rows = sources, columns = targets, both in the task tree\'s leaf order.</p>'
                    + _per_estimator(report, figures, "affinity", "affinity matrix"),
        "trees": _trees(report, figures), "curves": _curves(report, figures),
        "rankings": _rankings(report), "provenance": _provenance(report),
    }
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in SECTIONS.items())
    sections = "".join(f'<section id="{sid}"><h2>{esc(SECTIONS[sid])}</h2>{body}</section>' for sid, body in bodies.items())
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><header><h1>{esc(title)}</h1>"
            f"<nav>{nav}</nav></header>{sections}</body></html>\n")


def html_files(report: Mapping, gallery: Gallery | None = None) -> dict[str, bytes]:
    """report.html and figures/*.png, all rendered in memory (for :func:`write_all_atomic`)."""
    figures = render_figures(report, gallery)
    files = {f"{FIGURES_DIR}/{name}": png for name, png in figures.items()}
    files["report.html"] = render_html(report, figures).encode("utf-8")
    return files
