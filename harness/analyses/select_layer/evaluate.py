"""Layer-selection scores against measured per-layer transfer (ground_truth/layers.csv).

Per (source, target, budget): the true quality of a layer is minus its mean test loss over
seeds. Reported: whether the top-scored layer is the best one (P@1), the Spearman between the
score and the true quality over layers, the same for the baseline "always the deepest
candidate" (P@1; its ranking = depth order), and the ceiling, how reproducible the ground truth
itself is: Spearman between the two seeds' layer qualities, and P@1 between seeds (does seed A's
best layer stay the best by seed B; the mean over seed pairs with more seeds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from harness.common.errors import ValidationError
from harness.common.limits import CSV_BYTES
from harness.common.textio import read_csv_rows
from harness.analyses.select_layer.score import LayerScore

COLUMNS = ("source", "target", "budget", "layer", "seed", "test_loss")


def load_layer_truth(path: Path) -> dict[tuple[str, str, int], dict[str, dict[str, float]]]:
    """{(source, target, budget): {layer: {seed: test_loss}}} from a layers.csv."""
    truth: dict = defaultdict(lambda: defaultdict(dict))
    rows = read_csv_rows(path, f"layer ground truth (CSV with {', '.join(COLUMNS)})", CSV_BYTES)
    header = rows[0] if rows else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValidationError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    for line, values in enumerate(rows[1:], start=2):
        if not values:
            continue
        row = dict(zip(header, values))
        if len(values) < len(header):
            raise ValidationError(f"{path}:{line}: {len(values)} fields, expected {len(header)} ({', '.join(header)})")
        try:
            loss = float(row["test_loss"])
            budget = int(row["budget"])
        except ValueError:
            raise ValidationError(f"{path}:{line}: budget must be an integer and test_loss a number") from None
        if not np.isfinite(loss):
            raise ValidationError(f"{path}:{line}: test_loss must be finite")
        truth[(row["source"], row["target"], budget)][row["layer"]][row["seed"]] = loss
    return {k: dict(v) for k, v in truth.items()}


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def seed_agreement(per_layer: dict[str, dict[str, float]], layers: Sequence[str]) -> float | None:
    """P@1 between seeds: the fraction of seed pairs whose best layer (lowest test loss) is the same.

    The ceiling of any layer selector's P@1: when two seeds of the same measurement disagree on
    the best layer, no score can pick "the" best one reliably. Only seeds measured for every
    one of ``layers`` count; ``None`` with fewer than 2 such seeds or 2 layers.
    """
    if len(layers) < 2:
        return None
    seeds = sorted(set.intersection(*(set(per_layer[layer]) for layer in layers)))
    if len(seeds) < 2:
        return None
    best = [min(layers, key=lambda layer: per_layer[layer][seed]) for seed in seeds]
    agree = [float(best[i] == best[j]) for i in range(len(seeds)) for j in range(i + 1, len(seeds))]
    return float(np.mean(agree))


def evaluate_layers(scores: Sequence[LayerScore], per_layer: dict[str, dict[str, float]]) -> dict:
    """One budget's evaluation; layers without ground truth are left out (and listed)."""
    scored = [s for s in scores if s.layer in per_layer]
    missing = [s.layer for s in scores if s.layer not in per_layer]
    if len(scored) < 2:
        return {"layers": len(scored), "missing": missing}
    quality = [-float(np.mean(list(per_layer[s.layer].values()))) for s in scored]
    best = int(np.argmax(quality))
    chosen = int(np.argmax([s.score for s in scored]))
    seeds = sorted({seed for s in scored for seed in per_layer[s.layer]})
    ceiling = None
    if len(seeds) >= 2 and all(seeds[0] in per_layer[s.layer] and seeds[1] in per_layer[s.layer] for s in scored):
        ceiling = _spearman([-per_layer[s.layer][seeds[0]] for s in scored], [-per_layer[s.layer][seeds[1]] for s in scored])
    depth = list(range(len(scored)))  # candidates are in graph order: deeper = later
    return {
        "layers": len(scored), "missing": missing,
        "best_layer": scored[best].layer, "chosen_layer": scored[chosen].layer,
        "p_at_1": float(chosen == best), "spearman": _spearman([s.score for s in scored], quality),
        "node_spearman": _spearman([s.node for s in scored], quality),
        "edge_spearman": _spearman([s.edge for s in scored], quality),
        "last_layer_p_at_1": float(best == len(scored) - 1), "last_layer_spearman": _spearman(depth, quality),
        "ceiling_spearman": ceiling, "ceiling_p_at_1": seed_agreement(per_layer, [s.layer for s in scored]),
        "quality": {s.layer: q for s, q in zip(scored, quality)},
    }
