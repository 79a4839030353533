"""Card + ONNX file -> :class:`ProbedModel`.

The data flow of one import: load and check the ONNX file, resolve the probe layer against
the *original* graph (the names the user knows), let the card's framework adapter normalise
the graph (keeping the probe tensor intact), refuse unsupported ops up front with a precise
message, convert with onnx2torch, index the layers, and check parity against onnxruntime.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import onnx
import torch

from harness.adapters import ADAPTERS
from harness.adapters.passes import default_opset
from harness.card import ModelCard
from harness.errors import HarnessError, ImportFailure
from harness.layers import LayerIndex
from harness.onnx_io import load_onnx
from harness.parity import compare, ort_session
from harness.preprocess import random_input
from harness.probed import NCHWInput, ProbedModel, select_output
from harness.registry import suggest
from harness.torch_compat import TORCHVISION_OPS, onnx2torch_module, torchvision_problem


@dataclass(frozen=True)
class GraphInput:
    name: str
    shape: tuple[int | None, ...]  # None for symbolic dimensions


def graph_input(model: onnx.ModelProto, label: str) -> GraphInput:
    """The single image input of ``model`` (initializers listed as inputs are skipped)."""
    inits = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ImportFailure(f"{label}: the graph has {len(inputs)} inputs ({names}); the harness probes single-image models")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims)
    return GraphInput(inputs[0].name, shape)


def check_input_matches(card: ModelCard, graph: GraphInput) -> None:
    """The card's input size and layout must agree with the graph's input shape."""
    where = f"{card.path}: field 'input"
    shape_text = "(" + ", ".join("?" if d is None else str(d) for d in graph.shape) + ")"
    if len(graph.shape) != 4:
        raise ImportFailure(f"{where}': graph input {graph.name!r} has shape {shape_text}; the harness needs a 4-D image batch")
    h, w = card.input.size
    if card.input.layout == "NCHW":
        channels, height, width = graph.shape[1], graph.shape[2], graph.shape[3]
        other_channels = graph.shape[3]
    else:
        height, width, channels = graph.shape[1], graph.shape[2], graph.shape[3]
        other_channels = graph.shape[1]
    if channels not in (None, 3):
        other = "NHWC" if card.input.layout == "NCHW" else "NCHW"
        hint = f"; set input.layout: {other}" if other_channels == 3 else ""
        raise ImportFailure(
            f"{where}.layout': {card.input.layout} does not match graph input {graph.name!r} of shape {shape_text} "
            f"(channel axis has {channels}){hint}"
        )
    if (height is not None and height != h) or (width is not None and width != w):
        raise ImportFailure(
            f"{where}.size': [{h}, {w}] does not match graph input {graph.name!r} of shape {shape_text} "
            f"({card.input.layout}); set input.size: [{height}, {width}]"
        )


def resolve_tensor(model: onnx.ModelProto, name: str, label: str, field: str = "probe_layer") -> str:
    """The tensor a card's layer name refers to: a node name (its first output) or a tensor name."""
    for node in model.graph.node:
        if node.name == name and node.output:
            return node.output[0]
    tensors = {o for node in model.graph.node for o in node.output if o}
    if name in tensors:
        return name
    candidates = sorted({n.name for n in model.graph.node if n.name} | tensors)
    raise HarnessError(f"{label}: field '{field}': unknown layer {name!r}; {suggest(name, candidates)} (run `harness layers CARD` to list them all)")


def check_supported_ops(model: onnx.ModelProto, original_opset: int, label: str) -> None:
    """Refuse, before converting, any op that onnx2torch cannot convert here."""
    onnx2torch_module()
    from onnx2torch.node_converters.registry import get_converter

    opsets = {entry.domain: entry.version for entry in model.opset_import}
    tv_problem = torchvision_problem()
    for node in model.graph.node:
        version = opsets.get(node.domain, opsets.get("", 0))
        where = f"op {node.op_type} (opset {original_opset}, node {node.name or '<unnamed>'!r}{', domain ' + node.domain if node.domain else ''})"
        try:
            get_converter(operation_type=node.op_type, version=version, domain=node.domain)
        except NotImplementedError:
            raise ImportFailure(f"{label}: unsupported {where}: onnx2torch has no converter for it at opset {version}") from None
        if tv_problem and node.op_type in TORCHVISION_OPS:
            raise ImportFailure(
                f"{label}: {where} needs {TORCHVISION_OPS[node.op_type]}, but torchvision cannot load its compiled ops "
                f"here ({tv_problem}); install a torchvision built for this torch"
            )


def convert(model: onnx.ModelProto, label: str) -> torch.fx.GraphModule:
    """onnx2torch conversion with failures reported as one line."""
    onnx2torch = onnx2torch_module()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return onnx2torch.convert(model).eval()
    except Exception as exc:  # converters raise NotImplementedError/ValueError/KeyError/...
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailure(f"{label}: onnx2torch could not convert the graph: {message}") from None


def trial_shapes(graph: torch.fx.GraphModule, layers: LayerIndex, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Output shape of every layer, from one forward pass with recording hooks."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    by_module: dict[str, list] = {}
    for layer in layers.layers:
        by_module.setdefault(layer.module, []).append(layer)
    try:
        for module_name, entries in by_module.items():
            def hook(_m, _i, out, entries=entries):
                for layer in entries:
                    value = select_output(out, layer.output_index)
                    if isinstance(value, torch.Tensor):
                        shapes[layer.tensor] = tuple(value.shape)

            handles.append(graph.get_submodule(module_name).register_forward_hook(hook))
        with torch.no_grad():
            graph(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def import_card(card: ModelCard, *, parity_batch: int = 2, check_parity: bool = True) -> ProbedModel:
    """Import the model a card describes; raise :class:`ImportFailure` with one line on any problem."""
    label = str(card.path)
    original = load_onnx(card.onnx, label)
    original_opset = default_opset(original)
    graph_in = graph_input(original, label)
    check_input_matches(card, graph_in)
    probe_tensor = resolve_tensor(original, card.probe_layer, label)
    keep = {probe_tensor}
    if card.target.output:
        keep.add(resolve_tensor(original, card.target.output, label, field="target.output"))

    adapter = ADAPTERS.get(card.framework)
    try:
        normalised = adapter.normalise(original, keep=frozenset(keep))
    except HarnessError:
        raise
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailure(f"{label}: the {card.framework} adapter could not normalise the graph: {message}") from None
    check_supported_ops(normalised, original_opset, label)
    graph = convert(normalised, label)
    layers = LayerIndex.from_onnx(normalised)

    fixed_batch = graph_in.shape[0]
    batch = fixed_batch or parity_batch
    x_nchw = random_input(card.input, batch, seed=0)
    x_graph = x_nchw.permute(0, 2, 3, 1).contiguous() if card.input.layout == "NHWC" else x_nchw
    layers = layers.with_shapes(trial_shapes(graph, layers, x_graph[:1] if fixed_batch is None else x_graph))
    probe = layers.resolve(probe_tensor, label)
    model = ProbedModel(card=card, graph=graph, layers=layers, probe=probe, parity=None, fixed_batch=fixed_batch)
    if check_parity:
        model.parity = parity_check(model, original, x_graph, x_nchw)
    if model.parity is not None and not model.parity.passed(card.parity_tolerance):
        raise ImportFailure(
            f"{label}: parity with onnxruntime failed: max abs error {model.parity.max_abs_err:.3g}, "
            f"max rel error {model.parity.max_rel_err:.3g} > tolerance {card.parity_tolerance:g}"
        )
    return model


def parity_check(model: ProbedModel, original: onnx.ModelProto, x_graph: torch.Tensor, x_nchw: torch.Tensor):
    """Run onnxruntime (original file) and torch (converted graph) on the same input; compare outputs and probe."""
    probe = model.probe.tensor
    session = ort_session(original, [probe])
    feed = {session.get_inputs()[0].name: x_graph.numpy()}
    names = [o.name for o in session.get_outputs()]
    reference = dict(zip(names, session.run(names, feed)))
    with torch.no_grad(), model.capture(probe) as captured:
        outputs = NCHWInput(model.graph, model.card.input.layout)(x_nchw)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    graph_outputs = [o.name for o in original.graph.output]
    converted = {name: value.numpy() for name, value in zip(graph_outputs, outputs)}
    converted[probe] = captured[probe].numpy()
    reference = {k: v for k, v in reference.items() if k in converted and isinstance(v, np.ndarray)}
    return compare(reference, converted, int(x_graph.shape[0]), session.get_providers()[0])
