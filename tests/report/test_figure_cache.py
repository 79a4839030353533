"""The figure cache: a rerun reuses the PNG bytes of figures whose inputs did not change, and
redraws exactly the ones that did; the bytes equal a fresh drawing."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from harness.report.figure_cache import FigureCache, figure_files, figure_key
from harness.report.html import Gallery, render_figures

IDS = ["m-a", "m-b", "m-c", "m-d"]


def synthetic_report() -> dict:
    """The parts of a run's report.json that the figures are drawn from (two estimators, a ground truth)."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 1, (4, 4)).round(3).tolist()
    gt[0][1] = None  # an unmeasured pair
    estimators = {name: {"models": list(IDS), "affinity": rng.uniform(0, 1, (4, 4)).tolist()} for name in ("saliency", "rsa")}
    ks = [1, 2, 3]
    ev = {"k": ks, "p_at_k": [0.5, 0.4, 0.3], "r_at_k": [0.1, 0.2, 0.3], "random_p_at_k": [0.3] * 3,
          "random_r_at_k": [0.1, 0.2, 0.3], "oracle_p_at_k": [1.0] * 3, "oracle_r_at_k": [0.2, 0.4, 0.6]}
    return {
        "models": [{"id": m} for m in IDS],
        "parameters": {"methods": ["saliency"]},
        "ground_truth": {"models": list(IDS), "affinity": gt, "tree_leaf_order": ["m-b", "m-a", "m-d", "m-c"],
                         "ceiling": None},
        "estimators": estimators,
        "evaluation": {name: copy.deepcopy(ev) for name in estimators},
    }


def gallery() -> Gallery:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (2, 3, 8, 8), dtype=np.uint8)
    return Gallery(images, {m: {"saliency": rng.normal(size=(2, 8, 8))} for m in IDS})


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every figure actually drawn, by function name."""
    from harness.report import figures as fg

    drawn: list[str] = []
    for name in ("heatmap_figure", "dendrogram_figure", "curves_figure", "gallery_figure"):
        real = getattr(fg, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            drawn.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(fg, name, counting)
    return drawn


def test_a_second_rendering_reuses_every_figure_with_the_same_bytes(tmp_path, counted):
    report = synthetic_report()
    fresh = render_figures(report, gallery())  # no cache: what drawing afresh gives
    n = len(counted)
    assert n == len(fresh) == 8  # truth heatmap+tree, 2x(heatmap+tree), curves, gallery
    first_cache = FigureCache(tmp_path)
    first = render_figures(report, gallery(), first_cache)
    assert first == fresh and first_cache.drawn == n and first_cache.reused == 0
    counted.clear()
    again = FigureCache(tmp_path)
    second = render_figures(report, gallery(), again)
    assert counted == [] and again.drawn == 0 and again.reused == n
    assert second == fresh  # byte-identical PNGs
    assert len(figure_files(tmp_path)) == n


def test_changing_one_matrix_entry_redraws_only_that_figure(tmp_path, counted):
    report = synthetic_report()
    render_figures(report, gallery(), FigureCache(tmp_path))
    changed = copy.deepcopy(report)
    changed["estimators"]["rsa"]["affinity"][2][3] += 1e-9
    counted.clear()
    cache = FigureCache(tmp_path)
    figures = render_figures(changed, gallery(), cache)
    # the rsa heatmap and its tree are drawn from that matrix; nothing else is
    assert sorted(counted) == ["dendrogram_figure", "heatmap_figure"] and cache.reused == len(figures) - 2
    assert figures == render_figures(changed, gallery())


def test_gallery_and_title_and_order_are_part_of_the_key(tmp_path, counted):
    report = synthetic_report()
    render_figures(report, gallery(), FigureCache(tmp_path))
    other = gallery()
    other.maps["m-c"]["saliency"][1, 3, 3] += 1.0
    counted.clear()
    render_figures(report, other, FigureCache(tmp_path))
    assert counted == ["gallery_figure"]
    matrix = np.eye(3)
    assert figure_key("heatmap_figure", ("a", matrix, IDS[:3], IDS[:3]), {}) != figure_key(
        "heatmap_figure", ("b", matrix, IDS[:3], IDS[:3]), {})
    assert figure_key("heatmap_figure", ("a", matrix, IDS[:3], IDS[:3]), {}) != figure_key(
        "heatmap_figure", ("a", matrix, IDS[:3], IDS[2::-1]), {})
    assert figure_key("heatmap_figure", ("a", matrix, IDS[:3], IDS[:3]), {}) != figure_key(
        "heatmap_figure", ("a", matrix, IDS[:3], IDS[:3]), {"width_in": 6.0})
    assert figure_key("heatmap_figure", ("a", matrix, IDS[:3], IDS[:3]), {}) != figure_key(
        "dendrogram_figure", ("a", matrix, IDS[:3], IDS[:3]), {})
    assert figure_key("heatmap_figure", ("a", matrix, IDS[:3], IDS[:3]), {}) != figure_key(
        "heatmap_figure", ("a", matrix.astype(np.float32), IDS[:3], IDS[:3]), {})


def test_a_damaged_cached_figure_is_redrawn(tmp_path, counted):
    report = synthetic_report()
    fresh = render_figures(report)
    render_figures(report, None, FigureCache(tmp_path))
    victim = sorted(figure_files(tmp_path))[0][0]
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    counted.clear()
    cache = FigureCache(tmp_path)
    assert render_figures(report, None, cache) == fresh
    assert cache.drawn == 1 and len(counted) == 1


def test_the_cache_is_bounded_least_recently_used_first(tmp_path):
    import os

    cache = FigureCache(tmp_path)
    cache.dir.mkdir(parents=True)
    for i in range(6):
        path = cache.dir / f"{i:064x}.png"
        path.write_bytes(b"x")
        os.utime(path, (1000 + i, 1000 + i))
    assert cache.bound(limit=2) == 0  # nothing drawn this time: left alone
    cache.drawn = 1
    assert cache.bound(limit=2) == 4
    assert sorted(p.name for p, _, _ in figure_files(tmp_path)) == [f"{4:064x}.png", f"{5:064x}.png"]


def test_a_cached_run_reuses_figures_and_no_cache_keeps_none(tmp_path, monkeypatch):
    """Through `harness run`: the second run into the same cache draws nothing; --no-cache stores nothing."""
    from harness.cli.main import main
    from harness.report import figures as fg
    from tests.zoo_factory import TORCH_MODELS, build_test_zoo

    zoo = build_test_zoo(tmp_path / "zoo", models=TORCH_MODELS[:2], nhwc_model=False, with_ground_truth=False)
    cache = tmp_path / "cache"
    args = ["run", "--zoo", str(zoo), "--images", "4", "--bootstrap", "10", "--estimators", "saliency", "rsa",
            "--methods", "saliency"]
    assert main([*args, "--out", str(tmp_path / "a"), "--cache", str(cache)]) == 0
    stored = {p.name for p, _, _ in figure_files(cache)}
    assert stored
    drawn: list[str] = []
    real = FigureCache.draw
    monkeypatch.setattr(FigureCache, "draw", lambda self, name, *a, **k: (drawn.append(name), real(self, name, *a, **k))[1])
    for name in ("heatmap_figure", "dendrogram_figure", "gallery_figure"):
        def refuse(*a, **k):
            pytest.fail("a cached figure was drawn")

        monkeypatch.setattr(fg, name, refuse)
    assert main([*args, "--out", str(tmp_path / "b"), "--cache", str(cache)]) == 0
    assert drawn and {p.name for p, _, _ in figure_files(cache)} == stored
    for png in (tmp_path / "a" / "figures").iterdir():
        assert (tmp_path / "b" / "figures" / png.name).read_bytes() == png.read_bytes()
    monkeypatch.undo()
    nocache = tmp_path / "nocache-xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(nocache))
    assert main([*args, "--out", str(tmp_path / "c"), "--no-cache"]) == 0
    assert not Path(nocache).exists() or not figure_files(nocache / "transfer-harness")


def test_cache_prune_removes_figures_with_the_entries(tmp_path):
    import os
    import time

    from harness.cli.main import main

    folder = FigureCache(tmp_path).dir
    folder.mkdir(parents=True)
    old, new = folder / f"{1:064x}.png", folder / f"{2:064x}.png"
    for path in (old, new):
        path.write_bytes(b"x" * 100)
    stamp = time.time() - 3 * 86400
    os.utime(old, (stamp, stamp))
    assert main(["cache", "prune", "--cache", str(tmp_path), "--older-than", "1"]) == 0
    assert [p for p, _, _ in figure_files(tmp_path)] == [new]
    assert main(["cache", "prune", "--cache", str(tmp_path), "--max-size", "150"]) == 0
    assert [p for p, _, _ in figure_files(tmp_path)] == [new]
    assert main(["cache", "prune", "--cache", str(tmp_path), "--all"]) == 0
    assert figure_files(tmp_path) == []


def test_a_fully_cached_rendering_does_not_import_matplotlib(tmp_path):
    """Importing matplotlib and scipy's dendrogram took most of a cached rerun's figure time."""
    import subprocess
    import sys

    render_figures(synthetic_report(), gallery(), FigureCache(tmp_path))
    code = ("import sys; from tests.report.test_figure_cache import synthetic_report, gallery; "
            "from harness.report.figure_cache import FigureCache; from harness.report.html import render_figures; "
            f"c = FigureCache({str(tmp_path)!r}); render_figures(synthetic_report(), gallery(), c); "
            "assert c.drawn == 0 and c.reused == 8, (c.drawn, c.reused); assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
