"""Parts shared between estimators within one run (harness.estimators.reuse)."""

import numpy as np
import pytest

from harness.estimators import estimate
from harness.estimators.reuse import part, shared_within_run
from harness.probing.artifacts import ModelArtifacts


def _zoo(seed: int = 0, n: int = 4) -> list[ModelArtifacts]:
    rng = np.random.default_rng(seed)
    return [ModelArtifacts(model_id=f"m{i}", task="t", maps={"gradxinput": rng.normal(size=(12, 16))},
                           features=rng.normal(size=(12, 8)), map_shape=(4, 4)) for i in range(n)]


def test_part_is_computed_once_inside_the_scope_and_every_time_outside():
    arts, calls = _zoo(), []

    def compute():
        calls.append(1)
        return np.ones(3)

    part("x", arts, compute)
    part("x", arts, compute)
    assert len(calls) == 2  # no scope: nothing kept
    with shared_within_run():
        first = part("x", arts, compute)
        second = part("x", arts, compute)
        part("x", arts[:2], compute)  # other models: another part
    assert len(calls) == 4 and first is second
    with pytest.raises(ValueError):
        first[0] = 2.0  # shared values are read-only


def test_depara_inside_the_scope_equals_depara_outside():
    arts = _zoo()
    alone = estimate("depara", arts).matrix
    with shared_within_run():
        edge = estimate("depara_edge", arts).matrix
        node = estimate("gradxinput", arts).matrix
        shared = estimate("depara", arts).matrix
    np.testing.assert_array_equal(shared, alone)
    np.testing.assert_allclose(shared, 1e-3 * node + 0.25 * edge, rtol=0, atol=1e-15)
