"""Label sources (harness.probes.labels) and the `harness sharing` command end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from harness.cli.main import main
from harness.common.errors import HarnessError
from harness.probes.base import ProbeRequest
from harness.probes.glyphs import SCENE_SUPER, stamp_glyph
from harness.probes.labels import TaskLabels, load_labelled, per_image
from harness.model.zoo import default_zoo_dir


def _image(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((10, 12, 3), value, np.uint8)).save(path)


def test_class_folder_and_csv(tmp_path):
    for cls, values in {"cat": (10, 20), "dog": (30,)}.items():
        for v in values:
            _image(tmp_path / "folder" / cls / f"{v}.png", v)
    labelled = load_labelled(str(tmp_path / "folder"), ProbeRequest(size=8))
    label = labelled.task("label")
    assert label.classes == ("cat", "dog") and label.values.tolist() == [0, 0, 1]
    assert labelled.probe.images.shape == (3, 3, 8, 8) and labelled.probe.images[2, 0, 0, 0] == 30

    _image(tmp_path / "c" / "a.png", 1)
    _image(tmp_path / "c" / "b.png", 2)
    with (tmp_path / "c" / "labels.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["image", "shape", "size", "name"], ["a.png", "2", "0.5", "x"], ["b.png", "0", "1.5", "w"]])
    labelled = load_labelled(str(tmp_path / "c" / "labels.csv"), ProbeRequest(size=8), tasks=["shape", "size", "name"])
    assert labelled.task("shape").values.tolist() == [2, 0] and labelled.task("shape").kind == "classification"
    assert labelled.task("size").kind == "regression" and labelled.task("size").values[:, 0].tolist() == [0.5, 1.5]
    assert labelled.task("name").classes == ("w", "x") and labelled.task("name").values.tolist() == [1, 0]
    with pytest.raises(HarnessError, match="did you mean 'shape'"):
        labelled.task("shapes")
    (tmp_path / "c" / "bad.csv").write_text("path,label\na.png,1\n")
    with pytest.raises(HarnessError, match="header row"):
        load_labelled(str(tmp_path / "c" / "bad.csv"), ProbeRequest(size=8))
    with pytest.raises(HarnessError, match="did you mean"):
        load_labelled("synthetic-indor", ProbeRequest(size=8))


def test_synthetic_labels_and_pooling():
    labelled = load_labelled("synthetic-glyphs", ProbeRequest(n_images=6, size=32), tasks=["class_scene_super", "glyph", "rgb2depth", "class_scene"])
    assert labelled.probe.n_images == 6
    scene = labelled.task("class_scene").values
    assert labelled.task("class_scene_super").values.tolist() == [SCENE_SUPER[s] for s in scene]
    depth = labelled.task("rgb2depth")
    pooled = per_image(depth)
    assert pooled.kind == "regression" and pooled.values.shape == (6, 1)
    np.testing.assert_allclose(pooled.values[:, 0], depth.values.mean(axis=(1, 2, 3)), rtol=1e-5)
    dense = TaskLabels("seg", "dense_classification", np.array([[[1, 1], [2, 0]], [[3, 3], [3, 0]]]))
    assert per_image(dense).values.tolist() == [1, 3]
    # the glyph is drawn where the seed says and is the labelled class
    rgb = np.full((32, 32, 3), 0.2, np.float32)
    out, label = stamp_glyph(rgb, 5)
    assert 0 <= label < 4 and (out == 1.0).any() and out.shape == rgb.shape


def test_sharing_cli_end_to_end(tmp_path, capsys):
    card = default_zoo_dir() / "cards" / "multi-class_scene+edge2d.yaml"
    out = tmp_path / "run"
    code = main(["sharing", str(card), "--layer", "/encoder/bottleneck/Conv", "--samples", "4", "--images", "12",
                 "--bootstrap", "20", "--out", str(out)])
    assert code == 0
    doc = json.loads((out / "sharing.json").read_text())
    layer = doc["layers"][0]
    assert layer["units"] == 8 and set(layer["contributions"]) == {"class_scene", "edge2d"}
    pair = layer["pairs"][0]
    assert pair["heads"] == ["class_scene", "edge2d"] and 0 <= pair["shared_fraction"] <= 1
    assert pair["shared_fraction_ci"][0] <= pair["shared_fraction_ci"][1]
    assert (out / "sharing.png").read_bytes()[:4] == b"\x89PNG" and b"Feature sharing" in (out / "sharing.html").read_bytes()
    assert doc["heads"][1]["kind"] == "regression" and doc["heads"][1]["sigma"] > 0


def test_sharing_cli_errors(tmp_path, capsys):
    card = default_zoo_dir() / "cards" / "multi-class_scene+edge2d.yaml"
    assert main(["sharing", str(card), "--layer", "/encoder/bottleneck/Relu", "--samples", "2", "--images", "4",
                 "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "unknown layer" in err and len(err.strip().splitlines()) == 1
    assert main(["sharing", str(default_zoo_dir() / "cards" / "edge2d.yaml"), "--layer", "x", "--out", str(tmp_path / "y")]) == 1
    assert "field 'heads'" in capsys.readouterr().err
    assert main(["sharing", str(card), "--layer", "/heads.0/pool/AveragePool", "--samples", "2", "--images", "4",
                 "--out", str(tmp_path / "z")]) == 1
    assert "Conv, ConvTranspose or Gemm" in capsys.readouterr().err
    assert main(["sharing", str(card), "--layer", "/encoder/bottleneck/Conv", "--max-rows", "0", "--out", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "option --max-rows: expected an integer >= 1" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists() and not (tmp_path / "z").exists() and not (tmp_path / "w").exists()
