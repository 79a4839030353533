"""Every kind of bad input gives one line naming the file/field/node and a non-zero exit.

Each case is checked twice: through the library (the exception type and message) and
through the CLI (exit code, a single stderr line, no traceback).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import helper, numpy_helper

from harness.model.card import load_card
from harness.cli.main import main
from harness.common.errors import HarnessError, ImportFailure, ValidationError
from harness.model.importer import import_card
from tests.helpers import write_card
from tests.onnx_builders import conv_relu_model, save


@pytest.fixture()
def good(tmp_path) -> Path:
    save(conv_relu_model(), tmp_path / "m.onnx")
    return write_card(tmp_path, "tiny", "m.onnx", "relu1", size=(16, 16))


def cli_error(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def assert_one_line(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def edit_card(card: Path, **changes) -> Path:
    data = yaml.safe_load(card.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    card.write_text(yaml.safe_dump(data))
    return card


def test_good_card_imports(good, capsys):
    assert main(["import", str(good)]) == 0
    out = capsys.readouterr().out
    assert "parity" in out and "4x16x16" in out


def test_missing_onnx_file(good, capsys):
    (good.parent / "m.onnx").unlink()
    with pytest.raises(ValidationError, match=r"field 'onnx'.*not found"):
        load_card(good)
    code, err = cli_error(capsys, "import", str(good))
    assert code == 2
    assert_one_line(err, str(good), "field 'onnx'", "not found")


def test_truncated_onnx_file(good, capsys):
    onnx_path = good.parent / "m.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes()[:200])
    edit_card(good, sha256=None)
    with pytest.raises(ImportFailure, match="truncated"):
        import_card(load_card(good))
    code, err = cli_error(capsys, "import", str(good))
    assert code == 3
    assert_one_line(err, str(good), "m.onnx", "truncated")


def test_empty_onnx_file(good, capsys):
    (good.parent / "m.onnx").write_bytes(b"")
    edit_card(good, sha256=None)
    code, err = cli_error(capsys, "import", str(good))
    assert code == 3
    assert_one_line(err, "empty")


def test_onnx_failing_checker(good, capsys):
    model = conv_relu_model()
    model.graph.node[1].input[0] = "no_such_tensor"  # Relu reads a value nothing produces
    save(model, good.parent / "m.onnx")
    edit_card(good, sha256=None)
    with pytest.raises(ImportFailure, match="onnx.checker"):
        import_card(load_card(good))
    code, err = cli_error(capsys, "import", str(good))
    assert code == 3
    assert_one_line(err, "fails onnx.checker", "m.onnx")


def test_external_data_outside_model_folder_is_refused_before_reading(tmp_path, capsys):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(108, dtype=np.float32).tobytes())
    model = conv_relu_model()
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    weight.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", str(108 * 4))):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(zoo / "m.onnx"))
    card = write_card(zoo, "ext", "m.onnx", "relu1", size=(16, 16), with_sha=False)
    reads = []
    import harness.model.onnx_io as onnx_io

    original = onnx_io.external_data_helper.load_external_data_for_model
    onnx_io.external_data_helper.load_external_data_for_model = lambda *a, **k: reads.append(a)
    try:
        with pytest.raises(ImportFailure, match="outside the model's folder"):
            import_card(load_card(card))
    finally:
        onnx_io.external_data_helper.load_external_data_for_model = original
    assert reads == []
    code, err = cli_error(capsys, "import", str(card))
    assert code == 3
    assert_one_line(err, "../secret.bin", "refusing")


def test_malformed_yaml(good, capsys):
    good.write_text("id: tiny\ninput: [unclosed\n")
    with pytest.raises(ValidationError, match="malformed YAML at line"):
        load_card(good)
    code, err = cli_error(capsys, "validate", str(good))
    assert code == 2
    assert_one_line(err, str(good), "malformed YAML")


def test_unknown_key_suggests_the_right_one(good, capsys):
    edit_card(good, probe_layr="relu1")
    code, err = cli_error(capsys, "validate", str(good))
    assert code == 2
    assert_one_line(err, "field 'probe_layr'", "unknown field", "did you mean 'probe_layer'")


def test_wrong_type(good, capsys):
    data = yaml.safe_load(good.read_text())
    data["input"]["size"] = "large"
    good.write_text(yaml.safe_dump(data))
    code, err = cli_error(capsys, "validate", str(good))
    assert code == 2
    assert_one_line(err, "field 'input.size'", "expected a list of 2 positive integers", "'large'")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("framework", "caffe", "expected one of onnx, onnx-legacy, pytorch, tensorflow, tflite"),
        ("id", 7, "expected a non-empty string"),
        ("parity_tolerance", "tiny", "expected a number"),
        ("task", None, "missing required field"),
    ],
)
def test_other_field_errors(good, capsys, field, value, message):
    edit_card(good, **{field: value})
    code, err = cli_error(capsys, "validate", str(good))
    assert code == 2
    assert_one_line(err, f"field '{field}'", message)


def test_sha256_mismatch(good, capsys):
    edit_card(good, sha256="0" * 64)
    code, err = cli_error(capsys, "validate", str(good))
    assert code == 2
    assert_one_line(err, "field 'sha256'", "mismatch", "m.onnx")


def test_path_leaving_the_zoo(tmp_path, capsys):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    save(conv_relu_model(), tmp_path / "outside.onnx")
    card = zoo / "c.yaml"
    card.write_text(yaml.safe_dump({"id": "c", "task": "t", "framework": "onnx", "onnx": "../outside.onnx",
                                    "input": {"size": [16, 16]}, "probe_layer": "relu1"}))
    (zoo / "zoo.yaml").write_text(yaml.safe_dump({"name": "z", "version": "1", "cards": "*.yaml"}))
    code, err = cli_error(capsys, "validate", str(zoo))
    assert code == 2
    assert_one_line(err, "field 'onnx'", "leaves the zoo directory")


def test_validate_lists_every_problem_of_a_zoo(tmp_path, capsys):
    save(conv_relu_model(), tmp_path / "m.onnx")
    write_card(tmp_path, "a", "m.onnx", "relu1", size=(16, 16))
    edit_card(write_card(tmp_path, "b", "m.onnx", "relu1", size=(16, 16)), colour="red")
    edit_card(write_card(tmp_path, "c", "m.onnx", "relu1", size=(16, 16)), sha256="f" * 64)
    (tmp_path / "zoo.yaml").write_text(yaml.safe_dump({"name": "z", "version": "1", "cards": "*.yaml"}))
    code, err = cli_error(capsys, "validate", str(tmp_path))
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 2 and "b.yaml" in lines[0] and "c.yaml" in lines[1]
    # a clean zoo validates
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "c.yaml").unlink()
    assert main(["validate", str(tmp_path)]) == 0


def test_unknown_probe_layer_lists_closest_names(good, capsys):
    edit_card(good, probe_layer="relu")
    with pytest.raises(HarnessError, match=r"unknown layer 'relu'.*did you mean 'relu1'"):
        import_card(load_card(good))
    code, err = cli_error(capsys, "import", str(good))
    assert code == 1
    assert_one_line(err, "field 'probe_layer'", "did you mean 'relu1'", "harness layers")


def test_unsupported_op_names_op_opset_node_and_card(tmp_path, capsys):
    save(conv_relu_model(extra_op="Hardmax", opset=13), tmp_path / "m.onnx")
    card = write_card(tmp_path, "exotic", "m.onnx", "relu1", size=(16, 16), framework="onnx")
    with pytest.raises(ImportFailure) as info:
        import_card(load_card(card))
    message = str(info.value)
    for fragment in ("Hardmax", "opset 13", "exotic_node", str(card)):
        assert fragment in message
    code, err = cli_error(capsys, "import", str(card))
    assert code == 3
    assert_one_line(err, "unsupported op Hardmax", "exotic_node")


def test_input_size_mismatch(good, capsys):
    data = yaml.safe_load(good.read_text())
    data["input"]["size"] = [32, 32]
    good.write_text(yaml.safe_dump(data))
    code, err = cli_error(capsys, "import", str(good))
    assert code == 3
    assert_one_line(err, "field 'input.size'", "[32, 32]", "set input.size: [16, 16]")


def test_layout_mismatch(tmp_path, capsys):
    save(conv_relu_model(layout="NHWC"), tmp_path / "m.onnx")
    card = write_card(tmp_path, "nhwc", "m.onnx", "relu1", size=(16, 16), layout="NCHW")
    code, err = cli_error(capsys, "import", str(card))
    assert code == 3
    assert_one_line(err, "field 'input.layout'", "set input.layout: NHWC")
    # with the right layout it imports, and the NCHW-facing module matches onnxruntime's NHWC run
    edit_card(card, input={"size": [16, 16], "layout": "NHWC"})
    model = import_card(load_card(card))
    assert model.parity.max_abs_err < 1e-5


def test_debug_shows_the_traceback(good):
    edit_card(good, probe_layer="relu")
    with pytest.raises(HarnessError):
        main(["--debug", "import", str(good)])


def test_layers_lists_every_layer_with_shapes(good, capsys):
    assert main(["layers", str(good)]) == 0
    out = capsys.readouterr().out
    for fragment in ("conv1", "relu1", "pool", "4x16x16", "(probe)"):
        assert fragment in out


def test_parity_failure_reports_both_numbers(good, monkeypatch, capsys):
    import harness.model.importer as importer
    from harness.model.parity import ParityResult

    monkeypatch.setattr(importer, "parity_check", lambda *a, **k: ParityResult(0.5, 0.25, ("output",), 2, "cpu"))
    code, err = cli_error(capsys, "import", str(good))
    assert code == 3
    assert_one_line(err, "parity", "0.5", "0.25")


def test_parity_detects_a_real_mismatch(good):
    """Corrupt the converted graph's weights after conversion: parity must catch it."""
    import harness.model.importer as importer

    original_convert = importer.convert

    def corrupted(model, label):
        graph = original_convert(model, label)
        for buffer in graph.buffers():
            buffer.data.mul_(1.01)
        for parameter in graph.parameters():
            parameter.data.mul_(1.01)
        return graph

    importer.convert = corrupted
    try:
        with pytest.raises(ImportFailure, match="parity with onnxruntime failed"):
            import_card(load_card(good))
    finally:
        importer.convert = original_convert


def test_model_needing_torchvision_ops_is_refused_naming_the_op(tmp_path, monkeypatch, capsys):
    """Where torchvision's compiled ops cannot load (CPU torch + PyPI torchvision), a model with
    NonMaxSuppression gets a clear error; every other model still imports (see the rest of the suite)."""
    import harness.model.importer as importer

    model = conv_relu_model()
    graph = model.graph
    boxes = numpy_helper.from_array(np.zeros((1, 4, 4), dtype=np.float32), "boxes")
    scores = numpy_helper.from_array(np.zeros((1, 1, 4), dtype=np.float32), "scores")
    graph.initializer.extend([boxes, scores])
    graph.node.append(helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["selected"], name="nms_node"))
    graph.output.append(helper.make_tensor_value_info("selected", onnx.TensorProto.INT64, [None, 3]))
    save(model, tmp_path / "m.onnx")
    card = write_card(tmp_path, "det", "m.onnx", "relu1", size=(16, 16), framework="onnx")
    monkeypatch.setattr(importer, "torchvision_problem", lambda: "operator torchvision::nms does not exist")
    code, err = cli_error(capsys, "import", str(card))
    assert code == 3
    assert_one_line(err, "NonMaxSuppression", "nms_node", "torchvision.ops.nms", "torchvision::nms")
