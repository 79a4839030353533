"""``harness select-layer --benchmark``: DEPARA layer selection over every pair with layer ground truth.

One (source, target) pair says little: a zoo's layers.csv holds a few pairs and two label
budgets each, and a layer choice is right or wrong per (pair, budget). The benchmark scores
each pair once (one probe set, each model imported once), evaluates every (pair, budget) case
with :func:`~harness.analyses.select_layer.evaluate.evaluate_layers`, and summarises the cases
with a percentile bootstrap over cases: DEPARA against the "always the deepest layer" baseline
(paired), next to the ceiling (how often two seeds of the ground truth agree on the best layer).

The aggregation below is pure (case dicts in, numbers out) so it can be tested without models;
:func:`score_pairs` is the only part that imports and probes models.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.common.errors import ValidationError, excerpt
from harness.evaluation.bootstrap import bootstrap_indices, percentile_ci

#: File written into the output folder; other tools read it.
BENCHMARK_FILE = "select-layer-benchmark.json"

#: Below this mean seed-to-seed P@1, the ground truth cannot separate a selector from the baseline.
CEILING_THRESHOLD = 0.8

#: Per-case values: benchmark key -> evaluate_layers key.
CASE_METRICS: dict[str, str] = {
    "p_at_1": "p_at_1",
    "spearman": "spearman",
    "baseline_deepest_p_at_1": "last_layer_p_at_1",
    "baseline_deepest_spearman": "last_layer_spearman",
    "ceiling": "ceiling_p_at_1",
    "ceiling_spearman": "ceiling_spearman",
    "node_spearman": "node_spearman",
    "edge_spearman": "edge_spearman",
}

#: One sentence per key of the benchmark document (written into it as ``definitions``).
DEFINITIONS: dict[str, str] = {
    "cases": "One entry per (source, target, budget) of the layer ground truth; a case counts once it has 2 or more "
             "candidate layers with measured transfer, and the true quality of a layer is minus its mean test loss over seeds.",
    "p_at_1": "Per case 1 if DEPARA's top-scored layer is the best layer by true quality, else 0; mean over cases.",
    "spearman": "Per case the Spearman correlation between DEPARA's layer score and the true quality over layers; mean over cases.",
    "baseline_deepest_p_at_1": "Per case 1 if the deepest candidate layer is the best layer, else 0 (the baseline "
                               "'always transfer from the deepest layer'); mean over cases.",
    "baseline_deepest_spearman": "Per case the Spearman correlation between depth order and the true quality; mean over cases.",
    "ceiling": "Per case the P@1 between seeds of the ground truth: 1 if seed A's best layer is also seed B's best layer "
               "(the mean over seed pairs with more seeds); how reproducible the best layer is, the ceiling for p_at_1.",
    "ceiling_spearman": "Per case the Spearman correlation between two seeds' layer qualities; the ceiling for spearman.",
    "node_spearman": "As spearman, for the node part V of DEPARA's score alone.",
    "edge_spearman": "As spearman, for the edge part E of DEPARA's score alone.",
    "p_at_1_minus_baseline": "Per case p_at_1 minus baseline_deepest_p_at_1, mean and paired bootstrap CI over the same cases.",
    "mean/ci/n": "Every summary is {mean, ci, n}: the mean over the n cases where the value is defined and a 95% "
                 "percentile bootstrap CI over cases (one resampling shared by every summary, seeded by --seed); "
                 "mean and ci are null when n is 0.",
    "verdict": "Whether DEPARA beats the deepest-layer baseline here (the paired difference's CI above 0) and whether "
               f"the ground truth is reproducible enough to judge (ceiling mean >= {CEILING_THRESHOLD}).",
}


def truth_pairs(truth: Mapping[tuple[str, str, int], Any]) -> list[tuple[str, str]]:
    """The (source, target) pairs of a layer ground truth, sorted (a pair is scored once for all its budgets)."""
    return sorted({(source, target) for source, target, _ in truth})


def check_pairs_in_zoo(pairs: Iterable[tuple[str, str]], model_ids: Iterable[str], truth_path: Path, zoo_label: str) -> None:
    """Refuse, before any model is imported, a pair whose ids the zoo lacks (the CSV belongs to another zoo)."""
    ids = set(model_ids)
    for source, target in pairs:
        unknown = [m for m in (source, target) if m not in ids]
        if unknown:
            raise ValidationError(
                f"{truth_path}: pair {excerpt(source)} -> {excerpt(target)} names model id(s) "
                f"{', '.join(excerpt(m) for m in unknown)} that zoo {zoo_label} lacks; pass the zoo the layer truth was "
                "measured on (--zoo) or a --layer-truth CSV for this zoo")


def last_uses(pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Index of the last pair that needs each model: an imported model is kept until then, then dropped."""
    return {model: i for i, pair in enumerate(pairs) for model in pair}


def case_entry(source: str, target: str, budget: int, evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """One (pair, budget) case of the document from its evaluate_layers dict (values None when undefined)."""
    entry: dict[str, Any] = {"source": source, "target": target, "budget": budget, "layers": evaluation.get("layers", 0),
                             "chosen_layer": evaluation.get("chosen_layer"), "best_layer": evaluation.get("best_layer")}
    entry.update({key: evaluation.get(source_key) for key, source_key in CASE_METRICS.items()})
    entry["missing"] = list(evaluation.get("missing", []))
    return entry


def _values(cases: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """A per-case column, NaN where the value is undefined (None)."""
    return np.array([math.nan if c.get(key) is None else float(c[key]) for c in cases], dtype=np.float64)


def summarize(values: Sequence[float], indices: np.ndarray) -> dict[str, Any]:
    """``{mean, ci, n}`` of per-case values (NaN = undefined) with a percentile CI over the resampled cases.

    ``indices`` is the bootstrap draw over all cases (shared by every summary so that they are
    paired); a resample's mean is taken over its defined cases.
    """
    v = np.asarray(values, dtype=np.float64)
    n = int(np.count_nonzero(~np.isnan(v)))
    if n == 0:
        return {"mean": None, "ci": None, "n": 0}
    return {"mean": float(np.nanmean(v)), "ci": percentile_ci(v, indices), "n": n}


def paired_difference(a: Sequence[float], b: Sequence[float], indices: np.ndarray) -> dict[str, Any]:
    """``{mean, ci, n}`` of ``a - b`` over the cases where both are defined, resampling the same cases for both."""
    return summarize(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), indices)


def aggregate(cases: Sequence[Mapping[str, Any]], resamples: int, seed: int) -> dict[str, dict[str, Any]]:
    """Every summary of the document: one per :data:`CASE_METRICS` key plus ``p_at_1_minus_baseline``."""
    indices = bootstrap_indices(len(cases), resamples, seed) if cases else np.zeros((0, 0), dtype=np.int64)
    summary = {key: summarize(_values(cases, key), indices) for key in CASE_METRICS}
    summary["p_at_1_minus_baseline"] = paired_difference(_values(cases, "p_at_1"), _values(cases, "baseline_deepest_p_at_1"),
                                                         indices)
    return summary


def _interval(ci: Sequence[float] | None) -> str:
    return "no CI" if ci is None else f"95% CI [{ci[0]:+.2f}, {ci[1]:+.2f}]"


def verdict(summary: Mapping[str, Mapping[str, Any]]) -> str:
    """One sentence: does DEPARA beat the deepest-layer baseline here, and can the ground truth tell?"""
    diff, ceiling = summary["p_at_1_minus_baseline"], summary["ceiling"]
    if diff["n"] == 0:
        return "No (pair, budget) case has 2 or more candidate layers with measured transfer, so nothing can be judged."
    ci = diff["ci"]
    numbers = (f"P@1 {summary['p_at_1']['mean']:.2f} vs {summary['baseline_deepest_p_at_1']['mean']:.2f}, paired "
               f"difference {diff['mean']:+.2f}, {_interval(ci)}, over {diff['n']} cases")
    if ci is not None and ci[0] > 0:
        outcome = f"DEPARA's layer selection beats the deepest-layer baseline here ({numbers})"
    elif ci is not None and ci[1] < 0:
        outcome = f"DEPARA's layer selection does worse than the deepest-layer baseline here ({numbers})"
    else:
        outcome = f"DEPARA's layer selection is not shown to beat the deepest-layer baseline here ({numbers})"
    if ceiling["n"] == 0:
        judge = "the ground truth's reproducibility is unknown (fewer than 2 seeds per case)"
    elif ceiling["mean"] < CEILING_THRESHOLD:
        judge = (f"the ground truth cannot separate them: its seeds agree on the best layer in only "
                 f"{ceiling['mean']:.0%} of cases (ceiling {ceiling['mean']:.2f} < {CEILING_THRESHOLD})")
    else:
        judge = (f"the ground truth is reproducible enough to judge (its seeds agree on the best layer in "
                 f"{ceiling['mean']:.0%} of cases)")
    return f"{outcome}, and {judge}."


def benchmark_cases(pair_bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every (pair, budget) case from the pairs' select-layer bodies, in pair then budget order."""
    return [case_entry(body["source"], body["target"], int(budget), evaluation)
            for body in pair_bodies
            for budget, evaluation in sorted(body["evaluation"].items(), key=lambda item: int(item[0]))]


def benchmark_document(pair_bodies: Sequence[Mapping[str, Any]], *, resamples: int, seed: int) -> dict[str, Any]:
    """The summaries, cases, pairs, definitions and verdict (the caller adds zoo, probe, truth and parameters)."""
    cases = benchmark_cases(pair_bodies)
    summary = aggregate(cases, resamples, seed)
    pairs = [{"source": b["source"], "target": b["target"], "reference_layer": b["reference_layer"], "chosen": b["chosen"],
              "budgets": sorted(int(k) for k in b["evaluation"]),
              "layers": [{k: row[k] for k in ("layer", "op", "shape", "score", "node", "edge", "rank")} for row in b["layers"]]}
             for b in pair_bodies]
    return {**summary, "verdict": verdict(summary), "definitions": dict(DEFINITIONS), "cases": cases, "pairs": pairs}


def score_pairs(pairs: Sequence[tuple[str, str]], import_model: Callable[[str], Any],
                score_pair: Callable[[Any, Any, Any], dict[str, Any]], progress: Any) -> list[dict[str, Any]]:
    """Each pair's select-layer body, importing every model once and dropping it after its last pair.

    ``import_model(id)`` imports a model; ``score_pair(source, target, progress)`` scores one pair
    of imported models (:func:`~harness.analyses.select_layer.command.pair_body`); ``progress``
    is a rich Progress shown across pairs.
    """
    last = last_uses(pairs)
    models: dict[str, Any] = {}
    task = progress.add_task(f"select-layer benchmark: {len(pairs)} pairs", total=len(pairs))
    bodies = []
    for i, (source, target) in enumerate(pairs):
        for model_id in (source, target):
            if model_id not in models:
                progress.update(task, description=f"importing {model_id}")
                models[model_id] = import_model(model_id)
        progress.update(task, description=f"pair {i + 1}/{len(pairs)}: {source} -> {target}")
        bodies.append(score_pair(models[source], models[target], progress))
        for model_id in [m for m in models if last[m] <= i]:
            del models[model_id]
        progress.advance(task)
    progress.update(task, description=f"select-layer benchmark: {len(pairs)} pairs")
    return bodies
