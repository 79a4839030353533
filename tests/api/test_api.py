"""harness.api: the typed result against report.json, the CLI and the API on one code path, zoos and cards, errors."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import harness.api as th
from harness.cli.main import main
from harness.compare.load import NotComparable
from harness.model.card import load_card
from harness.model.importer import import_card
from harness.report.document import VOLATILE_KEYS
from harness.run import pipeline
from tests.zoo_factory import build_test_zoo

SMALL = dict(images=8, methods=["saliency"], estimators=["saliency", "rsa"], bootstrap=20)
CLI_SMALL = ["--images", "8", "--methods", "saliency", "--estimators", "saliency", "rsa", "--bootstrap", "20"]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> th.Zoo:
    return th.load_zoo(build_test_zoo(tmp_path_factory.mktemp("zoo")))


@pytest.fixture(scope="module")
def written(zoo, tmp_path_factory) -> tuple[th.Result, Path]:
    out = tmp_path_factory.mktemp("api-run")
    return th.run(zoo, out=out, **SMALL), out


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_result_matches_report_json(written):
    result, out = written
    on_disk = json.loads((out / "report.json").read_text())
    assert result.report == on_disk
    assert [p.name for p in result.paths] == ["report.md", "report.html", "report.json"]
    assert all(p.parent == out and p.is_file() for p in result.paths)
    assert set(result.affinities) == set(on_disk["estimators"]) == {"saliency", "rsa"}
    for name, affinity in result.affinities.items():
        est = on_disk["estimators"][name]
        assert affinity.name == name and list(affinity.model_ids) == est["models"] == result.model_ids
        expected = np.array([[np.nan if v is None else v for v in row] for row in est["affinity"]], dtype=float)
        np.testing.assert_array_equal(affinity.matrix, expected)
        assert not affinity.matrix.flags.writeable
        for target in affinity.model_ids:
            assert result.ranking(name, target) == on_disk["rankings"][name][target]
    names = [r.name for r in result.evaluation]
    assert names == [*on_disk["evaluation"], *on_disk["static_baselines"]]
    for row in result.evaluation:
        e = (on_disk["evaluation"] if row.kind == "estimator" else on_disk["static_baselines"])[row.name]
        assert (row.spearman, row.p_at_1, row.p_at_5, row.weighted_tau, row.rel_at_1) == (
            e["spearman"], e["p_at_1"], e["p_at_5"], e["weighted_tau"], e["rel_at_1"])
        assert row.spearman_ci == tuple(e["spearman_ci"])
        vs = e.get("vs_static")
        assert (row.vs_static_spearman, row.beats_static) == ((vs["spearman_diff"], vs["beats"]) if vs else (None, None))
    assert "saliency" in result.table() and "static:" in result.table()


def test_ranking_puts_the_best_scored_source_first(written):
    result, _ = written
    rsa = result.affinities["rsa"]
    target = rsa.model_ids[0]
    ranked = result.ranking("rsa", target)
    column = {s: rsa.matrix[rsa.model_ids.index(s), 0] for s in ranked}
    assert target not in ranked and column[ranked[0]] == max(column.values())


def test_load_report_gives_the_same_result(written):
    result, out = written
    loaded = th.load_report(out)
    assert loaded.report == result.report and loaded.evaluation == result.evaluation
    assert loaded.paths == (out / "report.json",)
    for name in result.affinities:
        np.testing.assert_array_equal(loaded.affinities[name].matrix, result.affinities[name].matrix)


def test_without_out_nothing_is_written(zoo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = th.run(zoo, **SMALL)
    assert result.paths == () and list(tmp_path.iterdir()) == []
    assert set(result.affinities) == {"saliency", "rsa"} and result.evaluation


def test_cli_and_api_share_one_code_path_and_one_report(zoo, written, tmp_path, monkeypatch):
    calls = []
    original = pipeline.run_config

    def spy(config, console, **kwargs):
        calls.append(config)
        return original(config, console, **kwargs)

    monkeypatch.setattr(pipeline, "run_config", spy)
    assert main(["run", "--zoo", str(zoo.root), *CLI_SMALL, "--out", str(tmp_path / "cli")]) == 0
    api = th.run(zoo, out=tmp_path / "api", **SMALL)
    assert len(calls) == 2
    cli_config, api_config = calls  # the same RunConfig but for the command line and the output folder
    assert replace(cli_config, argv=None, out=None) == replace(api_config, argv=None, out=None)
    strip = lambda d: {k: v for k, v in d.items() if k not in VOLATILE_KEYS}  # noqa: E731
    cli_report = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert strip(cli_report) == strip(api.report)


def test_options_go_by_their_cli_names(zoo):
    args = th.running.run_namespace(zoo, {"batch_size": 4, "methods": "saliency", "cache": "somewhere"})
    assert (args.batch_size, args.methods, args.cache, args.zoo) == (4, ["saliency"], Path("somewhere"), zoo.root)
    with pytest.raises(th.HarnessError) as exc:
        th.run(zoo, imagez=8)
    assert "did you mean 'images'" in one_line(exc)


def test_add_torch_writes_an_importable_card_and_a_new_zoo(zoo, tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    bigger = th.add_torch(zoo, net, torch.rand(1, 3, 32, 32), id="tiny-torch", task="classification", out_dir=tmp_path,
                          architecture="two convs")
    card = load_card(tmp_path / "tiny-torch.yaml")
    assert (card.id, card.framework, card.input.size, card.input.layout, card.architecture) == (
        "tiny-torch", "pytorch", (32, 32), "NCHW", "two convs")
    assert card.sha256 and card.onnx == (tmp_path / "tiny-torch.onnx").resolve()
    model = import_card(card)  # with the parity check against onnxruntime
    assert model.probe.tensor
    assert [c.id for c in bigger.cards] == [*(c.id for c in zoo.cards), "tiny-torch"]
    assert bigger.version == f"{zoo.version}+tiny-torch" and bigger.ground_truth is not None
    assert len(zoo.cards) == 6  # the zoo it was given is unchanged
    # cards keep their bytes in the assembled zoo, so reports and the cache see the same models
    assert {c.id: c.content_hash() for c in zoo.cards} == {c.id: c.content_hash() for c in bigger.cards if c.id != "tiny-torch"}

    with pytest.raises(th.HarnessError) as exc:
        th.add_torch(bigger, net, torch.rand(1, 3, 32, 32), id="tiny-torch", task="classification", out_dir=tmp_path / "again")
    assert "already in zoo" in one_line(exc)


class ChannelsLast(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x.permute(0, 3, 1, 2)))


def test_add_torch_nhwc_input(zoo, tmp_path):
    bigger = th.add_torch(zoo, ChannelsLast(), torch.rand(1, 24, 20, 3), id="nhwc-torch", task="edges", input_layout="NHWC",
                          out_dir=tmp_path)
    card = bigger.card("nhwc-torch")
    assert (card.input.layout, card.input.size) == ("NHWC", (24, 20))
    import_card(card)


def test_add_keras_without_tensorflow_is_one_line(zoo, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow -> ImportError
    with pytest.raises(th.HarnessError) as exc:
        th.add_keras(zoo, object(), id="k", task="t", out_dir=tmp_path)
    assert "tensorflow" in one_line(exc) and "pip install" in str(exc.value)


def test_zoo_from_cards(zoo, tmp_path):
    picked = [c.path for c in zoo.cards[:3]]
    small = th.zoo_from_cards(picked, name="three", ground_truth=zoo.ground_truth, folder=tmp_path / "z")
    assert (small.name, small.version, small.root) == ("three", "1", (tmp_path / "z").resolve())
    assert [c.id for c in small.cards] == [c.id for c in zoo.cards[:3]]
    assert small.ground_truth.read_bytes() == zoo.ground_truth.read_bytes()
    with pytest.raises(th.HarnessError) as exc:
        th.zoo_from_cards([picked[0], picked[0]], folder=tmp_path / "dupe")
    assert "already used" in one_line(exc)
    with pytest.raises(th.HarnessError) as exc:
        th.zoo_from_cards([tmp_path / "missing.yaml"])
    one_line(exc)


def test_evaluate_in_memory_matrices():
    ids = ["a", "b", "c", "d", "e"]
    rng = np.random.default_rng(3)
    truth = rng.uniform(size=(5, 5))
    result = th.evaluate({"perfect": (ids, truth), "reversed": (ids, -truth)}, (ids, truth), bootstrap=20)
    perfect, reversed_ = result.row("perfect"), result.row("reversed")
    assert perfect.spearman == pytest.approx(1.0) and perfect.p_at_1 == 1.0
    assert reversed_.spearman == pytest.approx(-1.0)
    assert result.affinities["perfect"].model_ids == tuple(ids)
    np.testing.assert_allclose(result.affinities["perfect"].matrix, truth, rtol=1e-9)
    assert result.paths == ()


def test_evaluate_writes_when_asked(written, zoo, tmp_path):
    result, _ = written
    scored = th.evaluate({"rsa": result.affinities["rsa"]}, zoo, bootstrap=20, out=tmp_path)
    assert [p.name for p in scored.paths] == ["report.md", "report.html", "report.json"]
    assert json.loads((tmp_path / "report.json").read_text())["kind"] == "evaluation"
    assert scored.row("rsa").spearman == pytest.approx(result.row("rsa").spearman)


@pytest.mark.parametrize("estimates, needle", [
    ({"x": (["a", "b"], np.zeros((2, 3)))}, "square"),
    ({"x": (["a", "a"], np.zeros((2, 2)))}, "twice"),
    ({"x": (["a", "b"], np.array([[0, np.nan], [1, 0]]))}, "not finite"),
    ({"x": "not a matrix"}, "expected (ids, matrix)"),
    ({}, "no estimates"),
])
def test_evaluate_errors_are_one_line(estimates, needle):
    with pytest.raises(th.HarnessError) as exc:
        th.evaluate(estimates, (["a", "b"], np.eye(2)), bootstrap=20)
    assert needle in one_line(exc)


def test_compare(written, tmp_path):
    result, out = written
    same = th.compare(result, out, bootstrap=20, out=tmp_path / "cmp")
    assert same["models"]["added"] == [] and len(same["models"]["unchanged"]) == 6
    assert same["fail_on"]["failures"] == [] and (tmp_path / "cmp" / "compare.json").is_file()
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["models"] == same["models"]


def test_compare_refuses_reports_of_other_probe_sets(written, zoo):
    result, _ = written
    other = th.run(zoo, **{**SMALL, "images": 6})
    with pytest.raises(NotComparable) as exc:
        th.compare(result, other, bootstrap=20)
    assert "force=True" in one_line(exc)
    assert th.compare(result, other, bootstrap=20, force=True)["forced_differences"]


@pytest.mark.parametrize("call, needle", [
    (lambda z: th.run(z, images=1, methods=["saliency"], estimators=["rsa"], bootstrap=20), "--images"),
    (lambda z: th.run(z, **{**SMALL, "estimators": ["salincy"]}), "did you mean 'saliency'"),
    (lambda z: th.run(z, **{**SMALL, "ground_truth": "nope.csv"}), "nope.csv"),
    (lambda z: th.load_zoo(z.root / "nowhere"), "not a zoo"),
    (lambda z: th.load_report(z.root / "zoo.yaml"), "not"),
])
def test_errors_are_one_line(zoo, call, needle):
    with pytest.raises(th.HarnessError) as exc:
        call(zoo)
    assert needle in one_line(exc)


def test_unknown_names_in_a_result(written):
    result, _ = written
    for call in (lambda: result.ranking("rsaa", "x"), lambda: result.ranking("rsa", "nobody"), lambda: result.row("nothing")):
        with pytest.raises(th.HarnessError) as exc:
            call()
        assert "valid names" in one_line(exc)


def test_add_torch_refuses_a_bad_example_before_writing(zoo, tmp_path):
    for example, layout, needle in ((torch.rand(3, 32, 32), "NCHW", "4-D"), (torch.rand(1, 3, 8, 8), "CHWN", "input_layout")):
        with pytest.raises(th.HarnessError) as exc:
            th.add_torch(zoo, nn.Identity(), example, id="bad", task="t", input_layout=layout, out_dir=tmp_path / "bad")
        assert needle in one_line(exc)
    assert not (tmp_path / "bad").exists()
