"""compare.md, compare.html (self-contained) and the terminal table of ``harness compare``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from rich.table import Table

from harness.common.format import num as _f
from harness.report.markup import STYLE, Raw, esc, figure, slug, table

SECTIONS = {"summary": "Summary", "models": "Models", "estimators": "Affinities and rankings",
            "ground-truth": "Against ground truth", "targets": "Per-target ranking changes"}


def _delta(m: Mapping | None) -> str:
    if not m or m.get("delta") is None:
        return "–"
    ci = f" [{m['ci'][0]:+.2f}, {m['ci'][1]:+.2f}]" if m.get("ci") else ""
    return f"{m['delta']:+.3f}{ci}" + (" *" if m.get("significant") else "")


def _label(report: Mapping) -> str:
    return f"{report['zoo']['name']} {report['zoo']['version']} ({report.get('created', '?')})"


def summary_rows(result: Mapping) -> list[list[str]]:
    rows = []
    for name, e in result["estimators"].items():
        gt = (e.get("ground_truth") or {}).get("metrics", {})
        rows.append([name, str(len(e["shared_models"])), _f(e["affinity"]["pearson"]), _f(e["affinity"]["spearman"]),
                     _f(e["mean_kendall"]), _f(e["mean_top5_overlap"]), _delta(gt.get("p_at_1")), _delta(gt.get("p_at_5")),
                     _delta(gt.get("spearman")), _delta(gt.get("weighted_tau")), _delta(gt.get("rel_at_1"))])
    return rows


HEADER = ("estimator", "shared models", "affinity Pearson", "affinity Spearman", "mean ranking Kendall",
          "mean top-5 overlap", "ΔP@1 [95% CI]", "ΔP@5 [95% CI]", "Δ mean Spearman [95% CI]", "Δ weighted τ [95% CI]",
          "ΔRel@1 [95% CI]")


TERMINAL_HEADER = ("estimator", "affinity ρ", "ranking τ", "ΔP@5", "Δ Spearman", "P@5 A→B", "new in top-5")


def _delta_short(m: Mapping | None) -> str:
    if not m or m.get("delta") is None:
        return "–"
    return f"{m['delta']:+.3f}" + (" *" if m.get("significant") else "")


def _reported(e: Mapping, key: str, digits: int = 3) -> str:
    ra, rb = (e.get("as_reported") or {}).get("a"), (e.get("as_reported") or {}).get("b")
    return f"{_f((ra or {}).get(key), digits)}→{_f((rb or {}).get(key), digits)}" if ra or rb else "–"


def terminal_table(result: Mapping, a: Mapping, b: Mapping) -> Table:
    """A compact summary that fits a normal terminal; compare.md/.html have every column."""
    t = Table(title=f"A = {a['zoo']['name']} {a['zoo']['version']}  vs  B = {b['zoo']['name']} {b['zoo']['version']}",
              caption="ρ, τ, Δ on shared models/targets (Δ = B − A, * = 95% CI excludes 0; CIs in compare.md); "
                      "P@5 as each report states it; new in top-5 = shared targets whose top 5 gained a model new in B")
    for i, column in enumerate(TERMINAL_HEADER):
        t.add_column(column, justify="left" if i == 0 else "right")
    for name, e in result["estimators"].items():
        gt = (e.get("ground_truth") or {}).get("metrics", {})
        t.add_row(name, _f(e["affinity"]["spearman"]), _f(e["mean_kendall"]), _delta_short(gt.get("p_at_5")), _delta_short(gt.get("spearman")),
                  _reported(e, "p_at_5", 2), f"{len(e['added_in_top5'])}/{len(e['per_target'])}")
    return t


def _model_lines(result: Mapping) -> list[str]:
    m = result["models"]
    return [f"- {k}: {len(m[k])}" + (f" ({', '.join(m[k])})" if m[k] and k != "unchanged" else "")
            for k in ("added", "removed", "changed", "unchanged")]


def render_markdown(result: Mapping, a: Mapping, b: Mapping, paths: tuple[str, str]) -> str:
    lines = ["# Report comparison", "", f"- A: `{paths[0]}`: {_label(a)}", f"- B: `{paths[1]}`: {_label(b)}"]
    if result.get("forced_differences"):
        lines.append(f"- **compared with --force despite**: {'; '.join(result['forced_differences'])}")
    if result.get("prose_parameters_ignored"):
        lines.append(f"- parameters holding prose in an older report, not used to decide comparability: "
                     f"{', '.join(result['prose_parameters_ignored'])}")
    lines += ["", "## Models", "", *_model_lines(result), "", "## Summary", "",
              f"Δ = B − A, mean over the targets both evaluated; 95% paired bootstrap CIs ({result['n_boot']} resamples over targets); "
              "* = the CI excludes 0.", "", "| " + " | ".join(HEADER) + " |", "|---" * len(HEADER) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in summary_rows(result)]
    for key, what in (("only_in_a", "only in A"), ("only_in_b", "only in B"), ("too_few_shared_models", "fewer than 2 shared models")):
        if result[key]:
            lines.append(f"\nEstimators {what}: {', '.join(result[key])}")
    for name, e in result["estimators"].items():
        lines += ["", f"## `{name}`", "", "Most moved sources (rank in A → B): "
                  + (", ".join(f"{m['source']} for {m['target']} #{m['rank_a']}→#{m['rank_b']}" for m in e["most_moved"]) or "none")]
        reported = e.get("as_reported") or {}
        if reported.get("a") or reported.get("b"):
            lines += ["", "As each report states it (on all of its own models): "
                      + ", ".join(f"{k} {_reported(e, k)}" for k in ("p_at_1", "p_at_5", "spearman"))]
        if e.get("added_in_top5"):
            lines += ["", f"Models new in B entering the top 5 of {len(e['added_in_top5'])} of {len(e['per_target'])} shared targets: "
                      + "; ".join(f"{t}: {', '.join(s)}" for t, s in e["added_in_top5"].items())]
        gt = e.get("ground_truth")
        if gt:
            lines += ["", f"Against ground truth ({gt['n_targets']} shared targets; {gt['basis']}):", "",
                      "| metric | A | B | Δ [95% CI] |", "|---|---|---|---|"]
            lines += [f"| {k} | {_f(m['a'])} | {_f(m['b'])} | {_delta(m)} |" for k, m in gt["metrics"].items()]
    return "\n".join(lines) + "\n"


def _scatter(name: str, a: Mapping, b: Mapping, shared: list[str]) -> bytes:
    from harness.compare.stats import submatrix
    from harness.report.figures import scatter_figure

    ma, mb = submatrix(a["estimators"][name], shared), submatrix(b["estimators"][name], shared)
    off = ~np.eye(len(shared), dtype=bool)
    return scatter_figure(name, ma[off], mb[off], "A affinity", "B affinity")


def render_html(result: Mapping, a: Mapping, b: Mapping, paths: tuple[str, str]) -> str:
    m = result["models"]
    summary = (f"<p>A: <code>{esc(paths[0])}</code> — {esc(_label(a))}<br>B: <code>{esc(paths[1])}</code> — {esc(_label(b))}</p>"
               + (f"<p><b>Compared with --force despite:</b> {esc('; '.join(result['forced_differences']))}</p>"
                  if result.get("forced_differences") else "")
               + (f'<p class="note">Parameters holding prose in an older report, not used to decide comparability: '
                  f'{esc(", ".join(result["prose_parameters_ignored"]))}</p>' if result.get("prose_parameters_ignored") else "")
               + f'<p class="note">Δ = B − A over shared targets; 95% paired bootstrap CIs ({esc(result["n_boot"])} resamples); '
               + "* = CI excludes 0.</p>"
               + table(HEADER, summary_rows(result), range(1, len(HEADER))))
    models = table(("status", "count", "models"), ((k, len(m[k]), ", ".join(m[k])) for k in ("added", "removed", "changed", "unchanged")))
    est_parts, gt_parts, target_parts = [], [], []
    for name, e in result["estimators"].items():
        est_parts.append(figure(f"scatter-{slug(name)}", _scatter(name, a, b, e["shared_models"]), f"{name}: off-diagonal affinities, A vs B"))
        gt = e.get("ground_truth")
        if gt:
            gt_parts.append(f"<h3>{esc(name)} ({esc(gt['n_targets'])} shared targets; {esc(gt['basis'])})</h3>"
                            + table(("metric", "A", "B", "Δ [95% CI]"),
                                    ((k, _f(v["a"]), _f(v["b"]), _delta(v)) for k, v in gt["metrics"].items()), (1, 2, 3)))
        rows = [(t, _f(p["kendall"]), _f(p["top5_overlap"]), ", ".join(p["top_a"]), ", ".join(p["top_b"]),
                 Raw(", ".join(f"{esc(x['source'])} #{x['rank_a']}→#{x['rank_b']}" for x in p["moved"]) or "–"))
                for t, p in e["per_target"].items()]
        target_parts.append(f'<h3 id="targets-{esc(slug(name))}">{esc(name)}</h3>'
                            + table(("target", "Kendall", "top-5 overlap", "top-5 in A", "top-5 in B", "moved most"), rows, (1, 2)))
    bodies = {"summary": summary, "models": models, "estimators": '<div class="grid">' + "".join(est_parts) + "</div>",
              "ground-truth": "".join(gt_parts) or '<p class="note">Not both reports have ground truth.</p>',
              "targets": "".join(target_parts)}
    sections = "".join(f'<section id="{sid}"><h2>{esc(SECTIONS[sid])}</h2>{body}</section>' for sid, body in bodies.items())
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in SECTIONS.items())
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Report comparison</title><style>{STYLE}</style>'
            f"</head><body><header><h1>Report comparison</h1><nav>{nav}</nav></header>{sections}</body></html>\n")
