"""onnxruntime's QOperator and integer formats, rewritten into the QDQ form the converters read.

onnxruntime's quantizer writes a quantized model in one of three forms: QDQ (float ops between
``QuantizeLinear``/``DequantizeLinear`` pairs, which the converters handle), QOperator (fused
integer ops: ``QLinearConv``, ``QLinearMatMul`` and com.microsoft's ``QGemm``, ``QLinearAdd``,
``QLinearMul``, ``QLinearGlobalAveragePool``, ``QLinearSigmoid``, ``QLinearLeakyRelu``,
``QLinearConcat``) and dynamic quantization (``ConvInteger``, ``MatMulInteger``). This pass
rewrites every fused op as ``DequantizeLinear`` of each quantized input, the float op, and a
``QuantizeLinear`` to the op's output scale and zero point, under the op's own output name;
``ConvInteger`` becomes a float convolution of the zero-point-shifted integers (exact while the
sums stay below 2^24) cast to int32. The quantize converters round half to even and saturate
as the spec says, so the only difference from onnxruntime's integer kernels is where a value
falls within float32 rounding of a rounding boundary: at most one quantization step, within
the quantized parity tolerance.
"""

from __future__ import annotations

import onnx
from onnx import helper

from harness.adapters.passes import PASSES, PassContext, PassRefusal, node_attributes, replace_nodes

MS = "com.microsoft"


class _Rewriter:
    """Emits replacement nodes with fresh, unique intermediate names."""

    def __init__(self, node: onnx.NodeProto) -> None:
        self.node, self.nodes, self.count = node, [], 0

    def name(self, what: str) -> str:
        self.count += 1
        return f"{self.node.name or self.node.output[0]}__{what}{self.count}"

    def add(self, op: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        output = output or self.name(op)
        self.nodes.append(helper.make_node(op, inputs, [output], name=self.name(op + "_node"), **attrs))
        return output

    def dq(self, x: str, scale: str, zero: str, axis: int | None = None) -> str:
        inputs = [x, scale] + ([zero] if zero else [])
        return self.add("DequantizeLinear", inputs, **({"axis": axis} if axis is not None else {}))

    def q(self, x: str, scale: str, zero: str, output: str) -> str:
        return self.add("QuantizeLinear", [x, scale] + ([zero] if zero else []), output)


def _inputs(node: onnx.NodeProto, n: int) -> list[str]:
    return list(node.input) + [""] * (n - len(node.input))


def _qlinear_conv(r: _Rewriter, node: onnx.NodeProto) -> None:
    x, xs, xz, w, ws, wz, ys, yz, b = _inputs(node, 9)
    inputs = [r.dq(x, xs, xz), r.dq(w, ws, wz, axis=0)]
    if b:  # int32 bias at scale x_scale * w_scale, zero point 0
        inputs.append(r.add("Mul", [r.add("Cast", [b], to=onnx.TensorProto.FLOAT), r.add("Mul", [xs, ws])]))
    r.q(r.add("Conv", inputs, **node_attributes(node)), ys, yz, node.output[0])


def _qlinear_matmul(r: _Rewriter, node: onnx.NodeProto) -> None:
    a, as_, az, b, bs, bz, ys, yz = _inputs(node, 8)
    r.q(r.add("MatMul", [r.dq(a, as_, az), r.dq(b, bs, bz, axis=-1)]), ys, yz, node.output[0])


def _qgemm(r: _Rewriter, node: onnx.NodeProto) -> None:
    a, as_, az, b, bs, bz, c, ys, yz = _inputs(node, 9)
    attrs = node_attributes(node)
    axis = 0 if attrs.get("transB", 0) else 1  # per-channel scales run along the output dimension of B
    inputs = [r.dq(a, as_, az), r.dq(b, bs, bz, axis=axis)]
    if c:
        inputs.append(r.add("Mul", [r.add("Cast", [c], to=onnx.TensorProto.FLOAT), r.add("Mul", [as_, bs])]))
    gemm = r.add("Gemm", inputs, output=None if ys else node.output[0], **{k: v for k, v in attrs.items() if k != "domain"})
    if ys:
        r.q(gemm, ys, yz, node.output[0])


def _binary(op: str):
    def rewrite(r: _Rewriter, node: onnx.NodeProto) -> None:
        a, as_, az, b, bs, bz, ys, yz = _inputs(node, 8)
        r.q(r.add(op, [r.dq(a, as_, az), r.dq(b, bs, bz)]), ys, yz, node.output[0])
    return rewrite


def _unary(op: str, **fixed):
    def rewrite(r: _Rewriter, node: onnx.NodeProto) -> None:
        x, xs, xz, ys, yz = _inputs(node, 5)
        attrs = {**fixed, **node_attributes(node)}
        channels_last = attrs.pop("channels_last", 0)
        if node.op_type == "QLinearGlobalAveragePool" and channels_last:
            raise PassRefusal(f"node {node.name!r}: QLinearGlobalAveragePool with channels_last=1 is not supported; "
                             "quantize the model from an NCHW graph")
        r.q(r.add(op, [r.dq(x, xs, xz)], **attrs), ys, yz, node.output[0])
    return rewrite


def _qlinear_concat(r: _Rewriter, node: onnx.NodeProto) -> None:
    ys, yz, *rest = list(node.input)
    parts = [r.dq(rest[i], rest[i + 1], rest[i + 2]) for i in range(0, len(rest), 3)]
    r.q(r.add("Concat", parts, **node_attributes(node)), ys, yz, node.output[0])


def _conv_integer(r: _Rewriter, node: onnx.NodeProto) -> None:
    x, w, xz, wz = _inputs(node, 4)
    shifted = []
    for value, zero in ((x, xz), (w, wz)):
        as_float = r.add("Cast", [value], to=onnx.TensorProto.FLOAT)
        shifted.append(r.add("Sub", [as_float, r.add("Cast", [zero], to=onnx.TensorProto.FLOAT)]) if zero else as_float)
    r.add("Cast", [r.add("Conv", shifted, **node_attributes(node))], node.output[0], to=onnx.TensorProto.INT32)


REWRITES = {
    ("", "QLinearConv"): _qlinear_conv, ("", "QLinearMatMul"): _qlinear_matmul, ("", "ConvInteger"): _conv_integer,
    (MS, "QGemm"): _qgemm, (MS, "QLinearAdd"): _binary("Add"), (MS, "QLinearMul"): _binary("Mul"),
    (MS, "QLinearGlobalAveragePool"): _unary("GlobalAveragePool"), (MS, "QLinearSigmoid"): _unary("Sigmoid"),
    (MS, "QLinearLeakyRelu"): _unary("LeakyRelu"), (MS, "QLinearConcat"): _qlinear_concat,
    (MS, "QLinearAveragePool"): _unary("AveragePool"),
}


@PASSES.register("qoperator_to_qdq")
def qoperator_to_qdq(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """onnxruntime's fused integer ops (QOperator, ConvInteger) -> DequantizeLinear, float op, QuantizeLinear."""
    nodes = []
    changed = False
    for node in model.graph.node:
        rewrite = REWRITES.get(("" if node.domain == "ai.onnx" else node.domain, node.op_type))
        if rewrite is None:
            nodes.append(node)
            continue
        r = _Rewriter(node)
        rewrite(r, node)
        nodes.extend(r.nodes)
        changed = True
    if not changed:
        return model
    replace_nodes(model, nodes)
    opsets = {o.domain: o for o in model.opset_import}
    if opsets.get("", None) is not None and opsets[""].version < 13:
        opsets[""].version = 13  # per-axis DequantizeLinear needs opset 13
    return model
