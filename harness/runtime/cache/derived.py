"""Results derived from cached artifacts, kept across runs by content key beside the artifact cache.

A run that adds one model to a cached zoo should cost the new work only. Besides the per-model
artifacts, four kinds of intermediate results are therefore kept under the cache root:

- ``vectors/``: per-model estimator vectors (:mod:`harness.estimators.model_vectors`);
- ``pairs/``: per-pair estimator values (:mod:`harness.estimators.pair_values`);
- ``evaluations/``: an estimator's evaluation against a ground truth
  (:mod:`harness.evaluation.metrics`), unchanged when the added model has no measured transfer;
- ``probes/``: generated probe sets (:mod:`harness.runtime.cache.probe_sets`).

Every file is keyed by a sha256 over exactly what it is computed from (:func:`content_key`,
including the source of the code that computes it), written atomically, and starts with the
sha256 of its payload: a file that does not match is not trusted, the result is computed again
and the file rewritten. Reads refresh the file's time (least recently used ones are pruned with
the cache by ``harness cache prune``). Outside :func:`derived_results_in` nothing is kept.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from harness.common.atomic import write_atomic
from harness.runtime.cache.key import code_files, source_digest
from harness.runtime.cache.store import DERIVED

_ROOT: ContextVar[Path | None] = ContextVar("derived_results_root", default=None)


@contextmanager
def derived_results_in(cache_root: Path | None) -> Iterator[None]:
    """Inside this block derived results are read from and stored under ``cache_root``; None keeps nothing."""
    token = _ROOT.set(None if cache_root is None else Path(cache_root))
    try:
        yield
    finally:
        _ROOT.reset(token)


def kept() -> bool:
    """Whether derived results are being kept (inside :func:`derived_results_in` with a folder)."""
    return _ROOT.get() is not None


@cache
def code_digest(package: str, libraries: tuple[str, ...] = ("numpy", "scipy")) -> str:
    """sha256 over a package's source (found, not imported) and the libraries' versions: what its results also depend on."""
    parts = [source_digest(code_files((package,)))]
    for library in libraries:
        try:
            parts.append(f"{library}={version(library)}")
        except PackageNotFoundError:
            parts.append(f"{library}=?")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def content_key(*parts) -> str:
    """sha256 over ``parts`` hashed by :func:`feed_value` (arrays by dtype, shape and bytes)."""
    digest = hashlib.sha256()
    feed_value(digest, list(parts))
    return digest.hexdigest()


def load(kind: str, key: str) -> bytes | None:
    """The payload stored under ``key``, or None when not kept, absent, or not matching its checksum."""
    root = _ROOT.get()
    if root is None:
        return None
    path = _path(root, kind, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = data[32:]
    if len(data) < 32 or hashlib.sha256(payload).digest() != data[:32]:
        return None
    try:
        path.touch()  # last use, for pruning least recently used results
    except OSError:
        pass
    return payload


def store(kind: str, key: str, payload: bytes) -> None:
    """Keep ``payload`` under ``key`` (atomic); a folder that cannot be written only costs a recomputation."""
    root = _ROOT.get()
    if root is None:
        return
    try:
        write_atomic(_path(root, kind, key), hashlib.sha256(payload).digest() + payload)
    except OSError:
        pass


def _path(root: Path, kind: str, key: str) -> Path:
    if kind not in DERIVED:
        raise ValueError(f"unknown kind of derived result {kind!r}; expected one of {DERIVED}")
    return root / kind / f"{key}.bin"


def feed_value(digest, value) -> None:
    """Hash ``value`` unambiguously (type-tagged, length-prefixed), order preserved."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.ascontiguousarray(value)
        if array.dtype == object:
            raise TypeError("object arrays have no stable bytes")
        head = f"A{array.dtype.str}{array.shape}".encode()
        digest.update(struct.pack("<Q", len(head)) + head)
        data = array.tobytes()
        digest.update(struct.pack("<Q", len(data)))
        digest.update(data)
    elif isinstance(value, Mapping):
        digest.update(b"M" + struct.pack("<Q", len(value)))
        for key, item in value.items():
            feed_value(digest, key)
            feed_value(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update((b"L" if isinstance(value, list) else b"T") + struct.pack("<Q", len(value)))
        for item in value:
            feed_value(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str)):
        text = f"{type(value).__name__}:{value!r}".encode()
        digest.update(b"S" + struct.pack("<Q", len(text)) + text)
    else:
        raise TypeError(f"cannot hash a {type(value).__name__} by content")
