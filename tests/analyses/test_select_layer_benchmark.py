"""``harness select-layer --benchmark``: the pure aggregation, the ceiling, the verdict, the command on zoo 1.0, its errors."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from harness.analyses.select_layer.benchmark import (
    BENCHMARK_FILE, CASE_METRICS, DEFINITIONS, aggregate, benchmark_cases, case_entry, last_uses, paired_difference,
    score_pairs, summarize, verdict,
)
from harness.analyses.select_layer.command import zoo_layer_truth
from harness.analyses.select_layer.evaluate import evaluate_layers, seed_agreement
from harness.analyses.select_layer.score import LayerScore
from harness.cli.main import main
from harness.common.console import progress_bar
from harness.evaluation.bootstrap import bootstrap_indices
from harness.model.zoo import default_zoo_dir, load_zoo

ROOT = Path(__file__).resolve().parents[2]
ZOO_1_0 = ROOT / "zoo" / "zoo-1.0.yaml"
LAYERS_1_0 = ROOT / "zoo" / "ground_truth" / "layers.csv"
SUMMARY_KEYS = ("p_at_1", "spearman", "baseline_deepest_p_at_1", "baseline_deepest_spearman", "ceiling", "ceiling_spearman",
                "p_at_1_minus_baseline")


def _case(p_at_1, baseline, ceiling=1.0, spearman=0.5, layers=4):
    """An evaluate_layers-like dict (only what the benchmark reads)."""
    if layers < 2:
        return {"layers": layers, "missing": []}
    return {"layers": layers, "missing": [], "best_layer": "b", "chosen_layer": "b" if p_at_1 else "c", "p_at_1": p_at_1,
            "spearman": spearman, "last_layer_p_at_1": baseline, "last_layer_spearman": 0.0, "ceiling_p_at_1": ceiling,
            "ceiling_spearman": 0.8, "node_spearman": None, "edge_spearman": 0.1}


def _cases(evaluations):
    return [case_entry("s", f"t{i}", 24, ev) for i, ev in enumerate(evaluations)]


# ---- ceiling: P@1 between seeds


def test_seed_agreement_is_one_when_both_seeds_pick_the_same_best_layer():
    per_layer = {"a": {"1": 0.1, "2": 0.2}, "b": {"1": 0.3, "2": 0.4}}
    assert seed_agreement(per_layer, ["a", "b"]) == 1.0


def test_seed_agreement_is_zero_when_the_seeds_disagree():
    per_layer = {"a": {"1": 0.1, "2": 0.5}, "b": {"1": 0.3, "2": 0.4}}
    assert seed_agreement(per_layer, ["a", "b"]) == 0.0


def test_seed_agreement_with_three_seeds_is_the_mean_over_seed_pairs():
    # best by seed: 1 -> a, 2 -> a, 3 -> b: pairs (1,2) agree, (1,3) and (2,3) do not
    per_layer = {"a": {"1": 0.1, "2": 0.1, "3": 0.9}, "b": {"1": 0.3, "2": 0.4, "3": 0.2}}
    assert seed_agreement(per_layer, ["a", "b"]) == pytest.approx(1 / 3)


def test_seed_agreement_needs_two_seeds_measured_on_every_layer():
    assert seed_agreement({"a": {"1": 0.1, "2": 0.2}, "b": {"1": 0.3}}, ["a", "b"]) is None
    assert seed_agreement({"a": {"1": 0.1, "2": 0.2}}, ["a"]) is None


def test_evaluate_layers_reports_the_ceiling_p_at_1():
    scores = [LayerScore(name, "Relu", (1,), v, v, 0.0) for name, v in (("a", 0.1), ("b", 0.9))]
    ev = evaluate_layers(scores, {"a": {"1": 0.1, "2": 0.5}, "b": {"1": 0.3, "2": 0.4}})
    assert ev["ceiling_p_at_1"] == 0.0


# ---- summaries


def test_summarize_mean_n_and_a_ci_around_the_mean():
    idx = bootstrap_indices(5, 2000, 0)
    s = summarize([1.0, 0.0, 1.0, math.nan, 1.0], idx)
    assert s["n"] == 4 and s["mean"] == pytest.approx(0.75)
    lo, hi = s["ci"]
    assert 0.0 <= lo <= s["mean"] <= hi <= 1.0 and lo < hi


def test_summarize_without_defined_values_is_null():
    assert summarize([math.nan, math.nan], bootstrap_indices(2, 100, 0)) == {"mean": None, "ci": None, "n": 0}


def test_paired_difference_uses_only_cases_where_both_are_defined():
    idx = bootstrap_indices(4, 2000, 1)
    d = paired_difference([1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, math.nan], idx)
    assert d["n"] == 3 and d["mean"] == pytest.approx(1 / 3)
    assert d["ci"][0] <= d["mean"] <= d["ci"][1]


def test_aggregate_means_counts_and_paired_difference_over_cases():
    cases = _cases([_case(1.0, 0.0, ceiling=1.0, spearman=0.4), _case(1.0, 1.0, ceiling=0.0, spearman=None),
                    _case(0.0, 0.0, ceiling=1.0, spearman=-0.2), _case(None, None, layers=1)])
    summary = aggregate(cases, resamples=500, seed=3)
    assert set(summary) == {*CASE_METRICS, "p_at_1_minus_baseline"}
    assert summary["p_at_1"]["n"] == 3 and summary["p_at_1"]["mean"] == pytest.approx(2 / 3)
    assert summary["baseline_deepest_p_at_1"]["mean"] == pytest.approx(1 / 3)
    assert summary["spearman"]["n"] == 2 and summary["spearman"]["mean"] == pytest.approx(0.1)
    assert summary["ceiling"]["mean"] == pytest.approx(2 / 3)
    assert summary["node_spearman"] == {"mean": None, "ci": None, "n": 0}
    diff = summary["p_at_1_minus_baseline"]
    assert diff["n"] == 3 and diff["mean"] == pytest.approx(1 / 3)
    for key, s in summary.items():
        if s["n"]:
            assert s["ci"][0] <= s["mean"] <= s["ci"][1], key


def test_aggregate_is_seeded():
    cases = _cases([_case(float(i % 2), float(i % 3 == 0)) for i in range(9)])
    assert aggregate(cases, 200, 7) == aggregate(cases, 200, 7)


def test_cases_follow_pairs_then_budgets_in_numeric_order():
    bodies = [{"source": "s", "target": "t", "evaluation": {"240": _case(1.0, 0.0), "24": _case(0.0, 0.0)}}]
    cases = benchmark_cases(bodies)
    assert [c["budget"] for c in cases] == [24, 240]
    assert cases[1]["p_at_1"] == 1.0 and cases[1]["baseline_deepest_p_at_1"] == 0.0 and cases[1]["chosen_layer"] == "b"


# ---- verdict


def test_verdict_when_depara_beats_the_baseline_on_a_reproducible_truth():
    summary = aggregate(_cases([_case(1.0, 0.0, ceiling=1.0)] * 10), 500, 0)
    text = verdict(summary)
    assert "beats the deepest-layer baseline" in text and "not shown" not in text
    assert "reproducible enough" in text and "cannot separate" not in text


def test_verdict_when_not_shown_and_the_truth_cannot_separate_them():
    summary = aggregate(_cases([_case(1.0, 1.0, ceiling=0.0), _case(0.0, 0.0, ceiling=1.0), _case(1.0, 0.0, ceiling=0.0),
                                _case(0.0, 1.0, ceiling=0.0)]), 500, 0)
    text = verdict(summary)
    assert "is not shown to beat the deepest-layer baseline" in text
    assert "cannot separate them" in text and "25%" in text


def test_verdict_without_cases():
    assert "nothing can be judged" in verdict(aggregate(_cases([_case(None, None, layers=1)]), 100, 0))


# ---- models are imported once


def test_score_pairs_imports_each_model_once_and_drops_it_after_its_last_pair():
    pairs = [("a", "b"), ("b", "c"), ("d", "b"), ("d", "c")]
    assert last_uses(pairs) == {"a": 0, "b": 2, "c": 3, "d": 3}
    imported, alive = [], defaultdict(int)

    class Model:
        def __init__(self, model_id):
            self.id = model_id
            alive[model_id] += 1

        def __del__(self):
            alive[self.id] -= 1

    def score(source, target, progress):
        return {"source": source.id, "target": target.id, "alive": sorted(m for m, count in alive.items() if count)}

    def load(model_id):
        imported.append(model_id)
        return Model(model_id)

    with progress_bar(Console(file=io.StringIO())) as progress:
        bodies = score_pairs(pairs, load, score, progress)
    assert sorted(imported) == ["a", "b", "c", "d"]
    assert [(b["source"], b["target"]) for b in bodies] == pairs
    assert [b["alive"] for b in bodies] == [["a", "b"], ["b", "c"], ["b", "c", "d"], ["c", "d"]]


# ---- the command


def _truth_cases(path: Path) -> int:
    layers = defaultdict(set)
    with path.open() as handle:
        for row in csv.DictReader(handle):
            layers[(row["source"], row["target"], row["budget"])].add(row["layer"])
    return sum(len(v) >= 2 for v in layers.values())


def test_benchmark_on_zoo_1_0_writes_every_key(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["select-layer", "--benchmark", "--zoo", str(ZOO_1_0), "--images", "8", "--bootstrap", "50", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    doc = json.loads((out / BENCHMARK_FILE).read_text())
    expected = _truth_cases(LAYERS_1_0)
    assert expected > 0 and len(doc["cases"]) >= expected
    for key in SUMMARY_KEYS:
        assert set(doc[key]) == {"mean", "ci", "n"}, key
        assert doc[key]["mean"] is None or doc[key]["ci"][0] <= doc[key]["mean"] <= doc[key]["ci"][1], key
    assert doc["p_at_1"]["n"] == doc["baseline_deepest_p_at_1"]["n"] == doc["ceiling"]["n"] == expected
    assert doc["p_at_1_minus_baseline"]["n"] == expected
    for key in ("cases", "pairs", "zoo", "probe", "layer_truth", "parameters", "verdict", "definitions"):
        assert key in doc, key
    assert set(SUMMARY_KEYS) <= set(doc["definitions"]) and set(doc["definitions"]) <= set(DEFINITIONS)
    assert doc["zoo"] == {"name": "mini-taskonomy", "version": "1.0.0"}
    assert doc["probe"]["n_images"] == 8 and len(doc["probe"]["sha256"]) == 64
    assert Path(doc["layer_truth"]).resolve() == LAYERS_1_0
    assert doc["parameters"]["bootstrap"] == 50
    case = doc["cases"][0]
    for key in ("source", "target", "budget", "chosen_layer", "best_layer", "p_at_1", "spearman", "baseline_deepest_p_at_1",
                "ceiling", "ceiling_spearman"):
        assert key in case, key
    assert case["p_at_1"] == float(case["chosen_layer"] == case["best_layer"])
    assert len(doc["pairs"]) == len({(c["source"], c["target"]) for c in doc["cases"]})
    assert np.isclose(doc["p_at_1"]["mean"], np.mean([c["p_at_1"] for c in doc["cases"] if c["p_at_1"] is not None]))
    assert doc["verdict"] in " ".join(printed.split())
    assert BENCHMARK_FILE in printed


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_benchmark_with_source_is_a_one_line_error(tmp_path, capsys):
    code = main(["select-layer", "--benchmark", "--source", "rgb2depth", "--zoo", str(ZOO_1_0), "--out", str(tmp_path / "o")])
    err = _one_line_error(capsys)
    assert code == 1 and "--benchmark" in err and "--source" in err
    assert not (tmp_path / "o").exists()


def test_source_and_target_stay_required_without_benchmark(tmp_path, capsys):
    code = main(["select-layer", "--zoo", str(ZOO_1_0), "--source", "rgb2depth", "--out", str(tmp_path / "o")])
    err = _one_line_error(capsys)
    assert code == 1 and "--target" in err and "--benchmark" in err


def test_benchmark_on_a_zoo_without_layer_truth_says_what_to_pass(tmp_path, capsys):
    zoo = load_zoo(default_zoo_dir() / "zoo-2.0.yaml")
    assert zoo_layer_truth(zoo) is None  # zoo 2.0 has no layer-selection ground truth
    code = main(["select-layer", "--benchmark", "--zoo", str(zoo.file), "--out", str(tmp_path / "o")])
    err = _one_line_error(capsys)
    assert code == 1 and zoo.name in err and zoo.version in err
    assert "--layer-truth" in err and "zoo-1.0.yaml" in err
    assert not (tmp_path / "o").exists()


def test_benchmark_refuses_a_layer_truth_naming_an_unknown_model(tmp_path, capsys):
    truth = tmp_path / "layers.csv"
    truth.write_text("source,target,budget,layer,seed,test_loss\n"
                     "rgb2depth,nosuchmodel,24,relu,1,0.1\nrgb2depth,nosuchmodel,24,relu_1,1,0.2\n")
    code = main(["select-layer", "--benchmark", "--zoo", str(ZOO_1_0), "--layer-truth", str(truth),
                 "--out", str(tmp_path / "o")])
    err = _one_line_error(capsys)
    assert code == 2 and "nosuchmodel" in err and "rgb2depth" in err and str(truth) in err
    assert not (tmp_path / "o").exists()
