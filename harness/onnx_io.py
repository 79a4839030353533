"""Reading ONNX files defensively.

An ONNX file is untrusted input: it may be missing, truncated, invalid, or name external
tensor data anywhere on disk. External-data locations are checked *before* any of that data
is read, so a model cannot make the harness read files outside its own folder.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import external_data_helper

from harness.errors import ImportFailure


def _external_locations(model: onnx.ModelProto) -> list[str]:
    locations = []
    for tensor in external_data_helper._get_all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            entries = {e.key: e.value for e in tensor.external_data}
            locations.append(entries.get("location", ""))
    return locations


def check_external_data(model: onnx.ModelProto, path: Path, label: str) -> None:
    """Refuse external-data locations that are absolute or leave the model's folder."""
    folder = path.parent.resolve()
    for location in _external_locations(model):
        target = (folder / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(folder):
            raise ImportFailure(
                f"{label}: {path.name} stores tensor data at {location!r}, outside the model's folder "
                f"{folder}; refusing to read it (move the data file next to the .onnx file)"
            )
        if not target.is_file():
            raise ImportFailure(f"{label}: {path.name} needs external data file {location!r}, which is missing in {folder}")


def load_onnx(path: Path, label: str | None = None, *, check: bool = True) -> onnx.ModelProto:
    """Load and check an ONNX model; every failure is one line naming ``label`` (the card) and the file."""
    label = label or str(path)
    if not path.is_file():
        raise ImportFailure(f"{label}: ONNX file {path} not found")
    if path.stat().st_size == 0:
        raise ImportFailure(f"{label}: ONNX file {path} is empty; re-export the model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ImportFailure(f"{label}: {path.name} is not a readable ONNX file (truncated or corrupt: {exc}); re-export it") from None
    if not model.graph.node:
        raise ImportFailure(f"{label}: {path.name} has an empty graph (truncated or not an ONNX model); re-export it")
    check_external_data(model, path, label)
    if _external_locations(model):
        external_data_helper.load_external_data_for_model(model, str(path.parent))
    if check:
        try:
            onnx.checker.check_model(model)
        except (onnx.checker.ValidationError, Exception) as exc:  # checker raises several types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if first.startswith("No Op registered for"):
                # a custom op (e.g. TFLite's via tf2onnx): an adapter may rewrite it, else the
                # importer refuses it by op, domain and node
                return model
            raise ImportFailure(f"{label}: {path.name} fails onnx.checker: {first}") from None
    return model
