"""ONNX Model Zoo-era graphs (Caffe2/CNTK conversions), built with onnx.helper, random weights.

IR version 3, opsets 7-9, every initializer also listed as a graph input, and the old ops
and attributes those files use: BatchNormalization with ``spatial``, Dropout, LRN, Sum,
Gemm after Reshape/Flatten, Softmax, Upsample. Small sizes (32x32 input, few channels), one
builder per classic architecture.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def weight(self, shape, scale=None) -> str:
        name = self._name("w")
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        value = self.rng.normal(0, scale or (2.0 / fan_in) ** 0.5, size=shape).astype(np.float32)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, pad=None, group=1, bias=True):
        pad = k // 2 if pad is None else pad
        inputs = [x, self.weight((cout, cin // group, k, k))] + ([self.weight((cout,), 0.1)] if bias else [])
        return self.op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)

    def bn(self, x, c, opset):
        scale, bias = self.weight((c,), 0.2), self.weight((c,), 0.1)
        mean = self.weight((c,), 0.1)
        var = self._name("var")
        self.inits.append(numpy_helper.from_array(self.rng.uniform(0.5, 1.5, c).astype(np.float32), var))
        attrs = {"epsilon": 1e-5}
        if opset < 9:
            attrs["spatial"] = 1
        return self.op("BatchNormalization", [x, scale, bias, mean, var], **attrs)

    def relu(self, x):
        return self.op("Relu", [x])

    def pool(self, x, kind="MaxPool", k=2, stride=2, pad=0):
        return self.op(kind, [x], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def lrn(self, x):
        return self.op("LRN", [x], size=5, alpha=1e-4, beta=0.75, bias=1.0)

    def dropout(self, x):
        out = self._name("dropout")
        self.nodes.append(helper.make_node("Dropout", [x], [out], name=out, ratio=0.5))
        return out

    def fc(self, x, cin, cout):
        return self.op("Gemm", [x, self.weight((cout, cin)), self.weight((cout,), 0.1)], transB=1)

    def flatten(self, x):
        return self.op("Flatten", [x], axis=1)

    def model(self, x_shape, out: str, opset: int) -> onnx.ModelProto:
        inputs = [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, list(x_shape))]
        # IR 3: every initializer is also a graph input
        inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in self.inits]
        self.nodes.append(helper.make_node("Softmax", [out], ["prob_1"], name="prob"))
        graph = helper.make_graph(self.nodes, "zoo", inputs, [helper.make_tensor_value_info("prob_1", TensorProto.FLOAT, [1, 10])],
                                  initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="caffe2-style")
        model.ir_version = 3
        return model


def alexnet(b: Builder, opset: int) -> str:  # also ZFNet's structure
    x = b.pool(b.lrn(b.relu(b.conv("data_0", 3, 8, 5, stride=2, pad=2))), k=3, stride=2, pad=1)
    x = b.pool(b.lrn(b.relu(b.conv(x, 8, 12, 3))), k=3, stride=2, pad=1)
    x = b.relu(b.conv(x, 12, 12, 3))
    x = b.dropout(b.relu(b.fc(b.flatten(x), 12 * 4 * 4, 32)))
    return b.fc(x, 32, 10)


def vgg(b: Builder, opset: int) -> str:
    x = "data_0"
    for cin, cout in ((3, 8), (8, 16), (16, 16)):
        x = b.pool(b.relu(b.conv(b.relu(b.conv(x, cin, cout, 3)), cout, cout, 3)))
    x = b.dropout(b.relu(b.fc(b.flatten(x), 16 * 4 * 4, 32)))
    return b.fc(x, 32, 10)


def resnet(b: Builder, opset: int) -> str:
    x = b.pool(b.relu(b.bn(b.conv("data_0", 3, 8, 3, bias=False), 8, opset)))
    for cin, cout, stride in ((8, 8, 1), (8, 16, 2)):
        y = b.relu(b.bn(b.conv(x, cin, cout, 3, stride=stride, bias=False), cout, opset))
        y = b.bn(b.conv(y, cout, cout, 3, bias=False), cout, opset)
        short = x if cin == cout and stride == 1 else b.bn(b.conv(x, cin, cout, 1, stride=stride, pad=0, bias=False), cout, opset)
        x = b.relu(b.op("Sum", [y, short]))
    x = b.op("GlobalAveragePool", [x])
    return b.fc(b.flatten(x), 16, 10)


def inception(b: Builder, opset: int) -> str:
    x = b.lrn(b.pool(b.relu(b.conv("data_0", 3, 8, 3)), k=3, stride=2, pad=1))
    branches = [
        b.relu(b.conv(x, 8, 4, 1, pad=0)),
        b.relu(b.conv(b.relu(b.conv(x, 8, 4, 1, pad=0)), 4, 6, 3)),
        b.relu(b.conv(b.relu(b.conv(x, 8, 2, 1, pad=0)), 2, 4, 5)),
        b.relu(b.conv(b.pool(x, k=3, stride=1, pad=1), 8, 2, 1, pad=0)),
    ]
    x = b.op("Concat", branches, axis=1)
    x = b.dropout(b.pool(x, kind="AveragePool", k=16, stride=1))
    return b.fc(b.flatten(x), 16, 10)


def densenet(b: Builder, opset: int) -> str:
    x = b.conv("data_0", 3, 8, 3, stride=2, bias=False)
    channels = 8
    for _ in range(3):
        y = b.conv(b.relu(b.bn(x, channels, opset)), channels, 4, 3, bias=False)
        x = b.op("Concat", [x, y], axis=1)
        channels += 4
    x = b.pool(b.relu(b.bn(x, channels, opset)), kind="AveragePool")
    x = b.op("GlobalAveragePool", [x])
    return b.fc(b.flatten(x), channels, 10)


def shufflenet(b: Builder, opset: int) -> str:
    x = b.pool(b.relu(b.conv("data_0", 3, 12, 3, stride=2)), k=3, stride=2, pad=1)
    y = b.relu(b.bn(b.conv(x, 12, 12, 1, pad=0, group=3, bias=False), 12, opset))
    shape = b._name("shape")
    b.inits.append(numpy_helper.from_array(np.array([0, 3, 4, 8, 8], np.int64), shape))
    y = b.op("Reshape", [y, shape])
    y = b.op("Transpose", [y], perm=[0, 2, 1, 3, 4])
    shape2 = b._name("shape")
    b.inits.append(numpy_helper.from_array(np.array([0, 12, 8, 8], np.int64), shape2))
    y = b.op("Reshape", [y, shape2])
    y = b.bn(b.conv(y, 12, 12, 3, group=12, bias=False), 12, opset)
    x = b.relu(b.op("Add", [x, y]))
    x = b.op("GlobalAveragePool", [x])
    return b.fc(b.flatten(x), 12, 10)


def squeezenet(b: Builder, opset: int) -> str:
    x = b.pool(b.relu(b.conv("data_0", 3, 8, 3, stride=2)), k=3, stride=2, pad=1)
    for cin in (8, 8):
        s = b.relu(b.conv(x, cin, 4, 1, pad=0))
        x = b.op("Concat", [b.relu(b.conv(s, 4, 4, 1, pad=0)), b.relu(b.conv(s, 4, 4, 3))], axis=1)
    x = b.relu(b.conv(b.dropout(x), 8, 10, 1, pad=0))
    up = b.op("Upsample", [x], mode="nearest", scales=[1.0, 1.0, 2.0, 2.0]) if opset < 9 else None
    if up is None:
        scales = b._name("scales")
        b.inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), scales))
        up = b.op("Upsample", [x, scales], mode="nearest")
    x = b.op("GlobalAveragePool", [up])
    shape = b._name("shape")
    b.inits.append(numpy_helper.from_array(np.array([0, 10], np.int64), shape))
    return b.op("Reshape", [x, shape])


FAMILIES = {"alexnet": alexnet, "vgg": vgg, "resnet": resnet, "inception": inception, "densenet": densenet,
            "shufflenet": shufflenet, "squeezenet": squeezenet}


def build(family: str, opset: int, seed: int = 0) -> tuple[onnx.ModelProto, str]:
    """(model, a mid-network probe tensor) for one family at one old opset."""
    b = Builder(seed)
    out = FAMILIES[family](b, opset)
    model = b.model((1, 3, 32, 32), out, opset)
    relus = [n.output[0] for n in model.graph.node if n.op_type in ("Relu", "Concat")]
    return model, relus[len(relus) // 2]
