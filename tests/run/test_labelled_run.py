"""Labelled estimators inside runs (--labelled-benchmark, --labels) and the label sources."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.common.errors import HarnessError, ValidationError
from harness.estimators.labelled import LABELLED_ESTIMATORS
from harness.estimators.labelled.targets import binned, labels_for, synthetic_labels
from harness.probes.labels import TaskLabels, cell_means
from harness.probes import load_probe
from harness.probes.base import ProbeRequest, ProbeSet
from tests.zoo_factory import build_test_zoo

MODELS = (("scene-a", "resnet", 0, "class_scene"), ("scene-b", "resnet", 1, "class_scene"),
          ("depth", "mobilenet", 0, "rgb2depth"), ("multi", "encoder_decoder", 0, "rgb2depth+edge2d"))


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    return build_test_zoo(tmp_path_factory.mktemp("zoo"), models=MODELS, nhwc_model=False)


def test_labelled_benchmark_scores_every_estimator_beside_the_label_free_ones(zoo, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--zoo", str(zoo), "--images", "24", "--bootstrap", "20", "--labelled-benchmark", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    ids = [m["id"] for m in report["models"]]
    for name in LABELLED_ESTIMATORS.default_names():
        matrix = np.array(report["estimators"][name]["affinity"], dtype=float)
        assert matrix.shape == (4, 4) and np.all(np.isfinite(matrix))
        # models with the same task are the same target: identical columns
        assert np.allclose(matrix[:, ids.index("scene-a")], matrix[:, ids.index("scene-b")])
        assert name in report["evaluation"] and name in report["timings"]["labelled_estimators"]
    assert "rsa" in report["estimators"]


def test_labels_option_ranks_every_model_for_one_target(zoo, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--zoo", str(zoo), "--images", "16", "--bootstrap", "10", "--labels", "class_object",
                 "--labelled-estimators", "logme", "hscore", "--out", str(out)]) == 0
    section = json.loads((out / "report.json").read_text())["labelled_target"]
    assert section["task"] == "class_object" and set(section["rankings"]) == {"logme", "hscore"}
    assert sorted(section["rankings"]["logme"]) == sorted(m[0] for m in MODELS)
    scores = section["scores"]["logme"]
    assert [scores[s] for s in section["rankings"]["logme"]] == sorted(scores.values(), reverse=True)


def test_synthetic_labels_match_the_generator_and_pool_dense_maps():
    from harness.probes.synthetic import TASK_INFO, render_batch

    probe = load_probe("synthetic-indoor", ProbeRequest(n_images=6, size=32))
    labels = synthetic_labels(probe, ["class_scene", "rgb2depth", "rgb2depth+edge2d"])
    seeds = [int(i.split("-")[1]) for i in probe.ids]
    raw = render_batch(seeds, size=32, style="indoor", tasks=("class_scene", "rgb2depth"))
    assert np.array_equal(labels["class_scene"].classes, raw["class_scene"])
    depth = labels["rgb2depth"].values
    assert depth.shape == (6, 16) and np.allclose(depth[:, 0], raw["rgb2depth"][:, :8, :8, 0].mean(axis=(1, 2)))
    assert labels["rgb2depth+edge2d"].values.shape == (6, 32)
    assert TASK_INFO["rgb2depth"].kind == "dense_regression"


def test_pooling_classes_gives_fractions_and_bins_are_balanced():
    label = np.zeros((1, 8, 8), dtype=np.int64)
    label[0, :4, :4] = 2
    out = cell_means(TaskLabels("seg", "dense_classification", label, ("a", "b", "c")), 4).reshape(16, 3)
    assert np.allclose(out.sum(axis=1), 1.0) and np.allclose(out[0], [0, 0, 1])
    bins = binned(np.random.default_rng(0).normal(size=(80, 5)))
    assert np.bincount(bins).tolist() == [10] * 8


def _probe(ids) -> ProbeSet:
    return ProbeSet("p", np.zeros((len(ids), 3, 4, 4), np.uint8), tuple(ids))


def test_csv_and_folder_labels(tmp_path):
    probe = _probe(["cat/1.png", "dog/2.png", "cat/3.png"])
    assert labels_for("folder", probe).classes.tolist() == [0, 1, 0]
    path = tmp_path / "labels.csv"
    path.write_text("image,label\ncat/1.png,x\ndog/2.png,y\ncat/3.png,y\n")
    assert labels_for(str(path), probe).classes.tolist() == [0, 1, 1]
    path.write_text("image,value,value2\ncat/1.png,1,2\ndog/2.png,3,4\ncat/3.png,5,6\n")
    target = labels_for(str(path), probe)
    assert target.values.tolist() == [[1, 2], [3, 4], [5, 6]] and target.task == "labels"
    # the sharing convention (integer column = class indices) reads the same file format
    path.write_text("image,shape\ncat/1.png,2\ndog/2.png,0\ncat/3.png,2\n")
    assert labels_for(str(path), probe).classes.tolist() == [2, 0, 2]
    path.write_text("image,shape,size\ncat/1.png,2,0.5\ndog/2.png,0,1.5\ncat/3.png,2,2.5\n")
    with pytest.raises(HarnessError, match="2 task columns"):
        labels_for(str(path), probe)
    path.write_text("image,label\ncat/1.png,x\n")
    with pytest.raises(ValidationError, match="dog/2.png"):
        labels_for(str(path), probe)
    with pytest.raises(HarnessError, match="no such CSV"):
        labels_for(str(tmp_path / "missing.csv"), probe)
    with pytest.raises(HarnessError, match="sub-folder"):
        labels_for("folder", _probe(["a.png", "b.png"]))
    with pytest.raises(HarnessError, match="not generated"):
        synthetic_labels(probe, ["class_scene"])


def test_classifier_cards_store_class_probabilities_for_leep():
    import torch

    from harness.model.card import load_card
    from harness.model.importer import import_card
    from harness.probing.loop import ProbeSettings, probe_model
    from harness.model.zoo import default_zoo_dir

    card = load_card(default_zoo_dir() / "cards" / "class_scene.yaml")
    assert card.classes  # the zoo's classifiers name their classes
    probe = load_probe("synthetic-indoor", ProbeRequest(n_images=5, size=32))
    outcome = probe_model(import_card(card), probe, ProbeSettings(methods=()), torch.device("cpu"))
    probs = np.asarray(outcome.artifacts.class_probs)
    assert probs.shape == (5, len(card.classes)) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_leep_uses_source_probabilities_where_given():
    from harness.probing.artifacts import ModelArtifacts
    from harness.estimators.labelled.base import TargetLabels
    from harness.estimators.labelled.leep import leep_score, nleep
    from harness.estimators.labelled.matrix import labelled_affinities

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    probs = rng.dirichlet(np.ones(4), size=40)
    arts = [ModelArtifacts("clf", "t", features=rng.normal(size=(40, 6)), class_probs=probs),
            ModelArtifacts("dense", "t", features=rng.normal(size=(40, 6)))]
    labels = {"t": TargetLabels("t", y, None)}
    matrices, _ = labelled_affinities(arts, labels, ["leep"], {"clf": probs})
    assert matrices["leep"][0, 0] == pytest.approx(leep_score(probs, y))
    # a source without class probabilities falls back to NLEEP's mixture posteriors
    assert matrices["leep"][1, 0] == pytest.approx(nleep(arts[1].features, labels["t"]))
