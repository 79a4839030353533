"""``harness run`` end to end on a zoo of small test models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.cli.main import main
from harness.report.document import VOLATILE_KEYS
from tests.zoo_factory import build_test_zoo

REQUIRED_KEYS = ("schema_version", "harness_version", "created", "zoo", "probe", "models", "estimators",
                 "rankings", "evaluation", "tree", "environment", "timings")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    return build_test_zoo(tmp_path_factory.mktemp("zoo"))


def run(zoo: Path, out: Path, *extra: str) -> dict:
    code = main(["run", "--zoo", str(zoo), "--images", "12", "--out", str(out), "--bootstrap", "50", *extra])
    assert code == 0
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def report(zoo, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("run")
    return run(zoo, out), out


def test_report_has_the_documented_keys(report):
    data, out = report
    for key in REQUIRED_KEYS:
        assert key in data
    ids = [m["id"] for m in data["models"]]
    assert ids == sorted(ids) and len(ids) == 6
    assert set(data["zoo"]["cards"]) == set(ids)
    assert all(len(h) == 64 for h in data["zoo"]["cards"].values())
    assert data["probe"]["n_images"] == 12 and len(data["probe"]["sha256"]) == 64
    for model in data["models"]:
        assert model["parity_max_abs_err"] < 1e-4
        assert model["input_size"] in ([32, 32], [16, 16])
    assert set(data["estimators"]) == {"saliency", "gradxinput", "elrp", "depara", "depara_edge", "rsa", "cka", "dds"}
    assert (out / "report.md").exists()
    targets = {m["id"]: m["attribution_target"]["kind"] for m in data["models"]}
    assert targets["resnet-b"] == "argmax" and targets["resnet-a"] == "probe_sum"


def test_affinities_rankings_and_trees_are_consistent(report):
    data, _ = report
    for name, est in data["estimators"].items():
        matrix = np.array(est["affinity"])
        ids = est["models"]
        assert matrix.shape == (len(ids), len(ids))
        assert np.all(np.isfinite(matrix))
        for t, target in enumerate(ids):
            ranking = data["rankings"][name][target]
            assert target not in ranking and sorted(ranking) == sorted(set(ids) - {target})
            column = [matrix[ids.index(s), t] for s in ranking]
            assert column == sorted(column, reverse=True)
        assert all(i in data["tree"][name] for i in ids)
    # attribution-map estimators have unit diagonals and values in [-1, 1]
    sal = np.array(data["estimators"]["saliency"]["affinity"])
    assert np.allclose(np.diag(sal), 1) and np.all(np.abs(sal) <= 1 + 1e-9)
    # the two seeds of the same architecture are more alike than unrelated models for the feature estimator
    rsa = np.array(data["estimators"]["rsa"]["affinity"])
    ids = data["estimators"]["rsa"]["models"]
    assert rsa[ids.index("resnet-a"), ids.index("resnet-b")] > rsa[ids.index("resnet-a"), ids.index("tiny-nhwc")]


def test_evaluation_against_ground_truth(report):
    data, _ = report
    for name, ev in data["evaluation"].items():
        assert len(ev["p_at_k"]) == 5  # K = 1..N-1
        assert ev["oracle_p_at_k"][0] == 1.0
        assert -1 <= ev["spearman"] <= 1
        assert ev["spearman_ci"][0] <= ev["spearman"] <= ev["spearman_ci"][1]


def test_same_inputs_give_a_byte_identical_report(zoo, tmp_path):
    """Determinism, not the cache: both runs compute every model (``--no-cache``)."""
    first = run(zoo, tmp_path / "a", "--no-cache")
    second = run(zoo, tmp_path / "b", "--no-cache")
    assert first["cache"]["hits"] == second["cache"]["hits"] == 0
    for key in VOLATILE_KEYS:
        first = {k: v for k, v in first.items() if k != key}
        second = {k: v for k, v in second.items() if k != key}
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_interrupted_write_leaves_no_report(zoo, tmp_path, monkeypatch):
    import harness.common.atomic as atomic

    real = atomic._write_member
    calls = []

    def failing(root, name, data, **kw):
        calls.append(name)
        if name == "report.json":
            raise KeyboardInterrupt
        real(root, name, data, **kw)

    monkeypatch.setattr(atomic, "_write_member", failing)
    code = main(["run", "--zoo", str(zoo), "--images", "4", "--out", str(tmp_path), "--bootstrap", "10"])
    assert code == 130
    assert not (tmp_path / "report.json").exists()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_folder_probe_skips_unreadable_images(zoo, tmp_path, capsys):
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(images / "sub" / f"{i}.png")
    (images / "broken.jpg").write_bytes(b"not an image")
    data = run(zoo, tmp_path / "out", "--probe", str(images), "--methods", "saliency", "--estimators", "saliency", "rsa")
    assert data["probe"]["n_images"] == 5 and data["probe"]["skipped_unreadable"] == 1
    assert set(data["estimators"]) == {"saliency", "rsa"}
    # an image list file (the seeds' imlist.txt) selects the same images
    (images / "imlist.txt").write_text("\n".join(f"sub/{i}.png" for i in range(5)) + "\n")
    listed = run(zoo, tmp_path / "out2", "--probe", str(images / "imlist.txt"), "--methods", "saliency", "--estimators", "saliency")
    assert listed["probe"]["n_images"] == 5


def test_zero_usable_images_is_an_error(zoo, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(b"garbage")
    code = main(["run", "--zoo", str(zoo), "--probe", str(images), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "none of the 1 selected images could be read" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--methods", "salency"], "did you mean 'saliency'"),
        (["--estimators", "depara", "--methods", "saliency"], "needs attribution method(s) gradxinput"),
        (["--images", "0"], "--images"),
        (["--probe", "synthetic-indor"], "did you mean 'synthetic-indoor'"),
    ],
)
def test_bad_run_options(zoo, tmp_path, capsys, argv, message):
    code = main(["run", "--zoo", str(zoo), "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err


def test_all_attribution_methods_run(zoo, tmp_path):
    data = run(zoo, tmp_path, "--methods", "saliency", "gradxinput", "elrp", "integrated_gradients", "second_order",
               "--ig-steps", "8", "--images", "4")
    assert "integrated_gradients" in data["estimators"]
    assert "second_order" not in data["estimators"]  # a map method, not a transferability estimator (issue #11)
