"""The field's metrics table, one row per estimator and per static ranker, for every renderer.

report.md, report.html, the terminal summary and ``harness evaluate`` show the same cells,
built here from the report document: weighted Kendall tau, Pearson, Rel@1, best-in-top-3,
per-source Spearman (each with its 95% CI), the paired Spearman difference to the best
static ranker, and the estimator's cost.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.common.format import MISSING, ci_suffix, num

#: (column header, evaluation key); each key has a ``<key>_ci`` beside it.
METRIC_COLUMNS = (
    ("weighted τ", "weighted_tau"),
    ("Pearson", "pearson"),
    ("Rel@1", "rel_at_1"),
    ("best in top-3", "best_in_top_3"),
    ("per-source Spearman", "per_source_spearman"),
)
HEADER = ("estimator", *(h for h, _ in METRIC_COLUMNS), "Δ Spearman vs static [95% CI]", "seconds", "peak MB")


def _with_ci(entry: Mapping, key: str) -> str:
    return num(entry.get(key)) + ci_suffix(entry.get(f"{key}_ci"))


def _versus_static(entry: Mapping) -> str:
    vs = entry.get("vs_static")
    if not vs:
        return MISSING
    text = num(vs.get("spearman_diff"), signed=True) + ci_suffix(vs.get("spearman_diff_ci"))
    return text + ("" if vs.get("beats") else " (not shown to beat)")


def field_rows(report: Mapping) -> list[tuple[str, ...]]:
    """Rows of :data:`HEADER`: estimators (in the evaluation's order), then the static rankers."""
    costs = report.get("cost") or {}
    rows = []
    for name, entry in (report.get("evaluation") or {}).items():
        cost = costs.get(name) or {}
        rows.append((name, *(_with_ci(entry, key) for _, key in METRIC_COLUMNS), _versus_static(entry),
                     num(cost.get("seconds"), 2), num(cost.get("peak_mb"), 1)))
    for name, entry in (report.get("static_baselines") or {}).items():
        rows.append((f"{name} (static ranker)", *(_with_ci(entry, key) for _, key in METRIC_COLUMNS), MISSING, MISSING, MISSING))
    return rows


def static_note(report: Mapping) -> str:
    """One sentence on which static ranker the differences are taken against."""
    baselines = report.get("static_baselines") or {}
    if not baselines:
        return "No static ranker could be built for this ground truth."
    best = next((e["vs_static"]["baseline"] for e in (report.get("evaluation") or {}).values() if e.get("vs_static")), None)
    listed = "; ".join(f"{name}: {entry.get('description', '')}" for name, entry in baselines.items())
    return (f"Static rankers ignore the target ({listed}). Differences are paired over targets against the best of them"
            f"{f' ({best})' if best else ''}.")
