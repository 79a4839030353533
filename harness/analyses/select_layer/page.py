"""select-layer.md / .html / figure: the layer ranking with its V and E parts and the ground truth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.report.figures import to_png
from harness.common.format import num as _fmt
from harness.report.markup import esc, figure, table


def scores_figure(doc: Mapping) -> bytes:
    import matplotlib.pyplot as plt

    layers = doc["layers"]
    names = [f"{i + 1}. {row['layer'][-40:]}" for i, row in enumerate(layers)]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(layers) + 1.4))
    y = np.arange(len(layers))
    lam = doc["parameters"]["depara_lambda"]
    ax.barh(y - 0.2, [r["node"] for r in layers], 0.4, label="V (node maps)")
    ax.barh(y + 0.2, [lam * r["edge"] for r in layers], 0.4, label=f"{lam:g} x E (edges)")
    ax.plot([r["score"] for r in layers], y, "k|", markersize=14, label="score V + lambda E")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("score")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{doc['source']} -> {doc['target']}", fontsize=10)
    fig.tight_layout()
    return to_png(fig)


def render_markdown(doc: Mapping) -> str:
    lines = [f"# Layer selection: {doc['source']} -> {doc['target']}", "",
             f"Probe set {doc['probe']['name']} ({doc['probe']['n_images']} images); lambda {doc['parameters']['depara_lambda']:g}. "
             f"Chosen layer: `{doc['chosen']}`.", "",
             "| # | layer | op | shape | score | V | E |", "|---|---|---|---|---|---|---|"]
    for row in doc["layers"]:
        lines.append(f"| {row['rank']} | `{row['layer']}` | {row['op']} | {'x'.join(map(str, row['shape']))} | "
                     f"{row['score']:.4f} | {row['node']:.4f} | {row['edge']:.4f} |")
    for budget, ev in (doc.get("evaluation") or {}).items():
        lines += ["", f"## Against measured transfer, budget {budget} target images", "",
                  f"best layer `{ev.get('best_layer')}`; P@1 {_fmt(ev.get('p_at_1'))}, Spearman {_fmt(ev.get('spearman'))} "
                  f"(V alone {_fmt(ev.get('node_spearman'))}, E alone {_fmt(ev.get('edge_spearman'))}); "
                  f"baseline last layer P@1 {_fmt(ev.get('last_layer_p_at_1'))}, depth-order Spearman {_fmt(ev.get('last_layer_spearman'))}; "
                  f"two-seed ceiling {_fmt(ev.get('ceiling_spearman'))}"]
    return "\n".join(lines) + "\n"


def render_html(doc: Mapping, png: bytes) -> str:
    rows = [(r["rank"], r["layer"], r["op"], "x".join(map(str, r["shape"])), f"{r['score']:.4f}", f"{r['node']:.4f}", f"{r['edge']:.4f}")
            for r in doc["layers"]]
    parts = [f"<h1>Layer selection: {esc(doc['source'])} &rarr; {esc(doc['target'])}</h1>",
             f"<p>Chosen layer: <code>{esc(doc['chosen'])}</code>. Probe set {esc(doc['probe']['name'])} "
             f"({doc['probe']['n_images']} images), lambda {doc['parameters']['depara_lambda']:g}.</p>",
             figure("layer-scores", png, "DEPARA layer score per candidate layer (graph order): V and lambda*E"),
             table(("#", "layer", "op", "shape", "score", "V", "E"), rows, numeric=(0, 4, 5, 6))]
    for budget, ev in (doc.get("evaluation") or {}).items():
        if "p_at_1" not in ev:
            continue
        parts.append(f"<h2>Against measured transfer ({esc(budget)} target images)</h2>")
        parts.append(table(("measure", "DEPARA", "V alone", "E alone", "last layer", "ceiling"), [
            ("P@1", _fmt(ev["p_at_1"]), "", "", _fmt(ev["last_layer_p_at_1"]), ""),
            ("Spearman", _fmt(ev["spearman"]), _fmt(ev["node_spearman"]), _fmt(ev["edge_spearman"]),
             _fmt(ev["last_layer_spearman"]), _fmt(ev["ceiling_spearman"])),
        ]))
    body = "\n".join(parts)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>select-layer</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
            "img{max-width:100%}code{word-break:break-all}</style></head><body>" + body + "</body></html>")
