"""Related vs unrelated: the per-layer sharing measures of several `harness sharing` runs, one table.

    python benchmarks/sharing_table.py runs/sharing-A runs/sharing-B ...

Prints a markdown table: model, layer, heads, shared fraction, Jaccard and Spearman with
their 95% bootstrap CIs (over units and parameter samples), and the images used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _ci(pair: dict, key: str) -> str:
    ci = pair.get(f"{key}_ci")
    value = pair[key]
    text = "nan" if value != value else f"{value:.2f}"
    return text + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and ci[0] == ci[0] else "")


def main(folders: list[str]) -> int:
    print("| model | layer | units | heads | shared fraction | Jaccard | Spearman | images used |")
    print("|---|---|---|---|---|---|---|---|")
    for folder in folders:
        doc = json.loads((Path(folder) / "sharing.json").read_text())
        for layer in doc["layers"]:
            for pair in layer["pairs"]:
                print(f"| {doc['card']['id']} | {layer['name']} | {layer['units']} | {' + '.join(pair['heads'])} | "
                      f"{_ci(pair, 'shared_fraction')} | {_ci(pair, 'jaccard')} | {_ci(pair, 'spearman')} | "
                      f"{doc['labels']['images_used']}/{doc['labels']['images']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
