"""report.html: sections, embedded figures, escaping, offline-ness, and a real headless browser."""

from __future__ import annotations

import base64
import copy
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
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
def run_dir(tmp_path_factory) -> tuple[Path, list[str]]:
    """One real run; records the order in which files are written."""
    import harness.report.atomic as atomic

    zoo = build_test_zoo(tmp_path_factory.mktemp("zoo"))
    out = tmp_path_factory.mktemp("run")
    order: list[str] = []
    real = atomic._write_member
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic, "_write_member", lambda root, name, data, **kw: (order.append(name), real(root, name, data, **kw)))
        assert main(["run", "--zoo", str(zoo), "--images", "12", "--out", str(out), "--bootstrap", "50"]) == 0
    return out, order


def test_sections_and_embedded_pngs(run_dir):
    out, order = run_dir
    text = (out / "report.html").read_text(encoding="utf-8")
    page = parse(text)
    report = json.loads((out / "report.json").read_text())
    for sid in SECTIONS:
        assert sid in page.ids
    for name in report["estimators"]:
        assert {f"affinity-{name}", f"tree-{name}", f"curves-{name}", f"ranking-{name}"} <= set(page.ids)
    for method in report["parameters"]["methods"]:
        assert f"gallery-{method}" in page.ids
    assert len(page.img_src) == len(list((out / "figures").glob("*.png"))) == 3 + 3 * len(report["estimators"])
    for src in page.img_src:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_MAGIC)
        assert Image.open(io.BytesIO(data)).size[0] > 50
    # offline: nothing to fetch, no scripts, no external styles
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert all(u.startswith(("data:", "#")) for u in page.urls)
    assert "http://" not in text and "https://" not in text and "url(" not in text
    # the figures folder holds the same PNGs; report.json is written after everything else
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in page.img_src}
    assert {p.read_bytes() for p in (out / "figures").glob("*.png")} == embedded
    assert order[-1] == "report.json" and "report.html" in order and any(o.startswith("figures/") for o in order)


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
# how many images there are and how many failed to decode, where --dump-dom can see it.
IMAGE_CHECK = ('<script>window.addEventListener("load",function(){var im=document.images,bad=0;'
               "for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0))bad++;}"
               'document.body.setAttribute("data-images",im.length+" "+bad);});</script>')


@pytest.mark.browser
def test_page_renders_in_headless_chromium(run_dir, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("no headless Chromium found; install it with `apt-get install -y chromium` (Debian) to run this test")
    out, _ = run_dir
    page = out / "report.html"
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", IMAGE_CHECK + "</body>"), encoding="utf-8")
    dom = _headless(binary, tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid in SECTIONS:
        assert f'id="{sid}"' in dom.stdout
    n_images = len(parse(page.read_text(encoding="utf-8")).img_src)
    assert f'data-images="{n_images} 0"' in dom.stdout  # every <img> decoded

    shot = tmp_path / "shot.png"
    result = _headless(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    assert pixels.std() > 20  # not a blank page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # figures, not just text
