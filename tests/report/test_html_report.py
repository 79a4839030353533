"""report.html: sections, embedded figures, escaping, offline-ness, and a real headless browser."""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.cli.main import main
from harness.report.html import SECTIONS, render_html
from tests.zoo_factory import build_test_zoo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class PageParser(HTMLParser):
    """Collects ids, tags, img sources and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.img_src: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for key, value in attrs:
            if key == "id":
                self.ids.append(value)
            if key in ("src", "href", "action", "srcset", "poster", "data"):
                self.urls.append(value or "")
        if tag == "img":
            self.img_src.append(dict(attrs).get("src") or "")


def parse(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory) -> Path:
    return build_test_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="module")
def run_dir(zoo_dir, tmp_path_factory) -> tuple[Path, list[str]]:
    """One real run; records the order in which files are written."""
    import harness.common.atomic as atomic

    out = tmp_path_factory.mktemp("run")
    order: list[str] = []
    real = atomic._write_member
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic, "_write_member", lambda root, name, data, **kw: (order.append(name), real(root, name, data, **kw)))
        assert main(["run", "--zoo", str(zoo_dir), "--images", "12", "--out", str(out), "--bootstrap", "50"]) == 0
    return out, order


def test_sections_and_embedded_pngs(run_dir):
    out, order = run_dir
    text = (out / "report.html").read_text(encoding="utf-8")
    page = parse(text)
    report = json.loads((out / "report.json").read_text())
    for sid in SECTIONS:
        assert sid in page.ids
    for name in report["estimators"]:
        assert {f"affinity-{name}", f"tree-{name}", f"ranking-{name}"} <= set(page.ids)
    assert {"curves-all", "affinity-truth", "tree-truth"} <= set(page.ids)  # one P@K figure; the truth beside the estimates
    for method in report["parameters"]["methods"]:
        assert f"gallery-{method}" in page.ids
    # every estimator's heatmap and tree, the truth's, one curves figure, one gallery per method
    assert len(page.img_src) == len(list((out / "figures").glob("*.png"))) == 2 * len(report["estimators"]) + 2 + 1 + 3
    for src in page.img_src:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_MAGIC)
        assert Image.open(io.BytesIO(data)).size[0] > 50
    # offline: nothing to fetch, no scripts, no external styles
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert all(u.startswith(("data:", "#", "figures/")) for u in page.urls)
    assert "http://" not in text and "https://" not in text and "url(" not in text
    # the figures folder holds the same PNGs; report.json is written after everything else
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in page.img_src}
    assert {p.read_bytes() for p in (out / "figures").glob("*.png")} == embedded
    assert order[-1] == "report.json" and "report.html" in order and any(o.startswith("figures/") for o in order)


def test_summary_names_the_estimator_to_trust_with_cis(run_dir):
    report = json.loads((run_dir[0] / "report.json").read_text())
    text = (run_dir[0] / "report.html").read_text(encoding="utf-8")
    summary = text[text.index('id="summary"'):text.index('id="curves"')]
    best = max(report["evaluation"], key=lambda n: report["evaluation"][n]["spearman"])
    assert f"Trust <b>{best}</b>" in summary
    for name, e in report["evaluation"].items():
        ci = e["spearman_ci"]
        assert f"{e['spearman']:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" in summary, name
    targets = text[text.index('id="targets"'):text.index('id="affinity"')]
    for target in next(iter(report["evaluation"].values()))["per_target"]:
        assert f"<td>{target}</td>" in targets


def test_every_heatmap_uses_the_ground_truth_tree_order(run_dir, monkeypatch):
    """One model order for all heatmaps (the truth's tree order), so they can be compared by eye."""
    from harness.report import figures as fg
    from harness.report.html import render_figures

    report = json.loads((run_dir[0] / "report.json").read_text())
    orders = []
    monkeypatch.setattr(fg, "heatmap_figure", lambda title, m, ids, order, **k: orders.append(list(order)) or b"")
    monkeypatch.setattr(fg, "dendrogram_figure", lambda *a, **k: b"")
    monkeypatch.setattr(fg, "curves_figure", lambda *a, **k: b"")
    render_figures(report)
    assert len(orders) == len(report["estimators"]) + 1
    assert all(o == report["ground_truth"]["tree_leaf_order"] for o in orders)
    assert sorted(orders[0]) == sorted(m["id"] for m in report["models"])


def test_true_rank_labels_follow_the_source_not_its_position(run_dir, zoo_dir):
    """A zoo model missing from the ground truth: every label must still belong to its own source.

    The rankings cover all zoo models, the evaluation only the ones in the truth; matching
    the two by position shifted every label after the missing model onto the wrong source.
    """
    from harness.evaluation import evaluate, load_ground_truth
    from harness.report.markdown import render_markdown
    from harness.run.pipeline import ground_truth_matrix

    report = json.loads((run_dir[0] / "report.json").read_text())
    ids = [m["id"] for m in report["models"]]
    name = next(iter(report["evaluation"]))
    ranking = report["rankings"][name]
    # drop the model ranked first for the first target, so that labels after it would shift
    dropped = ranking[ids[0]][0]
    full = load_ground_truth(zoo_dir / "ground_truth.csv")
    kept = [m for m in ids if m != dropped]
    gt = full.restrict(kept)
    for est in report["evaluation"]:
        report["evaluation"][est] = json.loads(json.dumps(evaluate(np.array(report["estimators"][est]["affinity"]), ids, gt, n_boot=10)))
    report["ground_truth"].update(json.loads(json.dumps(ground_truth_matrix(gt, ids), default=lambda a: np.asarray(a).tolist())))
    truth = {t: {s: r + 1 for r, s in enumerate(s for s in report["evaluation"][name]["per_target"][t]["true_ranking"])}
             for t in report["evaluation"][name]["per_target"]}

    md = render_markdown(report)
    assert f"(not in the ground truth): {dropped}" in md
    section = md[md.index(f"## Estimator `{name}`"):]
    checked = 0
    for target in kept:
        line = next(row for row in section.splitlines() if row.startswith(f"| {target} |"))
        for source in ranking[target][:5]:
            cell = next(c for c in line.split(" | ") if c.strip().startswith(f"{source} ("))
            if source == dropped:
                assert "no ground truth" in cell and "true #" not in cell
            else:
                assert f"true #{truth[target][source]})" in cell, (target, source, cell)
                checked += 1
    assert checked >= 5

    page = render_html(report, {})
    rows = page[page.index(f'id="ranking-{name}"'):].split("</details>")[0]
    for target in kept:
        row = rows[rows.index(f"<td>{target}</td>"):].split("</tr>")[0]
        for source in ranking[target][:5]:
            cell = row[row.index(f"<td>{source} "):].split("</td>")[0]
            expected = "no ground truth" if source == dropped else f"true #{truth[target][source]}<"
            assert expected in cell, (target, source, cell)
    summary = page[page.index('id="summary"'):page.index('id="curves"')]
    assert "ground truth does not name them" in summary and dropped in summary


def test_provenance_names_code_command_and_inputs(run_dir, zoo_dir):
    import hashlib
    import subprocess as sp

    from harness.report.parameters import is_structured

    report = json.loads((run_dir[0] / "report.json").read_text())
    prov = report["provenance"]
    assert prov["command"].startswith("harness run --zoo ") and "--images 12" in prov["command"]
    assert prov["harness_version"] == report["harness_version"] and prov["packages"]["torch"]
    assert prov["device"] == "cpu" and prov["device_name"]
    inputs = prov["inputs"]
    kinds = {k.split(":", 1)[0] for k in inputs}
    assert {"zoo", "card", "onnx", "ground_truth", "probe"} <= kinds
    assert sum(k.startswith("card:") for k in inputs) == sum(k.startswith("onnx:") for k in inputs) == len(report["models"])
    assert inputs["ground_truth:ground_truth.csv"] == hashlib.sha256((zoo_dir / "ground_truth.csv").read_bytes()).hexdigest()
    assert inputs[f"probe:{report['probe']['name']}"] == report["probe"]["sha256"]
    repo = Path(__file__).resolve().parents[2]
    if (repo / ".git").exists():
        head = sp.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        assert prov["git"]["commit"] == head and isinstance(prov["git"]["dirty"], bool)
    # parameters are data (numbers and names), not prose
    assert all(is_structured(v) for v in report["parameters"].values()), report["parameters"]


def test_card_strings_are_escaped(run_dir):
    report = json.loads((run_dir[0] / "report.json").read_text())
    evil = '<script>alert("x")</script>'
    report = copy.deepcopy(report)
    report["zoo"]["name"] = evil
    report["zoo"]["description"] = "<img src=https://example.com/x.png>"
    first = report["models"][0]
    first["probe_layer"] = evil
    report["zoo"]["cards"][first["id"]] = evil
    text = render_html(report, {})
    page = parse(text)
    assert "script" not in page.tags and not page.img_src
    assert "&lt;script&gt;" in text


def test_rerender_without_gallery_or_ground_truth(run_dir):
    report = json.loads((run_dir[0] / "report.json").read_text())
    report["evaluation"], report["ground_truth"] = {}, None
    page_text = render_html(report, {})
    page = parse(page_text)
    assert all(sid in page.ids for sid in SECTIONS)
    assert "No ground truth" in page_text and "No attribution maps" in page_text


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


def _headless(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=180, check=False)


# Injected into a *copy* of the page (the report itself has no scripts): after load, record
# how many images there are and how many failed to decode, and which elements stick out of
# the viewport's width (ignoring those inside a box that scrolls or clips horizontally), where
# --dump-dom can see it.
PAGE_CHECK = """<script>window.addEventListener("load",function(){
var im=document.images,bad=0;for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0))bad++;}
var vw=document.documentElement.clientWidth,over=[];
document.querySelectorAll("body *").forEach(function(el){var r=el.getBoundingClientRect();if(r.width===0||r.right<=vw+1)return;
for(var p=el.parentElement;p;p=p.parentElement){var o=getComputedStyle(p).overflowX;if(o==="auto"||o==="scroll"||o==="hidden")return;}
over.push(el.tagName+(el.id?"#"+el.id:""));});
document.body.setAttribute("data-images",im.length+" "+bad);
document.body.setAttribute("data-overflow",over.length+" "+over.slice(0,5).join(","));
document.body.setAttribute("data-width",document.documentElement.scrollWidth+" "+vw);});</script>"""


def _attribute(dom: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', dom)
    assert match, f"{name} not set: the page check did not run"
    return match.group(1)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 820])
def test_page_renders_in_headless_chromium(run_dir, tmp_path, width):
    """Every section present, every image decoded, nothing wider than the window (desktop and narrow)."""
    binary = _chromium()
    if binary is None:
        pytest.skip("no headless Chromium found; install it with `apt-get install -y chromium` (Debian) to run this test")
    out, _ = run_dir
    page = out / "report.html"
    probe = out / f"check-{width}.html"  # beside the page, so that relative links resolve the same way
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PAGE_CHECK + "</body>"), encoding="utf-8")
    try:
        dom = _headless(binary, tmp_path / "profile-dom", f"--window-size={width},900", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid in SECTIONS:
        assert f'id="{sid}"' in dom.stdout
    n_images = len(parse(page.read_text(encoding="utf-8")).img_src)
    assert _attribute(dom.stdout, "data-images") == f"{n_images} 0"  # every <img> decoded
    assert _attribute(dom.stdout, "data-overflow").startswith("0 "), _attribute(dom.stdout, "data-overflow")
    scroll_width, viewport = map(int, _attribute(dom.stdout, "data-width").split())
    assert scroll_width <= viewport

    shot = tmp_path / "shot.png"
    result = _headless(binary, tmp_path / "profile-shot", f"--screenshot={shot}", f"--window-size={width},2400", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    assert pixels.std() > 20  # not a blank page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # figures, not just text


def test_verdict_orders_by_spearman_and_reads_the_cis():
    from harness.report.verdict import verdict

    evaluation = {
        "a": {"spearman": 0.30, "spearman_ci": [0.20, 0.40]},
        "b": {"spearman": 0.60, "spearman_ci": [0.50, 0.70]},
        "c": {"spearman": 0.45, "spearman_ci": [0.32, 0.55]},  # overlaps b's CI
        "d": {"spearman": 0.05, "spearman_ci": [-0.05, 0.15]},  # reaches 0
        "e": {"spearman": None, "spearman_ci": None},
    }
    v = verdict(evaluation)
    assert v.ranked == ["b", "c", "a", "d", "e"] and v.best == "b"
    assert v.tied_with_best == ["c"] and v.not_above_random == ["d", "e"]
