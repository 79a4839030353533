"""The estimator registry, the affinity record and the checks every estimator shares.

Convention everywhere: ``A[source, target]`` (row = source model, column = target model),
higher = better transfer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.runtime.cache.npy import all_finite
from harness.common.errors import HarnessError
from harness.estimators.params import EstimatorParams
from harness.common.registry import Registry

EstimatorFn = Callable[[Sequence[ModelArtifacts], EstimatorParams], np.ndarray]


@dataclass(frozen=True)
class Estimator:
    """One label-free estimator: what it computes, what it reads, where it comes from.

    ``reads``: the attribution methods whose maps it reads (empty: probe-layer features only,
    so it does not depend on the attribution target and has no ``name@target`` variants).
    """

    name: str
    fn: EstimatorFn
    reads: tuple[str, ...]
    description: str
    reference: str

    def __call__(self, artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
        return self.fn(artifacts, params)


ESTIMATORS: Registry[Estimator] = Registry("estimator")


def register(name: str, reads: tuple[str, ...], reference: str, description: str | None = None):
    """Decorator: register ``fn`` as estimator ``name`` (description: the first paragraph of its docstring)."""

    def decorate(fn: EstimatorFn) -> EstimatorFn:
        text = description or " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())
        ESTIMATORS.add(name, Estimator(name, fn, tuple(reads), text, reference))
        return fn

    return decorate


def parse_estimator(name: str) -> tuple[str, str]:
    """``"depara@energy"`` -> ``("depara", "energy")``, both checked; a plain name -> the default target.

    Estimators that read no attribution maps (``rsa``, ``depara_edge``) take no target.
    """
    from harness.attribution.named_targets import ATTRIBUTION_TARGETS, DEFAULT_TARGET, split_key

    base, target = split_key(name)
    ESTIMATORS.get(base)  # did-you-mean for the estimator part
    ATTRIBUTION_TARGETS.get(target)  # and for the target part
    if target != DEFAULT_TARGET and not ESTIMATORS.get(base).reads:
        raise HarnessError(f"estimator {name!r}: {base!r} reads probe-layer features only, so it has no attribution "
                           f"target; use {base!r}")
    return base, target


@dataclass(frozen=True)
class Affinity:
    """One estimator's N x N matrix ``matrix[source, target]`` over ``model_ids`` (read-only)."""

    name: str
    model_ids: tuple[str, ...]
    matrix: np.ndarray


def estimate(name: str, artifacts: Sequence[ModelArtifacts], params: EstimatorParams | None = None) -> Affinity:
    """Run estimator ``name`` (``base`` or ``base@target``) over all models; unknown names list the valid ones."""
    base, target = parse_estimator(name)
    estimator = ESTIMATORS.get(base)
    if not artifacts:
        raise HarnessError(f"estimator {name!r}: no models to compare")
    ids = [a.model_id for a in artifacts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise HarnessError(f"estimator {name!r}: model id(s) {', '.join(map(repr, dupes))} appear more than once")
    params = replace(params or EstimatorParams(), target=target)
    matrix = np.array(estimator(artifacts, params), dtype=np.float64)
    if matrix.shape != (len(ids), len(ids)):  # a bug in the estimator, not a user error
        raise AssertionError(f"estimator {name!r} returned shape {matrix.shape} for {len(ids)} models")
    matrix.setflags(write=False)
    return Affinity(name=name, model_ids=tuple(ids), matrix=matrix)


def rank_sources(affinity: np.ndarray, model_ids: Sequence[str]) -> dict[str, list[str]]:
    """For every target (column): the other models by descending affinity.

    Ties keep ``model_ids`` order (stable sort) and NaN entries go last, so the ranking is
    deterministic whatever the matrix holds.
    """
    a = np.asarray(affinity, dtype=np.float64)
    n = len(model_ids)
    if a.shape != (n, n):
        raise HarnessError(f"affinity matrix has shape {a.shape}, expected ({n}, {n}) for {n} model ids")
    out: dict[str, list[str]] = {}
    for t, target in enumerate(model_ids):
        col = a[:, t]
        # lexsort: last key is primary -> NaN flag, then -value, then position (stable).
        order = np.lexsort((np.arange(n), -np.nan_to_num(col, nan=0.0), np.isnan(col)))
        out[target] = [model_ids[s] for s in order if s != t]
    return out


def stacked_maps(artifacts: Sequence[ModelArtifacts], method: str) -> list:
    """Each model's ``maps[method]`` as a finite (n_images, pixels) array, shapes checked.

    In-memory arrays come back as float arrays; lazy views of cached files (see
    :mod:`harness.probing.artifacts`) come back as they are, checked by a chunked scan, so that the
    estimators can read every model a chunk of images at a time.
    """
    arrays: list = []
    for art in artifacts:
        if method not in art.maps:
            have = ", ".join(sorted(art.maps)) or "none"
            raise HarnessError(f"model {art.model_id!r}: no {method!r} attribution maps (has: {have}); run the {method} attribution for it")
        m = _rows(art.maps[method])
        _check(art.model_id, f"{method!r} maps", m, arrays[0].shape if arrays else None, artifacts[0].model_id)
        arrays.append(m)
    return arrays


def stacked_features(artifacts: Sequence[ModelArtifacts]) -> list:
    """Each model's probe-layer features as finite (n_images, units) arrays (or lazy views); widths may differ."""
    arrays: list = []
    for art in artifacts:
        if art.features is None:
            raise HarnessError(f"model {art.model_id!r}: no probe-layer features; run the feature hooks for it")
        f = _rows(art.features)
        rows = (arrays[0].shape[0],) if arrays else None
        _check(art.model_id, "features", f, rows, artifacts[0].model_id)
        if f.shape[0] < 2:
            raise HarnessError(f"model {art.model_id!r}: features cover {f.shape[0]} probe image(s); image-pair methods need at least 2")
        arrays.append(f)
    return arrays


def _rows(value):
    """An ndarray flattened to (n, values); a lazy view (already 2-D) is kept lazy."""
    if isinstance(value, np.ndarray) or not hasattr(value, "shape"):
        m = np.asarray(value)
        return m.reshape(m.shape[0], -1) if m.ndim > 2 else m
    return value


def _check(model_id: str, what: str, arr: np.ndarray, expect: tuple[int, ...] | None, first: str) -> None:
    if len(arr.shape) != 2 or arr.shape[0] == 0:
        raise HarnessError(f"model {model_id!r}: {what} have shape {arr.shape}, expected (n_images, values) with n_images >= 1")
    if expect is not None and arr.shape[: len(expect)] != expect:
        raise HarnessError(
            f"model {model_id!r}: {what} have shape {arr.shape}, but model {first!r} has {expect}; "
            "all models need the same probe images (and map resolution)"
        )
    if not all_finite(arr):
        raise HarnessError(f"model {model_id!r}: {what} contain NaN, inf or non-numeric values")
