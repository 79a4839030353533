"""``harness card MODEL.onnx``: the drafted card validates and imports without edits when the graph says enough.

Checked on a torch export (export_torch), a Keras export (export_keras, with the tensorflow
extra) and an onnx.helper graph with an NHWC input; plus the framework guesses, integer and
dynamic inputs, what is reported as undetermined, and the refusals (existing --out, bad paths).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import yaml
from onnx import TensorProto, helper, numpy_helper

from harness.adapters import ADAPTERS
from harness.cli.main import main
from harness.common.hashing import sha256_file
from harness.model.card_writer import guess_framework, write_card
from harness.model.listing import list_layers
from tests.conftest import requires_tf
from tests.onnx_builders import conv_relu_model, save


def _card(path) -> dict:
    return yaml.safe_load(path.read_text())


def _writes_an_importable_card(onnx_path, capsys) -> dict:
    """`harness card` then `harness validate` and `harness import` on the card, all without edits."""
    card_path = onnx_path.with_suffix(".yaml")
    assert main(["card", str(onnx_path)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {card_path}" in printed
    assert "could not determine: input.range/mean/std (the graph does not say" in printed
    assert main(["validate", str(card_path)]) == 0
    assert main(["import", str(card_path)]) == 0
    capsys.readouterr()
    data = _card(card_path)
    assert data["sha256"] == sha256_file(onnx_path)
    assert data["onnx"] == onnx_path.name
    assert data["id"] == onnx_path.stem and data["task"] == "unknown"
    return data


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3, stride=2),
                                            torch.nn.ReLU())
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def test_torch_export_gets_a_card_that_imports(tmp_path, capsys):
    from harness.model.export.pytorch import export_torch

    torch.manual_seed(0)
    path = export_torch(_Net(), torch.randn(1, 3, 24, 32), tmp_path / "net.onnx")
    data = _writes_an_importable_card(path, capsys)
    assert data["framework"] == "pytorch"
    assert data["input"] == {"size": [24, 32], "layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}
    # the probe layer is one `harness layers` marks (named by its PyTorch module path where it has one)
    marked = {row["tensor"] for row in list_layers(path).rows if row["candidate"]}
    from harness.model.importer import resolve_tensor

    assert resolve_tensor(onnx.load(path), data["probe_layer"], "") in marked
    text = (tmp_path / "net.yaml").read_text()
    assert "# other likely probe layers:" in text and "could not" not in text.split("\nid:")[1]


@requires_tf
def test_keras_export_gets_an_nhwc_tensorflow_card(tmp_path, capsys):
    import keras

    from harness.model.export.tensorflow import export_keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((20, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    path = export_keras(keras.Model(inputs, keras.layers.Dense(4, name="dense")(x)), tmp_path / "kmodel.onnx")
    data = _writes_an_importable_card(path, capsys)
    assert data["framework"] == "tensorflow"
    assert data["input"]["size"] == [20, 16] and data["input"]["layout"] == "NHWC"


@requires_tf
def test_full_integer_tflite_conversion_gets_a_tflite_card(tmp_path, capsys):
    """tf2onnx --tflite output: TFLite's ';'-fused names give the framework, the int8 input its dtype and scale."""
    import keras
    import tensorflow as tf
    import tf2onnx

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3), batch_size=1)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, keras.layers.Dense(4, name="dense")(x)))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.random.default_rng(i).random((1, 16, 16, 3), dtype=np.float32)] for i in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (tmp_path / "int8.tflite").write_bytes(converter.convert())
    tf2onnx.convert.from_tflite(str(tmp_path / "int8.tflite"), opset=17, output_path=str(tmp_path / "int8.onnx"))
    data = _writes_an_importable_card(tmp_path / "int8.onnx", capsys)
    assert data["framework"] == "tflite" and data["input"]["layout"] == "NHWC"
    assert data["input"]["dtype"] == "int8" and data["input"]["scale"] > 0


def test_helper_graph_with_nhwc_input(tmp_path, capsys):
    path = save(conv_relu_model(size=16, layout="NHWC"), tmp_path / "plain.onnx")
    data = _writes_an_importable_card(path, capsys)
    assert data["framework"] == "onnx"
    assert data["input"]["layout"] == "NHWC" and data["input"]["size"] == [16, 16]
    assert data["probe_layer"] == "pool"  # the only rank-4 feature output marked, by its node name


def _uint8_model(dequantized: bool) -> onnx.ModelProto:
    """uint8 NCHW input -> [DequantizeLinear | Cast] -> Conv -> Relu -> GlobalAveragePool."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")]
    if dequantized:
        inits += [numpy_helper.from_array(np.array(1 / 255, np.float32), "s"), numpy_helper.from_array(np.array(0, np.uint8), "z")]
        first = helper.make_node("DequantizeLinear", ["input", "s", "z"], ["x"], name="dq")
    else:
        first = helper.make_node("Cast", ["input"], ["x"], name="cast", to=TensorProto.FLOAT)
    nodes = [first, helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"), helper.make_node("GlobalAveragePool", ["r"], ["output"], name="pool")]
    graph = helper.make_graph(nodes, "u8", [helper.make_tensor_value_info("input", TensorProto.UINT8, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 1, 1])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_integer_input_dtype_and_quantization_from_the_graph(tmp_path, capsys):
    path = save(_uint8_model(dequantized=True), tmp_path / "q.onnx")
    data = _writes_an_importable_card(path, capsys)
    assert data["input"]["dtype"] == "uint8"
    assert data["input"]["scale"] == pytest.approx(1 / 255) and data["input"]["zero_point"] == 0


def test_integer_input_without_dequantize_names_scale_and_zero_point(tmp_path, capsys):
    path = save(_uint8_model(dequantized=False), tmp_path / "raw.onnx")
    assert main(["card", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "could not determine: input.scale/zero_point (no DequantizeLinear reads the uint8 input)" in printed
    data = _card(tmp_path / "raw.yaml")
    assert data["input"]["dtype"] == "uint8" and "scale" not in data["input"]
    assert data["probe_layer"] == "pool"  # the layers are still listed (converted with a provisional scale)
    assert "could not determine: probe_layer" not in printed
    assert main(["validate", str(tmp_path / "raw.yaml")]) == 0


def test_dynamic_size_is_said_and_undetermined_fields_head_the_card(tmp_path, capsys):
    model = conv_relu_model(size=16)
    for dim in model.graph.input[0].type.tensor_type.shape.dim[2:]:
        dim.dim_param = "side"
    path = save(model, tmp_path / "dyn.onnx")
    (tmp_path / "zoo.yaml").write_text("name: z\nversion: 1\ncards: cards/*.yaml\n")  # a card may reach ../
    out = tmp_path / "cards" / "dyn-card.yaml"
    assert main(["card", str(path), "--out", str(out), "--id", "dyn.v1", "--task", "segmentation"]) == 0
    printed = capsys.readouterr().out
    assert "could not determine: input.size (the graph's height/width are dynamic; 224x224 written)" in printed
    assert "could not determine: task" not in printed
    data = _card(out)
    assert data["input"]["size"] == [224, 224] and data["onnx"] == "../dyn.onnx"
    assert (data["id"], data["task"]) == ("dyn.v1", "segmentation")
    header = out.read_text().split("\nid:")[0]
    assert "input.size" in header and "input.range/mean/std" in header and "task:" not in header
    assert main(["import", str(out)]) == 0


def test_existing_card_is_refused_unless_forced(tmp_path, capsys):
    path = save(conv_relu_model(), tmp_path / "m.onnx")
    card = tmp_path / "m.yaml"
    card.write_text("mine\n")
    assert main(["card", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{card}: already exists; pass --force" in err and err.count("\n") == 1
    assert card.read_text() == "mine\n"
    assert main(["card", str(path), "--force"]) == 0
    assert _card(card)["id"] == "m"


@pytest.mark.parametrize("args, words", [
    (["missing.onnx"], "missing.onnx: no such ONNX file"),
    (["m.onnx", "--out", "m.onnx", "--force"], "m.onnx: is the model itself"),
    (["m.onnx", "--id", "-bad id"], "field 'id'"),
    (["m.onnx", "--out", "cards/m.yaml"], "field 'onnx': '../m.onnx' leaves the zoo directory"),  # no zoo.yaml
])
def test_refusals_are_one_line_naming_the_file(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    save(conv_relu_model(), tmp_path / "m.onnx")
    assert main(["card", *args]) != 0
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # nothing written


def _model(producer: str = "", ops: tuple[str, ...] = ("Relu",), names: tuple[str, ...] = ("n",), opset: int = 17,
           ir: int = 8) -> onnx.ModelProto:
    nodes = [helper.make_node(op, ["x"], [f"y{i}"], name=name) for i, (op, name) in enumerate(zip(ops, names))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])], [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer)
    model.ir_version = ir
    return model


@pytest.mark.parametrize("model, framework", [
    (_model("tf2onnx", ops=("TFL_Convolution2DTransposeBias",)), "tflite"),
    (_model("tf2onnx", names=("model/c1/Relu;model/c1/BiasAdd",)), "tflite"),
    (_model("tf2onnx", names=("model/c1/Relu",)), "tensorflow"),
    (_model("pytorch"), "pytorch"),
    (_model("paddle2onnx"), "onnx"),
    (_model(""), "onnx"),
    (_model("CNTK", opset=8, ir=3), "onnx-legacy"),
    (_model("", opset=9), "onnx-legacy"),
    (_model("pytorch", opset=11, ir=6), "onnx"),  # the onnx adapter upgrades old opsets; pytorch's does not
])
def test_framework_guess(model, framework):
    guessed, evidence = guess_framework(model)
    assert guessed == framework and guessed in ADAPTERS
    assert evidence.startswith("guessed from producer")


def test_render_round_trips_awkward_names(tmp_path):
    model = conv_relu_model()
    for node in model.graph.node:
        if node.name == "relu1":
            node.output[0] = "yes"  # YAML 1.1 would read a plain yes as a boolean
    for node in model.graph.node:
        node.input[:] = ["yes" if name == "relu1_out" else name for name in node.input]
    path = save(model, tmp_path / "odd name#1.onnx")
    out, draft = write_card(path)
    data = _card(out)
    assert data == draft.data and data["id"] == "odd-name-1"
    assert data["onnx"] == "odd name#1.onnx"
