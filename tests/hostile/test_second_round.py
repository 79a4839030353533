"""Hostile input, second round, by class: degenerate probe sets and labels, ground truth and
reports bounded by what a run needs, inputs refused when a command cannot answer them, and
messages that keep the facts (no markup, the real OS cause, one parser line).

Each case checks the exit code, a single stderr line naming the file/field/flag and no
traceback; cases that could blow up run in a subprocess under an address-space limit.
Decoding of every image mode is checked pixel by pixel in tests/probes/test_decode.py.
"""

from __future__ import annotations

import errno
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from harness.common.oserrors import describe
from tests.hostile_helpers import FAST, GIB, assert_one_line, cli, run_bounded, snapshot, zoo_copy


def _images(folder: Path, pixels: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pixels):
        Image.fromarray(p).save(folder / f"{i}.png")
    return folder


def _noise(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)


# -- degenerate probe sets and labels ---------------------------------------------------------

def test_identical_probe_images_are_refused(tmp_path, zoo, previous, capsys):
    out, before = previous
    probe = _images(tmp_path / "same", [_noise(0)] * 4)
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--probe", str(probe), "--out", str(out), *FAST)
    assert_one_line(code, err, 1, "identical", "same")
    assert snapshot(out) == before


def test_flat_and_repeated_images_are_warned_about_and_recorded(tmp_path, zoo, capsys):
    probe = _images(tmp_path / "flat", [np.full((16, 16, 3), 90, np.uint8), _noise(1), _noise(2), _noise(2)])
    out = tmp_path / "run"
    assert cli(capsys, "run", "--zoo", str(zoo), "--probe", str(probe), "--out", str(out), *FAST)[0] == 0
    warnings = json.loads((out / "report.json").read_text())["probe"]["warnings"]
    assert any("1 of 4 images are one flat colour" in w for w in warnings)
    assert any("1 of 4 images repeat another" in w for w in warnings)


@pytest.mark.parametrize("cells,fragment", [(["x", "x", "x"], "same class"), (["0.5", "0.5", "0.5"], "same value")])
def test_labels_without_variation_are_refused(tmp_path, zoo, capsys, cells, fragment):
    probe = _images(tmp_path / "p", [_noise(i) for i in range(3)])
    column = "label" if cells[0] == "x" else "value"
    (tmp_path / "labels.csv").write_text(f"image,{column}\n" + "".join(f"{i}.png,{c}\n" for i, c in enumerate(cells)))
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--probe", str(probe), "--labels", str(tmp_path / "labels.csv"),
                    "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 1, "--labels", fragment)


# -- work bounded by what the run needs -------------------------------------------------------

def test_ground_truth_rows_for_other_models_cost_nothing(tmp_path, zoo):
    rows = ["source,target,affinity", "a,b,0.5", "b,a,0.4"]
    rows += [f"x{i},y{i},0.1" for i in range(120_000)]  # 120k distinct names: a dense matrix would be 100+ GB
    folder = zoo_copy(zoo, tmp_path)
    (folder / "gt.csv").write_text("\n".join(rows) + "\n")
    code, err, seconds = run_bounded("validate", str(folder), memory=3 * GIB, timeout=120)
    assert code == 0, err


def test_ground_truth_naming_none_of_the_models_is_refused(tmp_path, zoo):
    folder = zoo_copy(zoo, tmp_path)
    (folder / "gt.csv").write_text("source,target,affinity\nq,r,0.5\n")
    code, err, _ = run_bounded("run", "--zoo", str(folder), "--out", str(tmp_path / "o"), *FAST, memory=3 * GIB)
    assert_one_line(code, err, 1, "gt.csv", "rows name other models")


def test_compare_refuses_reports_that_would_not_fit_once_parsed(tmp_path, previous):
    out, _ = previous
    report = json.loads((out / "report.json").read_text())
    report["padding"] = ["x" * 1000] * 20_000  # 20 MB of text: ~200 MB once parsed
    big = tmp_path / "big.json"
    big.write_text(json.dumps(report))
    start = time.perf_counter()
    code, err, _ = run_bounded("compare", str(big), str(big), "--out", str(tmp_path / "c"), env={"HARNESS_MEMORY_LIMIT": "1100M"})
    assert_one_line(code, err, 1, "big.json", "once parsed", "GiB")
    assert time.perf_counter() - start < 60
    assert not (tmp_path / "c").exists()


def _edited(previous, tmp_path: Path, edit) -> Path:
    out, _ = previous
    report = json.loads((out / "report.json").read_text())
    edit(report)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(report))
    return path


def _first_evaluation(report: dict) -> dict:
    return next(v for v in report["evaluation"].values() if v)


@pytest.mark.parametrize("edit,fragment", [
    (lambda r: _first_evaluation(r).update(p_at_5=7.5), "p_at_5: 7.5 is outside [0, 1]"),
    (lambda r: _first_evaluation(r).update(spearman="0.9"), "spearman: expected a number"),
    (lambda r: _first_evaluation(r).update(spearman_ci=[0.1]), "spearman_ci: expected a [low, high] pair"),
    (lambda r: next(iter(_first_evaluation(r)["per_target"].values())).update(kendall=-3), "kendall: -3 is outside [-1, 1]"),
    (lambda r: _first_evaluation(r).update(p_at_k=[0.5, "high"]), "p_at_k: expected numbers"),
    (lambda r: r.update(models=[1, 2]), "models[0]: expected an object with a string 'id'"),
    (lambda r: r["evaluation"].update(orphan={"per_target": {}, "p_at_1": 2}), "evaluation.orphan.p_at_1"),
])
def test_compare_validates_every_evaluation_number(tmp_path, previous, capsys, edit, fragment):
    out, _ = previous
    bad = _edited(previous, tmp_path, edit)
    code, err = cli(capsys, "compare", str(out / "report.json"), str(bad), "--out", str(tmp_path / "c"))
    assert_one_line(code, err, 2, "edited.json", fragment)


# -- commands refuse what they cannot answer --------------------------------------------------

def test_explain_refuses_a_card_that_is_not_a_classifier(tmp_path, zoo, capsys):
    code, err = cli(capsys, "explain", str(zoo / "a.yaml"), "--images", "2", "--out", str(tmp_path / "e"))
    assert_one_line(code, err, 1, "a.yaml", "not a classifier", "classes")
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("argv,code_expected,fragments", [
    (("run", "--out", ""), 1, ("--out", "empty path")),
    (("compare", "x.json", "y.json", "--out", ""), 1, ("--out", "empty path")),
    (("cache", "info", "--cache", "/nonexistent/cache"), 1, ("--cache", "does not exist")),
    (("cache", "prune", "--older-than", "nan", "--cache", "/tmp"), 1, ("--older-than", "nan")),
    (("run", "--images", "abc"), 1, ("harness run", "--images", "invalid int")),
    (("frobnicate",), 1, ("invalid choice", "frobnicate")),
    (("run", "--executor", "ray", "--ray-address", "not-an-address"), 1, ("--ray-address", "HOST:PORT")),
])
def test_usage_errors_are_one_line_with_exit_1(tmp_path, capsys, argv, code_expected, fragments):
    code, err = cli(capsys, *argv)
    assert_one_line(code, err, code_expected, *fragments)
    assert "usage:" not in err


def test_unreachable_ray_cluster_fails_fast(tmp_path, zoo):
    start = time.perf_counter()
    code, err, _ = run_bounded("run", "--zoo", str(zoo), "--executor", "ray", "--ray-address", "127.0.0.1:1",
                               "--out", str(tmp_path / "o"), *FAST, timeout=60)
    assert_one_line(code, err, 1, "--ray-address", "127.0.0.1:1")
    assert time.perf_counter() - start < 30


def test_suggested_images_are_accepted_when_followed(tmp_path, zoo, capsys):
    argv = ("run", "--zoo", str(zoo), "--probe", "synthetic-indoor", "--max-memory", "800M", "--methods", "saliency",
            "--estimators", "rsa", "--bootstrap", "10", "--out", str(tmp_path / "o"))
    code, err = cli(capsys, *argv, "--images", "3000")
    assert_one_line(code, err, 1, "--images")
    suggested = int(re.search(r"--images (\d+) or fewer", err).group(1))
    assert 2 <= suggested < 3000
    assert cli(capsys, *argv, "--images", str(suggested))[0] == 0


def test_memory_below_the_floor_says_so_instead_of_suggesting(tmp_path, zoo, capsys):
    code, err = cli(capsys, "run", "--zoo", str(zoo), "--max-memory", "100M", "--out", str(tmp_path / "o"), *FAST)
    assert_one_line(code, err, 1, "even 2 probe images", "--max-memory")


# -- messages keep the facts --------------------------------------------------------------------

def test_console_prints_user_text_verbatim(tmp_path, zoo, capsys):
    folder = zoo_copy(zoo, tmp_path)
    odd = tmp_path / "my:smile:zoo[red]x[dim]"
    folder.rename(odd)
    card = odd / "a.yaml"
    from harness.cli.main import main

    assert main(["validate", str(card)]) == 0
    printed = capsys.readouterr().out
    assert "my:smile:zoo[red]x[dim]" in printed.replace("\n", "")


@pytest.mark.parametrize("code,cause,fix", [
    (errno.ENOSPC, "ENOSPC", "free some space"), (errno.EROFS, "EROFS", "read-only"), (errno.EACCES, "EACCES", "permissions"),
])
def test_os_errors_name_the_path_the_real_cause_and_its_fix(code, cause, fix):
    message = describe(OSError(code, "message from the OS", "/data/cache/file.npy"))
    assert "/data/cache/file.npy" in message and cause in message and fix in message
    if code != errno.EACCES:
        assert "permission" not in message


def test_non_float_inputs_and_non_tensor_outputs_are_named(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT), helper.make_node("Conv", ["xf", "w"], ["y"], name="conv")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 14, 14])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), tmp_path / "u8.onnx")
    card = tmp_path / "u8.yaml"
    card.write_text(yaml.safe_dump({"id": "u8", "task": "t", "framework": "onnx", "onnx": "u8.onnx",
                                    "input": {"size": [16, 16]}, "probe_layer": "conv"}))
    code, err = cli(capsys, "import", str(card))
    assert_one_line(code, err, 3, "u8.yaml", "graph input 'x'", "uint8")
