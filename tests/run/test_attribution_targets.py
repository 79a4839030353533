"""``harness run --targets``: every map-based estimator under every target, side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.zoo_factory import TORCH_MODELS, build_test_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    return build_test_zoo(tmp_path_factory.mktemp("zoo"), models=TORCH_MODELS[:3])


def test_estimators_are_computed_under_each_target(zoo, tmp_path):
    code = main(["run", "--zoo", str(zoo), "--images", "6", "--out", str(tmp_path), "--bootstrap", "20",
                 "--methods", "saliency", "gradxinput", "--targets", "sum", "energy"])
    assert code == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert list(data["estimators"]) == ["saliency", "saliency@energy", "gradxinput", "gradxinput@energy",
                                        "depara", "depara@energy", "depara_edge", "rsa", "cka", "dds"]
    assert set(data["evaluation"]) == set(data["estimators"])
    assert set(data["attribution_targets"]) == {"sum", "energy"}
    info = data["estimator_info"]
    assert info["gradxinput@energy"] == {**info["gradxinput@energy"], "estimator": "gradxinput", "target": "energy",
                                         "reads_maps": ["gradxinput@energy"]}
    assert info["rsa"]["target"] is None and info["depara"]["reads_maps"] == ["gradxinput"]
    assert "targets" not in data["parameters"]  # default-target reports stay comparable with older ones
    plain, energy = data["estimators"]["gradxinput"]["affinity"], data["estimators"]["gradxinput@energy"]["affinity"]
    assert plain != energy
    assert all(m["probe_layout"] in ("NCHW", "NHWC", None) for m in data["models"])
    assert {m["id"]: m["probe_layout"] for m in data["models"]}["tiny-nhwc"] == "NCHW"  # Conv output after the Transpose


@pytest.mark.parametrize(("argv", "message"), [
    (["--targets", "enrgy"], "did you mean 'energy'"),
    (["--estimators", "rsa@energy", "--targets", "energy"], "reads probe-layer features only"),
    (["--estimators", "gradxinput@energy"], "needs attribution target 'energy': add it to --targets"),
    (["--estimators", "gradxinput@nope"], "unknown attribution target 'nope'"),
])
def test_bad_target_options(zoo, tmp_path, capsys, argv, message):
    code = main(["run", "--zoo", str(zoo), "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err
