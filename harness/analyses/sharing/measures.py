"""How much two heads share a layer's units, with bootstrap confidence intervals.

- ``shared_fraction``: units that matter to both heads / all units. A unit *matters* to a
  head when its contribution is at least ``threshold`` (default 0.25) times the head's
  largest contribution in that layer: a per-head relative threshold, so that heads whose
  evidence lives on different scales (bits of odds vs bits of likelihood) are comparable.
- ``jaccard``: units that matter to both / units that matter to at least one.
- ``spearman`` and ``pearson``: correlation of the two heads' contribution vectors.

Confidence intervals resample both sources of uncertainty at once: the units of the layer
(with replacement) and, inside every unit's mixture, its S parameter samples (with
replacement, weights renormalised), recomputing contributions and measures each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from harness.analyses.sharing.evidence import contributions, weighted_evidence
from harness.analyses.sharing.heads import Head
from harness.analyses.sharing.marginalise import Marginals

DEFAULT_THRESHOLD = 0.25
MEASURES = ("shared_fraction", "jaccard", "spearman", "pearson")


def matters(c: np.ndarray, threshold: float) -> np.ndarray:
    top = c.max()
    return c >= threshold * top if top > 0 else np.zeros_like(c, dtype=bool)


def _corr(fn, a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(fn(a, b)[0])


def sharing_measures(ca: np.ndarray, cb: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    """The measures for two contribution vectors over the same units."""
    ma, mb = matters(ca, threshold), matters(cb, threshold)
    both, either = int((ma & mb).sum()), int((ma | mb).sum())
    return {
        "shared_fraction": both / len(ca),
        "jaccard": both / either if either else float("nan"),
        "spearman": _corr(stats.spearmanr, ca, cb),
        "pearson": _corr(stats.pearsonr, ca, cb),
    }


@dataclass(frozen=True)
class HeadContributions:
    contribution: np.ndarray  # (U,)
    evidence_mean: np.ndarray  # (U,) signed mean WE


def head_contributions(heads: Sequence[Head], marg: Marginals, keep: torch.Tensor,
                       sample_index: torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """Contribution of every unit to every head (optionally on a resample of the S samples)."""
    lw = marg.log_weights
    out = {}
    for head in heads:
        ll = marg.loglik[head.name]
        if sample_index is not None:
            ll, lw_s = ll[:, sample_index], lw[:, sample_index]
            lw_s = lw_s - torch.logsumexp(lw_s, dim=1, keepdim=True)
        else:
            lw_s = lw
        we = weighted_evidence(head, marg.loglik0[head.name], ll, lw_s)
        out[head.name] = contributions(we, keep).numpy()
    return out


def bootstrap(heads: Sequence[Head], marg: Marginals, keep: torch.Tensor, pair: tuple[str, str], n_boot: int,
              seed: int, threshold: float = DEFAULT_THRESHOLD) -> dict[str, np.ndarray]:
    """``n_boot`` draws of every measure, resampling units and parameter samples."""
    rng = np.random.default_rng(seed)
    n_units, n_samples = marg.log_weights.shape
    draws = {m: np.empty(n_boot) for m in MEASURES}
    for b in range(n_boot):
        idx = torch.from_numpy(rng.integers(0, n_samples, n_samples))
        contrib = head_contributions(heads, marg, keep, idx)
        units = rng.integers(0, n_units, n_units)
        values = sharing_measures(contrib[pair[0]][units], contrib[pair[1]][units], threshold)
        for m in MEASURES:
            draws[m][b] = values[m]
    return draws


def interval(draws: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile interval of the finite draws ([nan, nan] when there are none)."""
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return [float("nan"), float("nan")]
    alpha = (1 - level) / 2
    return [float(np.quantile(finite, alpha)), float(np.quantile(finite, 1 - alpha))]
