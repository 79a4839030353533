"""harness explain: definitions (class pairs, masks, IG reference), card fields, CLI outputs and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from harness.model.card import load_card
from harness.cli.main import main
from harness.common.errors import ValidationError
from harness.analyses.explain.insecurity import class_pairs, insecurities, keep_mask
from harness.model.zoo import default_zoo_dir

ZOO = default_zoo_dir()
CLASS_OBJECT = ZOO / "cards" / "class_object.yaml"
GAP_CLASSIFIER = ZOO / "explain" / "cards" / "class_object-gap.yaml"  # the one that learned its task (zoo/build/explain_models.py)


def test_class_pairs_take_the_top_classes_per_location():
    maps = torch.zeros(4, 1, 2)
    maps[:, 0, 0] = torch.tensor([3.0, 2.0, 1.0, 0.0])  # top-3 here: 0, 1, 2
    maps[:, 0, 1] = torch.tensor([0.0, 1.0, 2.0, 3.0])  # top-3 here: 3, 2, 1
    assert class_pairs(maps, 3) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    assert class_pairs(maps, 2) == [(0, 1), (2, 3)]


def test_keep_mask_keeps_the_top_fraction():
    values = np.arange(100, dtype=float).reshape(10, 10)
    mask = keep_mask(values, 0.2)
    assert mask.sum() == 20 and mask.ravel()[80:].all()


def test_insecurity_is_the_product_of_two_class_maps_and_the_difficulty_upsampled():
    gen = torch.Generator().manual_seed(0)
    classes, difficulty = torch.rand(3, 4, 4, generator=gen), torch.rand(4, 4, generator=gen)
    found = insecurities(classes, difficulty, (8, 8), keep=0.25, per_location=3)
    assert len(found) == 3 and [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    for item in found:
        a, b = item.pair
        grid = (classes[a] * classes[b] * difficulty).double()
        expected = torch.nn.functional.interpolate(grid[None, None], size=(8, 8), mode="bilinear", align_corners=False)[0, 0]
        np.testing.assert_allclose(item.map, expected.numpy())
        assert item.mask.sum() == 16


def test_card_classes_list_file_and_hardness(tmp_path):
    data = yaml.safe_load(CLASS_OBJECT.read_text())
    onnx_src = ZOO / "models" / "class_object.onnx"
    (tmp_path / "m.onnx").write_bytes(onnx_src.read_bytes())
    (tmp_path / "names.txt").write_text("a\nb\n\nc\nd\n")
    data.update(onnx="m.onnx", classes="names.txt", hardness="h.yaml")
    data.pop("sha256")
    card_path = tmp_path / "c.yaml"
    card_path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="field 'hardness'.*not found"):
        load_card(card_path)
    (tmp_path / "h.yaml").write_text("id: h\n")
    card = load_card(card_path)
    assert card.classes == ("a", "b", "c", "d") and card.hardness == (tmp_path / "h.yaml").resolve()
    data["classes"] = [1, 2]
    card_path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="field 'classes'"):
        load_card(card_path)


def test_zoo_classifier_cards_name_their_classes():
    assert load_card(CLASS_OBJECT).classes == ("sphere", "box", "cylinder", "cone")
    assert load_card(CLASS_OBJECT).hardness is not None and load_card(load_card(CLASS_OBJECT).hardness).probe_layer


@pytest.mark.parametrize("card,attribution", [(CLASS_OBJECT, "gradient"), (CLASS_OBJECT, "2ndg"), (CLASS_OBJECT, "ig"),
                                              (GAP_CLASSIFIER, "2ndg")])
def test_cli_explain_writes_json_gallery_and_figures(tmp_path, card, attribution):
    out = tmp_path / "out"
    assert main(["explain", str(card), "--images", "3", "--attribution", attribution, "--out", str(out)]) == 0
    doc = json.loads((out / "explain.json").read_text())
    assert doc["parameters"]["attribution"] == attribution and len(doc["images"]) == 3
    if attribution == "2ndg":
        assert doc["parameters"]["second_order_method"] == "gauss_newton"  # the zoo heads are piecewise linear
    html = (out / "index.html").read_text()
    for image in doc["images"]:
        probs = [t["probability"] for t in image["top_classes"]]
        assert probs == sorted(probs, reverse=True) and len(probs) == 4  # 4 classes < --top-classes 5
        assert 0.0 <= image["difficulty"] <= 1.0
        assert image["insecurities"], "every image has at least one class pair"
        for ins in image["insecurities"]:
            assert set(ins["classes"]) <= {"sphere", "box", "cylinder", "cone"} and ins["classes"][0] != ins["classes"][1]
            assert abs(ins["mask_area"] - 0.2) < 0.01
            assert (out / ins["figure"]).read_bytes()[:4] == b"\x89PNG"
            assert f"{ins['classes'][0]} vs {ins['classes'][1]}" in html


def test_cli_explain_hardness_score_uses_the_predictor(tmp_path):
    out = tmp_path / "h"
    assert main(["explain", str(CLASS_OBJECT), "--images", "2", "--score", "hardness", "--attribution", "2ndg", "--out", str(out)]) == 0
    doc = json.loads((out / "explain.json").read_text())
    assert doc["model"]["hardness_card"].endswith("class_object-hardness.yaml")


def _error(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize("argv, fragment", [
    (["--score", "entropi"], "did you mean 'entropy'"),
    (["--attribution", "2ndG"], "did you mean '2ndg'"),
    (["--keep", "0"], "--keep"),
    (["--top-classes", "1"], "--top-classes"),
    (["--layer", "node_linear"], "4-D conv feature map"),
    (["--layer", "node_conv2d_33"], "did you mean"),
])
def test_cli_explain_bad_input_is_one_line(tmp_path, capsys, argv, fragment):
    out = tmp_path / "never"
    code, err = _error(capsys, "explain", str(CLASS_OBJECT), "--images", "1", "--out", str(out), *argv)
    assert code != 0 and fragment in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cli_explain_hardness_without_a_predictor(tmp_path, capsys):
    code, err = _error(capsys, "explain", str(ZOO / "cards" / "class_scene.yaml"), "--images", "1", "--score", "hardness",
                       "--out", str(tmp_path / "x"))
    assert code != 0 and "hardness" in err and len(err.splitlines()) == 1


def test_zoo_form_explains_the_cards_that_name_their_classes():
    from harness.analyses.explain.command import is_classifier
    from harness.model.zoo import load_zoo

    ids = {c.id for c in load_zoo(ZOO / "zoo-1.0.yaml").cards if is_classifier(c)}  # room_layout (N, 9) is not one
    assert ids == {"class_object", "class_scene", "class_scene-mobilenet", "keras-class_object"}


def test_paired_differences_are_per_image_means_with_nan_images_left_out():
    from harness.analyses.explain.evaluate import paired_differences

    rows = {"gradient": {"insecurity": np.array([0.1, 0.2, np.nan, 0.4])},
            "2ndg": {"insecurity": np.array([0.3, 0.1, 0.5, 0.4])}}
    out = paired_differences(rows, n_boot=200, seed=0)
    assert list(out) == ["2ndg - gradient"]
    assert out["2ndg - gradient"]["mean"] == pytest.approx((0.2 - 0.1 + 0.0) / 3)
    lo, hi = out["2ndg - gradient"]["ci95"]
    assert -0.1 - 1e-12 <= lo <= hi <= 0.2 + 1e-12


def test_evaluation_against_object_masks_on_the_learned_classifier():
    """End to end on 6 fresh scenes: precisions are fractions, the random mask's is the pair's pixel share."""
    from harness.analyses.explain.evaluate import evaluate, render_scenes

    res = evaluate(load_card(GAP_CLASSIFIER), ("gradient", "2ndg"), n_images=6, first_seed=7_100_000, keep=0.2, n_boot=50)
    assert 0.0 <= res["accuracy"] <= 1.0 and set(res["variants"]) == {"gradient", "2ndg"}
    assert list(res["paired"]) == ["2ndg - gradient"]
    scenes = render_scenes(list(range(7_100_000, 7_100_006)), 64)
    assert (scenes.objects >= -1).all() and (scenes.objects < 4).all()
    for row in res["variants"].values():
        assert row["images"] == 6 and row["insecurities"] >= 6
        for key in ("insecurity", "difficulty", "random"):
            assert 0.0 <= row[key]["mean"] <= 1.0
        # the random mask's precision is the share of the image covered by the pair's objects: at most all objects
        assert row["random"]["mean"] <= float((scenes.objects >= 0).mean()) + 1e-9
