"""``harness sensitivity`` on the small test zoo with tiny probe sizes."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import harness.run.sensitivity as sens
from harness.cli.main import main
from harness.report.figures import sensitivity_figure
from tests.zoo_factory import build_test_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    return build_test_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="module")
def result(zoo, tmp_path_factory) -> tuple[dict, Path, int]:
    """Two built-in probe sets and a 5-image folder (too small for size 8), sizes 4 and 8."""
    root = tmp_path_factory.mktemp("sens")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(1)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(images / f"{i}.png")
    imports = []
    real = sens.import_card
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sens, "import_card", lambda card: (imports.append(card.id), real(card))[1])
        code = main(["sensitivity", "--zoo", str(zoo), "--probes", "synthetic-indoor", "synthetic-studio", str(images),
                     "--sizes", "8", "4", "--bootstrap", "20", "--out", str(root / "out")])
    assert code == 0
    return json.loads((root / "out" / "sensitivity.json").read_text()), root / "out", len(imports)


def test_outputs_and_reference(result):
    doc, out, n_imports = result
    assert n_imports == 6  # each model imported once, not once per configuration
    assert doc["reference"] == {"probe": "synthetic-indoor", "n_images": 8}
    configs = [(r["probe"], r["n_images"]) for r in doc["configurations"]]
    folder = doc["probes"][2]["name"]
    assert configs == [("synthetic-indoor", 4), ("synthetic-indoor", 8), ("synthetic-studio", 4), ("synthetic-studio", 8), (folder, 4)]
    assert doc["skipped"] == [f"{folder}: 8 images (only 5)"]
    for row in doc["configurations"]:
        assert set(row["estimators"]) == {"saliency", "gradxinput", "elrp", "depara", "depara_edge", "rsa", "cka", "dds"}
        for s in row["estimators"].values():
            assert -1 <= s["affinity_spearman"] <= 1 and -1 <= s["mean_ranking_kendall"] <= 1
            assert 0 <= s["p_at_5"] <= 1 and len(s["p_at_5_ci"]) == 2
            assert np.array(s["affinity"]).shape == (6, 6)
    reference = doc["configurations"][1]["estimators"]
    assert all(s["affinity_spearman"] == pytest.approx(1) and s["mean_ranking_kendall"] == 1 for s in reference.values())
    png = (out / "sensitivity.png").read_bytes()
    assert Image.open(io.BytesIO(png)).size[0] > 300
    md = (out / "sensitivity.md").read_text()
    assert "## `depara`" in md and "| synthetic-studio | 4 |" in md and "P@5" in md


def test_reference_matches_a_plain_run(result, zoo):
    """Subsets come from one probing pass; the full-size one must equal `harness run`'s affinities."""
    from harness.run.pipeline import RunConfig, execute

    doc, _, _ = result
    config = RunConfig(zoo=zoo, out=None, probe="synthetic-indoor", n_images=8, seed=0, methods=("saliency", "gradxinput", "elrp"),
                       estimators=("saliency", "rsa"), n_boot=10)
    report = execute(config).report
    for name in ("saliency", "rsa"):
        expected = np.array(report["estimators"][name]["affinity"])
        assert np.allclose(doc["configurations"][1]["estimators"][name]["affinity"], expected, atol=1e-8)


def test_without_ground_truth_renders(result):
    doc = copy.deepcopy(result[0])
    doc["ground_truth"] = None
    for row in doc["configurations"]:
        for s in row["estimators"].values():
            for key in ("p_at_1", "p_at_5", "p_at_5_ci", "spearman"):
                s.pop(key)
    assert "P@5" not in sens.render_markdown(doc)
    assert sensitivity_figure(doc["configurations"], doc["estimators"], [p["name"] for p in doc["probes"]], "ref").startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "1", "4"], "option --sizes: expected an integer >= 2"),
        (["--probes", "synthetic-indor"], "did you mean 'synthetic-indoor'"),
        (["--methods", "salency"], "did you mean 'saliency'"),
    ],
)
def test_bad_options(zoo, tmp_path, capsys, argv, message):
    code = main(["sensitivity", "--zoo", str(zoo), "--out", str(tmp_path), "--sizes", "4", *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "sensitivity.json").exists()


def test_default_probe_sets_are_the_zoos_then_the_other_built_ins(zoo, tmp_path):
    code = main(["sensitivity", "--zoo", str(zoo), "--sizes", "4", "--methods", "saliency", "--estimators", "saliency",
                 "--bootstrap", "10", "--out", str(tmp_path)])
    assert code == 0
    doc = json.loads((tmp_path / "sensitivity.json").read_text())
    assert [p["name"] for p in doc["probes"]] == ["synthetic-indoor", "synthetic-studio", "synthetic-layout"]
