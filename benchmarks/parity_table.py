"""Parity of every exporter x opset x architecture family, as a table (the import test matrix's numbers).

    python benchmarks/parity_table.py [--json FILE]

Exports the small architecture families of devkit/archs with torch.onnx (dynamo and legacy,
opsets 17-21) and, when TensorFlow is installed, tf2onnx (opsets 13-18), imports each and
prints the max absolute / relative error against onnxruntime (outputs and probe layer).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from harness.model.export.pytorch import export_torch  # noqa: E402
from harness.model.card import load_card  # noqa: E402
from harness.model.importer import import_card  # noqa: E402
from devkit.archs import torch_archs  # noqa: E402
from devkit.cards import last_node, write_card  # noqa: E402


def rows(folder: Path):
    for exporter in ("dynamo", "legacy"):
        for opset in (17, 18, 19, 20, 21):
            for family in torch_archs.FAMILIES:
                sub = folder / f"{exporter}-{opset}-{family}"
                sub.mkdir()
                path = export_torch(torch_archs.build(family), torch.rand(1, 3, 32, 32), sub / "m.onnx", opset=opset, exporter=exporter)
                card = load_card(write_card(sub, "m", "m.onnx", last_node(path)))
                yield f"torch.onnx {exporter}", opset, family, import_card(card).parity
    try:
        from harness.model.export.tensorflow import export_keras
        from devkit.archs import keras_archs
    except ImportError:
        return
    for opset in (13, 14, 15, 16, 17, 18):
        for family in keras_archs.FAMILIES:
            sub = folder / f"tf-{opset}-{family}"
            sub.mkdir()
            path = export_keras(keras_archs.build(family), sub / "m.onnx", opset=opset)
            probe = last_node(path, op_types=("Relu", "Relu6", "Clip", "Concat", "Mul", "Conv", "Sigmoid"), contains="/probe")
            card = load_card(write_card(sub, "m", "m.onnx", probe, framework="tensorflow", layout="NHWC"))
            yield "tf2onnx", opset, family, import_card(card).parity


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for exporter, opset, family, parity in rows(Path(tmp)):
            table.append({"exporter": exporter, "opset": opset, "family": family,
                          "max_abs_err": parity.max_abs_err, "max_rel_err": parity.max_rel_err})
            print(f"{exporter:18s} opset {opset}  {family:16s} max abs {parity.max_abs_err:.2e}  max rel {parity.max_rel_err:.2e}", flush=True)
    worst = max(table, key=lambda r: r["max_abs_err"])
    print(f"\n{len(table)} imports; worst max abs error {worst['max_abs_err']:.2e} ({worst['exporter']} opset {worst['opset']} {worst['family']})")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
