"""The field's metrics, static rankers, paired differences and stability against slow explicit versions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from harness.evaluation.correlations import best_in_top, pearson, relative_top1, weighted_tau
from harness.evaluation.ground_truth import GroundTruth
from harness.evaluation.metrics import evaluate
from harness.evaluation.paired import paired_difference
from harness.evaluation.stability import stability
from harness.evaluation.static import PRIOR, SIZE, prior_ranker, static_rankers
from harness.evaluation.suite import evaluate_suite


def _weighted_tau_slow(x: np.ndarray, y: np.ndarray) -> float:
    """Vigna's hyperbolic weighted tau without ties: pairs weighted 1/(r_i+1) + 1/(r_j+1) by the
    rank r in decreasing order of one variable, averaged over ranking by x and by y."""
    def one(order_by: np.ndarray) -> float:
        rank = np.empty(len(order_by), dtype=int)
        rank[np.argsort(-order_by)] = np.arange(len(order_by))
        num = den = 0.0
        for i, j in itertools.combinations(range(len(x)), 2):
            w = 1 / (rank[i] + 1) + 1 / (rank[j] + 1)
            num += w * np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
            den += w
        return num / den
    return (one(x) + one(y)) / 2


def test_weighted_tau_is_the_hyperbolic_weighted_kendall_tau():
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.normal(size=12), rng.normal(size=12)
        assert weighted_tau(x, y) == pytest.approx(_weighted_tau_slow(x, y), abs=1e-12)
    # swaps at the top cost more than swaps at the bottom
    true = np.arange(10, 0, -1.0)
    top_swap, bottom_swap = true.copy(), true.copy()
    top_swap[[0, 1]] = top_swap[[1, 0]]
    bottom_swap[[8, 9]] = bottom_swap[[9, 8]]
    assert weighted_tau(top_swap, true) < weighted_tau(bottom_swap, true) < 1


def test_undefined_metrics_are_nan_and_nan_pairs_are_dropped():
    assert math.isnan(weighted_tau([1, 1, 1], [1, 2, 3]))
    assert math.isnan(pearson([1.0], [2.0]))
    assert pearson([1, 2, np.nan, 3], [2, 4, 100, 6]) == pytest.approx(1.0)


def test_rel_at_1_ratio_on_non_negative_truth_and_gap_closed_otherwise():
    true = np.array([0.9, 0.6, 0.3])
    assert relative_top1([0.1, 0.5, 0.2], true) == pytest.approx(0.6 / 0.9)
    assert relative_top1([1.0, 0.5, 0.2], true) == 1.0
    signed = np.array([0.5, -0.5, 0.0])
    assert relative_top1([0, 0, 1], signed) == pytest.approx(0.5)  # (0 - -0.5) / (0.5 - -0.5)
    assert relative_top1([0, 1, 0], signed) == 0.0


def test_best_in_top_n():
    true = np.array([0.1, 0.9, 0.5, 0.2])
    est = np.array([0.9, 0.5, 0.8, 0.1])  # ranking: 0, 2, 1, 3 -> the best (1) is third
    assert [best_in_top(est, true, n) for n in (1, 2, 3)] == [0.0, 0.0, 1.0]


def _truth(matrix: np.ndarray, ids: list[str]) -> GroundTruth:
    return GroundTruth(tuple(ids), tuple(ids), np.asarray(matrix, dtype=np.float64))


def _random_truth(n: int = 8, seed: int = 1) -> tuple[list[str], GroundTruth]:
    ids = [f"m{i}" for i in range(n)]
    rng = np.random.default_rng(seed)
    m = rng.uniform(0.1, 1.0, size=(n, n))
    np.fill_diagonal(m, np.nan)
    return ids, _truth(m, ids)


def test_per_target_field_metrics_match_direct_computation():
    ids, gt = _random_truth()
    est = np.random.default_rng(2).normal(size=(8, 8))
    result = evaluate(est, ids, gt, n_boot=20)
    for j, target in enumerate(ids):
        others = [i for i in range(8) if i != j]
        row = result["per_target"][target]
        assert row["weighted_tau"] == pytest.approx(_weighted_tau_slow(est[others, j], gt.matrix[others, j]), abs=1e-12)
        assert row["rel_at_1"] == pytest.approx(gt.matrix[others, j][np.argmax(est[others, j])] / np.nanmax(gt.matrix[:, j]))
    assert result["weighted_tau"] == pytest.approx(np.mean([r["weighted_tau"] for r in result["per_target"].values()]))
    assert result["weighted_tau_ci"][0] <= result["weighted_tau"] <= result["weighted_tau_ci"][1]


def test_per_source_correlation_reads_rows_not_columns():
    ids, gt = _random_truth()
    perfect = evaluate(np.nan_to_num(gt.matrix), ids, gt, n_boot=20)
    assert perfect["per_source_spearman"] == pytest.approx(1.0)
    assert perfect["n_sources"] == 8
    scaled_columns = np.nan_to_num(gt.matrix) * np.arange(1, 9)[None, :]  # every column kept in order
    result = evaluate(scaled_columns, ids, gt, n_boot=20)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["per_source_spearman"] < 0.99  # rows reordered by the column scales


def test_prior_ranker_leaves_the_target_and_the_source_out():
    ids = ["a", "b", "c", "d"]
    m = np.array([[np.nan, 1, 2, 3], [4, np.nan, 5, 6], [7, 8, np.nan, 9], [1, 1, 1, np.nan]], dtype=float)
    prior = prior_ranker(ids, _truth(m, ids))
    assert prior[0, 1] == pytest.approx((2 + 3) / 2)  # source a, target b: mean of a->c, a->d
    assert prior[1, 3] == pytest.approx((4 + 5) / 2)  # source b, target d: mean of b->a, b->c
    assert np.isnan(prior).sum() == 0


def test_size_ranker_only_when_every_size_is_known_and_they_differ():
    ids, gt = _random_truth(4)
    assert set(static_rankers(ids, gt, {m: 1.0 for m in ids})) == {PRIOR}
    assert set(static_rankers(ids, gt, {"m0": 1.0})) == {PRIOR}
    assert set(static_rankers(ids, gt, {m: float(i) for i, m in enumerate(ids)})) == {SIZE, PRIOR}


def test_paired_difference_to_itself_is_zero_and_truth_beats_the_prior():
    ids, gt = _random_truth(10)
    noise = np.random.default_rng(5).normal(size=(10, 10))
    a = evaluate(noise, ids, gt, n_boot=200)
    same = paired_difference(a, a, "a", n_boot=200, seed=0)
    assert same["spearman_diff"] == 0.0 and same["beats"] is False
    evaluation, baselines = evaluate_suite({"truth": np.nan_to_num(gt.matrix), "noise": noise}, ids, gt, n_boot=200)
    assert evaluation["truth"]["vs_static"]["baseline"] == PRIOR and evaluation["truth"]["vs_static"]["beats"] is True
    assert evaluation["noise"]["vs_static"]["beats"] is False
    assert baselines[PRIOR]["per_source_spearman"] is None  # meaningless for a target-independent ranking


def test_stability_counts_wins_and_ties_share_them():
    ids, gt = _random_truth(10)
    truth = np.nan_to_num(gt.matrix)
    noise = np.random.default_rng(7).normal(size=(10, 10))
    result = stability({"truth": truth, "noise": noise}, ids, gt, setups=30, seed=1)
    assert result["winner"] == "truth" and result["estimators"]["truth"]["win_rate"] == 1.0 and result["stable"]
    assert result["estimators"]["truth"]["spearman"]["p05"] == pytest.approx(1.0)
    tied = stability({"x": truth, "y": truth.copy()}, ids, gt, setups=10, seed=1)
    assert tied["estimators"]["x"]["win_rate"] == pytest.approx(0.5) and not tied["stable"]


def test_stability_resamples_images_through_the_callback():
    ids, gt = _random_truth(8)
    seen = []

    def reestimate(rows):
        seen.append(rows)
        return {"truth": np.nan_to_num(gt.matrix)}

    result = stability({"truth": np.nan_to_num(gt.matrix)}, ids, gt, setups=4, seed=0, n_images=20, reestimate=reestimate)
    assert result["images_resampled"] and len(seen) == 4 and all(len(r) == 15 for r in seen)
