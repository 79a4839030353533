"""``harness evaluate``: estimates computed elsewhere, the built-in Taskonomy ground truth, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from tests.hostile_helpers import assert_one_line, cli

SHARED = Path(__file__).resolve().parents[1] / "data" / "taskonomy" / "affinity_16k_first_order.csv"
# Taskonomy's own spellings: the built-in ground truth maps them to the seeds' names.
TASKS = ("autoencoder curvature denoise edge2d edge3d keypoint2d keypoint3d colorization reshade rgb2depth rgb2mist "
         "rgb2sfnorm room_layout segment25d segment2d vanishing_point_well_defined segmentsemantic_rb class_1000 "
         "class_places impainting_whole").split()


def _independent_per_target_spearman(estimate: dict[tuple[str, str], float]) -> dict[str, float]:
    """Straight from the raw CSV: for every measured target among the 20 tasks, Spearman over the
    19 other tasks (the file's pseudo-sources and extra tasks left out), in Taskonomy's spellings."""
    truth: dict[str, dict[str, float]] = {}
    with SHARED.open() as f:
        for row in csv.DictReader(f):
            if row["source"] in TASKS and row["target"] in TASKS and row["source"] != row["target"]:
                truth.setdefault(row["target"], {})[row["source"]] = float(row["affinity"])
    out = {}
    for target, sources in truth.items():
        names = sorted(sources)
        out[target] = spearmanr([estimate[(s, target)] for s in names], [sources[s] for s in names])[0]
    return out


def _write_long(path: Path, matrix: np.ndarray, names=TASKS, estimator: str | None = None, mode="w") -> None:
    with path.open(mode, newline="") as f:
        w = csv.writer(f)
        if mode == "w":
            w.writerow(["source", "target", "affinity"] + (["estimator"] if estimator else []))
        for i, s in enumerate(names):
            for j, t in enumerate(names):
                if i != j:
                    w.writerow([s, t, matrix[i, j]] + ([estimator] if estimator else []))


@pytest.fixture(scope="module")
def estimate() -> np.ndarray:
    return np.random.default_rng(11).normal(size=(20, 20))


def test_taskonomy_per_target_spearman_matches_an_independent_computation(tmp_path, capsys, estimate):
    path = tmp_path / "mine.csv"
    _write_long(path, estimate)
    code, err = cli(capsys, "evaluate", str(path), "--ground-truth", "taskonomy", "--bootstrap", "50", "--out", str(tmp_path / "out"))
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    result = doc["evaluation"]["mine"]
    assert result["n_targets"] == 18 and result["n_models"] == 20
    expected = _independent_per_target_spearman({(s, t): estimate[i, j] for i, s in enumerate(TASKS) for j, t in enumerate(TASKS) if i != j})
    seed_name = {"segmentsemantic_rb": "segmentsemantic", "vanishing_point_well_defined": "vanishing_point"}
    got = {t: row["spearman"] for t, row in result["per_target"].items()}
    assert len(expected) == 18
    for target, rho in expected.items():
        assert got[seed_name.get(target, target)] == pytest.approx(rho, abs=1e-9)  # report.json keeps 10 decimals
    assert result["spearman"] == pytest.approx(np.mean(list(expected.values())), abs=1e-9)
    assert "static:prior" in doc["static_baselines"] and "vs_static" in result
    page = (tmp_path / "out" / "report.html").read_text()
    assert "The field&#x27;s metrics" in page or "The field's metrics" in page
    assert "weighted τ" in (tmp_path / "out" / "report.md").read_text()


def test_layouts_agree_and_several_estimators_in_one_call(tmp_path, capsys, estimate):
    long = tmp_path / "long.csv"
    _write_long(long, estimate, estimator="alpha")
    _write_long(long, -estimate, estimator="beta", mode="a")
    square = tmp_path / "square.csv"
    with square.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", *TASKS])
        for i, s in enumerate(TASKS):
            w.writerow([s, *("" if i == j else estimate[i, j] for j in range(20))])
    np.save(tmp_path / "m.npy", estimate.T)  # stored as A[target, source]
    (tmp_path / "ids.txt").write_text("\n".join(TASKS))
    code, err = cli(capsys, "evaluate", str(long), f"sq={square}", "--ground-truth", "taskonomy", "--bootstrap", "20",
                    "--stability", "20", "--out", str(tmp_path / "out"))
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    ev = doc["evaluation"]
    assert set(ev) == {"alpha", "beta", "sq"}
    assert ev["alpha"]["spearman"] == pytest.approx(ev["sq"]["spearman"], abs=1e-9)
    assert ev["beta"]["spearman"] == pytest.approx(-ev["alpha"]["spearman"], abs=1e-9)
    assert doc["stability"]["setups"] == 20
    # --rows-are-targets applies to every file of a call, so the transposed .npy goes in its own
    code, err = cli(capsys, "evaluate", f"npy={tmp_path / 'm.npy'}", "--ids", str(tmp_path / "ids.txt"), "--rows-are-targets",
                    "--ground-truth", "taskonomy", "--bootstrap", "20", "--out", str(tmp_path / "out2"))
    assert code == 0, err
    transposed = json.loads((tmp_path / "out2" / "report.json").read_text())["evaluation"]["npy"]
    assert transposed["spearman"] == pytest.approx(ev["alpha"]["spearman"], abs=1e-9)


def _square(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.parametrize("case, fragment", [
    ("not_square", "not a square matrix"),
    ("nan", "not finite"),
    ("duplicate", "appears twice"),
    ("unknown", "not in the ground truth"),
    ("missing_pair", "gives no affinity"),
    ("npy_without_ids", "--ids"),
    ("unknown_truth", "did you mean"),
])
def test_bad_estimates_get_one_line(tmp_path, capsys, case, fragment):
    ids = ["autoencoder", "curvature", "denoise"]
    gt = "taskonomy"
    if case == "not_square":
        path = _square(tmp_path / "e.csv", ["", *ids], [["autoencoder", "", "1", "2"], ["curvature", "1", "", "2"]])
    elif case == "nan":
        path = _square(tmp_path / "e.csv", ["", *ids], [["autoencoder", "", "1", "2"], ["curvature", "nan", "", "2"], ["denoise", "1", "2", ""]])
    elif case == "duplicate":
        path = _square(tmp_path / "e.csv", ["", "autoencoder", "autoencoder", "denoise"],
                       [["autoencoder", "", "1", "2"], ["autoencoder", "1", "", "2"], ["denoise", "1", "2", ""]])
    elif case == "unknown":
        path = _square(tmp_path / "e.csv", ["", "autoencoder", "curvatur", "denoise"],
                       [["autoencoder", "", "1", "2"], ["curvatur", "1", "", "2"], ["denoise", "1", "2", ""]])
    elif case == "missing_pair":
        path = tmp_path / "e.csv"
        path.write_text("source,target,affinity\nautoencoder,curvature,1\ncurvature,autoencoder,2\ndenoise,autoencoder,3\n")
    elif case == "npy_without_ids":
        path = tmp_path / "e.npy"
        np.save(path, np.zeros((3, 3)))
    else:
        path = _square(tmp_path / "e.csv", ["", *ids], [["autoencoder", "", "1", "2"]])
        gt = "taskonomi"
    code, err = cli(capsys, "evaluate", str(path), "--ground-truth", gt, "--bootstrap", "10", "--out", str(tmp_path / "out"))
    assert_one_line(code, err, 1, fragment)
    assert not (tmp_path / "out").exists()
