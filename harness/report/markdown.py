"""report.md, rendered from the report.json document alone (so it can be re-rendered later)."""

from __future__ import annotations

from harness.common.format import ci_suffix as _ci
from harness.common.format import num as _f
from harness.report.field_table import HEADER, field_rows, static_note
from harness.report.lookup import models_without_truth, true_ranks
from harness.evaluation.stability import stability_line
from harness.report.verdict import verdict_line


def render_markdown(report: dict, top: int = 5) -> str:
    zoo, probe = report["zoo"], report["probe"]
    lines = [
        f"# Transferability report: {zoo['name']} {zoo['version']}",
        "",
        f"- probe set: **{probe['name']}** ({probe['n_images']} images at {probe['size']} px, "
        f"{probe['skipped_unreadable']} unreadable skipped, sha256 `{probe['sha256'][:16]}…`)",
        f"- models: {len(report['models'])}; estimators: {', '.join(report['estimators'])}",
        f"- harness {report['harness_version']}, created {report['created']}",
        "",
        "Affinity convention: `A[source, target]`, higher = the source's knowledge transfers better to the target.",
        "",
        "## Models",
        "",
        "| id | task | framework | input | probe layer | probe shape | parity max abs err |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        shape = "x".join(map(str, m["probe_shape"] or [])) + (" (pooled)" if m["features_pooled"] else "")
        lines.append(f"| {m['id']} | {m['task']} | {m['framework']} | {m['input_size'][0]}x{m['input_size'][1]} {m['input_layout']} "
                     f"| `{m['probe_layer']}` | {shape} | {m['parity_max_abs_err']:.2g} |")
    evaluation = report.get("evaluation") or {}
    missing = set(models_without_truth(report)) if evaluation else set()
    if evaluation:
        lines += _evaluation_section(report, evaluation)
    lines += _estimator_sections(report, missing, top)
    lines += _layer_selection_section(report)
    lines += _labelled_target_section(report)
    stages = report["timings"]["stages"]
    lines += ["", "## Timings", "", "| stage | seconds |", "|---|---|"] + [f"| {k} | {v:.1f} |" for k, v in stages.items()]
    env = report["environment"]
    prov = report.get("provenance") or {}
    if prov:
        git = prov.get("git") or {}
        commit = f"`{git['commit'][:12]}`" + (" (uncommitted changes)" if git.get("dirty") else "") if git.get("commit") else "not a git checkout"
        lines += ["", "## Provenance", "", f"- command: `{prov.get('command') or '(not run from the command line)'}` in `{prov.get('cwd')}`",
                  f"- harness {prov.get('harness_version')}, git commit {commit}",
                  f"- inputs: {len(prov.get('inputs') or {})} hashed (sha256 of the zoo file, cards, ONNX files, ground truth, "
                  "probe-set content; listed in report.json `provenance.inputs`)"]
    lines += ["", "## Environment", "", f"python {env['python']} on {env['platform']}, device {env['device']}; "
              + ", ".join(f"{k} {v}" for k, v in env["packages"].items())]
    return "\n".join(lines) + "\n"


def _estimator_sections(report: dict, missing: set[str], top: int) -> list[str]:
    """Per estimator: its top sources per target (with true ranks) and its task tree."""
    lines: list[str] = []
    for name in report["estimators"]:
        lines += ["", f"## Estimator `{name}`", "", f"Top {top} sources per target (score; true rank when ground truth exists):", ""]
        lines += ["| target | " + " | ".join(f"#{i + 1}" for i in range(top)) + " |", "|---|" + "---|" * top]
        for target, sources in report["rankings"][name].items():
            scores = report["scores"][name][target]
            ranks = true_ranks(report, name, target)
            cells = []
            for source, score in zip(sources[:top], scores[:top]):
                rank = ranks.get(source)
                label = f", true #{rank}" if rank is not None else (", no ground truth" if source in missing else "")
                cells.append(f"{source} ({_f(score)}{label})")
            cells += [""] * (top - len(cells))
            lines.append(f"| {target} | " + " | ".join(cells) + " |")
        lines += ["", "Task similarity tree (single linkage, optimal leaf order):", "", "```", report["tree_text"][name], "```",
                  "", f"Newick: `{report['tree'][name]}`"]
    return lines


def render_evaluation_markdown(report: dict, top: int = 5) -> str:
    """report.md of ``harness evaluate``: estimates computed elsewhere against a ground truth."""
    evaluation = report["evaluation"]
    names = ", ".join(f"`{n}` ({e.get('origin', '')})" for n, e in report["estimators"].items())
    lines = [f"# Evaluation against {report['ground_truth']['path']}", "",
             f"- estimates: {names}", f"- harness {report['harness_version']}, created {report['created']}", "",
             "Affinity convention: `A[source, target]`, higher = the source's knowledge transfers better to the target."]
    lines += _evaluation_section(report, evaluation)
    lines += _estimator_sections(report, set(models_without_truth(report)), top)
    return "\n".join(lines) + "\n"


def _evaluation_section(report: dict, evaluation: dict) -> list[str]:
    first = next(iter(evaluation.values()))
    lines = ["", "## Evaluation against ground truth", "", f"**{verdict_line(evaluation)}**", "",
             f"{first['n_targets']} targets, {first['n_models']} models; relevant = true top {first['relevant']}; "
             f"95% bootstrap CIs over targets ({first['n_boot']} resamples).", ""]
    missing = models_without_truth(report)
    if missing:
        lines[-1:-1] = ["", f"**Not evaluated** (not in the ground truth): {', '.join(missing)}."]
    ks = [k for k in (1, 3, 5, 10) if k <= len(first["random_p_at_k"])]
    header = "| estimator | " + " | ".join(f"P@{k}" for k in ks) + " | " + " | ".join(f"R@{k}" for k in ks) + " | mean Spearman | mean Kendall |"
    lines += [header, "|---" * (3 + 2 * len(ks)) + "|"]

    def row(name, p, r, s, kd):
        return f"| {name} | " + " | ".join(_f(p[k - 1]) for k in ks) + " | " + " | ".join(_f(r[k - 1]) for k in ks) + f" | {s} | {kd} |"

    lines.append(row("random", first["random_p_at_k"], first["random_r_at_k"], "0", "0"))
    lines.append(row("oracle", first["oracle_p_at_k"], first["oracle_r_at_k"], "1", "1"))
    ceiling = (report.get("ground_truth") or {}).get("ceiling")
    if ceiling:
        lines.append(row("ceiling (repeat measurement)", ceiling["p_at_k"], ceiling["r_at_k"],
                         _f(ceiling["spearman"]) + _ci(ceiling.get("spearman_ci")), _f(ceiling["kendall"])))
    for name, e in evaluation.items():
        lines.append(row(f"`{name}`", e["p_at_k"], e["r_at_k"], _f(e["spearman"]) + _ci(e.get("spearman_ci")),
                         _f(e["kendall"]) + _ci(e.get("kendall_ci"))))
    for name, e in (report.get("static_baselines") or {}).items():
        lines.append(row(f"`{name}` (static ranker)", e["p_at_k"], e["r_at_k"], _f(e["spearman"]) + _ci(e.get("spearman_ci")),
                         _f(e["kendall"]) + _ci(e.get("kendall_ci"))))
    if report.get("stability"):
        lines += ["", f"**Stability.** {stability_line(report['stability'])}"]
    lines += ["", "### The field's metrics", "", static_note(report), "",
              "| " + " | ".join(HEADER) + " |", "|---" * len(HEADER) + "|"]
    lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else c for i, c in enumerate(r)) + " |" for r in field_rows(report)]
    return lines


def _layer_selection_section(report: dict) -> list[str]:
    """`harness run --select-layer SRC:TGT`: each pair's layers by DEPARA score (and against measured transfer)."""
    lines: list[str] = []
    for doc in report.get("layer_selection") or ():
        lines += ["", f"## Layer selection `{doc['source']}` -> `{doc['target']}`", "",
                  f"Chosen layer: `{doc['chosen']}`.", "", "| # | layer | score | V | E |", "|---|---|---|---|---|"]
        for row in sorted(doc["layers"], key=lambda r: r["rank"]):
            lines.append(f"| {row['rank']} | `{row['layer']}` | {row['score']:.4f} | {row['node']:.4f} | {row['edge']:.4f} |")
        for budget, ev in (doc.get("evaluation") or {}).items():
            if "p_at_1" in ev:
                lines += ["", f"Against measured transfer ({budget} target images): best `{ev['best_layer']}`, P@1 {_f(ev['p_at_1'])}, "
                          f"Spearman {_f(ev['spearman'])}; last layer P@1 {_f(ev['last_layer_p_at_1'])}; ceiling {_f(ev['ceiling_spearman'])}"]
    return lines


def _labelled_target_section(report: dict, top: int = 5) -> list[str]:
    """`harness run --labels`: the best sources for the labelled target, per labelled estimator."""
    section = report.get("labelled_target")
    if not section:
        return []
    kind = "regression" if section["regression"] else f"{section['classes']} classes"
    lines = ["", f"## Labelled target `{section['task']}` ({kind}, {section['n_images']} images)", "",
             "| estimator | " + " | ".join(f"#{i + 1}" for i in range(top)) + " |", "|---|" + "---|" * top]
    for name, ranking in section["rankings"].items():
        cells = [f"{s} ({section['scores'][name][s]:.3g})" for s in ranking[:top]]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines
