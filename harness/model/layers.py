"""Probe layers: user-facing ONNX names mapped to the fx nodes that compute them.

onnx2torch makes one fx ``call_module`` node per ONNX node, its module named after the ONNX
node (dots become slashes). We keep our own index from every ONNX node name and output
tensor name to (module name, output index), so that a card can name a layer the way the
user sees it in Netron or in TF (``functional_1/probe_conv_1/Relu``), and listings show
every addressable name with its output shape.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import onnx

from harness.common.registry import suggest


@dataclass(frozen=True)
class Layer:
    """One addressable value of the converted graph."""

    onnx_node: str  # ONNX node name ('' when the exporter left it unnamed)
    op_type: str
    tensor: str  # ONNX output tensor name
    module: str  # name of the onnx2torch submodule that computes it
    output_index: int  # which output of that module (most have one)
    shape: tuple[int, ...] | None = None  # output shape at batch 1, filled after a trial run
    module_path: str = ""  # PyTorch module path whose output this is (dynamo exports), else ''


class LayerIndex:
    """All layers of a converted graph, addressable by ONNX node name or tensor name."""

    def __init__(self, layers: list[Layer], aliases: dict[str, str] | None = None) -> None:
        self.layers = layers
        self.aliases = dict(aliases or {})  # extra name (PyTorch module path) -> tensor
        self._by_name: dict[str, Layer] = {}
        for layer in layers:
            self._by_name.setdefault(layer.tensor, layer)
            if layer.onnx_node and layer.output_index == 0:
                self._by_name.setdefault(layer.onnx_node, layer)
        for name, tensor in self.aliases.items():
            if tensor in self._by_name:
                self._by_name.setdefault(name, self._by_name[tensor])

    @classmethod
    def from_onnx(cls, model: onnx.ModelProto, paths: dict[str, str] | None = None) -> LayerIndex:
        """Index a (normalised) ONNX graph with onnx2torch's own node naming.

        ``paths`` (module path -> tensor, see :func:`module_paths`) adds PyTorch names.
        """
        from harness.model.converters.compat import onnx2torch_module

        onnx2torch_module()
        from onnx2torch.onnx_graph import OnnxGraph

        graph = OnnxGraph(model.graph)
        by_tensor: dict[str, str] = {}
        for path, tensor in (paths or {}).items():
            by_tensor.setdefault(tensor, path)  # outermost module first: paths are in scope order
        layers = []
        for unique_name, node in graph.nodes.items():
            for index, tensor in enumerate(node.output_values):
                if tensor:
                    layers.append(Layer(node.proto.name, node.operation_type, tensor, unique_name, index,
                                        module_path=by_tensor.get(tensor, "")))
        return cls(layers, paths)

    def names(self) -> list[str]:
        return list(self._by_name)

    def resolve(self, name: str, where: str) -> Layer:
        """The layer called ``name``; unknown names raise with the closest valid names."""
        from harness.common.errors import HarnessError

        if name in self._by_name:
            return self._by_name[name]
        raise HarnessError(
            f"{where}: unknown layer {name!r}; {suggest(name, self.names())} (run `harness layers CARD` to list them all)"
        )

    def with_shapes(self, shapes: dict[str, tuple[int, ...]]) -> LayerIndex:
        """A copy whose layers carry output shapes, keyed by tensor name."""
        return LayerIndex([Layer(**{**layer.__dict__, "shape": shapes.get(layer.tensor)}) for layer in self.layers], self.aliases)


#: node metadata key where torch.onnx's dynamo exporter records the PyTorch module scopes
NAME_SCOPES_KEY = "pkg.torch.onnx.name_scopes"


def module_paths(model: onnx.ModelProto) -> dict[str, str]:
    """PyTorch module path (``layer4.2.relu``) -> the ONNX tensor that module outputs.

    The dynamo exporter lists each node's enclosing module scopes; a module's output is the
    output of the last node (in graph order) inside its scope. Graphs from other exporters
    have no such metadata and give an empty mapping.
    """
    paths: dict[str, str] = {}
    for node in model.graph.node:
        raw = next((p.value for p in node.metadata_props if p.key == NAME_SCOPES_KEY), None)
        if not raw or not node.output:
            continue
        try:
            scopes = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            continue
        for scope in scopes[:-1]:  # the last entry names the op itself
            if scope:
                paths[scope] = node.output[0]
    return paths


#: ops whose output is a typical probe layer (a feature map or embedding, not shape arithmetic)
FEATURE_OPS = {"Conv", "Relu", "Clip", "Add", "Sum", "Concat", "GlobalAveragePool", "AveragePool", "MaxPool", "Flatten",
               "Gemm", "MatMul", "LayerNormalization", "BatchNormalization", "Mul", "HardSwish", "Sigmoid", "PRelu",
               "Gelu", "ReduceMean", "LeakyRelu", "Elu", "Mish"}


def probe_candidates(layers: list[Layer]) -> set[str]:
    """Tensors that are likely probe layers: the pre-logits / encoder output.

    The last feature-map-shaped output (rank 4) and the last pooled/flattened feature vector
    before the final layer(s) of the graph.
    """
    feature = [layer for layer in layers if layer.op_type in FEATURE_OPS and layer.shape]
    candidates: set[str] = set()
    maps = [layer for layer in feature if len(layer.shape) == 4]
    if maps:
        candidates.add(maps[-1].tensor)
    vectors = [layer for layer in feature if len(layer.shape) in (2, 3) and layer is not layers[-1]]
    if vectors:
        candidates.add(vectors[-1].tensor)
    return candidates
