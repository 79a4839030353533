"""The artifact cache: keys, atomic checksummed entries, resume, incremental runs, --no-cache, pruning."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.runtime.cache.key import cache_key, card_fields, code_files, digest, key_parts, probe_fingerprint
from harness.runtime.cache.npy import NpyRows, NpyWriter, all_finite
from harness.runtime.cache.store import ArtifactCache
from harness.model.card import load_card
from harness.cli.main import main
from harness.probing.loop import ProbeSettings
from harness.report.document import VOLATILE_KEYS
from tests.zoo_factory import TORCH_MODELS, build_test_zoo

MODELS = TORCH_MODELS[:3]  # resnet-a, resnet-b (argmax target), mobilenet: all 32 px
EXTRA = (TORCH_MODELS[3],)  # densenet: the card added later


@pytest.fixture(scope="module")
def zoos(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cachezoo")
    zoo = build_test_zoo(base / "zoo", models=MODELS, nhwc_model=False, with_ground_truth=False)
    extra = build_test_zoo(base / "extra", models=EXTRA, nhwc_model=False, with_ground_truth=False)
    return zoo, extra


def copy_zoo(zoo: Path, dest: Path) -> Path:
    shutil.copytree(zoo, dest)
    return dest


def run(zoo: Path, out: Path, cache: Path | None, *extra: str) -> dict:
    opts = ["--cache", str(cache)] if cache is not None else []
    code = main(["run", "--zoo", str(zoo), "--images", "6", "--out", str(out), "--bootstrap", "20", *opts, *extra])
    assert code == 0
    return json.loads((out / "report.json").read_text())


def stable(report: dict) -> str:
    return json.dumps({k: v for k, v in report.items() if k not in VOLATILE_KEYS}, sort_keys=True)


@pytest.fixture(scope="module")
def first(zoos, tmp_path_factory):
    """A first run into a fresh cache, and the cache folder."""
    cache = tmp_path_factory.mktemp("cache")
    return run(zoos[0], tmp_path_factory.mktemp("out"), cache), cache


# --- keys --------------------------------------------------------------------------------------

def test_key_changes_exactly_when_results_could(zoos, tmp_path):
    zoo = copy_zoo(zoos[0], tmp_path / "zoo")
    card = load_card(zoo / "resnet-a.yaml")
    images = np.random.default_rng(0).integers(0, 255, (4, 3, 8, 8), dtype=np.uint8)
    ids = tuple("abcd")
    settings = ProbeSettings(methods=("saliency",))
    base = cache_key(key_parts(card, probe_fingerprint(images, ids), settings, "cpu"))

    def key(card=card, images=images, ids=ids, settings=settings, device="cpu"):
        return cache_key(key_parts(card, probe_fingerprint(images, ids), settings, device))

    assert key() == base  # deterministic
    changed = images.copy()
    changed[1, 0, 0, 0] ^= 1
    assert key(images=changed) != base  # one pixel
    assert key(images=images[[1, 0, 2, 3]], ids=tuple("bacd")) != base  # order
    assert key(images=images[:3], ids=ids[:3]) != base  # size of the probe set
    assert key(settings=dataclasses.replace(settings, eps=1e-3)) != base  # any probing parameter
    assert key(device="cuda") != base
    assert key(card=dataclasses.replace(card, input=dataclasses.replace(card.input, mean=(0.5, 0.5, 0.5)))) != base
    assert key(card=dataclasses.replace(card, probe_layer="other")) != base
    assert key(card=dataclasses.replace(card, classes=("cat", "dog"))) != base  # class probabilities computed or not
    # descriptive fields and the id do not change what is computed
    assert key(card=dataclasses.replace(card, id="renamed", task="other", notes="retitled")) == base
    # ONNX bytes
    onnx = zoo / "resnet-a.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    assert key() != base


def test_a_new_probing_parameter_is_covered_without_touching_the_key_code():
    @dataclasses.dataclass(frozen=True)
    class Extended(ProbeSettings):
        new_knob: float = 1.0

    a = digest(Extended(methods=("saliency",)))
    b = digest(Extended(methods=("saliency",), new_knob=2.0))
    assert a != b


def test_card_fields_are_the_normalised_ones(zoos):
    fields = card_fields(load_card(zoos[0] / "resnet-b.yaml"))
    assert set(fields) == {"framework", "input", "probe_layer", "target", "heads", "parity_tolerance", "classes"}
    assert fields["target"]["kind"] == "argmax"


def test_the_code_part_covers_every_module_of_the_artifact_packages():
    covered = {path.resolve() for _, path in code_files()}
    root = Path(__file__).resolve().parents[2]
    for folder in ("harness/model", "harness/model/converters", "harness/attribution", "harness/probing", "harness/common", "adapters"):
        for path in (root / folder).rglob("*.py"):
            assert path.resolve() in covered, f"{path} changes artifacts but is not in the cache key"


def test_a_name_that_is_not_a_module_is_an_error_not_a_silent_skip():
    with pytest.raises(RuntimeError, match="harness.no_such_module"):
        code_files(("harness.no_such_module",))


def test_a_changed_converter_misses_the_cache(tmp_path, zoos, monkeypatch):
    """Edit one converter (in a copy of the covered sources): the key changes, and the entry stored under the old key is not found."""
    import harness.runtime.cache.key as key_module

    copies = []
    for label, path in code_files():
        copy = tmp_path / "src" / label
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
        copies.append((label, copy))
    monkeypatch.setattr(key_module, "code_files", lambda names=key_module.PROBING_CODE: copies)
    key_module.code_version.cache_clear()
    card = load_card(zoos[0] / "resnet-a.yaml")
    parts = lambda: key_parts(card, "probe", ProbeSettings(methods=("saliency",)), "cpu")  # noqa: E731
    before = cache_key(parts())
    cache = ArtifactCache(tmp_path / "cache")
    write_entry(cache, before, np.ones((2, 3), dtype=np.float32))
    assert cache.lookup(before)[1] == "hit"
    converter = next(copy for label, copy in copies if label == "harness.model/converters/pad.py")
    converter.write_text(converter.read_text() + "\n# a changed converter\n")
    key_module.code_version.cache_clear()
    after = cache_key(parts())
    key_module.code_version.cache_clear()
    assert after != before
    assert cache.lookup(after) == (None, "miss")


# --- files and entries ----------------------------------------------------------------------

def test_streamed_npy_round_trips_and_reads_rows(tmp_path):
    data = np.random.default_rng(1).standard_normal((7, 3, 4)).astype(np.float32)
    writer = NpyWriter(tmp_path / "a.npy", 7)
    for start in range(0, 7, 3):
        writer.append(data[start : start + 3])
    writer.close()
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), data)  # a standard .npy file
    rows = NpyRows(tmp_path / "a.npy")
    assert rows.shape == (7, 12) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows[2:5], data[2:5].reshape(3, 12))
    np.testing.assert_array_equal(np.asarray(rows), data.reshape(7, 12))
    chunks = list(rows.chunks(max_bytes=100))
    assert len(chunks) > 1 and np.array_equal(np.concatenate([c for _, c in chunks]), data.reshape(7, 12))
    assert all_finite(rows)
    with pytest.raises(ValueError, match="rows written"):
        short = NpyWriter(tmp_path / "b.npy", 7)
        short.append(data[:2])
        short.close()


def write_entry(cache: ArtifactCache, key: str, values: np.ndarray) -> None:
    writer = cache.writer(key, len(values))
    writer.append("features", values)
    writer.commit({"model_id": "m"})


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_corrupt_entries_are_detected_and_removed(tmp_path, damage):
    cache = ArtifactCache(tmp_path)
    key = "ab" * 32
    write_entry(cache, key, np.arange(40, dtype=np.float32).reshape(10, 4))
    entry, status = cache.lookup(key)
    assert status == "hit" and entry.record == {"model_id": "m"}
    np.testing.assert_array_equal(np.asarray(entry.arrays()["features"])[3], [12, 13, 14, 15])
    path = cache.entry_dir(key)
    target = path / "features.npy"
    if damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[-5] ^= 0x40
        target.write_bytes(bytes(raw))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-8])
    elif damage == "delete":
        target.unlink()
    else:
        manifest = json.loads((path / "manifest.json").read_text())
        manifest["record"]["model_id"] = "tampered"
        (path / "manifest.json").write_text(json.dumps(manifest))
    entry, status = cache.lookup(key)
    assert entry is None and status.startswith("corrupt: ")
    assert not path.exists()  # removed, so the next run recomputes and republishes
    assert cache.lookup(key) == (None, "miss")


def test_the_manifest_records_finiteness_so_readers_need_not_scan(tmp_path, monkeypatch):
    cache = ArtifactCache(tmp_path)
    finite, holed = np.ones((6, 2), np.float32), np.ones((6, 2), np.float32)
    holed[4, 1] = np.nan  # in the second batch: the flag must cover every batch
    writer = cache.writer("ef" * 32, 6)
    for start in (0, 3):
        writer.append("good", finite[start : start + 3])
        writer.append("bad", holed[start : start + 3])
    writer.commit({"model_id": "m"})
    entry, _ = cache.lookup("ef" * 32)
    assert {n: m["finite"] for n, m in entry.manifest["files"].items()} == {"good.npy": True, "bad.npy": False}
    arrays = entry.arrays()
    assert arrays["good"].known_finite and not arrays["bad"].known_finite
    assert not all_finite(arrays["bad"])  # scanned
    monkeypatch.setattr("harness.runtime.cache.npy.row_chunks", lambda *a, **k: pytest.fail("scanned a vouched-for file"))
    assert all_finite(arrays["good"])
    assert all_finite(NpyRows(arrays["good"].path, known_finite=True))


def test_an_aborted_writer_publishes_nothing(tmp_path):
    cache = ArtifactCache(tmp_path)
    writer = cache.writer("cd" * 32, 4)
    writer.append("features", np.zeros((2, 3), np.float32))
    writer.abort()
    assert cache.lookup("cd" * 32) == (None, "miss")
    assert not any(cache.tmp_dir.iterdir())


# --- runs -------------------------------------------------------------------------------------

def test_second_run_takes_every_model_from_the_cache(zoos, first, tmp_path):
    report, cache = first
    assert report["cache"]["misses"] == 3 and report["cache"]["hits"] == 0
    assert set(report["cache"]["models"].values()) == {"miss"}
    again = run(zoos[0], tmp_path, cache)
    assert again["cache"]["hits"] == 3 and set(again["cache"]["models"].values()) == {"hit"}
    assert stable(again) == stable(report)
    assert all(t["import"] == 0 and t["attribution"] == 0 for t in again["timings"]["per_model"].values())


def test_adding_a_card_probes_only_it_and_removing_one_probes_nothing(zoos, first, tmp_path):
    _, cache = first
    zoo = copy_zoo(zoos[0], tmp_path / "zoo")
    for name in ("densenet.yaml", "densenet.onnx"):
        shutil.copy(zoos[1] / name, zoo / name)
    added = run(zoo, tmp_path / "added", cache)
    assert added["cache"]["models"] == {"densenet": "miss", "mobilenet": "hit", "resnet-a": "hit", "resnet-b": "hit"}
    (zoo / "mobilenet.yaml").unlink()
    removed = run(zoo, tmp_path / "removed", cache)
    assert removed["cache"]["misses"] == 0 and removed["cache"]["hits"] == 3


def test_a_killed_run_resumes_without_recomputing_finished_models(zoos, tmp_path, monkeypatch):
    import harness.runtime.executor as executor

    real = executor.run_stage
    calls = []

    def dies_on_the_third(job, probe, advance=lambda n: None):
        calls.append(job.card.id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if the run were killed while probing the third model
        return real(job, probe, advance)

    monkeypatch.setattr(executor, "run_stage", dies_on_the_third)
    code = main(["run", "--zoo", str(zoos[0]), "--images", "6", "--out", str(tmp_path / "killed"), "--cache", str(tmp_path / "cache")])
    assert code == 130
    assert not (tmp_path / "killed" / "report.json").exists()
    monkeypatch.setattr(executor, "run_stage", real)
    resumed = run(zoos[0], tmp_path / "resumed", tmp_path / "cache")
    done = set(calls[:2])
    assert {m for m, s in resumed["cache"]["models"].items() if s == "hit"} == done
    assert resumed["cache"]["misses"] == 1
    assert not list((tmp_path / "cache" / "v1" / "tmp").iterdir())  # the interrupted entry left nothing behind


def test_a_corrupted_entry_is_recomputed_and_gives_the_same_report(zoos, first, tmp_path):
    report, cache = first
    key = report["cache"]["keys"]["mobilenet"]
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    features = ArtifactCache(copy).entry_dir(key) / "features.npy"
    raw = bytearray(features.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    features.write_bytes(bytes(raw))
    again = run(zoos[0], tmp_path / "out", copy)
    assert again["cache"]["models"]["mobilenet"] == "miss"
    assert again["cache"]["corrupt_recomputed"] == {"mobilenet": "features.npy checksum mismatch"}
    assert stable(again) == stable(report)


def test_no_cache_writes_nothing_and_matches(zoos, first, tmp_path, monkeypatch):
    report, _ = first
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    again = run(zoos[0], tmp_path / "out", None, "--no-cache")
    assert again["cache"]["enabled"] is False and again["cache"]["misses"] == 3
    assert not (tmp_path / "xdg").exists()
    assert stable(again) == stable(report)


def test_default_cache_location_follows_xdg(zoos, first, tmp_path, monkeypatch):
    from harness.runtime.cache import default_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "transfer-harness"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "transfer-harness"


def test_cache_command_info_and_prune(first, tmp_path, capsys):
    _, cache = first
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    (copy / "v1" / "tmp" / "deadbeef.999999999.x").mkdir(parents=True)  # a killed writer's leftover
    n = len(ArtifactCache(copy).scan())
    assert n >= 3
    assert ArtifactCache(copy).derived_files()  # the run kept its estimator vectors
    assert len(list((copy / "probes").glob("*.bin"))) == 1  # and its generated probe set
    assert main(["cache", "--cache", str(copy)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"{n} entries" in out and "0 corrupt" in out and "1 leftover" in out
    assert main(["cache", "prune", "--cache", str(copy), "--older-than", "1"]) == 0  # all were used just now
    assert "removed 0 entries" in " ".join(capsys.readouterr().out.split())
    assert main(["cache", "prune", "--cache", str(copy), "--max-size", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"removed {n} entries" in out and "0 entries" in out
    assert not ArtifactCache(copy).derived_files() and not ArtifactCache(copy).figure_files()  # pruned with the entries
    assert main(["cache", "--cache", str(copy), "--max-size", "1"]) == 1  # prune options outside prune
    assert main(["cache", "purge", "--cache", str(copy)]) == 1
    assert "did you mean 'prune'" in capsys.readouterr().err


def test_a_memory_limit_below_the_floor_is_refused_before_probing(zoos, tmp_path, capsys):
    code = main(["run", "--zoo", str(zoos[0]), "--images", "6", "--out", str(tmp_path / "o"), "--cache",
                 str(tmp_path / "c"), "--max-memory", "1M"])
    err = capsys.readouterr().err
    assert code == 1 and "--max-memory" in err and "even 2 probe images" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists() and not (tmp_path / "o").exists()


# --- map resolution ----------------------------------------------------------------------------

def test_default_maps_are_native_and_match_a_textbook_native_computation(zoos, first):
    """A default run on equal-sized models = mean per-image cosine of native-resolution maps (float64)."""
    from harness.model.importer import import_card
    from harness.probes import ProbeRequest, load_probe
    from harness.probing.loop import probe_model

    report, _ = first
    assert report["map_grid"] == [32, 32] and report["parameters"]["map_size"] is None
    probe = load_probe(report["probe"]["name"], ProbeRequest(n_images=6, seed=0, size=32))
    ids = report["estimators"]["gradxinput"]["models"]
    maps = {}
    for model_id in ids:
        model = import_card(load_card(zoos[0] / f"{model_id}.yaml"))
        art = probe_model(model, probe, ProbeSettings(methods=("gradxinput",), batch_size=2), torch.device("cpu")).artifacts
        assert art.maps["gradxinput"].shape == (6, 32 * 32) and art.map_shape == (32, 32)
        if model.card.target.kind == "probe_sum":
            # slow reference: d target / d x on the float64 graph, channel mean, no resampling
            x = torch.from_numpy(probe.images.astype(np.float32) / 255.0).double()
            net = model.probe_module().double()
            leaf = x.clone().requires_grad_(True)
            grad, = torch.autograd.grad(net(leaf).sum(), leaf)
            reference = (x * grad).mean(dim=1).flatten(1).numpy()
            np.testing.assert_allclose(art.maps["gradxinput"], reference, rtol=1e-3, atol=1e-5)
        maps[model_id] = np.asarray(art.maps["gradxinput"], dtype=np.float64)
    unit = {m: v / np.linalg.norm(v, axis=1, keepdims=True) for m, v in maps.items()}
    expect = np.array([[1.0 if s == t else float(np.mean(np.sum(unit[s] * unit[t], axis=1))) for t in ids] for s in ids])
    np.testing.assert_allclose(np.array(report["estimators"]["gradxinput"]["affinity"]), expect, atol=1e-6)


def test_map_size_option_resamples_like_probing_at_that_size(zoos, first, tmp_path):
    """--map-size resamples cached native maps when read: same numbers as resampling while probing."""
    from harness.estimators import estimate
    from harness.model.importer import import_card
    from harness.probes import ProbeRequest, load_probe
    from harness.probing.loop import probe_model

    _, cache = first
    report = run(zoos[0], tmp_path / "o", cache, "--map-size", "8")
    assert report["cache"]["hits"] == 3  # the resolution is not part of what is cached
    assert report["map_grid"] == [8, 8]
    probe = load_probe(report["probe"]["name"], ProbeRequest(n_images=6, seed=0, size=32))
    ids = report["estimators"]["saliency"]["models"]
    arts = [probe_model(import_card(load_card(zoos[0] / f"{m}.yaml")), probe,
                        ProbeSettings(methods=("saliency",), map_size=8), torch.device("cpu")).artifacts for m in ids]
    np.testing.assert_allclose(report["estimators"]["saliency"]["affinity"], estimate("saliency", arts).matrix, atol=1e-6)


def test_mixed_input_sizes_compare_each_pair_at_the_smaller_grid():
    """Per-pair grids: A[s, t] depends on s and t only (adding a smaller model changes no other pair)."""
    from harness.probing.artifacts import ModelArtifacts
    from harness.estimators import EstimatorParams, estimate
    from harness.estimators.grid import GridMaps, estimate_on_grids

    rng = np.random.default_rng(3)

    def art(name, side):
        return ModelArtifacts(name, "t", maps={"saliency": rng.standard_normal((5, side * side)).astype(np.float32)},
                              map_shape=(side, side))

    a, b, c = art("a", 8), art("b", 8), art("c", 4)
    params = EstimatorParams()
    mixed = estimate_on_grids("saliency", [a, b, c], params, None, uses_maps=True).matrix
    same = estimate("saliency", [a, b], params).matrix  # native 8 x 8
    assert mixed[0, 1] == pytest.approx(same[0, 1]) and mixed[1, 0] == pytest.approx(same[1, 0])
    down = ModelArtifacts("a", "t", maps={"saliency": np.asarray(GridMaps(a.maps["saliency"], (8, 8), (4, 4)))}, map_shape=(4, 4))
    assert mixed[0, 2] == pytest.approx(estimate("saliency", [down, c], params).matrix[0, 1])
    assert np.all(np.isfinite(mixed)) and np.allclose(np.diag(mixed), 1)
