"""Evaluations kept across runs by content (harness.runtime.cache.derived, kind "evaluations")."""

from __future__ import annotations

import json

import numpy as np

from harness.evaluation import TASKONOMY_ALIASES, TASKONOMY_ORDER, load_ground_truth
from harness.evaluation.suite import evaluate_suite
from harness.runtime.cache.derived import derived_results_in
from harness.runtime.cache.store import ArtifactCache
from tests.evaluation.test_evaluation import TASKONOMY

ORDER = list(TASKONOMY_ORDER)


def _truth():
    return load_ground_truth(TASKONOMY / "affinity_16k_first_order.csv", TASKONOMY_ALIASES).restrict(ORDER)


def _suite(gt, affinity, ids):
    evaluation, baselines = evaluate_suite({"est": affinity}, ids, gt, n_boot=200, seed=0)
    return json.dumps({"evaluation": evaluation, "baselines": baselines}, sort_keys=True)


def _problem(n_models: int, n_rows: int, seed: int):
    """The ground truth, the first ``n_models`` of its tasks and a random (n_rows x n_rows) estimate."""
    return _truth(), ORDER[:n_models], np.random.default_rng(seed).normal(size=(n_rows, n_rows))


def test_a_kept_evaluation_reads_back_exactly_what_a_fresh_one_computes(tmp_path):
    gt, ids, affinity = _problem(12, 12, seed=0)
    fresh = _suite(gt, affinity, ids)
    with derived_results_in(tmp_path):
        stored = _suite(gt, affinity, ids)
        n_files = len(ArtifactCache(tmp_path).derived_files())
        again = _suite(gt, affinity, ids)
    assert n_files >= 2 and fresh == stored == again


def test_a_model_outside_the_ground_truth_leaves_the_kept_evaluation_valid(tmp_path):
    gt, ids, affinity = _problem(10, 11, seed=1)
    with derived_results_in(tmp_path):
        before = _suite(gt, affinity[:10, :10], ids)
        files = {p for p, _, _ in ArtifactCache(tmp_path).derived_files()}
        after = _suite(gt, affinity, ids + ["added-model"])  # not in the ground truth
        assert {p for p, _, _ in ArtifactCache(tmp_path).derived_files()} == files  # nothing new computed
    assert after == before


def test_a_changed_affinity_or_damaged_file_is_computed_again(tmp_path):
    gt, ids, affinity = _problem(10, 10, seed=2)
    with derived_results_in(tmp_path):
        _suite(gt, affinity, ids)
        for path, _, _ in ArtifactCache(tmp_path).derived_files():
            path.write_bytes(path.read_bytes()[:-3] + b"xyz")
        damaged = _suite(gt, affinity, ids)
        changed = affinity.copy()
        changed[0, 1] = np.nextafter(changed[0, 1], np.inf)  # one ulp: another key
        other = _suite(gt, changed, ids)
    assert damaged == _suite(gt, affinity, ids)
    assert other == _suite(gt, changed, ids)
