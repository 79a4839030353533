"""Cache keys: a sha256 that changes exactly when a model's probing results could change.

The key covers (1) the ONNX file's bytes, (2) the card's normalised fields that affect import
and probing (framework, input conventions, probe layer, attribution target, heads, parity
tolerance — not descriptive fields like task or notes, nor the id: renaming a card reuses its
artifacts), (3) the probe set's content (image bytes, order, shape, ids), (4) every probing
parameter, hashed generically from the settings dataclass so a new parameter is covered
without touching this file, the device type, and (5) the code that computes the artifacts:
the harness version, the source bytes of every module on the probing path and the versions
of the libraries that execute it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from harness import __version__
from harness.card import ModelCard
from harness.hashing import sha256_file

#: Modules and packages whose source decides a model's artifacts (import, preprocessing, attribution, maps, features).
PROBING_CODE = (
    "harness.adapters", "harness.attribution", "harness.cache.stage", "harness.card", "harness.features",
    "harness.importer", "harness.layers", "harness.maps", "harness.onnx_io", "harness.parity", "harness.preprocess",
    "harness.probed", "harness.probing", "harness.torch_compat",
)
#: Libraries whose version can change the numbers.
PROBING_LIBRARIES = ("torch", "onnx", "onnx2torch", "onnxruntime-gpu", "onnxruntime", "onnxscript", "numpy")


def _plain(value: Any) -> Any:
    """JSON-able form of dataclasses, paths, tuples and numpy scalars (stable across runs)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(_plain(value), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def card_fields(card: ModelCard) -> dict:
    """The card's normalised fields that affect import and probing."""
    return {
        "framework": card.framework, "input": _plain(card.input), "probe_layer": card.probe_layer,
        "target": _plain(card.target), "heads": list(card.heads), "parity_tolerance": card.parity_tolerance,
    }


def probe_fingerprint(images: np.ndarray, ids: tuple[str, ...]) -> str:
    """sha256 of the probe images' bytes in order, their shape and dtype, and their ids."""
    h = hashlib.sha256()
    h.update(json.dumps({"shape": list(images.shape), "dtype": str(images.dtype), "ids": list(ids)}).encode())
    array = np.ascontiguousarray(images)
    step = max(1, (64 * 2**20) // max(1, array[0].nbytes)) if len(array) else 1
    for start in range(0, len(array), step):
        h.update(array[start : start + step].tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """Harness version, sha256 over the probing modules' source, library versions."""
    h = hashlib.sha256()
    for name in PROBING_CODE:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        files = [Path(spec.origin)] if spec.origin and not spec.submodule_search_locations else []
        for location in spec.submodule_search_locations or ():
            files += sorted(Path(location).rglob("*.py"))
        for file in files:
            h.update(name.encode() + b"\0" + file.name.encode() + b"\0" + file.read_bytes())
    libraries = {}
    for lib in PROBING_LIBRARIES:
        try:
            libraries[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"harness": __version__, "source_sha256": h.hexdigest(), "libraries": libraries}


def key_parts(card: ModelCard, probe_sha: str, settings: Any, device_type: str) -> dict:
    """Everything the key is computed from (stored in the entry's manifest, for inspection)."""
    onnx_sha = sha256_file(card.onnx)
    return {
        "onnx_sha256": onnx_sha,
        "card": card_fields(card),
        "probe_sha256": probe_sha,
        "settings": _plain(settings),
        "device_type": device_type,
        "code": code_version(),
    }


def cache_key(parts: dict) -> str:
    return digest(parts)
