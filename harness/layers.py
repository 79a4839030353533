"""Probe layers: user-facing ONNX names mapped to the fx nodes that compute them.

onnx2torch makes one fx ``call_module`` node per ONNX node, its module named after the ONNX
node (dots become slashes). We keep our own index from every ONNX node name and output
tensor name to (module name, output index), so that a card can name a layer the way the
user sees it in Netron or in TF (``functional_1/probe_conv_1/Relu``), and listings show
every addressable name with its output shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from harness.registry import suggest


@dataclass(frozen=True)
class Layer:
    """One addressable value of the converted graph."""

    onnx_node: str  # ONNX node name ('' when the exporter left it unnamed)
    op_type: str
    tensor: str  # ONNX output tensor name
    module: str  # name of the onnx2torch submodule that computes it
    output_index: int  # which output of that module (most have one)
    shape: tuple[int, ...] | None = None  # output shape at batch 1, filled after a trial run


class LayerIndex:
    """All layers of a converted graph, addressable by ONNX node name or tensor name."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self._by_name: dict[str, Layer] = {}
        for layer in layers:
            self._by_name.setdefault(layer.tensor, layer)
            if layer.onnx_node and layer.output_index == 0:
                self._by_name.setdefault(layer.onnx_node, layer)

    @classmethod
    def from_onnx(cls, model: onnx.ModelProto) -> LayerIndex:
        """Index a (normalised) ONNX graph with onnx2torch's own node naming."""
        from harness.torch_compat import onnx2torch_module

        onnx2torch_module()
        from onnx2torch.onnx_graph import OnnxGraph

        graph = OnnxGraph(model.graph)
        layers = []
        for unique_name, node in graph.nodes.items():
            for index, tensor in enumerate(node.output_values):
                if tensor:
                    layers.append(Layer(node.proto.name, node.operation_type, tensor, unique_name, index))
        return cls(layers)

    def names(self) -> list[str]:
        return list(self._by_name)

    def resolve(self, name: str, where: str) -> Layer:
        """The layer called ``name``; unknown names raise with the closest valid names."""
        from harness.errors import HarnessError

        if name in self._by_name:
            return self._by_name[name]
        raise HarnessError(
            f"{where}: unknown layer {name!r}; {suggest(name, self.names())} (run `harness layers CARD` to list them all)"
        )

    def with_shapes(self, shapes: dict[str, tuple[int, ...]]) -> LayerIndex:
        """A copy whose layers carry output shapes, keyed by tensor name."""
        return LayerIndex([Layer(**{**l.__dict__, "shape": shapes.get(l.tensor)}) for l in self.layers])
