"""Probe sets that cannot say much: identical images, flat images, labels with one value.

Estimators compare models by how their responses *differ* across probe images; attribution
maps say *where* in an image a model looks. A set of identical images gives undefined
correlations (reported as 0 or noise), a flat single-colour image has no "where", and labels
with a single class or value leave a labelled estimator nothing to predict. These checks
turn such sets into a refusal or a one-line warning instead of silent numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np

from harness.common.errors import HarnessError, excerpt
from harness.probes.base import ProbeSet


def distinct_images(probe: ProbeSet) -> int:
    """How many different images the set holds (byte-identical images count once)."""
    return len({hashlib.sha256(np.ascontiguousarray(image).tobytes()).digest() for image in probe.images})


def flat_images(probe: ProbeSet) -> list[int]:
    """Indices of images that are one flat colour."""
    n = len(probe.images)
    flat = probe.images.reshape(n, probe.images.shape[1], -1)
    return [i for i in range(n) if bool((flat[i] == flat[i][:, :1]).all())]


def require_different_images(probe: ProbeSet, what: str = "probe set") -> None:
    """Refuse a set without two different images (for commands that compare responses across images)."""
    if probe.n_images >= 2 and distinct_images(probe) < 2:
        raise HarnessError(f"{what} {excerpt(probe.name)}: all {probe.n_images} images are identical; estimators compare how "
                           "models respond to different images: use a probe set with at least 2 different images")


def probe_warnings(probe: ProbeSet, what: str = "probe set") -> list[str]:
    """One line per weaker problem: flat single-colour images, exact repeats."""
    n = probe.n_images
    warnings = []
    flat = flat_images(probe)
    if flat:
        warnings.append(f"{what} {excerpt(probe.name)}: {len(flat)} of {n} images are one flat colour (e.g. "
                        f"{excerpt(probe.ids[flat[0]])}); their attribution maps carry no spatial information")
    distinct = distinct_images(probe)
    if 1 < distinct < n:
        warnings.append(f"{what} {excerpt(probe.name)}: {n - distinct} of {n} images repeat another image exactly; "
                        "repeats weigh those images more in every estimate")
    return warnings


def label_problem(task: str, values: np.ndarray, is_classification: bool) -> str | None:
    """Why labels cannot drive a labelled estimator (one class, or one constant value), or None."""
    values = np.asarray(values)
    if len(values) < 2:
        return f"labels {excerpt(task)}: {len(values)} labelled image(s); at least 2 are needed"
    if is_classification:
        classes = np.unique(values.reshape(len(values), -1), axis=0)
        if len(classes) < 2:
            return f"labels {excerpt(task)}: every one of the {len(values)} images has the same class; a labelled estimator needs at least 2 classes"
        return None
    flat = values.reshape(len(values), -1).astype(np.float64)
    if not np.all(np.isfinite(flat)):
        return f"labels {excerpt(task)}: values that are not finite numbers"
    if np.all(flat.max(axis=0) - flat.min(axis=0) == 0):
        return f"labels {excerpt(task)}: every one of the {len(values)} images has the same value; nothing to predict"
    return None
