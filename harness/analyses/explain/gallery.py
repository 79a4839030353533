"""The HTML gallery: one row per image (image, difficulty map, insecurities with their class pairs)."""

from __future__ import annotations

import html


def _figure(src: str, caption: str) -> str:
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def render_gallery(doc: dict) -> str:
    """index.html for one model's explain.json (figure paths relative to the folder)."""
    rows = []
    for image in doc["images"]:
        tops = ", ".join(f"{t['name']} {t['probability']:.2f}" for t in image["top_classes"])
        cells = [_figure(image["figures"]["image"], f"#{image['index']} ({image['id']})"),
                 _figure(image["figures"]["difficulty"], f"difficulty {image['difficulty']:.3f}")]
        for ins in image["insecurities"]:
            caption = f"{ins['classes'][0]} vs {ins['classes'][1]} (score {ins['score']:.3g}, area {ins['mask_area']:.2f})"
            cells.append(_figure(ins["figure"], caption))
        rows.append(f'<section><h3>image {image["index"]}: {html.escape(tops)}</h3><div class="row">{"".join(cells)}</div></section>')
    p = doc["parameters"]
    title = f"Insecurities of {doc['model']['id']}"
    meta = (f"layer {p['layer']} ({'x'.join(map(str, p['layer_shape']))}), score {p['score']}, attribution {p['attribution']}"
            f"{' (' + p['second_order_method'] + ')' if p.get('second_order_method') else ''}, top {p['top_classes']} classes, "
            f"{p['pairs_per_location']} per location, keep {p['keep']}; probe {doc['probe']['name']} ({len(doc['images'])} images)")
    style = ("body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:4px;text-align:center;"
             "vertical-align:top;width:140px}figure img{width:128px;height:128px;image-rendering:pixelated}"
             "figcaption{font-size:11px}.row{white-space:normal}h3{font-size:14px;margin:10px 0 2px}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
            f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(meta)}</p>{''.join(rows)}</body></html>\n")


def render_index(entries: list[tuple[str, str]], title: str) -> str:
    """A zoo-level index linking each model's gallery: (model id, relative link)."""
    items = "".join(f'<li><a href="{html.escape(link)}">{html.escape(name)}</a></li>' for name, link in entries)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><ul>{items}</ul></body></html>\n")
