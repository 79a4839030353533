"""``harness compare``: model matching, affinity/ranking changes, paired CIs, refusals, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.compare.thresholds import EXIT_THRESHOLD
from tests.report.test_html_report import parse
from tests.zoo_factory import TORCH_MODELS, build_test_zoo

RUN = ["--images", "12", "--bootstrap", "50"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[Path, Path]:
    """Version 1 = three of the models, version 2 = all six (same probe set and parameters)."""
    root = tmp_path_factory.mktemp("compare")
    zoo1 = build_test_zoo(root / "zoo1", models=TORCH_MODELS[:3], nhwc_model=False, version="1")
    zoo2 = build_test_zoo(root / "zoo2", version="2")
    for zoo, out in ((zoo1, root / "run1"), (zoo2, root / "run2")):
        assert main(["run", "--zoo", str(zoo), "--out", str(out), *RUN]) == 0
    return root / "run1" / "report.json", root / "run2" / "report.json"


def compare(a: Path, b: Path, out: Path, *extra: str) -> tuple[int, dict | None]:
    code = main(["compare", str(a), str(b), "--out", str(out), "--bootstrap", "200", *extra])
    result = out / "compare.json"
    return code, json.loads(result.read_text()) if result.exists() else None


def variant(report: Path, folder: Path, name: str, edit) -> Path:
    data = json.loads(report.read_text())
    edit(data)
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def test_added_models_and_shared_correlations(reports, tmp_path):
    a, b = reports
    code, result = compare(a, b, tmp_path)
    assert code == 0
    assert result["models"]["added"] == ["autoenc", "densenet", "tiny-nhwc"]
    assert result["models"]["unchanged"] == ["mobilenet", "resnet-a", "resnet-b"]
    assert result["models"]["removed"] == result["models"]["changed"] == []
    assert set(result["estimators"]) == {"saliency", "gradxinput", "elrp", "depara", "depara_edge", "rsa", "cka", "dds"}
    for e in result["estimators"].values():
        assert e["shared_models"] == ["mobilenet", "resnet-a", "resnet-b"]
        assert e["affinity"]["n_pairs"] == 6
        # same models on the same probe images: pairwise estimators give the same shared affinities
        assert e["affinity"]["pearson"] == pytest.approx(1) and e["affinity"]["spearman"] == pytest.approx(1)
        gt = e["ground_truth"]
        assert gt["basis"] == "recomputed on the 3 shared models" and gt["n_targets"] == 3
        for m in gt["metrics"].values():
            assert m["ci"] is None or m["ci"][0] <= m["delta"] <= m["ci"][1]
    page = parse((tmp_path / "compare.html").read_text())
    assert {"summary", "models", "estimators", "ground-truth", "targets"} <= set(page.ids)
    assert page.img_src and all(s.startswith("data:image/png;base64,") for s in page.img_src)
    assert "| saliency | 3 |" in (tmp_path / "compare.md").read_text()


def test_report_against_itself_is_unchanged(reports, tmp_path):
    _, b = reports
    code, result = compare(b, b, tmp_path)
    assert code == 0
    assert len(result["models"]["unchanged"]) == 6 and not any(result["models"][k] for k in ("added", "removed", "changed"))
    for e in result["estimators"].values():
        assert e["affinity"]["pearson"] == pytest.approx(1) and e["affinity"]["spearman"] == pytest.approx(1)
        assert e["mean_kendall"] == 1 and e["mean_top5_overlap"] == 1 and e["most_moved"] == []
        assert e["max_abs_affinity_change"] == 0
        assert e["ground_truth"]["basis"] == "reported per-target values"
        for m in e["ground_truth"]["metrics"].values():
            assert m["delta"] == 0 and m["ci"] == [0, 0] and not m["significant"]


def test_changed_card_and_moved_rankings(reports, tmp_path):
    _, b = reports

    def edit(d):
        d["zoo"]["cards"]["mobilenet"] = "0" * 64
        est = d["estimators"]["saliency"]
        i, j = est["models"].index("autoenc"), est["models"].index("resnet-a")
        est["affinity"][i][j] = 10.0  # autoenc becomes resnet-a's best source

    code, result = compare(b, variant(b, tmp_path, "b.json", edit), tmp_path / "out")
    assert code == 0 and result["models"]["changed"] == ["mobilenet"]
    sal = result["estimators"]["saliency"]
    assert sal["per_target"]["resnet-a"]["top_b"][0] == "autoenc"
    assert sal["most_moved"][0]["target"] == "resnet-a" and sal["most_moved"][0]["source"] == "autoenc"
    assert sal["per_target"]["resnet-a"]["kendall"] < 1 and sal["affinity"]["spearman"] < 1
    assert result["estimators"]["rsa"]["affinity"]["spearman"] == pytest.approx(1)


def test_refuses_different_probe_sets_and_parameters_unless_forced(reports, tmp_path, capsys):
    _, b = reports

    def edit(d):
        d["probe"]["n_images"], d["probe"]["sha256"] = 8, "f" * 64
        d["parameters"]["map_size"] = 16
        d["parameters"]["device_type"] = "cuda"  # where it ran does not matter

    other = variant(b, tmp_path, "other.json", edit)
    code, _ = compare(b, other, tmp_path / "out")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "not comparable" in err and "probe n_images 12 vs 8" in err and "probe sha256" in err
    assert "parameter map_size null vs 16" in err  # default map_size: null (native resolution) and "device_type" not in err and "--force" in err
    assert not (tmp_path / "out").exists()
    code, result = compare(b, other, tmp_path / "out", "--force")
    assert code == 0 and len(result["forced_differences"]) == 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.json", None, "not valid JSON"),
        ("text.json", "hello", "not valid JSON"),
        ("empty.json", "", "not valid JSON"),
        ("foreign.json", '{"name": "package", "version": "1.0"}', "not a harness report"),
        ("list.json", "[1, 2, 3]", "not a harness report"),
        ("future.json", '{"schema_version": 99}', "schema_version 99 is not supported"),
        ("partial.json", '{"schema_version": 1, "harness_version": "0.1.0"}', "missing key 'zoo'"),
        ("binary.json", b"\xff\xfe\x00junk", "not UTF-8"),
        ("missing.json", False, "cannot read report"),
    ],
)
def test_malformed_reports_are_one_line_errors(reports, tmp_path, capsys, name, content, message):
    _, b = reports
    path = tmp_path / name
    if content is None:
        path.write_text(b.read_text()[: len(b.read_text()) // 2])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not False:
        path.write_text(content)
    code, _ = compare(b, path, tmp_path / "out")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err and message in err


def test_bad_affinity_matrix_is_rejected(reports, tmp_path, capsys):
    _, b = reports
    bad = variant(b, tmp_path, "bad.json", lambda d: d["estimators"]["rsa"]["affinity"].pop())
    code, _ = compare(bad, b, tmp_path / "out")
    err = capsys.readouterr().err
    assert code == 2 and "estimators.rsa: affinity is not a 6 x 6 matrix" in err


def test_fail_on_thresholds(reports, tmp_path, capsys):
    _, b = reports

    def degrade(d):
        for pt in d["evaluation"]["rsa"]["per_target"].values():
            pt["p_at_5"] -= 0.2

    worse = variant(b, tmp_path, "worse.json", degrade)
    code, result = compare(b, worse, tmp_path / "o1", "--fail-on", "p_at_5_drop=0.1", "min_affinity_corr=0.8")
    out = capsys.readouterr().out
    assert code == EXIT_THRESHOLD == 4
    assert result["fail_on"]["failures"] == ["p_at_5_drop: rsa changed by -0.200 (allowed drop 0.1)"]
    assert "FAIL p_at_5_drop: rsa" in out and (tmp_path / "o1" / "compare.html").exists()
    code, _ = compare(b, worse, tmp_path / "o2", "--fail-on", "p_at_5_drop=0.3,min_ranking_kendall=0.9")
    assert code == 0
    code, _ = compare(b, b, tmp_path / "o3", "--fail-on", "min_affinity_corr=1.5")
    assert code == EXIT_THRESHOLD
    code, _ = compare(b, b, tmp_path / "o4", "--fail-on", "p_at5_drop=0.1")
    err = capsys.readouterr().err
    assert code == 1 and "did you mean 'p_at_5_drop'" in err and len(err.strip().splitlines()) == 1


def test_ground_truth_delta_with_noise_is_not_significant(reports, tmp_path):
    """Per-target changes of both signs: the paired CI straddles 0."""
    _, b = reports

    def jitter(d):
        for k, pt in enumerate(d["evaluation"]["saliency"]["per_target"].values()):
            pt["spearman"] += 0.1 if k % 2 else -0.1

    code, result = compare(b, variant(b, tmp_path, "j.json", jitter), tmp_path / "o")
    m = result["estimators"]["saliency"]["ground_truth"]["metrics"]["spearman"]
    assert code == 0 and m["delta"] == pytest.approx(0, abs=1e-9) and m["ci"][0] < 0 < m["ci"][1] and not m["significant"]


def test_restricted_rescoring_reproduces_the_reported_values(reports):
    """On a report's full model set, compare's re-scoring gives the report's own numbers."""
    from harness.compare.stats import restricted_per_target

    data = json.loads(reports[1].read_text())
    for name, ev in data["evaluation"].items():
        again = restricted_per_target(data, name, data["estimators"][name]["models"])
        assert set(again) == set(ev["per_target"])
        for target, values in again.items():
            for key, value in values.items():
                assert value == pytest.approx(ev["per_target"][target][key], abs=1e-9)


def _with_tied_truth(data: dict, models: list[str]) -> dict:
    """``data`` restricted to ``models``, its ground truth rounded to one decimal (many ties)
    and every estimator re-evaluated by ``harness.evaluation.evaluate``, as ``run`` would."""
    import numpy as np

    from harness.evaluation import GroundTruth, evaluate
    from harness.run.pipeline import ground_truth_matrix

    gt_models = data["ground_truth"]["models"]
    full = np.array(data["ground_truth"]["affinity"], dtype=np.float64)
    idx = [gt_models.index(m) for m in models]
    truth = GroundTruth(tuple(models), tuple(models), np.round(full[np.ix_(idx, idx)], 1))
    out = json.loads(json.dumps(data))
    out["models"] = [m for m in data["models"] if m["id"] in models]
    out["zoo"]["cards"] = {m: h for m, h in data["zoo"]["cards"].items() if m in models}
    for name, est in data["estimators"].items():
        pos = [est["models"].index(m) for m in models]
        matrix = np.array(est["affinity"], dtype=np.float64)[np.ix_(pos, pos)]
        out["estimators"][name] = {"models": models, "affinity": matrix.tolist()}
        out["rankings"][name] = {t: [s for s in data["rankings"][name][t] if s in models] for t in models}
        out["evaluation"][name] = json.loads(json.dumps(evaluate(matrix, models, truth, n_boot=20)))
    gt = ground_truth_matrix(truth, models)
    out["ground_truth"].update(gt, affinity=gt["affinity"].tolist())
    return out


def test_rescoring_shares_run_s_evaluation_with_tied_ground_truth(reports, tmp_path):
    """compare re-scores on shared models with the same code as run: ties in the truth stay ties.

    A = the report on 5 of its models, B = all 6; both evaluated against a ground truth with
    ties. On the 5 shared models A's re-scored values must be exactly A's reported ones
    (the estimates are the same), and the deltas exactly 0 where B's estimates agree.
    """
    data = json.loads(reports[1].read_text())
    ids = [m["id"] for m in data["models"]]
    b = _with_tied_truth(data, ids)
    a = _with_tied_truth(data, ids[:-1])
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    code, result = compare(pa, pb, tmp_path / "o")
    assert code == 0
    for name, e in result["estimators"].items():
        gt = e["ground_truth"]
        assert gt["basis"].startswith("recomputed")
        for key in ("p_at_1", "p_at_5", "spearman"):
            reported = [a["evaluation"][name]["per_target"][t][key] for t in gt["targets"]]
            reported = [v for v in reported if v is not None]
            assert gt["metrics"][key]["a"] == pytest.approx(sum(reported) / len(reported), abs=1e-9), (name, key)
            assert gt["metrics"][key]["delta"] == pytest.approx(0, abs=1e-12), (name, key)


def test_old_reports_with_prose_parameters_stay_comparable(reports, tmp_path, capsys):
    """Reports from before structured parameters held sentences; rewording one is not a difference."""
    _, b = reports

    def old(d):
        d["parameters"]["map_resampling"] = "channel mean, then area (shrink) / bilinear (enlarge) to map_size x map_size"
        d["parameters"]["features"] = "probe-layer output flattened; 4-D maps wider than max_feature_units are spatially average-pooled"

    code, result = compare(variant(b, tmp_path, "old.json", old), b, tmp_path / "o")
    assert code == 0 and result["forced_differences"] == []
    assert result["prose_parameters_ignored"] == ["features", "map_resampling"]
    assert "hold prose in an older report" in capsys.readouterr().out

    def changed(d):  # a structured parameter still decides
        d["parameters"]["map_resampling"] = "nearest"

    assert compare(variant(b, tmp_path, "new.json", changed), b, tmp_path / "o2")[0] == 2
