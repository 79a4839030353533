"""Small compressed and reduced-precision models for tests and benchmarks, built offline.

A float convnet (ONNX), the same graph in float16, a calibration reader for onnxruntime's
static quantizer, and a Keras convnet with its TFLite conversions (full-integer int8/uint8
I/O, float16, dynamic range). The suite's import tests and ``benchmarks/import_table.py``
build their compressed models from here, so both measure the same files.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: TFLite conversion modes of :func:`tflite_bytes`.
TFLITE_MODES = ("int8", "uint8", "float16", "dynamic")


def convnet() -> onnx.ModelProto:
    """Conv-ReLU-Conv-GAP-Gemm on (N, 3, 16, 16), seeded float32 weights, opset 17."""
    rng = np.random.default_rng(0)

    def init(name, *shape, scale=0.3):
        return numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), name)

    inits = [init("w1", 8, 3, 3, 3), init("b1", 8, scale=0.5), init("w2", 8, 8, 3, 3), init("b2", 8, scale=0.5),
             init("wd", 8, 5), init("bd", 5, scale=0.5)]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["logits"], name="dense"),
    ]
    graph = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 16, 16])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def half_model(half_io: bool) -> onnx.ModelProto:
    """A float16 convnet; ``half_io``: float16 inputs and outputs, else Casts from and to float32."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=shape).astype(np.float16), name)
             for name, shape in (("w", (8, 3, 3, 3)), ("b", (8,)), ("wd", (8, 5)))]
    nodes, data = [], "x"
    if not half_io:
        nodes.append(helper.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16))
        data = "xh"
    nodes += [helper.make_node("Conv", [data, "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c"], ["r"], name="relu"), helper.make_node("GlobalAveragePool", ["r"], ["p"]),
              helper.make_node("Flatten", ["p"], ["f"]), helper.make_node("MatMul", ["f", "wd"], ["yh"])]
    if not half_io:
        nodes.append(helper.make_node("Cast", ["yh"], ["y"], to=TensorProto.FLOAT))
    io = TensorProto.FLOAT16 if half_io else TensorProto.FLOAT
    graph = helper.make_graph(nodes, "half", [helper.make_tensor_value_info("x", io, [None, 3, 16, 16])],
                              [helper.make_tensor_value_info("yh" if half_io else "y", io, [None, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def calibration_reader(n_batches: int = 8):
    """onnxruntime's CalibrationDataReader over seeded random (1, 3, 16, 16) inputs named ``x``."""
    from onnxruntime import quantization

    class Calibration(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"x": np.random.default_rng(i).random((1, 3, 16, 16), dtype=np.float32)} for i in range(n_batches)])

        def get_next(self):
            return next(self.batches, None)

    return Calibration()


def keras_convnet():
    """A small Keras convnet (conv, depthwise, strided conv with BatchNorm, dense) on 16x16x3, batch 1."""
    import keras

    inputs = keras.Input((16, 16, 3), batch_size=1)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", name="c2")(x)  # 4608 weights: dynamic range quantizes it
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(name="probe")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="dense")(x))


def tflite_bytes(model, mode: str) -> bytes:
    """The TFLite flatbuffer of ``model`` in one of :data:`TFLITE_MODES` (representative data: seeded)."""
    import tensorflow as tf

    def representative():
        rng = np.random.default_rng(0)
        for _ in range(8):
            yield [rng.random((1, 16, 16, 3), dtype=np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode in ("int8", "uint8"):
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8 if mode == "int8" else tf.uint8
    elif mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()
