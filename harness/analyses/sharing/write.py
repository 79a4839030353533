"""sharing.json, sharing.png and sharing.html, written atomically (JSON last)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from harness.common.atomic import write_all_atomic
from harness.common.format import with_ci as _fmt
from harness.report.markup import STYLE, esc, table
from harness.analyses.sharing.figure import contribution_figure
from harness.analyses.sharing.measures import MEASURES


def render_html(document: dict, png: bytes) -> str:
    card = document["card"]
    rows = []
    for layer in document["layers"]:
        for pair in layer["pairs"]:
            rows.append([layer["name"], layer["units"], " vs ".join(pair["heads"]),
                         *[_fmt(pair[m], pair.get(f"{m}_ci")) for m in MEASURES], f"{layer['seconds']:.1f} s ({layer['path']})"])
    heads = table(["head", "kind", "accuracy / sigma"], [[h["name"], h["kind"], _fmt(h.get("accuracy", h.get("sigma")))]
                                                          for h in document["heads"]])
    s = document["settings"]
    labels = document["labels"]
    body = [
        f"<h1>Feature sharing: {esc(card['id'])}</h1>",
        f"<p class='note'>Units marginalised with {s['samples']} Gaussian samples each (N(w, I), self-normalised weights); "
        f"labels {esc(labels['source'])}, {labels['images_used']} of {labels['images']} images used (correct on every "
        f"classification head). A unit matters to a head when its contribution is at least {s['threshold']} x the head's "
        f"largest in the layer. CIs: 95% bootstrap over units and parameter samples ({s['bootstrap']} draws).</p>",
        "<h2>Heads</h2>", heads,
        "<h2>Sharing per layer</h2>",
        table(["layer", "units", "heads", *MEASURES, "time"], rows, numeric=[1]),
        "<h2>Contributions</h2>",
        f"<figure><img alt='contribution figure' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        "<figcaption>Per layer: units coloured by their contributions (blue: first head only, yellow: second head only, "
        "white: both); scatter of the per-head normalised contributions with the threshold.</figcaption></figure>",
    ]
    head = f"<meta charset='utf-8'><title>sharing {esc(card['id'])}</title><style>{STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(body)}</body></html>"


def write_outputs(out: Path, document: dict) -> None:
    """Render everything in memory, then write the figure, the page and finally sharing.json."""
    first = document["layers"][0]["pairs"][0]["heads"] if document["layers"] and document["layers"][0]["pairs"] else None
    png = contribution_figure(document["layers"], tuple(first), document["settings"]["threshold"],
                              f"{document['card']['id']}: unit contributions per layer") if first else b""
    files = {
        "sharing.png": png,
        "sharing.html": render_html(document, png).encode(),
        "sharing.json": (json.dumps(document, indent=1, allow_nan=True) + "\n").encode(),
    }
    write_all_atomic(out, files, last="sharing.json")
