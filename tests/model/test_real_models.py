"""Models the harness did not make: Model Zoo-era files, real pretrained TFLite/ONNX models
shipped in PyPI wheels (tests/data/pretrained), and the card/parity/CLI contracts of issue 8."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from harness.model.card import load_card
from harness.cli.main import main
from harness.common.errors import ImportFailure
from harness.model.importer import import_card
from devkit import legacy_zoo
from tests.conftest import requires_tf
from tests.helpers import write_card

PRETRAINED = Path(__file__).resolve().parents[1] / "data" / "pretrained"


def _card(tmp_path, model: onnx.ModelProto | Path, probe: str, **kwargs) -> Path:
    target = tmp_path / "model.onnx"
    if isinstance(model, Path):
        shutil.copy(model, target)
    else:
        onnx.save(model, str(target))
    return write_card(tmp_path, kwargs.pop("model_id", "m"), "model.onnx", probe, **kwargs)


@pytest.mark.parametrize("opset", (7, 8, 9))
@pytest.mark.parametrize("family", tuple(legacy_zoo.FAMILIES))
def test_model_zoo_era_files_import_with_parity(tmp_path, family, opset):
    """IR 3, opset 7-9, initializers as inputs, Dropout/LRN/Sum/old BatchNorm/Upsample: auto-detected."""
    model, probe = legacy_zoo.build(family, opset)
    card = load_card(_card(tmp_path, model, probe, framework="onnx"))
    imported = import_card(card)
    assert imported.parity.passed(card.parity.atol), imported.parity
    assert imported.parity.reference == "original"
    assert imported.probe.shape[0] == 1


def test_onnx_legacy_adapter_is_explicit(tmp_path):
    model, probe = legacy_zoo.build("resnet", 8)
    card = load_card(_card(tmp_path, model, probe, framework="onnx-legacy"))
    assert import_card(card).parity.max_abs_err < 1e-4


def test_pretrained_paddle_ocr_classifier(tmp_path):
    """PaddleOCR's angle classifier (paddle2onnx, opset 11, dynamic H/W pinned from the card)."""
    path = PRETRAINED / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    graph = onnx.load(str(path)).graph
    probe = [n.output[0] for n in graph.node if n.op_type == "GlobalAveragePool"][-1]
    card = load_card(_card(tmp_path, path, probe, framework="onnx", size=(48, 192)))
    imported = import_card(card)
    assert imported.parity.passed(card.parity.atol)
    assert imported.probe.shape[1:] == (200, 1, 1)


def _tflite_to_onnx(name: str, out: Path, opset: int = 18) -> Path:
    import tf2onnx

    tf2onnx.convert.from_tflite(str(PRETRAINED / name), opset=opset, output_path=str(out))
    return out


@requires_tf
def test_pretrained_mediapipe_tflite_models(tmp_path):
    """MediaPipe face detector and selfie segmenter (TFLite -> tf2onnx at opset 18, Pad-18, NHWC).

    The segmenter has MediaPipe's custom Convolution2DTransposeBias op, which onnxruntime
    cannot run: the tflite adapter rewrites it to ConvTranspose, and the reference becomes the
    rewritten graph (recorded).
    """
    _tflite_to_onnx("face_detection_short_range.tflite", tmp_path / "face.onnx")
    card = load_card(write_card(tmp_path, "face", "face.onnx", "classificator_8", framework="tflite", size=(128, 128), layout="NHWC"))
    imported = import_card(card)
    assert imported.parity.passed(card.parity.atol) and imported.parity.reference == "original"

    _tflite_to_onnx("selfie_segmentation.tflite", tmp_path / "seg.onnx")
    card = load_card(write_card(tmp_path, "seg", "seg.onnx", "segment", framework="tflite", size=(256, 256), layout="NHWC"))
    imported = import_card(card)
    assert imported.parity.passed(card.parity.atol)
    assert imported.parity.reference.startswith("normalised")
    assert imported.probe.shape == (1, 256, 256, 1)
    # the same file under the generic onnx adapter is detected and rewritten as well
    generic = load_card(write_card(tmp_path, "seg2", "seg.onnx", "segment", framework="onnx", size=(256, 256), layout="NHWC"))
    assert import_card(generic).parity.passed(card.parity.atol)


def _unknown_op_model() -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"), helper.make_node("Hardmax", ["r"], ["y"], name="the_hardmax")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def test_missing_op_is_refused_in_one_line_naming_it(tmp_path, capsys):
    card = _card(tmp_path, _unknown_op_model(), "r", framework="onnx", size=(8, 8))
    assert main(["import", str(card)]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for fragment in ("Hardmax", "domain ai.onnx", "version 13 at opset 18", "'the_hardmax'", "m.yaml"):
        assert fragment in err


def test_gray_card_feeds_one_luma_channel(tmp_path):
    conv_w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 1, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "gray", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4, 16, 16])], initializer=[conv_w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    rgb = _card(tmp_path, model, "relu", framework="onnx", size=(16, 16))
    with pytest.raises(ImportFailure, match="input.channels: gray"):
        import_card(load_card(rgb))
    card = load_card(_card(tmp_path, model, "relu", framework="onnx", size=(16, 16), model_id="g",
                           input={"size": [16, 16], "channels": "gray", "mean": [0.5], "std": [0.25]}))
    imported = import_card(card)
    assert imported.parity.passed(card.parity.atol)
    from harness.model.preprocess import preprocess

    pixels = torch.rand(2, 3, 16, 16)
    x = preprocess(pixels, card.input)
    expected = ((0.299 * pixels[:, 0] + 0.587 * pixels[:, 1] + 0.114 * pixels[:, 2]) - 0.5) / 0.25
    torch.testing.assert_close(x[:, 0], expected)


def test_parity_is_judged_at_the_output_scale_and_nan_fails():
    from harness.model.parity import compare

    ref = {"y": np.array([1000.0, 1e-6], np.float32)}
    result = compare(ref, {"y": np.array([1000.5, 2e-6], np.float32)}, 1, "cpu", rtol=1e-3)
    assert result.max_abs_err == pytest.approx(0.5) and result.allclose(1e-4) and result.passed(1e-4)
    # a small absolute error on a near-zero value fails the per-element allclose, but it is 5e-6 of the
    # tensor's scale: rounding, so the import passes
    result = compare(ref, {"y": np.array([1000.0, 5e-3], np.float32)}, 1, "cpu", rtol=1e-3)
    assert not result.allclose(1e-4) and result.max_rel_err == pytest.approx(5e-6, rel=1e-3) and result.passed(1e-4)
    assert not result.passed(1e-4, scaled=1e-6)  # a card may tighten it
    result = compare({"y": np.array([1.0, 0.5], np.float32)}, {"y": np.array([1.1, 0.5], np.float32)}, 1, "cpu", rtol=1e-3)
    assert not result.passed(1e-4) and result.worst_tensor == "y"  # 10% of the scale: not rounding
    result = compare(ref, {"y": np.array([np.nan, 1e-6], np.float32)}, 1, "cpu", rtol=1e-3)
    assert not result.passed(1.0) and result.nonfinite == ("y",)


def test_card_parity_fields_and_alias(tmp_path):
    model, probe = legacy_zoo.build("vgg", 9)
    card = load_card(_card(tmp_path, model, probe, framework="onnx", parity={"atol": 1e-3, "rtol": 1e-2}))
    assert (card.parity.atol, card.parity.rtol, card.parity_tolerance) == (1e-3, 1e-2, 1e-3)
    card = load_card(_card(tmp_path, model, probe, framework="onnx", parity_tolerance=0.5))
    assert card.parity.atol == 0.5


def test_layers_on_a_bare_onnx_file(tmp_path, capsys):
    model, _ = legacy_zoo.build("resnet", 9)
    onnx.save(model, str(tmp_path / "bare.onnx"))
    assert main(["layers", str(tmp_path / "bare.onnx"), "--json", "--filter", "sum"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["layers"] and all(row["op"] == "Sum" for row in listing["layers"])
    assert main(["layers", str(tmp_path / "bare.onnx"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["layers"]
    candidates = [row for row in rows if row["candidate"]]
    assert candidates and all(row["shape"] for row in candidates)


def test_export_torch_writes_card_and_module_paths_address_layers(tmp_path):
    from harness.model.export.pytorch import export_torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.features(x).mean((2, 3)))

    net = Net().eval()
    export_torch(net, torch.rand(1, 3, 16, 16), tmp_path / "net.onnx", opset=20,
                 card={"id": "net", "task": "classification", "probe_layer": "features"})
    card = load_card(tmp_path / "net.yaml")
    imported = import_card(card)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(imported.probe_module()(x), net.features(x), atol=1e-5, rtol=1e-4)
    assert imported.layers.resolve("features.1", "t").tensor == imported.probe.tensor


def test_successful_import_is_quiet(tmp_path, capfd):
    model, probe = legacy_zoo.build("squeezenet", 9)
    card = _card(tmp_path, model, probe, framework="onnx")
    assert main(["import", str(card)]) == 0
    captured = capfd.readouterr()
    assert captured.err == ""
    assert "Warning" not in captured.out and "Skipped" not in captured.out
