"""The card written beside an exported ONNX file."""

from __future__ import annotations

from pathlib import Path

def write_card_for(onnx_path: Path, fields: dict, framework: str, size: tuple[int, int], layout: str) -> Path:
    """Write (atomically) and validate a card for an exported file; returns the card's path."""
    import yaml

    from harness.common.atomic import write_atomic
    from harness.model.card import load_card

    data = {"framework": framework, "onnx": onnx_path.name, **fields}
    data["input"] = {"size": [int(size[0]), int(size[1])], "layout": layout, **fields.get("input", {})}
    card_path = onnx_path.with_suffix(".yaml")
    write_atomic(card_path, yaml.safe_dump(data, sort_keys=False).encode())
    load_card(card_path)  # a card that does not validate is a bug of the caller: fail here
    return card_path
