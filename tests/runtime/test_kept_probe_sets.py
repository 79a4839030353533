"""Generated probe sets kept beside the cache (harness.runtime.cache.probe_sets)."""

import numpy as np
from PIL import Image

from harness.probes import ProbeRequest, load_probe
from harness.runtime.cache import probe_sets
from harness.runtime.cache.derived import derived_results_in
from harness.runtime.cache.probe_sets import load_probe_kept

REQUEST = ProbeRequest(n_images=3, seed=1, size=16)


def _kept_files(root):
    return sorted((root / "probes").glob("*.bin")) if (root / "probes").is_dir() else []


def _assert_same(a, b):
    np.testing.assert_array_equal(a.images, b.images)
    assert (a.name, a.ids, a.skipped, a.source, a.details) == (b.name, b.ids, b.skipped, b.source, b.details)
    assert a.sha256() == b.sha256()


def test_a_kept_set_is_the_generated_set(tmp_path, monkeypatch):
    fresh = load_probe("synthetic-indoor", REQUEST)
    with derived_results_in(tmp_path):
        stored = load_probe_kept("synthetic-indoor", REQUEST)
        assert len(_kept_files(tmp_path)) == 1
        monkeypatch.setattr(probe_sets, "load_probe", lambda *a: (_ for _ in ()).throw(AssertionError("generated again")))
        read_back = load_probe_kept("synthetic-indoor", REQUEST)
    _assert_same(stored, fresh)
    _assert_same(read_back, fresh)


def test_each_request_has_its_own_set(tmp_path):
    with derived_results_in(tmp_path):
        a = load_probe_kept("synthetic-indoor", REQUEST)
        b = load_probe_kept("synthetic-indoor", ProbeRequest(n_images=3, seed=2, size=16))
        c = load_probe_kept("synthetic-studio", REQUEST)
    assert len(_kept_files(tmp_path)) == 3
    assert a.sha256() != b.sha256() and a.sha256() != c.sha256()


def test_a_damaged_file_is_generated_again_and_rewritten(tmp_path):
    fresh = load_probe("synthetic-indoor", REQUEST)
    with derived_results_in(tmp_path):
        load_probe_kept("synthetic-indoor", REQUEST)
        (path,) = _kept_files(tmp_path)
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF  # one pixel flipped: the checksum no longer matches
        path.write_bytes(bytes(data))
        _assert_same(load_probe_kept("synthetic-indoor", REQUEST), fresh)
    assert path.read_bytes()[-5] != data[-5]


def test_a_payload_that_is_not_a_probe_set_is_refused():
    assert probe_sets.decode(b"") is None
    assert probe_sets.decode(b"\x05\x00\x00\x00\x00\x00\x00\x00{bad}") is None
    good = probe_sets.encode(load_probe("synthetic-indoor", REQUEST))
    assert probe_sets.decode(good[:-1]) is None  # one byte short of its shape
    assert probe_sets.decode(good) is not None


def test_a_set_beyond_the_size_limit_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(probe_sets, "MAX_KEPT_BYTES", 3 * 3 * 16 * 16 - 1)  # one byte less than REQUEST's images
    with derived_results_in(tmp_path):
        probe = load_probe_kept("synthetic-indoor", REQUEST)
    assert probe.n_images == 3 and _kept_files(tmp_path) == []


def test_nothing_is_kept_outside_a_kept_cache_or_for_image_folders(tmp_path):
    load_probe_kept("synthetic-indoor", REQUEST)  # outside derived_results_in
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    with derived_results_in(tmp_path / "cache"):
        probe = load_probe_kept(str(folder), ProbeRequest(size=8))
    assert probe.n_images == 2
    assert _kept_files(tmp_path / "cache") == []
