"""TFLite models converted with tf2onnx (``tf2onnx.convert --tflite``): MediaPipe and friends.

What is specific to this source:

* custom TFLite ops that tf2onnx leaves in the graph under their TFLite name: MediaPipe's
  ``Convolution2DTransposeBias`` (``TFL_Convolution2DTransposeBias``, a transposed convolution
  with bias, SAME padding, NHWC, weights OHWI) becomes Transpose -> ``ConvTranspose`` ->
  Transpose. Its stride lives in the op's custom options, which tf2onnx drops; it is
  recovered from the input and output sizes, and the node is refused by name when those
  are unknown;
* int8 models: weights stored as ``DequantizeLinear`` of int8 initializers are folded to
  float weights (activation Quantize/Dequantize pairs are converted, in float); full-integer
  models with int8/uint8 I/O take integer images, quantized with the scale/zero point of the
  input's DequantizeLinear (the importer reads it); float16 and dynamic-range models arrive
  from tf2onnx with their weights already dequantized to float32;
* NHWC inputs and SAME padding, as for TensorFlow.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter, with_passes
from harness.adapters.passes import PASSES, PassContext, PassRefusal, _static_shapes, replace_nodes

#: tf2onnx's name for the MediaPipe custom op
TRANSPOSE_CONV_BIAS = "TFL_Convolution2DTransposeBias"
#: ops that keep their input's shape, followed to find a custom op's output size
_SHAPE_PRESERVING = {"Sigmoid", "Relu", "Tanh", "Identity", "HardSigmoid", "HardSwish", "LeakyRelu", "Clip", "Softmax"}


def _output_shape(model: onnx.ModelProto, tensor: str, shapes: dict) -> tuple | None:
    """The shape of ``tensor``, or of the first shape-preserving op chain after it that has one."""
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    seen = 0
    while seen < 8:
        shape = shapes.get(tensor)
        if shape and all(d is not None for d in shape):
            return shape
        nexts = [n for n in consumers.get(tensor, []) if n.op_type in _SHAPE_PRESERVING]
        if len(nexts) != 1:
            return None
        tensor = nexts[0].output[0]
        seen += 1
    return None


@PASSES.register("tflite_custom_ops")
def tflite_custom_ops(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """``TFL_Convolution2DTransposeBias`` -> NCHW ``ConvTranspose`` with bias between Transposes."""
    targets = [n for n in model.graph.node if n.op_type == TRANSPOSE_CONV_BIAS]
    if not targets:
        return model
    inits = {init.name: init for init in model.graph.initializer}
    shapes = _static_shapes_lenient(model)
    replaced: dict[int, list[onnx.NodeProto]] = {}
    for node in targets:
        label = f"node {node.name!r} ({TRANSPOSE_CONV_BIAS})"
        if len(node.input) < 3 or node.input[1] not in inits or node.input[2] not in inits:
            raise PassRefusal(f"{label}: weights and bias must be constant tensors")
        weight = numpy_helper.to_array(inits[node.input[1]])  # O, kh, kw, I
        bias = numpy_helper.to_array(inits[node.input[2]]).reshape(-1)
        in_shape = shapes.get(node.input[0])
        out_shape = _output_shape(model, node.output[0], shapes)
        if not in_shape or not out_shape or any(d is None for d in in_shape[1:3]):
            raise PassRefusal(f"{label}: its stride is recorded only in TFLite custom options, which tf2onnx drops, "
                             f"and the input/output sizes that would give it are unknown; pin input.size in the card")
        strides = [out_shape[1] // in_shape[1], out_shape[2] // in_shape[2]]
        kernel = list(weight.shape[1:3])
        pads_begin, pads_end = [], []
        for k, s in zip(kernel, strides):
            total = max(k - s, 0)
            pads_begin.append(total // 2)
            pads_end.append(total - total // 2)
        base = node.name or node.output[0]
        w_name, b_name = f"{base}/weight_iohw", f"{base}/bias"
        model.graph.initializer.extend([
            numpy_helper.from_array(np.ascontiguousarray(weight.transpose(3, 0, 1, 2)).astype(np.float32), w_name),
            numpy_helper.from_array(bias.astype(np.float32), b_name),
        ])
        nchw_in, nchw_out = f"{base}/nchw_in", f"{base}/nchw_out"
        replaced[id(node)] = [
            helper.make_node("Transpose", [node.input[0]], [nchw_in], name=f"{base}/to_nchw", perm=[0, 3, 1, 2]),
            helper.make_node("ConvTranspose", [nchw_in, w_name, b_name], [nchw_out], name=f"{base}/conv_transpose",
                             strides=strides, pads=pads_begin + pads_end, kernel_shape=kernel),
            helper.make_node("Transpose", [nchw_out], [node.output[0]], name=node.name, perm=[0, 2, 3, 1]),
        ]
    nodes = []
    for node in model.graph.node:
        nodes.extend(replaced.get(id(node), [node]))
    return replace_nodes(model, nodes)


def _static_shapes_lenient(model: onnx.ModelProto) -> dict:
    """Shapes as far as inference gets before the (unknown to ONNX) custom ops."""
    try:
        return _static_shapes(model)
    except Exception:  # shape inference stops at ops it has no schema for in strict mode only
        return {}


TFLITE_ADAPTER = Adapter(
    framework="tflite",
    passes=("pin_input_dims", "tflite_custom_ops", "fold_dequantize_weights", *with_passes(SHARED_PASSES[1:], "explicit_pads")),
    description="TFLite models through tf2onnx (MediaPipe ...): custom ops such as Convolution2DTransposeBias, "
    "int8 weights dequantized, NHWC input, SAME padding",
)
ADAPTERS.add("tflite", TFLITE_ADAPTER)
