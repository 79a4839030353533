"""HTML building blocks shared by every page the harness writes (report, compare, analyses).

Escaping, tables, inlined figures and the stylesheet: every string that comes from cards or
reports passes through :func:`esc` (or a :func:`table` cell) before it reaches a page.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.common.format import cell, ci_suffix

#: File-name stem of the ground-truth figures (not an estimator name, so it cannot collide).
TRUTH = "truth"

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:0 1.2em 3em;color:#222;background:#fff}
h1{margin:.8em 0 .2em;font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{margin:1.2em 0 .4em}
nav{display:flex;flex-wrap:wrap;gap:.2em 1em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}figure{margin:.6em 0 1.4em;min-width:0}
img{max-width:100%;height:auto;display:block}figcaption,.note{color:#555;font-size:12.5px}
td code{word-break:break-all;font-size:11px}.scroll{overflow-x:auto;max-width:100%}.score{color:#555}
.hit{color:#1a7f37;font-weight:600}.miss{color:#b35900}.nogt{color:#777;font-style:italic}code,pre{font-size:12px}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto}.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:0 1.5em}
.beside{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:0 1.5em}.sticky{position:sticky;top:.5em}
.verdict{background:#f4f8ff;border-left:4px solid #3a6ea5;padding:.6em 1em;margin:.8em 0}.best{font-weight:700}
details{margin:.4em 0}summary{cursor:pointer}
@media (max-width:900px){.grid,.beside{grid-template-columns:minmax(0,1fr)}.sticky{position:static}}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def slug(name: str) -> str:
    """A safe id / file-name fragment for an estimator or method name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


def cell_ci(value: float | None, ci: Sequence[float] | None) -> str:
    """A table cell with its interval: ``0.512 [0.48, 0.55]``."""
    return cell(value) + ci_suffix(ci)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = ()) -> str:
    """An HTML table; cells are escaped unless they are already :class:`Raw` markup."""
    numeric = set(numeric)
    out = ['<div class="scroll"><table><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = value.markup if isinstance(value, Raw) else esc(cell(value))
            cells.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</tbody></table></div>"


@dataclass(frozen=True)
class Raw:
    """Markup built here from escaped pieces, inserted into a table as is."""

    markup: str


def img(png: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def figure(fig_id: str, png: bytes | None, caption: str) -> str:
    if png is None:
        return f'<p class="note" id="{esc(fig_id)}">{esc(caption)}: not available.</p>'
    return f'<figure id="{esc(fig_id)}">{img(png, caption)}<figcaption>{esc(caption)}</figcaption></figure>'
