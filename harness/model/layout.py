"""Where the channels of a graph tensor are: NCHW or NHWC, followed through the ONNX graph.

Feature pooling and per-channel statistics (the ``energy`` attribution target) need the
channel axis of the probe tensor. Its shape cannot tell: an 8x8x8 bottleneck reads the same
either way. The graph can: the card states the input layout, ONNX convolutions and poolings
are channel-first by definition, a Transpose permutes the layout letters, and elementwise ops
keep their input's layout. tf2onnx graphs show why the card's input layout alone is not
enough: an NHWC Keras input is transposed once at the start and every later tensor,
including the probe layer, is NCHW.
"""

from __future__ import annotations

from pathlib import Path

import onnx

#: Ops whose 4-D output is channel-first whatever fed them (ONNX defines them on NCHW).
CHANNEL_FIRST_OPS = frozenset({
    "Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool",
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "InstanceNormalization",
    "LRN", "DepthToSpace", "SpaceToDepth", "MaxUnpool",
})
#: Ops that keep the layout of their (first laid-out) input.
LAYOUT_PRESERVING_OPS = frozenset({
    "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus",
    "Softsign", "Gelu", "Mish", "Clip", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Erf", "Identity",
    "Dropout", "Cast", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Pad", "Resize",
    "Upsample", "QuantizeLinear", "DequantizeLinear",
})
LAYOUTS = ("NCHW", "NHWC")


def propagate_layouts(graph: onnx.GraphProto, input_layout: str) -> dict[str, str]:
    """Layout letters (e.g. ``"NCHW"``) of every 4-D tensor whose layout the graph determines.

    Graph inputs take ``input_layout``; initializers and tensors of unknown layout are left
    out, so an op mixing a laid-out tensor with a weight keeps the laid-out one's layout.
    """
    weights = {init.name for init in graph.initializer}
    known = {i.name: input_layout for i in graph.input if i.name not in weights}
    for node in graph.node:  # ONNX graphs are topologically sorted
        layout = _output_layout(node, [known.get(name) for name in node.input])
        if layout is not None:
            for name in node.output[:1]:
                known[name] = layout
    return known


def _output_layout(node: onnx.NodeProto, inputs: list[str | None]) -> str | None:
    if node.op_type in CHANNEL_FIRST_OPS:
        return "NCHW"
    if node.op_type == "Transpose":
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        source = inputs[0] if inputs else None
        if source is None or perm is None or sorted(perm) != list(range(len(source))):
            return None
        return "".join(source[i] for i in perm)
    if node.op_type in LAYOUT_PRESERVING_OPS:
        return next((layout for layout in inputs if layout is not None), None)
    return None


def channel_axis(layout: str | None) -> int:
    """The channel axis of a 4-D tensor in ``layout``; 1 (ONNX's convention) when unknown."""
    return layout.index("C") if layout and "C" in layout else 1


def tensor_layout(onnx_path: Path, tensor: str, input_layout: str) -> str | None:
    """Layout of ``tensor`` in the ONNX file (None when the graph does not determine it)."""
    model = onnx.load(str(onnx_path), load_external_data=False)
    return propagate_layouts(model.graph, input_layout).get(tensor)
