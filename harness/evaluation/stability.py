"""Is the conclusion stable? Estimators re-scored over resampled experimental setups.

Which estimator "wins" can flip with the setup (the 715k-setup study of Agostinelli et al.,
ECCV 2022). One setup here = a random subset of the models (they are the candidate sources
and the targets), a random subset of the targets among them, and, when the caller can
re-estimate, a random subset of the probe images. For each setup every estimator's mean
per-target Spearman and weighted tau are recomputed through the same
:func:`harness.evaluation.metrics.evaluate`; the report gives each estimator's score
distribution and how often it ranks first. The verdict calls the winner stable when it wins
at least :data:`STABLE_WIN_RATE` of the setups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from harness.common.errors import HarnessError
from harness.evaluation.ground_truth import GroundTruth
from harness.evaluation.metrics import evaluate

#: Fraction of the models, of the targets and of the probe images kept in one setup.
KEEP_FRACTION = 0.75
#: A winner that ranks first in at least this fraction of the setups is called stable.
STABLE_WIN_RATE = 0.8
#: Re-estimation for a subset of probe image rows (None: images are not resampled).
Reestimate = Callable[[np.ndarray], Mapping[str, np.ndarray]]


def _targets_only(gt: GroundTruth, targets: Sequence[str]) -> GroundTruth:
    """The ground truth with only ``targets`` as targets (sources unchanged)."""
    keep = [t for t in gt.targets if t in set(targets)]
    return GroundTruth(gt.sources, tuple(keep), gt.submatrix(gt.sources, keep), gt.origin)


def _summary(values: np.ndarray) -> dict[str, float | None]:
    v = values[np.isfinite(values)]
    if not v.size:
        return {"mean": None, "p05": None, "median": None, "p95": None}
    p05, median, p95 = np.quantile(v, [0.05, 0.5, 0.95])
    return {"mean": float(v.mean()), "p05": float(p05), "median": float(median), "p95": float(p95)}


def stability(affinities: Mapping[str, np.ndarray], model_ids: Sequence[str], gt: GroundTruth, *, setups: int, seed: int = 0,
              n_images: int | None = None, reestimate: Reestimate | None = None) -> dict[str, Any]:
    """Score distributions and win rates of every estimator over ``setups`` resampled setups."""
    if setups < 1:
        raise HarnessError(f"stability: need at least 1 setup, got {setups}")
    ids = list(model_ids)
    known = [m for m in ids if m in set(gt.sources) | set(gt.targets)]
    if len(known) < 4:
        raise HarnessError(f"stability: {len(known)} models in the ground truth; resampling setups needs at least 4")
    rng = np.random.default_rng(seed)
    names = list(affinities)
    scores = {key: np.full((setups, len(names)), np.nan) for key in ("spearman", "weighted_tau")}
    wins = np.zeros(len(names))
    resample_images = reestimate is not None and n_images is not None and n_images >= 4
    for k in range(setups):
        models = sorted(rng.choice(len(known), size=max(3, round(KEEP_FRACTION * len(known))), replace=False))
        subset = [known[i] for i in models]
        candidates = [m for m in subset if m in gt.targets]
        targets = list(rng.choice(candidates, size=max(1, round(KEEP_FRACTION * len(candidates))), replace=False)) if candidates else []
        truth = _targets_only(gt, targets)
        matrices = affinities
        if resample_images:
            rows = np.sort(rng.choice(n_images, size=max(2, round(KEEP_FRACTION * n_images)), replace=False))
            matrices = reestimate(rows)
        index = [ids.index(m) for m in subset]
        for j, name in enumerate(names):
            try:
                result = evaluate(np.asarray(matrices[name])[np.ix_(index, index)], subset, truth, n_boot=0, seed=seed)
            except HarnessError:  # no target with a measured source in this draw
                continue
            for key in scores:
                scores[key][k, j] = np.nan if result[key] is None else result[key]
        row = scores["spearman"][k]
        if np.isfinite(row).any():
            first = np.flatnonzero(np.isclose(row, np.nanmax(row), rtol=0, atol=1e-12))
            wins[first] += 1.0 / len(first)  # estimators tied for first share the win
    rates = wins / setups
    per_estimator = {name: {"spearman": _summary(scores["spearman"][:, j]), "weighted_tau": _summary(scores["weighted_tau"][:, j]),
                            "win_rate": float(rates[j])} for j, name in enumerate(names)}
    winner = names[int(np.argmax(rates))] if names else None
    return {
        "setups": setups, "seed": seed, "keep_fraction": KEEP_FRACTION, "images_resampled": resample_images,
        "estimators": per_estimator, "winner": winner, "winner_win_rate": float(rates.max()) if names else None,
        "stable": bool(names and rates.max() >= STABLE_WIN_RATE), "stable_win_rate": STABLE_WIN_RATE,
    }


def stability_line(result: Mapping[str, Any]) -> str:
    """One sentence for the terminal and report.md."""
    what = "models, targets and probe images" if result["images_resampled"] else "models and targets"
    rate = result["winner_win_rate"] or 0.0
    others = sorted(((v["win_rate"], n) for n, v in result["estimators"].items() if n != result["winner"] and v["win_rate"] > 0), reverse=True)
    runners = "; also first: " + ", ".join(f"{n} {r:.0%}" for r, n in others[:3]) if others else ""
    verdict = "stable" if result["stable"] else f"NOT stable (below {result['stable_win_rate']:.0%})"
    return (f"Over {result['setups']} resampled setups ({what}, {result['keep_fraction']:.0%} kept each): "
            f"{result['winner']} ranks first in {rate:.0%} — {verdict}{runners}.")
