"""The headline guard: the default run must reproduce the committed baseline report.

``harness run`` with default settings on the embedded zoo is deterministic on CPU, so any
change that moves its numbers (an estimator's definition, map resolution, preprocessing, the
zoo) fails here until the baseline is regenerated deliberately, with the one command

    .venv/bin/harness run --out reports/baseline

and committed (report.json and report.md; see reports/README.md). The gate is
``harness compare --fail-on`` with thresholds that catch real changes in either direction
while tolerating last-bit float differences between machines: affinities and rankings must
agree almost exactly (a change that *improves* the numbers also fails), and no headline
metric may drop.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.compare.thresholds import EXIT_THRESHOLD

BASELINE = Path(__file__).resolve().parents[2] / "reports" / "baseline" / "report.json"
FAIL_ON = ["min_affinity_corr=0.995", "min_ranking_kendall=0.98", "spearman_drop=0.01", "p_at_1_drop=0.001",
           "p_at_5_drop=0.001"]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    assert BASELINE.is_file(), "no committed baseline report (reports/baseline/report.json): regenerate it (reports/README.md)"
    out = tmp_path_factory.mktemp("default-run")
    assert main(["run", "--out", str(out)]) == 0
    return out


def test_default_run_matches_the_committed_baseline(default_run, tmp_path, capsys):
    code = main(["compare", str(BASELINE), str(default_run), "--out", str(tmp_path), "--bootstrap", "100",
                 "--fail-on", *FAIL_ON])
    printed = capsys.readouterr()
    assert code == 0, ("the default run no longer reproduces reports/baseline; if the change is intended, regenerate it "
                       "with `harness run --out reports/baseline` and commit it\n" + printed.out + printed.err)
    result = json.loads((tmp_path / "compare.json").read_text())
    baseline = json.loads(BASELINE.read_text())
    assert set(result["estimators"]) == set(baseline["estimators"])  # every estimator was checked
    assert not result["fail_on"]["unchecked"]


def test_the_gate_catches_a_changed_estimator(default_run, tmp_path):
    """The same gate must fail when one estimator's affinities change (here: rsa replaced by saliency's)."""
    data = json.loads((default_run / "report.json").read_text())
    data["estimators"]["rsa"]["affinity"] = data["estimators"]["saliency"]["affinity"]
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "report.json").write_text(json.dumps(data))
    code = main(["compare", str(BASELINE), str(changed), "--out", str(tmp_path / "cmp"), "--bootstrap", "100",
                 "--fail-on", *FAIL_ON])
    assert code == EXIT_THRESHOLD
