"""Evaluation: Taskonomy ground truth, the seeds' P@K protocol, correlations, CIs, tree, CSV errors."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from harness.common.errors import HarnessError
from harness.evaluation import (
    TASKONOMY_ALIASES,
    TASKONOMY_ORDER,
    GroundTruth,
    agreement,
    evaluate,
    load_ground_truth,
    task_tree,
    true_ranking,
)

TASKONOMY = Path(os.environ.get("HARNESS_TASKONOMY_DIR", Path(__file__).resolve().parents[1] / "data" / "taskonomy"))
ORDER = list(TASKONOMY_ORDER)


@pytest.fixture(scope="module")
def gt() -> GroundTruth:
    return load_ground_truth(TASKONOMY / "affinity_16k_first_order.csv", TASKONOMY_ALIASES).restrict(ORDER)


def truth_as_estimate(gt: GroundTruth) -> np.ndarray:
    return gt.submatrix(ORDER, ORDER)


def test_loader_reproduces_sort_gt(gt: GroundTruth) -> None:
    with open(TASKONOMY / "sort_gt.csv") as fh:
        expected = [[int(x) for x in row] for row in csv.reader(fh)]
    assert "self" not in gt.sources and "random" not in gt.sources
    targets = [t for t in ORDER if t in gt.targets]
    assert len(targets) == 18 and "colorization" not in targets and "inpainting_whole" not in targets
    got = [[ORDER.index(m) for m in true_ranking(gt, t, ORDER)] for t in targets]
    assert got == expected


def test_baselines_and_oracle(gt: GroundTruth) -> None:
    out = evaluate(truth_as_estimate(gt), ORDER, gt, n_boot=200)
    assert out["n_models"] == 20 and out["n_targets"] == 18 and out["k"] == list(range(1, 20))
    np.testing.assert_allclose(out["random_p_at_k"], [5 / 19] * 19)
    assert out["random_p_at_k"][0] == pytest.approx(0.263, abs=5e-4)
    np.testing.assert_allclose(out["random_r_at_k"], [k / 19 for k in range(1, 20)])
    oracle_p = [min(k, 5) / k for k in range(1, 20)]
    np.testing.assert_allclose(out["oracle_p_at_k"], oracle_p)
    np.testing.assert_allclose(out["oracle_r_at_k"], [min(k, 5) / 5 for k in range(1, 20)])
    # the ground truth as its own estimator is the oracle
    np.testing.assert_allclose(out["p_at_k"], oracle_p)
    np.testing.assert_allclose(out["r_at_k"], out["oracle_r_at_k"])
    assert out["spearman"] == pytest.approx(1.0) and out["kendall"] == pytest.approx(1.0)
    assert out["p_at_1"] == 1.0 and out["p_at_5"] == 1.0
    row = out["per_target"]["autoencoder"]
    assert row["true_rank_of_estimated_sources"] == list(range(1, 20))
    assert row["estimated_ranking"][0] == "denoise" == row["true_ranking"][0]


def test_reversed_estimator_scores_low(gt: GroundTruth) -> None:
    out = evaluate(-truth_as_estimate(gt), ORDER, gt, n_boot=200)
    assert out["spearman"] == pytest.approx(-1.0) and out["kendall"] == pytest.approx(-1.0)
    assert out["p_at_1"] == 0.0 and out["p_at_5"] == 0.0
    assert all(p < r for p, r in zip(out["p_at_k"][:5], out["random_p_at_k"]))


def test_bootstrap_is_seeded_and_contains_estimate(gt: GroundTruth) -> None:
    rng = np.random.default_rng(1)
    noisy = truth_as_estimate(gt) + rng.normal(scale=0.03, size=(20, 20))
    out = evaluate(noisy, ORDER, gt, n_boot=500, seed=3)
    for key in ["spearman", "kendall", "p_at_1", "p_at_5"]:
        lo, hi = out[f"{key}_ci"]
        assert lo <= out[key] <= hi, key
    assert out["spearman_ci"][0] < out["spearman_ci"][1]
    again = evaluate(noisy, ORDER, gt, n_boot=500, seed=3)
    assert json.dumps(again, allow_nan=False) == json.dumps(out, allow_nan=False)  # plain, deterministic
    other = evaluate(noisy, ORDER, gt, n_boot=500, seed=4)
    assert other["spearman"] == out["spearman"] and other["spearman_ci"] != out["spearman_ci"]


def test_models_outside_truth_are_ignored(gt: GroundTruth) -> None:
    ids = ORDER + ["not_a_task"]
    a = np.zeros((21, 21))
    a[:20, :20] = truth_as_estimate(gt)
    a[20, :] = 10.0  # would be ranked first everywhere if it counted
    out = evaluate(a, ids, gt, n_boot=0)
    assert out["n_models"] == 20 and out["p_at_1"] == 1.0 and out["spearman_ci"] is None


def test_agreement_of_two_measurements(gt: GroundTruth) -> None:
    same = agreement(gt, gt, n_boot=100)
    full = load_ground_truth(TASKONOMY / "affinity_16k_first_order.csv", TASKONOMY_ALIASES)
    assert "self" not in agreement(full, full, n_boot=0)["models"]
    assert same["spearman"] == pytest.approx(1.0) and same["p_at_5"] == 1.0
    rng = np.random.default_rng(0)
    m = np.asarray(gt.matrix)
    noisy = GroundTruth(gt.sources, gt.targets, m * np.exp(rng.normal(scale=0.5, size=m.shape)))
    ab, ba = agreement(gt, noisy, n_boot=100), agreement(noisy, gt, n_boot=100)
    assert 0.3 < ab["spearman"] < 1.0
    assert ab["spearman"] == pytest.approx(ba["spearman"]) and ab["p_at_5"] == pytest.approx(ba["p_at_5"])


def write_csv(tmp_path: Path, text: str, name: str = "gt.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_small_example_counts_exactly(tmp_path: Path) -> None:
    rows = ["source,target,affinity", "b,a,3", "c,a,2", "d,a,1", "self,a,9", "a,b,1", "c,b,2", "d,b,3"]
    gt = load_ground_truth(write_csv(tmp_path, "\n".join(rows) + "\n"))
    est = np.array([[0, 1, 0, 0], [2, 0, 0, 0], [3, 3, 0, 0], [1, 2, 0, 0]], dtype=float)  # [source, target]
    out = evaluate(est, ["a", "b", "c", "d"], gt, relevant=1, n_boot=0)
    assert out["targets"] == ["a", "b"] and out["n_models"] == 4
    # a: estimated c,b,d vs relevant {b}; b: estimated c,d,a vs relevant {d}
    assert out["per_target"]["a"]["estimated_ranking"] == ["c", "b", "d"]
    assert out["per_target"]["a"]["true_rank_of_estimated_sources"] == [2, 1, 3]
    np.testing.assert_allclose(out["p_at_k"], [0.0, 0.5, 1 / 3])
    np.testing.assert_allclose(out["r_at_k"], [0.0, 1.0, 1.0])
    np.testing.assert_allclose(out["random_p_at_k"], [1 / 3] * 3)
    assert out["per_target"]["a"]["spearman"] == pytest.approx(0.5)


def test_constant_estimate_gives_undefined_correlation(tmp_path: Path) -> None:
    gt = load_ground_truth(write_csv(tmp_path, "source,target,affinity\nb,a,1\nc,a,2\na,b,1\nc,b,2\n"))
    out = evaluate(np.zeros((3, 3)), ["a", "b", "c"], gt, n_boot=50)
    assert out["spearman"] is None and out["spearman_ci"] is None and out["per_target"]["a"]["kendall"] is None
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"gt\.csv:1: empty file"),
        ("source,affinity\na,1\n", r"gt\.csv:1: header lacks column\(s\) target"),
        ("source,target,affinity\na,b,0.5\na,c,high\n", r"gt\.csv:3: affinity 'high' is not a number"),
        ("source,target,affinity\na,b,0.5\nb,a,nan\n", r"gt\.csv:3: affinity 'nan' is not finite"),
        ("source,target,affinity\na,b,0.5\nb,a,1\na,b,0.7\n", r"gt\.csv:4: pair a -> b already given on line 2"),
        ("source,target,affinity\na,b\n", r"gt\.csv:2: expected 3 fields, got 2"),
        ("source,target,affinity\n,b,1\n", r"gt\.csv:2: empty source or target name"),
        ("source,target,affinity\n\n", r"gt\.csv: no ground-truth rows"),
    ],
)
def test_malformed_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        load_ground_truth(write_csv(tmp_path, text))


def test_alias_collision_and_missing_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "source,target,affinity\nold,b,1\nnew,b,2\n")
    with pytest.raises(HarnessError, match=r"gt\.csv:3: pair new -> b already given on line 2"):
        load_ground_truth(path, {"old": "new"})
    with pytest.raises(HarnessError, match="missing.csv: cannot read"):
        load_ground_truth(tmp_path / "missing.csv")


def parse_newick_leaves(newick: str) -> list[str]:
    body = newick.rstrip(";")
    names = re.findall(r"(?:^|[(,])('(?:[^']|'')*'|[^(),:;']+)", body)
    return [n[1:-1].replace("''", "'") if n.startswith("'") else n for n in names]


def test_tree_clusters_blocks() -> None:
    ids = ["a1", "b1", "a2", "c_1", "b2", "c 2", "a3"]
    block = {"a": 0, "b": 1, "c": 2}
    groups = [block[i[0]] for i in ids]
    rng = np.random.default_rng(0)
    aff = np.array([[0.9 if gs == gt else 0.1 for gt in groups] for gs in groups]) + rng.normal(scale=0.01, size=(7, 7))
    tree = task_tree(aff, ids)
    order_groups = [block[i[0]] for i in tree.leaf_order]
    assert sorted(tree.leaf_order) == sorted(ids)
    assert [g for k, g in enumerate(order_groups) if k == 0 or g != order_groups[k - 1]] in (
        [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])  # each block contiguous
    assert tree.newick.endswith(";") and tree.newick.count("(") == tree.newick.count(")") == len(ids) - 1
    assert parse_newick_leaves(tree.newick) == tree.leaf_order
    assert "'c_1'" in tree.newick and "'c 2'" in tree.newick
    lines = tree.text.splitlines()
    assert [ln[42:] for ln in lines] == tree.leaf_order  # default width 40: 41 drawing columns + blank
    again = task_tree(aff, ids)
    assert (again.newick, again.text, again.leaf_order) == (tree.newick, tree.text, tree.leaf_order)
    assert task_tree(aff, ids, ascii_only=True).text.isascii()


def test_tree_edge_cases() -> None:
    one = task_tree(np.ones((1, 1)), ["solo"])
    assert one.newick == "solo;" and one.leaf_order == ["solo"]
    with pytest.raises(HarnessError, match="NaN"):
        task_tree(np.array([[1.0, np.nan], [0.0, 1.0]]), ["a", "b"])
