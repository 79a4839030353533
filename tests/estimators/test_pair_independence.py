"""A[s, t] depends on models s and t alone, bit for bit: adding a model anywhere changes no other pair.

What lets an incremental rerun reuse the evaluation of unchanged pairs
(harness.runtime.cache.derived); a matrix product would round each pair by its position.
"""

import numpy as np
import pytest

from harness.estimators import estimate
from harness.probing.artifacts import ModelArtifacts

DEFAULT_LABEL_FREE = ("saliency", "gradxinput", "elrp", "depara", "depara_edge", "rsa", "cka", "dds")


def _models(n: int, seed: int) -> list[ModelArtifacts]:
    rng = np.random.default_rng(seed)
    return [ModelArtifacts(model_id=f"m{seed}-{i}", task="t",
                           maps={m: rng.normal(size=(40, 256)).astype(np.float32) for m in ("saliency", "gradxinput", "elrp")},
                           features=rng.normal(size=(40, 24)).astype(np.float32), map_shape=(16, 16)) for i in range(n)]


@pytest.mark.parametrize("name", DEFAULT_LABEL_FREE)
@pytest.mark.parametrize("where", [0, 5, 13])
def test_adding_a_model_leaves_every_other_pair_bit_identical(name, where):
    zoo = _models(13, seed=0)  # from ~12 rows on, BLAS tiles a matrix product by position
    added = _models(1, seed=1)[0]
    before = estimate(name, zoo).matrix
    grown = zoo[:where] + [added] + zoo[where:]
    after = estimate(name, grown).matrix
    keep = [i for i in range(len(grown)) if i != where]
    np.testing.assert_array_equal(after[np.ix_(keep, keep)], before)
