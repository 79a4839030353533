"""``harness layers``: every addressable layer of a card's model or a bare ONNX file, probe candidates marked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.model.card import load_card
from harness.model.importer import import_card, import_onnx_file
from harness.model.layers import probe_candidates


@dataclass(frozen=True)
class Listing:
    """What ``harness layers`` prints: every layer and the likely probe candidates."""

    model: str
    probe: str | None
    rows: list[dict]


def list_layers(target) -> Listing:
    """Layers of a card's model, or of a bare ONNX file (converted without a card)."""
    target = Path(target)
    if target.suffix.lower() == ".onnx":
        model = import_onnx_file(target)
        name, probe = target.name, None
    else:
        card = load_card(target)
        model = import_card(card, check_parity=False)
        name, probe = card.id, model.probe.tensor
    layers = model.layers.layers
    candidates = probe_candidates(layers)
    rows = [{"node": layer.onnx_node, "op": layer.op_type, "tensor": layer.tensor, "module_path": layer.module_path,
             "shape": list(layer.shape) if layer.shape else None, "candidate": layer.tensor in candidates} for layer in layers]
    return Listing(name, probe, rows)
