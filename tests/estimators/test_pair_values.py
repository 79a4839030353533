"""Per-pair map affinities kept across runs (harness.estimators.pair_values)."""

import hashlib

import numpy as np
import pytest

from harness.estimators import attribution_maps
from harness.estimators.attribution_maps import mean_cosine_affinity
from harness.estimators.grid import GridMaps
from harness.runtime.cache.derived import derived_results_in
from harness.runtime.cache.npy import NpyRows


def _maps(tmp_path, n: int, seed: int = 0, images: int = 6, pixels: int = 64) -> list[NpyRows]:
    """Map files with the content digest a verified cache entry would vouch for."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        path = tmp_path / f"maps-{seed}-{i}.npy"
        np.save(path, rng.normal(size=(images, pixels)).astype(np.float32))
        out.append(NpyRows(path, content_sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    return out


@pytest.fixture
def computed_pairs(monkeypatch):
    """Every pair list :func:`mean_cosine_affinity` computes, in call order."""
    calls = []
    real = attribution_maps._pair_sums

    def spy(maps, pairs, chunk_bytes):
        calls.append(list(pairs))
        return real(maps, pairs, chunk_bytes)

    monkeypatch.setattr(attribution_maps, "_pair_sums", spy)
    return calls


def _pair_files(root):
    return sorted((root / "pairs").glob("*.bin")) if (root / "pairs").is_dir() else []


def test_kept_pairs_are_read_back_bit_for_bit(tmp_path, computed_pairs):
    maps = _maps(tmp_path, 4)
    fresh = mean_cosine_affinity(maps)
    with derived_results_in(tmp_path / "cache"):
        stored = mean_cosine_affinity(maps)
        read_back = mean_cosine_affinity(maps)
    np.testing.assert_array_equal(stored, fresh)
    np.testing.assert_array_equal(read_back, fresh)
    assert [len(p) for p in computed_pairs] == [6, 6, 0]  # the third call computed nothing


def test_an_added_model_computes_its_own_pairs_only(tmp_path, computed_pairs):
    zoo = _maps(tmp_path, 4)
    added = _maps(tmp_path, 1, seed=1)[0]
    bigger = zoo[:2] + [added] + zoo[2:]  # the new model sits in the middle
    with derived_results_in(tmp_path / "cache"):
        mean_cosine_affinity(zoo)
        before = set(_pair_files(tmp_path / "cache"))
        kept = mean_cosine_affinity(bigger)
    assert computed_pairs[-1] == [(0, 2), (1, 2), (2, 3), (2, 4)]
    assert len(set(_pair_files(tmp_path / "cache")) - before) == 1  # one row written: the added model's
    np.testing.assert_array_equal(kept, mean_cosine_affinity(bigger))  # as computed from scratch


def test_a_damaged_row_is_computed_again(tmp_path, computed_pairs):
    maps = _maps(tmp_path, 3)
    fresh = mean_cosine_affinity(maps)
    with derived_results_in(tmp_path / "cache"):
        mean_cosine_affinity(maps)
        for path in _pair_files(tmp_path / "cache"):
            data = bytearray(path.read_bytes())
            data[-1] ^= 0x01  # the last bit of a stored value: the checksum fails
            path.write_bytes(bytes(data))
        again = mean_cosine_affinity(maps)
    np.testing.assert_array_equal(again, fresh)
    assert len(computed_pairs[-1]) == 3


def test_maps_without_a_content_digest_are_never_kept(tmp_path, computed_pairs):
    arrays = [np.asarray(m) for m in _maps(tmp_path, 3)]
    with derived_results_in(tmp_path / "cache"):
        mean_cosine_affinity(arrays)
        mean_cosine_affinity(arrays)
    assert _pair_files(tmp_path / "cache") == []
    assert [len(p) for p in computed_pairs] == [3, 3]


def test_a_resampled_view_has_its_own_digest(tmp_path):
    (rows,) = _maps(tmp_path, 1, pixels=64)
    eight, four = GridMaps(rows, (8, 8), (4, 4)), GridMaps(rows, (8, 8), (2, 2))
    assert eight.content_sha256 not in (None, rows.content_sha256)
    assert eight.content_sha256 != four.content_sha256
    assert eight.content_sha256 == GridMaps(rows, (8, 8), (4, 4)).content_sha256
    assert GridMaps(np.asarray(rows), (8, 8), (4, 4)).content_sha256 is None
