"""The evaluation's own Spearman, Kendall tau-b and Pearson equal scipy's (its slow reference)."""

import numpy as np
import pytest
from scipy.stats import kendalltau, pearsonr, spearmanr

from harness.evaluation import correlations
from harness.evaluation.correlations import pearson, rank_correlations


@pytest.mark.parametrize("ties", [False, True])
def test_rank_correlations_and_pearson_equal_scipy(ties):
    rng = np.random.default_rng(1 if ties else 0)
    worst = 0.0
    for _ in range(500):
        n = int(rng.integers(2, 60))
        x, y = rng.normal(size=n), rng.normal(size=n)
        if ties:
            x, y = np.round(x), np.round(y, 1)
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        rho, tau = rank_correlations(x, y)
        worst = max(worst, abs(rho - spearmanr(x, y)[0]), abs(tau - kendalltau(x, y)[0]), abs(pearson(x, y) - pearsonr(x, y)[0]))
    assert worst < 1e-12


def test_large_inputs_take_scipys_kendall(monkeypatch):
    monkeypatch.setattr(correlations, "PAIRWISE_MAX", 10)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=40), rng.normal(size=40)
    assert rank_correlations(x, y)[1] == pytest.approx(kendalltau(x, y)[0], abs=1e-14)


def test_undefined_cases_are_nan():
    assert np.isnan(rank_correlations([1, 1, 1], [1, 2, 3])[0])
    assert np.isnan(pearson([1.0], [2.0]))
