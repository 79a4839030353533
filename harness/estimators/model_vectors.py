"""Per-model estimator vectors, kept across runs beside the artifact cache.

``rsa``, ``depara_edge``, the ``cka`` family and ``dds`` reduce every model to one normalised
vector (the standardised ranks of its image-pair distances, or its centred Gram matrix as a
unit vector) and compare two models by an inner product. The reduction is the expensive part
(an n x n distance matrix and a rank transform per model); the inner products of all pairs are
one small matrix product. A vector depends only on the model's features and the reduction, so a
run that adds one model to a cached zoo computes one vector per reduction and reads the others
back (measured on the default zoo: see docs/scale.md).

Key: sha256 over the features file's own sha256 (vouched for by the verified cache entry it
came from), the reduction's name with its parameters, the source of every module of
:mod:`harness.estimators` and the numpy and scipy versions. Features without such a checksum
(arrays made in memory, image subsets of the stability resampling) are never stored: their
vectors are computed every time.

File: ``<cache>/vectors/<key>.f64`` = 32-byte sha256 of the payload, then the float64 payload.
A file whose checksum or length does not match is not trusted: the vector is computed again
and the file rewritten. Written atomically; pruned with the cache (``harness cache prune``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from harness.common.atomic import write_atomic
from harness.runtime.cache.key import code_files, source_digest
from harness.runtime.cache.store import ArtifactCache

_FOLDER: ContextVar[Path | None] = ContextVar("model_vector_folder", default=None)


@contextmanager
def vectors_kept_in(cache_root: Path | None) -> Iterator[None]:
    """Inside this block, vectors of cached features are stored in (and read from) ``cache_root``'s
    vectors folder; ``None`` keeps nothing (every vector computed)."""
    token = _FOLDER.set(None if cache_root is None else ArtifactCache(Path(cache_root)).vectors_dir)
    try:
        yield
    finally:
        _FOLDER.reset(token)


@cache
def _code() -> bytes:
    """What every vector also depends on: the estimators' source and the libraries that compute them."""
    parts = [source_digest(code_files(("harness.estimators",)))]
    for package in ("numpy", "scipy"):
        try:
            parts.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package}=?")
    return "\n".join(parts).encode()


def vector_key(features_sha256: str, reduction: str) -> str:
    return hashlib.sha256(_code() + b"\0" + features_sha256.encode() + b"\0" + reduction.encode()).hexdigest()


def model_vectors(features: Sequence, reduction: str, reduce: Callable[[object], np.ndarray]) -> Iterator[np.ndarray]:
    """``reduce(f)`` for every model's features ``f``, one at a time, read back where stored before.

    ``reduction`` names the reduction and every parameter it takes (e.g. ``"cka:linear:debiased"``):
    two reductions with the same name must compute the same vector.
    """
    folder = _FOLDER.get()
    for f in features:
        checksum = getattr(f, "content_sha256", None)
        if folder is None or checksum is None:
            yield np.asarray(reduce(f), dtype=np.float64)
            continue
        path = folder / f"{vector_key(checksum, reduction)}.f64"
        vector = _read(path)
        if vector is None:
            vector = np.ascontiguousarray(reduce(f), dtype=np.float64)
            _write(path, vector)
        yield vector


def _read(path: Path) -> np.ndarray | None:
    """The stored vector, or None when absent, unreadable or not matching its checksum."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = data[32:]
    if len(data) < 32 or len(payload) % 8 or hashlib.sha256(payload).digest() != data[:32]:
        return None
    try:
        path.touch()  # last use, for pruning least recently used vectors
    except OSError:
        pass
    return np.frombuffer(payload, dtype=np.float64)


def _write(path: Path, vector: np.ndarray) -> None:
    """Store atomically; a folder that cannot be written (full disk, read-only) only costs a recomputation."""
    payload = vector.astype("<f8", copy=False).tobytes()
    try:
        write_atomic(path, hashlib.sha256(payload).digest() + payload)
    except OSError:
        pass
