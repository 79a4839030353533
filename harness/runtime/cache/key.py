"""Cache keys: a sha256 that changes exactly when a model's probing results could change.

The key covers (1) the ONNX file's bytes, (2) the card's normalised fields that affect import
and probing (framework, input conventions, probe layer, attribution target, heads, parity
tolerance, class names — not descriptive fields like task or notes, nor the id: renaming a card reuses its
artifacts), (3) the probe set's content (image bytes, order, shape, ids), (4) every probing
parameter, hashed generically from the settings dataclass so a new parameter is covered
without touching this file, the device type, and (5) the code that computes the artifacts:
the harness version, the source bytes of every package on the probing path and the versions
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
from harness.model.card import ModelCard
from harness.common.hashing import sha256_file

#: Packages (and modules) whose source decides a model's artifacts: everything on the path from a
#: card and its ONNX file to the arrays a stage writes. Whole packages, so that a new module
#: (a converter, an adapter pass, an attribution rule) is covered without touching this list.
PROBING_CODE = (
    "harness.common", "harness.adapters", "harness.model", "harness.attribution", "harness.probing",
    "harness.runtime.stage",
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
        # a classifier's class names decide whether class probabilities are computed
        "classes": list(card.classes),
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


def code_files(names: tuple[str, ...] = PROBING_CODE) -> list[tuple[str, Path]]:
    """(label, file) of every source file of ``names``, sorted; a name that does not resolve is a bug."""
    files: list[tuple[str, Path]] = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"cache key: {name} (in PROBING_CODE) is not an importable module; fix the list")
        if spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                root = Path(location)
                files += [(f"{name}/{f.relative_to(root).as_posix()}", f) for f in sorted(root.rglob("*.py"))]
        else:
            files.append((name, Path(spec.origin)))
    return files


def source_digest(files: list[tuple[str, Path]]) -> str:
    """sha256 over each file's label and bytes, in order."""
    h = hashlib.sha256()
    for label, file in files:
        h.update(label.encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """Harness version, sha256 over the probing packages' source, library versions."""
    libraries = {}
    for lib in PROBING_LIBRARIES:
        try:
            libraries[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"harness": __version__, "source_sha256": source_digest(code_files()), "libraries": libraries}


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
