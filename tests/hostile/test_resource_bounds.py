"""Hostile input, by root cause (issue 9): one clear line, nothing lost, bounded resources.

Every case checks the exit code, a single stderr line naming the file/field/flag, no
traceback; cases that could blow up run in a subprocess under an address-space limit and a
timeout; cases that use ``--out`` check that the previous report there is intact. Fixtures
are generated here: a two-model zoo of 16-px graphs and one previous run.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from harness.common.errors import excerpt
from tests.hostile_helpers import FAST, GIB, assert_one_line, card_with, cli, run_bounded, snapshot, zoo_copy
from tests.onnx_builders import conv_relu_model, save



BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


# --- 1. values from files are echoed unbounded --------------------------------------------------------

@pytest.mark.parametrize("field", ["id", "task", "framework", "probe_layer"])
def test_alias_bomb_in_any_card_field_is_refused_fast(tmp_path, field):
    card = tmp_path / "bomb.yaml"
    card.write_text(BILLION_LAUGHS + f"\n{field}: *i\n")
    code, err, seconds = run_bounded("validate", str(card), memory=1 * GIB, timeout=30)
    assert_one_line(code, err, 2, str(card), "aliases expand", "HARNESS_MAX_YAML_NODES")
    assert seconds < 20


def test_alias_bomb_in_zoo_file(tmp_path, zoo):
    folder = zoo_copy(zoo, tmp_path)
    (folder / "zoo.yaml").write_text(BILLION_LAUGHS + "\nname: *i\nversion: '1'\ncards: '*.yaml'\n")
    code, err, _ = run_bounded("validate", str(folder), memory=1 * GIB, timeout=30)
    assert_one_line(code, err, 2, "zoo.yaml", "aliases expand")


def test_small_aliases_are_still_allowed(tmp_path, zoo, capsys):
    card = card_with(zoo, tmp_path)
    text = card.read_text().replace("range:\n  - 0\n  - 1", "range: &r [0, 1]")
    card.write_text(text + "notes: &n a note\nsource: *n\n")
    assert cli(capsys, "validate", str(card))[0] == 0


def test_echoed_values_are_short(tmp_path, zoo, capsys):
    cases = {"framework": "x" * 300_000, "id": ["y" * 100_000] * 5, "input": {"layout": "z" * 200_000}}
    for field, value in cases.items():
        code, err = cli(capsys, "validate", str(card_with(zoo, tmp_path, **{field: value})))
        assert_one_line(code, err, 2, f"field '{field}" if field != "input" else "field 'input.layout'")
    long_key = card_with(zoo, tmp_path)
    long_key.write_text(long_key.read_text() + "? '" + "k" * 300_000 + "'\n: 1\n")
    assert_one_line(*cli(capsys, "validate", str(long_key)), 2, "unknown field")


def test_excerpt_is_bounded_on_shared_structures():
    value: list = ["lol"]
    for _ in range(60):  # 2**60 leaves when rendered with repr
        value = [value, value]
    start = time.perf_counter()
    text = excerpt(value)
    assert len(text) <= 60 and time.perf_counter() - start < 0.5
    assert excerpt("abc") == "'abc'" and len(excerpt("x" * 10**7)) <= 60 and "bit integer" in excerpt(10**5000)


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_without_reading(target):
    code, err, seconds = run_bounded("validate", target, memory=1 * GIB, timeout=20)
    assert_one_line(code, err, 2, target, "device")
    assert seconds < 15


def test_oversized_and_deep_yaml(tmp_path, zoo, capsys):
    big = card_with(zoo, tmp_path)
    big.write_text(big.read_text() + "notes: '" + "n" * (2 << 20) + "'\n")
    assert_one_line(*cli(capsys, "validate", str(big)), 2, str(big), "HARNESS_MAX_CARD_BYTES")
    deep = tmp_path / "deep.yaml"
    deep.write_text("id: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert_one_line(*cli(capsys, "validate", str(deep)), 2, str(deep), "nest")


def test_free_text_is_capped(tmp_path, zoo, capsys):
    code, err = cli(capsys, "validate", str(card_with(zoo, tmp_path, notes="n" * 30_000)))
    assert_one_line(code, err, 2, "field 'notes'", "limit")
    folder = zoo_copy(zoo, tmp_path, description="d" * 30_000)
    assert_one_line(*cli(capsys, "validate", str(folder)), 2, "field 'description'")


# --- 2. text readers: regular files, decoding errors with file and line -------------------------------

def images(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_image_list_naming_a_fifo_is_refused_not_hung(tmp_path, zoo, previous):
    out, before = previous
    folder = images(tmp_path / "imgs")
    os.mkfifo(folder / "pipe.png")
    (folder / "list.txt").write_text("0.png\n1.png\npipe.png\n")
    code, err, seconds = run_bounded("run", "--zoo", str(zoo), "--probe", str(folder / "list.txt"), "--out", str(out), *FAST, timeout=60)
    assert_one_line(code, err, 1, "list.txt:3", "pipe.png", "not a regular file")
    assert snapshot(out) == before


def test_fifo_card_and_probe_list(tmp_path, zoo, capsys):
    fifo = tmp_path / "card.yaml"
    os.mkfifo(fifo)
    code, err, _ = run_bounded("validate", str(fifo), memory=1 * GIB, timeout=20)
    assert_one_line(code, err, 2, str(fifo), "FIFO")
    pipe_list = tmp_path / "list.txt"
    os.mkfifo(pipe_list)
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--probe", str(pipe_list), "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 1, "list.txt", "FIFO")


@pytest.mark.parametrize("what", ["image list", "ground truth", "card"])
def test_non_utf8_is_one_line_with_file_and_line(tmp_path, zoo, previous, capsys, what):
    out, before = previous
    bad = b"first line\nsecond \xff\xfe line\n"
    if what == "image list":
        path = images(tmp_path / "imgs") / "list.txt"
        path.write_bytes(b"0.png\n" + bad)
        code, err = cli(capsys, "run", "--zoo", str(zoo), "--probe", str(path), "--out", str(out), *FAST)
        assert_one_line(code, err, 1, f"{path}:3", "UTF-8")
    elif what == "ground truth":
        path = tmp_path / "gt.csv"
        path.write_bytes(b"source,target,affinity\n" + bad)
        code, err = cli(capsys, "run", "--zoo", str(zoo), "--ground-truth", str(path), "--out", str(out), *FAST)
        assert_one_line(code, err, 1, f"{path}:3", "UTF-8")
    else:
        path = card_with(zoo, tmp_path)
        path.write_bytes(path.read_bytes() + b"notes: 'caf\xe9'\n")
        code, err = cli(capsys, "validate", str(path))
        assert_one_line(code, err, 2, str(path), "UTF-8")
    assert snapshot(out) == before


def test_single_image_as_probe(tmp_path, zoo, capsys):
    image = images(tmp_path / "imgs", 1) / "0.png"
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--probe", str(image), "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 1, "0.png", "single image", "folder")


def test_csv_field_beyond_csv_limit_and_nul(tmp_path, zoo, capsys):
    path = tmp_path / "gt.csv"
    path.write_text('source,target,affinity\n"' + "a" * 200_000 + '",b,1\n')
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--ground-truth", str(path), "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 1, "gt.csv:2")
    path.write_bytes(b"source,target,affinity\na,b,\x001\n")
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--ground-truth", str(path), "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 1, "gt.csv:2", "NUL")


def test_compare_reads_regular_files_only(tmp_path, previous, capsys):
    out, _ = previous
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    code, err, _ = run_bounded("compare", str(fifo), str(out), "--out", str(tmp_path / "c"), memory=2 * GIB, timeout=30)
    assert_one_line(code, err, 2, "r.json", "FIFO")


# --- 3. sizes are bounded up front ---------------------------------------------------------------------

@pytest.mark.parametrize("flag, value, env", [
    ("--probe-size", "1000000", "HARNESS_MAX_IMAGE_SIDE"),
    ("--map-size", "100000", "HARNESS_MAX_MAP_SIDE"),
    ("--images", "1000000000", "HARNESS_MAX_IMAGES"),
    ("--batch-size", "10000000", "HARNESS_MAX_BATCH"),
    ("--ig-steps", "100000000", "HARNESS_MAX_STEPS"),
])
def test_option_sizes_refused_with_limit_and_fix(tmp_path, zoo, previous, capsys, flag, value, env):
    out, before = previous
    code, err = cli(capsys, "run", "--zoo", str(zoo), flag, value, "--out", str(out), *FAST)
    assert_one_line(code, err, 1, flag, env)
    assert snapshot(out) == before


def test_card_input_size_limit(tmp_path, zoo, capsys):
    code, err = cli(capsys, "validate", str(card_with(zoo, tmp_path, input={"size": [100000, 100000]})))
    assert_one_line(code, err, 2, "field 'input.size'", "HARNESS_MAX_IMAGE_SIDE")


def test_probe_not_decoded_at_a_size_the_graph_refuses(tmp_path, zoo, monkeypatch, capsys):
    """A card claiming 4000 px for a 16-px graph fails before any probe image is generated."""
    import harness.run.pipeline as run

    folder = zoo_copy(zoo, tmp_path)
    data = yaml.safe_load((folder / "b.yaml").read_text())
    data["input"]["size"] = [4000, 4000]
    (folder / "b.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setattr(run, "load_probe_kept", lambda *a, **k: pytest.fail("probe set decoded before the card was checked"))
    code, err = cli(capsys, "run", "--zoo", str(folder), "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 3, "b.yaml", "input.size")


def _external_model(folder: Path, length: int | None, data_bytes: int) -> Path:
    model = conv_relu_model()
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    entries = {"location": "w.bin", "offset": "0", **({"length": str(length)} if length is not None else {})}
    for key, value in entries.items():
        weight.external_data.add(key=key, value=value)
    with open(folder / "w.bin", "wb") as handle:
        handle.truncate(data_bytes)  # sparse: no disk used
    onnx.save(model, str(folder / "a.onnx"))
    return folder / "a.onnx"


@pytest.mark.parametrize("length, data_bytes, fragment", [
    (10**15, 4 * 3 * 3 * 3 * 4, "HARNESS_MAX_TENSOR_BYTES"),  # absurd length
    (None, 40 * GIB, "HARNESS_MAX_TENSOR_BYTES"),  # 40 GiB sparse file, no length
    (432, 100, "too short"),  # short file
])
def test_external_data_checked_before_reading(tmp_path, zoo, length, data_bytes, fragment):
    card = card_with(zoo, tmp_path, sha256=None)
    _external_model(card.parent, length, data_bytes)
    code, err, seconds = run_bounded("import", str(card), memory=3 * GIB, timeout=60)
    assert_one_line(code, err, 3, str(card), fragment)


def test_constant_of_shape_sized_before_allocation(tmp_path, zoo):
    model = conv_relu_model()
    shape = numpy_helper.from_array(np.array([100000, 100000, 100], dtype=np.int64), "big_shape")
    model.graph.initializer.append(shape)
    model.graph.node.append(helper.make_node("ConstantOfShape", ["big_shape"], ["big"], name="bomb"))
    model.graph.output.append(helper.make_tensor_value_info("big", TensorProto.FLOAT, None))
    card = card_with(zoo, tmp_path, sha256=None)
    save(model, card.parent / "a.onnx")
    code, err, _ = run_bounded("import", str(card), memory=3 * GIB, timeout=60)
    assert_one_line(code, err, 3, str(card), "ConstantOfShape", "HARNESS_MAX_TENSOR_BYTES")


# --- 4. import steps inside the one-line handling -------------------------------------------------------

def test_failure_while_running_the_model_names_the_card(tmp_path, zoo):
    """A Reshape to a constant shape that only fails at run time (wrong element count)."""
    model = conv_relu_model()
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, 7, 7, 7], dtype=np.int64), "bad_shape"))
    pool = model.graph.node[-1]
    pool.input[0] = "reshaped"
    model.graph.node.insert(len(model.graph.node) - 1, helper.make_node("Reshape", ["relu1_out", "bad_shape"], ["reshaped"], name="reshape"))
    card = card_with(zoo, tmp_path, sha256=None)
    save(model, card.parent / "a.onnx")
    code, err, _ = run_bounded("import", str(card), memory=3 * GIB, timeout=60)
    assert_one_line(code, err, 3, str(card))


# --- 5. non-finite and out-of-range numbers, wrong types -------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"input": {"std": [math.inf, 1.0, 1.0]}}, "input.std"),
    ({"input": {"std": [1e-300, 1.0, 1.0]}}, "input.std"),
    ({"input": {"mean": [math.nan, 0.0, 0.0]}}, "input.mean"),
    ({"input": {"range": [math.nan, 1.0]}}, "input.range"),
    ({"input": {"range": [-1e308, 1e308]}}, "input.range"),
    ({"parity_tolerance": math.nan}, "parity"),
    ({"parity_tolerance": -1e-3}, "parity"),
    ({"parity_tolerance": math.inf}, "parity"),
    ({"parity": {"rtol": math.nan}}, "parity.rtol"),
    ({"target": {"kind": "unit", "unit": 10**30}}, "target.unit"),
    ({"target": {"kind": "unit", "unit": -1}}, "target.unit"),
    ({"id": 7}, "id"),
    ({"heads": [1, 2]}, "heads"),
    ({"onnx": "m" * 300 + ".onnx"}, "onnx"),
    ({"onnx": "a\0b.onnx"}, "onnx"),
])
def test_card_numbers_and_types_refused_where_they_enter(tmp_path, zoo, capsys, changes, field):
    code, err = cli(capsys, "validate", str(card_with(zoo, tmp_path, **changes)))
    assert_one_line(code, err, 2, f"field '{field}")


@pytest.mark.parametrize("changes, field", [
    ({"probe": 7}, "probe"), ({"name": 7}, "name"), ({"version": 1.1}, "version"), ({"version": True}, "version"),
    ({"probe": "no-such-probe-set"}, "probe"), ({"ground_truth": "zoo.yaml"}, "ground_truth"),
    ({"aliases": ["x"]}, "aliases"), ({"cards": 7}, "cards"), ({"name": "../../escape"}, "name"),
    ({"ground_truth": "g" * 300}, "ground_truth"), ({"ground_truth": "a\0b"}, "ground_truth"),
])
def test_validate_rejects_what_run_would_fail_on(tmp_path, zoo, capsys, changes, field):
    folder = zoo_copy(zoo, tmp_path, **changes)
    code, err = cli(capsys, "validate", str(folder))
    assert_one_line(code, err, 2, "zoo.yaml", f"field '{field}'")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "abc"])
def test_fail_on_must_be_finite(tmp_path, previous, capsys, value):
    out, _ = previous
    code, err = cli(capsys, "compare", str(out), str(out), "--out", str(tmp_path / "c"), "--fail-on", f"p_at_5_drop={value}")
    assert_one_line(code, err, 1, "--fail-on", "p_at_5_drop")
    assert not (tmp_path / "c").exists()


def _edit_report(previous, tmp_path: Path, edit) -> Path:
    out, _ = previous
    text = (out / "report.json").read_text()
    path = tmp_path / "bad.json"
    path.write_text(edit(text) if isinstance(edit(text), str) else text)
    return path


@pytest.mark.parametrize("case", [
    "nan", "infinity", "huge_float", "huge_int", "deep", "models_not_ids", "affinity_strings", "relevant_string",
    "per_target_string", "cards_value_list", "rankings_wrong", "schema_bool", "not_object", "duplicate_models",
])
def test_hostile_reports_given_to_compare(tmp_path, previous, capsys, case):
    out, _ = previous
    data = json.loads((out / "report.json").read_text())
    est = next(iter(data["estimators"]))
    text = None
    if case == "nan":
        text = json.dumps(data).replace('"n_images": 4', '"n_images": NaN', 1)
    elif case == "infinity":
        data["estimators"][est]["affinity"][0][1] = 12345.5
        text = json.dumps(data).replace("12345.5", "Infinity", 1)
    elif case == "huge_float":
        text = json.dumps(data).replace('"n_images": 4', '"n_images": 1e400', 1)
    elif case == "huge_int":
        text = json.dumps(data).replace('"n_images": 4', '"n_images": ' + "9" * 5000, 1)
    elif case == "deep":
        text = json.dumps(data)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    elif case == "models_not_ids":
        data["estimators"][est]["models"] = [[1], [2]]
    elif case == "affinity_strings":
        data["estimators"][est]["affinity"][0][0] = "1"
    elif case == "relevant_string":
        data["evaluation"][est]["relevant"] = "five"
    elif case == "per_target_string":
        first = next(iter(data["evaluation"][est]["per_target"]))
        data["evaluation"][est]["per_target"][first]["p_at_1"] = "one"
    elif case == "cards_value_list":
        data["zoo"]["cards"]["a"] = ["x"]
    elif case == "rankings_wrong":
        data["rankings"][est] = {"a": [1, 2]}
    elif case == "schema_bool":
        data["schema_version"] = True
    elif case == "not_object":
        text = "[1, 2, 3]"
    elif case == "duplicate_models":
        data["estimators"][est]["models"] = ["a", "a"]
    path = tmp_path / "bad.json"
    path.write_text(text if text is not None else json.dumps(data))
    code, err, seconds = run_bounded("compare", str(out), str(path), "--out", str(tmp_path / "c"), memory=2 * GIB, timeout=60) \
        if case == "deep" else (*cli(capsys, "compare", str(out), str(path), "--out", str(tmp_path / "c")), 0)
    assert_one_line(code, err, 2, "bad.json")
    assert not (tmp_path / "c").exists()


# --- 6. output and input paths checked before any model is probed --------------------------------------

@pytest.fixture()
def no_probing(monkeypatch):
    import harness.model.guarded as guarded

    # every model import of a run goes through import_guarded (harness.runtime.stage looks it up at call time)
    monkeypatch.setattr(guarded, "import_guarded", lambda *a, **k: pytest.fail("a model was imported before the check"))


@pytest.mark.parametrize("kind", ["file", "under_file", "device", "read_only", "name_too_long"])
def test_bad_out_refused_before_probing(tmp_path, zoo, capsys, no_probing, kind):
    target = tmp_path / "taken"
    target.write_text("keep me")
    out = {"file": target, "under_file": target / "sub", "device": Path("/dev/null/x"), "read_only": tmp_path / "ro" / "out",
           "name_too_long": tmp_path / ("n" * 300) / "out"}[kind]
    if kind == "read_only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o500)
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--out", str(out), *FAST)
    assert_one_line(code, err, 1, "--out" if kind != "name_too_long" else "nnnn")
    assert target.read_text() == "keep me"


def test_compare_out_checked_before_reading(tmp_path, previous, capsys):
    out, _ = previous
    target = tmp_path / "file"
    target.write_text("keep me")
    code, err = cli(capsys, "compare", str(out), str(out), "--out", str(target))
    assert_one_line(code, err, 1, "--out")
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("content", [None, "a,b,c\n", "source,target,affinity\na,b,notanumber\n", "source,target,affinity\na,b,nan\n"])
def test_bad_ground_truth_refused_before_probing(tmp_path, zoo, previous, capsys, no_probing, content):
    out, before = previous
    path = tmp_path / "gt.csv"
    if content is not None:
        path.write_text(content)
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--ground-truth", str(path), "--out", str(out), *FAST)
    assert_one_line(code, err, 1, "gt.csv")
    assert snapshot(out) == before


@pytest.mark.parametrize("flag, value", [("--seed", "-1"), ("--depara-lambda", "nan"), ("--bootstrap", "0")])
def test_bad_numbers_on_the_command_line(tmp_path, zoo, capsys, no_probing, flag, value):
    code, err = cli(capsys, "run", "--zoo", str(zoo), flag, value, "--out", str(tmp_path / "o"), *FAST[:4])
    assert_one_line(code, err, 1, flag)


# --- 8. memory grows with the square of the probe images ----------------------------------------------

def test_quadratic_memory_refused_before_probing(tmp_path, zoo, previous, capsys, no_probing, monkeypatch):
    out, before = previous
    monkeypatch.setenv("HARNESS_MEMORY_LIMIT", "2G")
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--images", "16000", "--out", str(out),
                    "--methods", "gradxinput", "--estimators", "depara", "rsa", "--bootstrap", "10")
    assert_one_line(code, err, 1, "16000", "depara", "rsa", "quadratic", "--images")
    assert snapshot(out) == before
    suggested = int(err.split("use --images ")[1].split()[0])
    from harness.runtime.budget import reduction_bytes

    assert 2 <= suggested < 16000
    assert reduction_bytes(suggested, 16384, ("depara", "rsa"), n_models=2, probe_size=16) <= 2 * GIB


def test_pairwise_estimate_matches_measured_peak():
    """harness/budget.py's image-pair term against tracemalloc on the real estimator code."""
    import tracemalloc

    from harness.runtime.budget import reduction_bytes, BASE_BYTES
    from harness.estimators.ranks import condensed_distances, spearman_matrix

    rng = np.random.default_rng(0)
    for n, m in ((500, 2), (400, 8)):
        feats = [rng.normal(size=(n, 16)).astype(np.float32) for _ in range(m)]
        tracemalloc.start()
        spearman_matrix(condensed_distances(f, "cosine", centre_columns=True) for f in feats)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        estimate = reduction_bytes(n, 16, ("depara",), n_models=m) - BASE_BYTES
        assert 0.5 < peak / estimate <= 1.0, (n, m, peak, estimate)  # an upper bound, not wildly above