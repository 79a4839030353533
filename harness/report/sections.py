"""The bodies of report.html's sections, each rendered from the report.json document.

Estimator names are never hard-coded: whatever ``report["estimators"]`` and
``report["evaluation"]`` hold (e.g. one entry per estimator and attribution target) is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.common.format import cell as fmt
from harness.common.format import num
from harness.report.markup import TRUTH, Raw, cell_ci, esc, figure, slug, table
from harness.evaluation.stability import stability_line
from harness.report.field_table import HEADER as FIELD_HEADER
from harness.report.field_table import field_rows, static_note
from harness.report.lookup import model_order, models_without_truth, true_ranks
from harness.report.parameters import NOTES
from harness.report.verdict import verdict


def _names(items: Sequence[str]) -> str:
    return ", ".join(f"<b>{esc(n)}</b>" for n in items)


def _verdict(report: Mapping) -> str:
    evaluation = report["evaluation"]
    v = verdict(evaluation)
    if v.best is None:
        return '<div class="verdict">No estimator has a defined mean Spearman against the ground truth.</div>'
    best = evaluation[v.best]
    ceiling = (report.get("ground_truth") or {}).get("ceiling")
    text = [f"Trust <b>{esc(v.best)}</b> most on this zoo: mean Spearman with the measured transfer "
            f"{esc(cell_ci(best['spearman'], best.get('spearman_ci')))}, P@5 {esc(fmt(best.get('p_at_5')))}"]
    if ceiling:
        text.append(f" (a repeat measurement of the ground truth reaches {esc(fmt(ceiling.get('spearman')))}, a random ranking 0).")
    else:
        text.append(" (a random ranking scores 0).")
    if v.tied_with_best:
        text.append(f" Not distinguishable from it on this zoo (95% CIs overlap): {_names(v.tied_with_best)}.")
    else:
        text.append(" Its CI does not overlap any other estimator's.")
    if v.not_above_random:
        text.append(f" Not shown to beat a random ranking (CI reaches 0): {_names(v.not_above_random)}.")
    if v.not_above_static:
        text.append(f" Not shown to beat the static ranker <b>{esc(v.static)}</b> (paired CI of the Spearman difference "
                    f"reaches 0): {_names(v.not_above_static)}.")
    return '<div class="verdict">' + "".join(text) + "</div>"


def summary(report: Mapping) -> str:
    zoo, probe = report["zoo"], report["probe"]
    intro = (f"<p>Zoo <b>{esc(zoo['name'])}</b> {esc(zoo['version'])}: {len(report['models'])} models; probe set "
             f"<b>{esc(probe['name'])}</b> ({esc(probe['n_images'])} images at {esc(probe.get('size'))} px); "
             f"{len(report['estimators'])} estimators. Affinity convention: <code>A[source, target]</code>, "
             "higher = the source transfers better to the target.</p>")
    if not report.get("evaluation"):
        return intro + '<p class="note">No ground truth: no evaluation. The estimators\' affinities and trees are below.</p>'
    return intro + evaluation_summary(report)


def evaluation_summary(report: Mapping) -> str:
    """Verdict, the seeds' metrics, the field's metrics and the stability result (run and ``harness evaluate``)."""
    evaluation = report["evaluation"]
    v = verdict(evaluation)
    first = next(iter(evaluation.values()))
    k5 = min(5, len(first["random_p_at_k"])) - 1
    rows: list[Sequence[object]] = []
    for name in v.ranked:
        e = evaluation[name]
        cell = Raw(f'<span class="best">{esc(name)}</span>') if name == v.best else name
        rows.append((cell, cell_ci(e["spearman"], e.get("spearman_ci")), cell_ci(e.get("p_at_1"), e.get("p_at_1_ci")),
                     cell_ci(e.get("p_at_5"), e.get("p_at_5_ci")), cell_ci(e.get("kendall"), e.get("kendall_ci"))))
    ceiling = (report.get("ground_truth") or {}).get("ceiling")
    if ceiling:
        rows.append(("ceiling (repeat measurement)", cell_ci(ceiling["spearman"], ceiling.get("spearman_ci")), fmt(ceiling["p_at_1"]),
                     cell_ci(ceiling["p_at_5"], ceiling.get("p_at_5_ci")), fmt(ceiling.get("kendall"))))
    rows.append(("random ranking", "0", fmt(first["random_p_at_k"][0]), fmt(first["random_p_at_k"][k5]), "0"))
    rows.append(("oracle", "1", fmt(first["oracle_p_at_k"][0]), fmt(first["oracle_p_at_k"][k5]), "1"))
    for name, e in (report.get("static_baselines") or {}).items():
        rows.append((f"{name} (static ranker)", cell_ci(e["spearman"], e.get("spearman_ci")), cell_ci(e.get("p_at_1"), e.get("p_at_1_ci")),
                     cell_ci(e.get("p_at_5"), e.get("p_at_5_ci")), cell_ci(e.get("kendall"), e.get("kendall_ci"))))
    missing = models_without_truth(report)
    note = (f"<p>{esc(first['n_targets'])} targets, {esc(first['n_models'])} models evaluated; relevant = true top "
            f"{esc(first['relevant'])}; [95% bootstrap CI over targets, {esc(first['n_boot'])} resamples].</p>")
    if missing:
        note += (f'<p class="miss">Not evaluated, because the ground truth does not name them: {esc(", ".join(missing))} '
                 "(they are still estimated and ranked below).</p>")
    header = ("estimator", "mean Spearman [95% CI]", "P@1 [95% CI]", "P@5 [95% CI]", "mean Kendall [95% CI]")
    field = (f"<h3>The field's metrics</h3><p class=\"note\">{esc(static_note(report))}</p>"
             + table(FIELD_HEADER, field_rows(report), range(1, len(FIELD_HEADER))))
    stable = f"<p><b>Stability.</b> {esc(stability_line(report['stability']))}</p>" if report.get("stability") else ""
    return _verdict(report) + table(header, rows, (1, 2, 3, 4)) + note + field + stable


def curves(report: Mapping, figures: Mapping[str, bytes]) -> str:
    if not report.get("evaluation"):
        return '<p class="note">No ground truth: no P@K / R@K curves.</p>'
    return figure("curves-all", figures.get("curves.png"),
                  "P@K and R@K of every estimator, with a random ranking, the oracle and the ceiling (a repeat measurement)")


def per_target(report: Mapping) -> str:
    """Per ground-truth target: each estimator's Spearman and P@5, then the mean with its CI."""
    evaluation = report.get("evaluation") or {}
    if not evaluation:
        return '<p class="note">No ground truth: no per-target results.</p>'
    names = list(evaluation)
    targets = list(dict.fromkeys(t for e in evaluation.values() for t in e.get("per_target", {})))
    parts = ['<p class="note">One row per target model; the best estimator of each row in bold. The last row is the mean '
             "over targets with its 95% bootstrap CI.</p>"]
    for key, label in (("spearman", "Spearman with the true affinities"), ("weighted_tau", "Weighted Kendall τ"), ("p_at_5", "P@5")):
        rows = []
        for target in targets:
            values = [((evaluation[n].get("per_target") or {}).get(target) or {}).get(key) for n in names]
            top = max((x for x in values if x is not None), default=None)
            rows.append([target, *(Raw(f"<b>{esc(fmt(x))}</b>") if x is not None and x == top else x for x in values)])
        rows.append([Raw("<b>mean [95% CI]</b>"), *(cell_ci(evaluation[n].get(key), evaluation[n].get(f"{key}_ci")) for n in names)])
        parts.append(f"<h3>{esc(label)}</h3>" + table(("target", *names), rows, range(1, len(names) + 1)))
    return "".join(parts)


def _beside(report: Mapping, figures: Mapping[str, bytes], kind: str, what: str) -> str:
    """Each estimator's figure, with the ground truth's held beside them (sticky) when there is one."""
    cells = "".join(figure(f"{kind}-{slug(n)}", figures.get(f"{kind}-{slug(n)}.png"), f"{n}: {what}") for n in report["estimators"])
    truth = figures.get(f"{TRUTH}-{kind}.png")
    if truth is None:
        return f'<div class="grid">{cells}</div>'
    held = figure(f"{kind}-{TRUTH}", truth, f"ground truth: {what} (stays beside the estimators while scrolling)")
    return f'<div class="beside"><div><div class="sticky">{held}</div></div><div>{cells}</div></div>'


def affinity(report: Mapping, figures: Mapping[str, bytes]) -> str:
    order, basis = model_order(report)
    note = (f'<p class="note">Rows = sources, columns = targets; every matrix in the same model order ({esc(basis)}), '
            "so they can be compared by eye. Colours span each matrix's off-diagonal range; grey = not available.</p>")
    return note + _beside(report, figures, "affinity", "affinity matrix")


def trees(report: Mapping, figures: Mapping[str, bytes]) -> str:
    parts = ['<p class="note">Single linkage on Euclidean distances between affinity rows, optimal leaf order '
             "(the same trees as report.json's).</p>", _beside(report, figures, "tree", "task similarity tree")]
    newick = {**({"ground truth": (report.get("ground_truth") or {}).get("tree")}), **(report.get("tree") or {})}
    listed = "".join(f"<p><b>{esc(n)}</b></p><pre>{esc(t)}</pre>" for n, t in newick.items() if t)
    if listed:
        parts.append(f"<details><summary>Newick strings</summary>{listed}</details>")
    return "".join(parts)


def gallery(report: Mapping, figures: Mapping[str, bytes]) -> str:
    methods = [m for m in report["parameters"].get("methods", []) if f"gallery-{slug(m)}.png" in figures]
    if not methods:
        return '<p class="note">No attribution maps kept for this report (re-rendered from report.json).</p>'
    parts = ['<p class="note">The first probe images (top left), then each model\'s channel-mean attribution map for each of '
             "them, at the model's input resolution, models in the heatmaps' order. Diverging colour map, symmetric around 0 "
             "per map. Every figure is also in the <code>figures/</code> folder beside this page.</p>"]
    for m in methods:
        parts.append(figure(f"gallery-{slug(m)}", figures[f"gallery-{slug(m)}.png"], f"{m} attribution maps"))
        if f"gallery-{slug(m)}-all.png" in figures:
            parts.append(f'<p class="note">Only the first models are shown; all of them: '
                         f'<a href="figures/gallery-{esc(slug(m))}-all.png">figures/gallery-{esc(slug(m))}-all.png</a>.</p>')
    return "".join(parts)


def rankings(report: Mapping, top: int = 5) -> str:
    evaluation = report.get("evaluation") or {}
    missing = set(models_without_truth(report))
    parts = []
    for i, name in enumerate(report["estimators"]):
        relevant = (evaluation.get(name) or {}).get("relevant", 5)
        rows, width = [], 0
        for target, sources in report["rankings"][name].items():
            scores = report["scores"][name][target]
            ranks = true_ranks(report, name, target) if name in evaluation else {}
            cells = []
            for source, score in zip(sources[:top], scores[:top]):
                markup = f"{esc(source)} <span class=\"score\">{esc(fmt(score))}</span>"
                rank = ranks.get(source)
                if rank is not None:
                    markup += f' <span class="{"hit" if rank <= relevant else "miss"}">true #{esc(rank)}</span>'
                elif evaluation and (source in missing or target in missing):
                    markup += ' <span class="nogt">no ground truth</span>'
                cells.append(Raw(markup))
            width = max(width, len(cells))
            rows.append([target, *cells])
        rows = [r + [""] * (width + 1 - len(r)) for r in rows]
        body = table(["target", *(f"#{k + 1}" for k in range(width))], rows)
        parts.append(f'<details{" open" if i == 0 else ""} id="ranking-{esc(slug(name))}"><summary><b>{esc(name)}</b></summary>{body}</details>')
    note = ('<p class="note">Best sources per target with their affinity score; with ground truth, '
            '<span class="hit">true #r</span> marks a source among the true top-5, <span class="miss">true #r</span> one outside it, '
            '<span class="nogt">no ground truth</span> a model the ground truth does not name.</p>')
    return note + "".join(parts)


def _kv(mapping: Mapping) -> str:
    return table(("key", "value"), ((k, v if not isinstance(v, (dict, list)) else str(v)) for k, v in mapping.items()))


def provenance(report: Mapping) -> str:
    zoo, env, timings = report["zoo"], report["environment"], report["timings"]
    prov = report.get("provenance") or {}
    git = prov.get("git") or {}
    by_id = {m["id"]: m for m in report["models"]}
    models = [(cid, Raw(f"<code>{esc(h)}</code>"), by_id.get(cid, {}).get("task"), by_id.get(cid, {}).get("framework"),
               by_id.get(cid, {}).get("probe_layer"), _g(by_id.get(cid, {}).get("parity_max_abs_err")),
               _g(by_id.get(cid, {}).get("parity_max_rel_err")), by_id.get(cid, {}).get("parity_provider"))
              for cid, h in zoo["cards"].items()]
    gt = report.get("ground_truth") or {}
    commit = (git["commit"] + (" (with uncommitted changes)" if git.get("dirty") else "")) if git.get("commit") else "not run from a git checkout"
    run = {"command": prov.get("command") or "(not run from the command line)", "working directory": prov.get("cwd"),
           "harness": report["harness_version"], "git commit": commit, "created": report["created"],
           "report schema": report["schema_version"], "device": f"{env.get('device')} ({env.get('device_name') or '?'})"}
    inputs = prov.get("inputs") or {}
    parameters = [(k, v if not isinstance(v, (dict, list)) else ", ".join(map(str, v)) if isinstance(v, list) else str(v), NOTES.get(k, ""))
                  for k, v in report["parameters"].items()]
    parts = [
        _kv(run),
        "<h3>Inputs (sha256)</h3>",
        f"<details><summary>{len(inputs)} input files and the probe-set content, hashed</summary>"
        + table(("input", "sha256"), ((k, Raw(f"<code>{esc(v)}</code>")) for k, v in inputs.items())) + "</details>"
        if inputs else '<p class="note">This report predates input hashing.</p>',
        "<h3>Zoo</h3>", _kv({"name": zoo["name"], "version": zoo["version"], "description": zoo.get("description"),
                             "ground truth": gt.get("path"), "ground truth repeat": gt.get("repeat_path")}),
        "<h3>Parameters</h3>", table(("parameter", "value", "meaning"), parameters),
        "<h3>Models (card hashes, parity against onnxruntime)</h3>",
        f"<details><summary>{len(models)} models</summary>"
        + table(("id", "card sha256", "task", "framework", "probe layer", "parity max abs err", "parity max rel err", "provider"), models, (5, 6))
        + "</details>",
        "<h3>Probe set</h3>", _kv(report["probe"]),
        "<h3>Environment</h3>", _kv({k: v for k, v in env.items() if k != "packages"}),
        "<details><summary>package versions</summary>" + _kv(env.get("packages", {})) + "</details>",
        "<h3>Timings (seconds)</h3>", table(("stage", "seconds"), ((k, f"{v:.2f}") for k, v in timings["stages"].items()), (1,)),
    ]
    per_model = timings.get("per_model") or {}
    if per_model:
        stages = list(dict.fromkeys(s for t in per_model.values() for s in t))
        parts.append("<details><summary>per model</summary>"
                     + table(("model", *stages), ((m, *(f"{t.get(s, 0):.2f}" for s in stages)) for m, t in per_model.items()),
                             range(1, len(stages) + 1)) + "</details>")
    return "".join(parts)


def _g(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"


def optional(report: Mapping) -> list[tuple[str, str, str]]:
    """(id, title, html) of the sections a run adds on request: --select-layer and --labels."""
    out = []
    docs = report.get("layer_selection") or ()
    if docs:
        parts = []
        for doc in docs:
            rows = [(r["rank"], r["layer"], r["op"], f"{r['score']:.4f}", f"{r['node']:.4f}", f"{r['edge']:.4f}")
                    for r in sorted(doc["layers"], key=lambda r: r["rank"])]
            parts.append(f"<h3>{esc(doc['source'])} &rarr; {esc(doc['target'])}</h3>"
                         f"<p>Chosen layer: <code>{esc(doc['chosen'])}</code> (DEPARA score V + &lambda;E).</p>"
                         + table(("#", "layer", "op", "score", "V", "E"), rows, numeric=(0, 3, 4, 5)))
            for budget, ev in (doc.get("evaluation") or {}).items():
                if "p_at_1" in ev:
                    parts.append(f"<p>Against measured transfer ({esc(budget)} target images): best <code>{esc(ev['best_layer'])}</code>, "
                                 f"P@1 {ev['p_at_1']:.0f}, Spearman {num(ev['spearman'], 2)}, last-layer P@1 {ev['last_layer_p_at_1']:.0f}, "
                                 f"ceiling {num(ev['ceiling_spearman'], 2)}.</p>")
        out.append(("layer-selection", "Layer selection", "".join(parts)))
    section = report.get("labelled_target")
    if section:
        kind = "regression" if section["regression"] else f"{section['classes']} classes"
        rows = [(name, ", ".join(f"{s} ({section['scores'][name][s]:.3g})" for s in ranking[:5]))
                for name, ranking in section["rankings"].items()]
        out.append(("labelled-target", "Labelled target",
                    f"<p>Target <code>{esc(section['task'])}</code> ({esc(kind)}, {section['n_images']} images): the best "
                    "sources per labelled estimator.</p>" + table(("estimator", "top 5 sources (score)"), rows)))
    return out
