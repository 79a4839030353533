"""DEPARA layer selection: candidates, the score's parts, evaluation against measured transfer, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.cli.main import main
from harness.model.importer import import_card
from harness.analyses.select_layer.candidates import candidate_layers
from harness.analyses.select_layer.evaluate import evaluate_layers, load_layer_truth
from harness.analyses.select_layer.score import LayerScore, node_similarity, score_layers
from harness.probes import load_probe
from harness.probes.base import ProbeRequest
from harness.common.errors import ValidationError
from harness.model.zoo import load_zoo
from tests.zoo_factory import TORCH_MODELS, build_test_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    return build_test_zoo(tmp_path_factory.mktemp("zoo"), models=TORCH_MODELS[:2], nhwc_model=False)


def _model(zoo: Path, model_id: str):
    return import_card(load_zoo(zoo).card(model_id))


def test_auto_candidates_are_4d_block_outputs_ending_at_the_probe_layer(zoo):
    model = _model(zoo, "resnet-a")
    layers = candidate_layers(model, None)
    assert len(layers) >= 2
    assert layers[-1].tensor == model.probe.tensor
    assert all(len(layer.shape) == 4 for layer in layers[:-1])
    order = [layer.tensor for layer in model.layers.layers]
    assert [order.index(layer.tensor) for layer in layers] == sorted(order.index(layer.tensor) for layer in layers)


def test_a_model_scored_against_itself_puts_its_own_probe_layer_first(zoo):
    model = _model(zoo, "resnet-a")
    probe = load_probe("synthetic-indoor", ProbeRequest(n_images=12, size=32))
    layers = candidate_layers(model, None)
    scores = score_layers(model, model, layers, probe, depara_lambda=0.25, map_size=16, batch_size=8, device=torch.device("cpu"))
    own = scores[-1]
    assert own.layer == model.probe.tensor
    assert own.node == pytest.approx(1.0, abs=1e-6) and own.edge == pytest.approx(1.0, abs=1e-9)
    assert max(scores, key=lambda s: s.score) is own


def test_node_similarity_is_mean_cosine_with_zero_maps_as_zero():
    a = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    b = np.array([[2.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    assert node_similarity(a, b) == pytest.approx((1.0 + 0.0 - 1.0) / 3)


def _scores(values):
    return [LayerScore(f"l{i}", "Relu", (1,), v, v, 0.0) for i, v in enumerate(values)]


def test_evaluation_p_at_1_spearman_ceiling_and_last_layer_baseline():
    truth = {"l0": {"1": 0.5, "2": 0.6}, "l1": {"1": 0.2, "2": 0.3}, "l2": {"1": 0.4, "2": 0.35}}
    ev = evaluate_layers(_scores([0.1, 0.9, 0.5]), truth)
    assert ev["best_layer"] == "l1" and ev["chosen_layer"] == "l1" and ev["p_at_1"] == 1.0
    assert ev["spearman"] == pytest.approx(1.0)
    assert ev["last_layer_p_at_1"] == 0.0
    assert ev["ceiling_spearman"] == pytest.approx(1.0)
    worse = evaluate_layers(_scores([0.9, 0.1, 0.5]), truth)
    assert worse["p_at_1"] == 0.0 and worse["spearman"] == pytest.approx(-1.0)


def test_layer_truth_reader_rejects_bad_rows(tmp_path):
    path = tmp_path / "layers.csv"
    path.write_text("source,target,budget,layer,seed,test_loss\na,b,10,l0,1,nan\n")
    with pytest.raises(ValidationError, match="layers.csv:2"):
        load_layer_truth(path)
    path.write_text("source,target,layer\n")
    with pytest.raises(ValidationError, match="missing column"):
        load_layer_truth(path)


def test_select_layer_command_writes_json_and_page_and_evaluates(zoo, tmp_path, capsys):
    model = _model(zoo, "resnet-a")
    layers = [layer.tensor for layer in candidate_layers(model, None)]
    truth = tmp_path / "layers.csv"
    rows = ["source,target,budget,layer,seed,test_loss"]
    rows += [f"resnet-a,resnet-b,10,{name},{seed},{1.0 / (i + 1) + 0.01 * seed}" for i, name in enumerate(layers) for seed in (1, 2)]
    truth.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    code = main(["select-layer", "--zoo", str(zoo), "--source", "resnet-a", "--target", "resnet-b", "--images", "8",
                 "--layer-truth", str(truth), "--out", str(out)])
    assert code == 0
    doc = json.loads((out / "select-layer.json").read_text())
    assert [row["layer"] for row in doc["layers"]] == layers
    assert sorted(row["rank"] for row in doc["layers"]) == list(range(1, len(layers) + 1))
    assert doc["chosen"] == next(row["layer"] for row in doc["layers"] if row["rank"] == 1)
    for row in doc["layers"]:
        assert row["score"] == pytest.approx(row["node"] + 0.25 * row["edge"])
    ev = doc["evaluation"]["10"]
    assert ev["best_layer"] == layers[-1] and ev["last_layer_p_at_1"] == 1.0
    html = (out / "select-layer.html").read_text()
    assert "data:image/png;base64," in html and doc["chosen"] in html


def test_unknown_model_gets_one_line_with_suggestions(zoo, tmp_path, capsys):
    code = main(["select-layer", "--zoo", str(zoo), "--source", "resnet-x", "--target", "resnet-b", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "resnet-x" in err and "did you mean" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_run_report_has_a_layer_selection_section(zoo, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--zoo", str(zoo), "--images", "8", "--bootstrap", "10", "--select-layer", "resnet-a:resnet-b",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    (section,) = report["layer_selection"]
    assert section["source"] == "resnet-a" and section["target"] == "resnet-b" and section["layers"]
    assert "Layer selection `resnet-a` -> `resnet-b`" in (out / "report.md").read_text()


def test_run_refuses_an_unknown_select_layer_pair_before_probing(zoo, tmp_path, capsys):
    assert main(["run", "--zoo", str(zoo), "--select-layer", "resnet-a:nope", "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip()
    assert "nope" in err and len(err.splitlines()) == 1


def test_run_html_has_the_optional_sections_only_when_asked(zoo, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--zoo", str(zoo), "--images", "8", "--bootstrap", "10", "--select-layer", "resnet-a:resnet-b",
                 "--labels", "class_scene", "--labelled-estimators", "logme", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert 'id="layer-selection"' in page and 'href="#layer-selection"' in page
    assert 'id="labelled-target"' in page and "logme" in page
    plain = tmp_path / "plain"
    assert main(["run", "--zoo", str(zoo), "--images", "8", "--bootstrap", "10", "--out", str(plain)]) == 0
    assert 'id="layer-selection"' not in (plain / "report.html").read_text()
