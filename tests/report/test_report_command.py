"""``harness report RUN_DIR``: the run's page and figures rendered again from report.json alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from tests.hostile_helpers import assert_one_line, cli
from tests.zoo_factory import TORCH_MODELS, build_test_zoo


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("rerender")
    zoo = build_test_zoo(base / "zoo", models=TORCH_MODELS[:3], nhwc_model=False)
    out = base / "run"
    assert main(["run", "--zoo", str(zoo), "--images", "4", "--bootstrap", "10", "--estimators", "saliency", "rsa",
                 "--methods", "saliency", "--out", str(out), "--no-cache"]) == 0
    return out


def test_rerender_reproduces_the_runs_files(run_dir, tmp_path, capsys):
    code, err = cli(capsys, "report", str(run_dir), "--out", str(tmp_path / "again"))
    assert code == 0, err
    again = tmp_path / "again"
    for name in ("report.md", "report.html", "report.json"):
        assert (again / name).read_bytes() == (run_dir / name).read_bytes(), name
    # every figure, the gallery kept from the run folder (report.json does not hold the maps)
    assert sorted(p.name for p in (again / "figures").iterdir()) == sorted(p.name for p in (run_dir / "figures").iterdir())
    for png in (run_dir / "figures").iterdir():
        assert (again / "figures" / png.name).read_bytes() == png.read_bytes(), png.name


def test_without_the_gallery_the_page_says_so(run_dir, tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "report.json").write_bytes((run_dir / "report.json").read_bytes())
    capsys.readouterr()
    assert main(["report", str(bare)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "rendered without it" in out
    page = (bare / "report.html").read_text(encoding="utf-8")
    assert "No attribution maps kept for this report" in page
    assert not list((bare / "figures").glob("gallery-*")) and (bare / "figures" / "affinity-rsa.png").is_file()
    assert (bare / "report.md").read_bytes() == (run_dir / "report.md").read_bytes()


def test_an_evaluation_folder_is_rerendered(tmp_path, capsys):
    names = [f"t{i}" for i in range(5)]
    rng = np.random.default_rng(3)
    truth, est = tmp_path / "truth.csv", tmp_path / "mine.csv"
    for path in (truth, est):
        rows = ["source,target,affinity"] + [f"{s},{t},{rng.uniform():.6f}" for s in names for t in names if s != t]
        path.write_text("\n".join(rows) + "\n")
    code, err = cli(capsys, "evaluate", str(est), "--ground-truth", str(truth), "--bootstrap", "10", "--out", str(tmp_path / "ev"))
    assert code == 0, err
    assert json.loads((tmp_path / "ev" / "report.json").read_text())["kind"] == "evaluation"
    code, err = cli(capsys, "report", str(tmp_path / "ev"), "--out", str(tmp_path / "ev2"))
    assert code == 0, err
    # harness evaluate draws from unrounded values, report.json holds them rounded: same page, not byte for byte
    ids = [re.findall(r'<section id="([^"]+)"', (tmp_path / d / "report.html").read_text(encoding="utf-8")) for d in ("ev", "ev2")]
    assert ids[0] == ids[1] and "gallery" not in ids[0]
    assert sorted(p.name for p in (tmp_path / "ev2" / "figures").iterdir()) == sorted(p.name for p in (tmp_path / "ev" / "figures").iterdir())
    assert (tmp_path / "ev2" / "report.md").read_text().splitlines()[0] == (tmp_path / "ev" / "report.md").read_text().splitlines()[0]


@pytest.mark.parametrize("case", ["missing", "no-report", "not-json", "not-a-report", "a-file", "incomplete"])
def test_bad_input_is_one_line(case, run_dir, tmp_path, capsys):
    target = tmp_path / "x"
    if case == "no-report":
        target.mkdir()
    elif case == "not-json":
        target.mkdir()
        (target / "report.json").write_text("{not json")
    elif case == "not-a-report":
        target.mkdir()
        (target / "report.json").write_text('{"a": 1}')
    elif case == "a-file":
        target = run_dir / "report.md"
    elif case == "incomplete":
        target.mkdir()
        doc = json.loads((run_dir / "report.json").read_text())
        del doc["estimators"]
        (target / "report.json").write_text(json.dumps(doc))
    code, err = cli(capsys, "report", str(target), "--out", str(tmp_path / "o"))
    assert_one_line(code, err, 1 if case in ("missing", "no-report", "a-file") else 2, str(target.name))
    assert not (tmp_path / "o").exists()
