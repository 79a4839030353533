"""Per-model estimator vectors kept across runs (harness.estimators.model_vectors)."""

import numpy as np
import pytest

from harness.estimators import estimate
from harness.estimators.model_vectors import model_vectors
from harness.runtime.cache.derived import derived_results_in
from harness.probing.artifacts import ModelArtifacts
from harness.runtime.cache.store import ArtifactCache

GRAM_ESTIMATORS = ("rsa", "depara_edge", "cka", "cka-rbf", "dds")


def _cached_zoo(tmp_path, seed: int = 0, n: int = 4) -> list[ModelArtifacts]:
    """Models whose features come from verified cache entries (as a run loads them)."""
    rng = np.random.default_rng(seed)
    cache = ArtifactCache(tmp_path / "cache")
    arts = []
    for i in range(n):
        writer = cache.writer(f"{i:064x}", 12)
        writer.append("features", rng.normal(size=(12, 8)).astype(np.float32))
        entry = writer.commit({"model_id": f"m{i}"})
        arts.append(ModelArtifacts(model_id=f"m{i}", task="t", features=entry.arrays()["features"]))
    return arts


def _in_memory(arts: list[ModelArtifacts]) -> list[ModelArtifacts]:
    return [ModelArtifacts(model_id=a.model_id, task="t", features=np.asarray(a.features)) for a in arts]


@pytest.mark.parametrize("name", GRAM_ESTIMATORS)
def test_stored_vectors_give_the_matrix_computed_without_them(tmp_path, name):
    arts = _cached_zoo(tmp_path)
    plain = estimate(name, _in_memory(arts)).matrix
    with derived_results_in(tmp_path / "cache"):
        first = estimate(name, arts).matrix  # computes and stores
        second = estimate(name, arts).matrix  # reads back
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(second, plain)
    assert ArtifactCache(tmp_path / "cache").derived_files()


def test_a_stored_vector_is_read_back_instead_of_computed(tmp_path):
    arts = _cached_zoo(tmp_path, n=3)
    calls = []

    def reduce(f):
        calls.append(1)
        return np.asarray(f, dtype=np.float64).ravel()

    with derived_results_in(tmp_path / "cache"):
        first = list(model_vectors([a.features for a in arts], "test:ravel", reduce))
        second = list(model_vectors([a.features for a in arts], "test:ravel", reduce))
        list(model_vectors([a.features for a in arts], "test:other", reduce))  # another reduction: another key
    assert len(calls) == 6
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_features_without_a_checksum_and_runs_without_a_folder_store_nothing(tmp_path):
    arts = _cached_zoo(tmp_path, n=2)
    calls = []

    def reduce(f):
        calls.append(1)
        return np.zeros(3)

    with derived_results_in(tmp_path / "cache"):
        list(model_vectors([np.asarray(a.features) for a in arts], "test", reduce))  # in memory: no checksum
        list(model_vectors([np.asarray(a.features)[:6] for a in arts], "test", reduce))  # a subset of images
    list(model_vectors([a.features for a in arts], "test", reduce))  # no folder
    list(model_vectors([a.features for a in arts], "test", reduce))
    assert len(calls) == 8
    assert not ArtifactCache(tmp_path / "cache").derived_files()


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_damaged_vector_file_is_recomputed_and_rewritten(tmp_path, damage):
    arts = _cached_zoo(tmp_path)
    plain = estimate("rsa", _in_memory(arts)).matrix
    with derived_results_in(tmp_path / "cache"):
        estimate("rsa", arts)
    victim = sorted(ArtifactCache(tmp_path / "cache").derived_files())[0][0]
    data = victim.read_bytes()
    victim.write_bytes({"flip": data[:-1] + bytes([data[-1] ^ 1]), "truncate": data[:-8], "empty": b""}[damage])
    with derived_results_in(tmp_path / "cache"):
        again = estimate("rsa", arts).matrix
    np.testing.assert_array_equal(again, plain)
    assert victim.read_bytes() == data  # rewritten whole
