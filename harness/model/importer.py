"""Card + ONNX file -> :class:`ProbedModel`.

The data flow of one import: load and check the ONNX file, resolve the probe layer against
the *original* graph (the names the user knows), let the card's framework adapter normalise
the graph (keeping the probe tensor intact), refuse unsupported ops up front with a precise
message, convert with onnx2torch, index the layers, and check parity against onnxruntime.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import onnx
import torch

from harness.adapters import ADAPTERS
from harness.adapters.passes import PassFailure, PassRefusal, default_opset, shapes_inferred
from harness.model.converters import register_all
from harness.model.card import ModelCard
from harness.common.errors import HarnessError, ImportFailure
from harness.model.layers import LayerIndex, module_paths
from harness.model.onnx_io import load_onnx
from harness.model.parity import compare, compute_precision, ort_session
from harness.model.preprocess import random_input
from harness.model.cut import NCHWInput, as_tuple, select_output
from harness.model.probed import ProbedModel
from harness.common.registry import suggest
from harness.model.converters.compat import TORCHVISION_OPS, onnx2torch_module, torchvision_problem


@dataclass(frozen=True)
class GraphInput:
    name: str
    shape: tuple[int | None, ...]  # None for symbolic dimensions
    dtype: str = "float32"  # a name of harness.model.card.INPUT_DTYPES


#: Graph input element types the harness can feed images as (integer ones quantized), by card dtype name.
INPUT_ELEMENTS = {
    onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16", onnx.TensorProto.UINT8: "uint8",
    onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT16: "uint16", onnx.TensorProto.INT16: "int16",
}


def _element_name(element: int) -> str:
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(element).name
    except Exception:  # an element type numpy has no name for
        return onnx.TensorProto.DataType.Name(element).lower() if element in onnx.TensorProto.DataType.values() else f"type {element}"


def check_tensor_value(value: onnx.ValueInfoProto, role: str, label: str) -> None:
    """A graph input or output must be a tensor (not a sequence, map or optional)."""
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        what = {"sequence_type": "a sequence", "map_type": "a map", "optional_type": "an optional",
                "sparse_tensor_type": "a sparse tensor"}.get(kind or "", "untyped")
        raise ImportFailure(f"{label}: graph {role} {value.name!r} is {what}; the harness reads dense tensors: re-export "
                            "without it (e.g. sklearn-onnx: options={'zipmap': False}) or cut the graph before it")


def check_outputs(model: onnx.ModelProto, label: str) -> None:
    for output in model.graph.output:
        check_tensor_value(output, "output", label)


def graph_input(model: onnx.ModelProto, label: str) -> GraphInput:
    """The single image input of ``model`` (initializers listed as inputs are skipped)."""
    inits = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ImportFailure(f"{label}: the graph has {len(inputs)} inputs ({names}); the harness probes single-image models")
    check_tensor_value(inputs[0], "input", label)
    element = inputs[0].type.tensor_type.elem_type
    if element not in INPUT_ELEMENTS:
        raise ImportFailure(f"{label}: graph input {inputs[0].name!r} holds {_element_name(element)} values; the harness feeds "
                            f"images as {', '.join(INPUT_ELEMENTS.values())}: export the model with one of those inputs, "
                            "or insert the Cast inside the graph")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims)
    return GraphInput(inputs[0].name, shape, INPUT_ELEMENTS[element])


#: Ops that move an input's values without changing them, followed to the DequantizeLinear that reads it.
_VALUE_PRESERVING = frozenset({"Transpose", "Reshape", "Identity", "Squeeze", "Unsqueeze", "Flatten"})


def input_dequantization(model: onnx.ModelProto, graph: GraphInput, label: str) -> tuple[float, int] | None:
    """(scale, zero point) of the first DequantizeLinear reading the graph input (through layout ops), or None.

    That is how the graph's own float computation reads its integers: quantizing images with
    it gives the integers the model was calibrated for (TFLite full-integer models,
    onnxruntime-quantized models with an integer input).
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = node.attribute[0].t
    frontier, seen = [graph.name], set()
    while frontier:
        tensor = frontier.pop(0)
        for node in consumers.get(tensor, []):
            if id(node) in seen or node.domain not in ("", "ai.onnx"):
                continue
            seen.add(id(node))
            if node.op_type in _VALUE_PRESERVING and node.input[0] == tensor:
                frontier.append(node.output[0])
            elif node.op_type == "DequantizeLinear" and node.input[0] == tensor:
                return _dequantize_parameters(node, constants, graph, label)
    return None


def _dequantize_parameters(node: onnx.NodeProto, constants: dict, graph: GraphInput, label: str) -> tuple[float, int]:
    from onnx import numpy_helper

    where = f"{label}: graph input {graph.name!r} ({graph.dtype}) is read by DequantizeLinear node {node.name or node.output[0]!r}"
    if node.input[1] not in constants or (len(node.input) > 2 and node.input[2] and node.input[2] not in constants):
        raise ImportFailure(f"{where} with a computed scale/zero point; set input.scale and input.zero_point in the card")
    scale = numpy_helper.to_array(constants[node.input[1]])
    zero = numpy_helper.to_array(constants[node.input[2]]) if len(node.input) > 2 and node.input[2] else np.zeros(1)
    if scale.size != 1 or zero.size != 1:
        raise ImportFailure(f"{where} with per-channel scales ({scale.size}); the harness quantizes images per tensor: "
                            "set input.scale and input.zero_point in the card")
    return float(scale.reshape(())), int(zero.reshape(()))


def resolve_input_dtype(card: ModelCard, original: onnx.ModelProto, graph: GraphInput) -> ModelCard:
    """``card`` with ``input.dtype`` (and, for integer inputs, scale/zero point) as the graph needs them.

    The card's own scale/zero point win over the graph's; an integer input whose quantization
    neither gives is refused, naming the card fields to set.
    """
    from harness.model.card import INTEGER_RANGES

    spec, label = card.input, str(card.path)
    if spec.dtype is not None and spec.dtype != graph.dtype:
        raise ImportFailure(f"{label}: field 'input.dtype': {spec.dtype} does not match graph input {graph.name!r}, "
                            f"which holds {graph.dtype} values; set input.dtype: {graph.dtype}")
    if graph.dtype not in INTEGER_RANGES:
        if spec.scale is not None:
            raise ImportFailure(f"{label}: field 'input.scale': graph input {graph.name!r} holds {graph.dtype} values, "
                                "not integers; drop input.scale and input.zero_point")
        return card  # float inputs: images are fed as they are (float16 ones cast)
    quantization = (spec.scale, spec.zero_point) if spec.scale is not None else input_dequantization(original, graph, label)
    if quantization is None:
        raise ImportFailure(f"{label}: graph input {graph.name!r} holds {graph.dtype} values and no DequantizeLinear reads it, "
                            "so how images map to its integers is unknown; set input.scale and input.zero_point in the card "
                            "(integer = round(value / scale) + zero_point; e.g. scale: 1, zero_point: 0 with range: [0, 255] "
                            "for raw pixels)")
    scale, zero_point = quantization
    low, high = INTEGER_RANGES[graph.dtype]
    if not low <= zero_point <= high:
        raise ImportFailure(f"{label}: field 'input.zero_point': {zero_point} is outside the {graph.dtype} range "
                            f"[{low}, {high}] of graph input {graph.name!r}; fix input.zero_point")
    if not (np.isfinite(scale) and scale > 0):
        raise ImportFailure(f"{label}: graph input {graph.name!r} is dequantized with scale {scale:g}; "
                            "set a positive input.scale and input.zero_point in the card")
    return replace(card, input=replace(spec, dtype=graph.dtype, scale=scale, zero_point=zero_point))


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
    expected = card.input.num_channels
    if channels not in (None, expected):
        other = "NHWC" if card.input.layout == "NCHW" else "NCHW"
        hint = f"; set input.layout: {other}" if other_channels == expected else ""
        if other_channels != expected and channels in (1, 3):
            hint = f"; set input.channels: {'gray' if channels == 1 else 'RGB'}"
        raise ImportFailure(
            f"{where}.layout': {card.input.layout} does not match graph input {graph.name!r} of shape {shape_text} "
            f"(channel axis has {channels}, input.channels {card.input.channels} needs {expected}){hint}"
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
    paths = module_paths(model)
    if name in paths:
        return paths[name]
    candidates = sorted({n.name for n in model.graph.node if n.name} | tensors | set(paths))
    raise HarnessError(f"{label}: field '{field}': unknown layer {name!r}; {suggest(name, candidates)} "
                       "(run `harness layers CARD` or `harness layers MODEL.onnx` to list them all)")


def pinned_shape(card: ModelCard, graph: GraphInput) -> tuple[int | None, ...]:
    """The graph input's shape with channel/height/width from the card (batch as the graph has it)."""
    h, w = card.input.size
    c = card.input.num_channels
    batch = graph.shape[0] if graph.shape else None
    return (batch, c, h, w) if card.input.layout == "NCHW" else (batch, h, w, c)


def op_description(node: onnx.NodeProto, opsets: dict[str, int]) -> str:
    """'op X (domain D, version V at opset O, node 'n')' for refusals."""
    from onnx import defs

    domain = node.domain or "ai.onnx"
    opset = opsets.get(node.domain, opsets.get("ai.onnx" if not node.domain else node.domain, 0))
    try:
        version = f"version {defs.get_schema(node.op_type, opset, node.domain).since_version} at opset {opset}"
    except Exception:  # an op ONNX itself does not define (custom/contrib ops)
        version = f"not an ONNX-defined op at opset {opset}"
    return f"op {node.op_type} (domain {domain}, {version}, node {node.name or '<unnamed>'!r})"


def check_supported_ops(model: onnx.ModelProto, original_opset: int, label: str) -> None:
    """Refuse, before converting, any op that neither onnx2torch nor harness.model.converters converts."""
    onnx2torch_module()
    register_all()
    from onnx2torch.node_converters.registry import get_converter

    opsets = {entry.domain: entry.version for entry in model.opset_import}
    tv_problem = torchvision_problem()
    upgraded = f" (the file's opset {original_opset} was upgraded)" if original_opset != default_opset(model) else ""
    for node in model.graph.node:
        version = opsets.get(node.domain, opsets.get("", 0))
        where = op_description(node, opsets)
        try:
            get_converter(operation_type=node.op_type, version=version, domain=node.domain)
        except NotImplementedError:
            raise ImportFailure(f"{label}: unsupported {where}{upgraded}: no converter is registered for it "
                                f"(onnx2torch or harness.model.converters); {_unsupported_hint(node)}") from None
        if tv_problem and node.op_type in TORCHVISION_OPS:
            raise ImportFailure(
                f"{label}: {where} needs {TORCHVISION_OPS[node.op_type]}, but torchvision cannot load its compiled ops "
                f"here ({tv_problem}); install a torchvision built for this torch"
            )


def _unsupported_hint(node: onnx.NodeProto) -> str:
    """What to do about an op nothing converts; TFLite's custom ops mean the card's framework is wrong."""
    if node.op_type.startswith("TFL_"):
        return ("it is a TFLite op that tf2onnx kept, which the 'tflite' adapter rewrites: set 'framework: tflite' in the "
                "card (cards written before that framework existed say 'tensorflow')")
    return "re-export without it or cut the graph before it"


class _NodeFailure(Exception):
    """A converter failed on one node (carries the node for the one-line refusal)."""

    def __init__(self, node, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.node, self.cause = node, cause


@contextlib.contextmanager
def _node_attributed_converters() -> Iterator[None]:
    """While converting, a failing converter raises :class:`_NodeFailure` naming its node."""
    import onnx2torch.converter as converter_module

    original = converter_module.get_converter

    def get_converter(**kwargs):
        converter = original(**kwargs)

        def attributed(node, graph):
            try:
                return converter(node, graph)
            except Exception as exc:
                raise _NodeFailure(node, exc) from exc

        return attributed

    converter_module.get_converter = get_converter
    try:
        yield
    finally:
        converter_module.get_converter = original


@contextlib.contextmanager
def _weightless_shape_inference() -> Iterator[None]:
    """onnx2torch's own shape inference, run without serialising the weights (see
    :func:`harness.adapters.passes.shapes_inferred`): for a ResNet-50 it took 3 s of an import."""
    from onnx2torch import converter

    original = converter.safe_shape_inference
    edited: list[tuple[onnx.ModelProto, list[onnx.ValueInfoProto]]] = []

    def infer(model: onnx.ModelProto, **kwargs) -> onnx.ModelProto:
        # onnx2torch drops initializers from the graph inputs of the model it gets: keep the
        # caller's input list (small) to put back, instead of copying the weights.
        kept = [onnx.ValueInfoProto() for _ in model.graph.input]
        for copy, value in zip(kept, model.graph.input):
            copy.CopyFrom(value)
        edited.append((model, kept))
        return shapes_inferred(model, **kwargs)

    converter.safe_shape_inference = infer
    try:
        yield
    finally:
        converter.safe_shape_inference = original
        for model, inputs in edited:
            del model.graph.input[:]
            model.graph.input.extend(inputs)


def _first_line(exc: BaseException) -> str:
    """The first line of one of the harness's own messages (never of a third-party exception's)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: Said where third-party wording is kept out of a message: where the original is.
DEBUG_HINT = "--debug shows the original error"


def _attribute_summary(node: onnx.NodeProto) -> str:
    """'attributes a=1, b=[2, 2]' (values cut short), or 'no attributes', to point at what a converter refused."""
    from harness.common.errors import excerpt

    from harness.adapters.passes import node_attributes

    try:
        attrs = node_attributes(node)
    except Exception:  # an attribute ONNX's helper cannot read back
        return "attributes " + ", ".join(a.name for a in node.attribute)
    if not attrs:
        return "no attributes"
    return "attributes " + ", ".join(f"{k}={excerpt(v.decode() if isinstance(v, bytes) else v, 30)}" for k, v in attrs.items())


def convert(model: onnx.ModelProto, label: str) -> torch.fx.GraphModule:
    """onnx2torch conversion; a failure is one line naming the op, domain, version and node.

    A refusal of a harness converter (:class:`ConverterRefusal`) says itself what it cannot
    express; a failure inside onnx2torch is worded here (its own text is the chained cause).
    """
    from harness.model.converters.base import ConverterRefusal

    onnx2torch = onnx2torch_module()
    register_all()
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    try:
        with _node_attributed_converters(), _weightless_shape_inference():  # warnings: recorded by captured_noise
            return onnx2torch.convert(model).eval()
    except _NodeFailure as failure:
        proto = failure.node.proto
        where = op_description(proto, opsets)
        if isinstance(failure.cause, ConverterRefusal):
            raise ImportFailure(f"{label}: cannot convert {where}: {_first_line(failure.cause)}") from failure.cause
        raise ImportFailure(
            f"{label}: cannot convert {where}: its converter does not support this use of the op ({_attribute_summary(proto)}; "
            f"{len(proto.input)} inputs); re-export the model without it or cut the graph before it ({DEBUG_HINT})"
        ) from failure.cause
    except HarnessError:
        raise
    except Exception as exc:  # graph-level problems outside any converter
        raise ImportFailure(f"{label}: onnx2torch could not build a torch graph from the normalised ONNX graph "
                            f"({type(exc).__name__} outside any one node's converter); try framework: onnx, or re-export "
                            f"the model ({DEBUG_HINT})") from exc


@contextlib.contextmanager
def captured_noise(messages: list[str]) -> Iterator[None]:
    """Keep third-party warnings, log records and stray prints off the console; collect them.

    Nothing a user cannot act on reaches the console on success; what was said is kept in
    the import result (``parity.messages``).
    """
    handler = _ListHandler(messages)
    root = logging.getLogger()
    previous_level = root.level
    stdout, stderr = io.StringIO(), io.StringIO()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always")
            yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        for warning in locals().get("caught", []) or []:
            messages.append(f"{warning.category.__name__}: {str(warning.message).strip().splitlines()[0] if str(warning.message).strip() else ''}")
        for text in (stdout.getvalue(), stderr.getvalue()):
            messages.extend(line.strip() for line in text.splitlines() if line.strip())


class _ListHandler(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage().strip().splitlines()
        except Exception:  # a library's malformed log call must not break the import
            text = [str(record.msg)]
        self.messages.append(f"{record.name}: {text[0] if text else ''}")


@contextlib.contextmanager
def recording_shapes(graph: torch.fx.GraphModule, layers: LayerIndex) -> Iterator[dict[str, tuple[int, ...]]]:
    """Record the output shape of every layer during the forward passes inside the block.

    The hooks are removed on exit, also when the block raises.
    """
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
        yield shapes
    finally:
        for handle in handles:
            handle.remove()


def trial_shapes(graph: torch.fx.GraphModule, layers: LayerIndex, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Output shape of every layer, from one forward pass with recording hooks."""
    with recording_shapes(graph, layers) as shapes, torch.no_grad():
        graph(x)
    return shapes


def batch_one_shapes(shapes: dict[str, tuple[int, ...]], batch: int, static: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Shapes recorded at ``batch`` images, as they are for one image (a dynamic-batch model).

    A tensor's leading dimension is the batch when it equals ``batch`` and static shape
    inference did not find it to be that constant (batch dims stay symbolic there, because
    the card pins only the spatial size).
    """
    constant_first = {}
    for value in (*static.graph.value_info, *static.graph.output, *static.graph.input):
        dims = value.type.tensor_type.shape.dim if value.type.HasField("tensor_type") else ()
        if dims and dims[0].HasField("dim_value"):
            constant_first[value.name] = dims[0].dim_value
    return {name: ((1, *shape[1:]) if shape and shape[0] == batch and constant_first.get(name) != batch else shape)
            for name, shape in shapes.items()}


def import_card(card: ModelCard, *, parity_batch: int = 2, check_parity: bool = True) -> ProbedModel:
    """Import the model a card describes; raise :class:`ImportFailure` with one line on any problem.

    Third-party warnings and log lines are kept off the console and recorded in
    ``model.parity.messages``.
    """
    messages: list[str] = []
    with captured_noise(messages):
        model = _import(card, parity_batch, check_parity)
    if model.parity is not None:
        model.parity = replace(model.parity, messages=tuple(dict.fromkeys(messages)))
    return model


def _import(card: ModelCard, parity_batch: int, check_parity: bool) -> ProbedModel:
    label = str(card.path)
    original = load_onnx(card.onnx, label)
    original_opset = default_opset(original)
    graph_in = graph_input(original, label)
    check_outputs(original, label)
    check_input_matches(card, graph_in)
    card = resolve_input_dtype(card, original, graph_in)
    probe_tensor = resolve_tensor(original, card.probe_layer, label)
    keep = {probe_tensor}
    if card.target.output:
        keep.add(resolve_tensor(original, card.target.output, label, field="target.output"))

    adapter = ADAPTERS.get(card.framework)
    try:
        normalised = adapter.normalise(original, keep=frozenset(keep), input_shape=pinned_shape(card, graph_in))
    except HarnessError:
        raise
    except PassRefusal as exc:  # our own wording, naming the node
        raise ImportFailure(f"{label}: the {card.framework} adapter cannot normalise the graph: {_first_line(exc)}") from exc
    except PassFailure as exc:
        raise ImportFailure(f"{label}: the {card.framework} adapter's graph pass {exc.name!r} failed on this graph "
                            f"({type(exc.cause).__name__} inside the ONNX tooling it uses); check that the file passes "
                            f"onnx.checker and runs in onnxruntime, or try framework: onnx ({DEBUG_HINT})") from exc.cause
    except Exception as exc:
        raise ImportFailure(f"{label}: the {card.framework} adapter could not normalise the graph ({type(exc).__name__}); "
                            f"try framework: onnx ({DEBUG_HINT})") from exc
    check_supported_ops(normalised, original_opset, label)
    graph = convert(normalised, label)
    layers = LayerIndex.from_onnx(normalised, module_paths(original))

    fixed_batch = graph_in.shape[0]
    batch = fixed_batch or parity_batch
    x_nchw = random_input(card.input, batch, seed=0)
    x_graph = x_nchw.permute(0, 2, 3, 1).contiguous() if card.input.layout == "NHWC" else x_nchw
    model = ProbedModel(card=card, graph=graph, layers=layers, probe=layers.resolve(probe_tensor, label), parity=None,
                        fixed_batch=fixed_batch)
    try:
        if check_parity:  # one forward serves the trial shapes and the parity check
            with recording_shapes(graph, layers) as shapes:
                model.parity = parity_check(model, original, x_graph, x_nchw, normalised)
            if fixed_batch is None:
                shapes = batch_one_shapes(shapes, batch, normalised)
        else:
            shapes = trial_shapes(graph, layers, x_graph[:1] if fixed_batch is None else x_graph)
    except HarnessError:
        raise
    except Exception as exc:  # a converted module that fails on the card's input
        raise ImportFailure(f"{label}: the converted graph fails on a {card.input.layout} input of size "
                            f"{list(card.input.size)} ({type(exc).__name__} in torch); check input.size, input.layout and "
                            f"input.channels against the model ({DEBUG_HINT})") from exc
    model.layers = layers.with_shapes(shapes)
    model.probe = model.layers.resolve(probe_tensor, label)
    if model.parity is not None and not model.parity.passed(card.parity.atol, card.parity.scaled):
        p = model.parity
        if p.nonfinite:
            raise ImportFailure(f"{label}: parity with onnxruntime failed: NaN/Inf in {', '.join(p.nonfinite)}")
        tolerance = p.tolerance(card.parity.scaled)
        raise ImportFailure(
            f"{label}: parity with onnxruntime failed: scaled error {p.max_rel_err:.3g} (max |torch - ort| over max |ort| "
            f"in tensor {p.worst_tensor!r}) exceeds the {p.precision} tolerance {tolerance:g}, beyond rounding, so the "
            f"conversion differs; per element: max abs error {p.max_abs_err:.3g} exceeds parity atol {card.parity.atol:g} "
            f"+ rtol {card.parity.rtol:g} * |value| (set parity.scaled in the card only if this difference is expected)"
        )
    return model


#: onnxruntime input type names -> the numpy dtype fed (the harness's images are float32; integer
#: inputs hold integral values already, so the cast is exact).
_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8,
              "tensor(int8)": np.int8, "tensor(uint16)": np.uint16, "tensor(int16)": np.int16}


def parity_check(model: ProbedModel, original: onnx.ModelProto, x_graph: torch.Tensor, x_nchw: torch.Tensor,
                 normalised: onnx.ModelProto | None = None):
    """Run onnxruntime (original file) and torch (converted graph) on the same input; compare outputs and probe.

    onnxruntime runs the original file; only where it cannot (custom ops a source adapter
    rewrote, e.g. TFLite's Convolution2DTransposeBias) does it run the normalised graph,
    which the result records as its reference.
    """
    probe = model.probe.tensor
    # torch first: a graph that cannot run on the card's input fails here, worded by the caller
    with torch.no_grad(), model.capture(probe) as captured:
        outputs = NCHWInput(model.graph, model.card.input.layout)(x_nchw)
    outputs = as_tuple(outputs)
    reference_graph = "original"
    cannot_run = (f"{model.card.path}: onnxruntime cannot load {model.card.onnx.name} to check parity (an op, type or "
                  "opset it does not support); check the file with onnxruntime.InferenceSession, or re-export it "
                  f"({DEBUG_HINT})")
    try:
        session = ort_session(original, [probe])
    except Exception as exc:
        if normalised is None:
            raise ImportFailure(cannot_run) from exc
        try:
            session = ort_session(normalised, [probe])
        except Exception:
            raise ImportFailure(cannot_run) from exc
        reference_graph = f"normalised (onnxruntime cannot load the original: {type(exc).__name__})"
        original = normalised
    feed = {session.get_inputs()[0].name: x_graph.numpy().astype(_ORT_TYPES.get(session.get_inputs()[0].type, np.float32))}
    names = [o.name for o in session.get_outputs()]
    try:
        reference = dict(zip(names, session.run(names, feed)))
    except Exception as exc:  # the converted graph ran, the original does not: say which one
        raise ImportFailure(f"{model.card.path}: onnxruntime fails to run {model.card.onnx.name} on a "
                            f"{model.card.input.layout} input of size {list(model.card.input.size)} (the converted "
                            f"graph runs); check input.size and input.layout against the model ({DEBUG_HINT})") from exc
    graph_outputs = [o.name for o in original.graph.output]
    converted = {name: value.numpy() for name, value in zip(graph_outputs, outputs)}
    converted[probe] = captured[probe].numpy()
    reference = {k: v for k, v in reference.items() if k in converted and isinstance(v, np.ndarray)}
    result = compare(reference, converted, int(x_graph.shape[0]), session.get_providers()[0], rtol=model.card.parity.rtol)
    result = replace(result, reference=reference_graph, precision=compute_precision(original))
    return replace(result, scaled_tolerance=result.tolerance(model.card.parity.scaled))


def import_onnx_file(path, *, framework: str | None = None) -> ProbedModel:
    """Convert a bare ONNX file without a card (for ``harness layers MODEL.onnx``).

    The input size, layout and channels are read from the graph (fixed dims; NHWC when the
    last axis has 1 or 3 channels and the second does not); dynamic spatial dims must be
    fixed in a card instead, and the error says so.
    """
    from pathlib import Path

    from harness.model.card import InputSpec, ModelCard

    path = Path(path).resolve()
    label = str(path)
    original = load_onnx(path, label)
    graph_in = graph_input(original, label)
    if len(graph_in.shape) != 4:
        raise ImportFailure(f"{label}: graph input {graph_in.name!r} is not a 4-D image batch")
    nhwc = graph_in.shape[3] in (1, 3) and graph_in.shape[1] not in (1, 3)
    channels, height, width = (graph_in.shape[3], *graph_in.shape[1:3]) if nhwc else graph_in.shape[1:4]
    if height is None or width is None:
        raise ImportFailure(f"{label}: graph input {graph_in.name!r} has dynamic height/width; write a card with "
                            f"input.size and run `harness layers CARD`")
    framework = framework or ("tflite" if any(n.op_type.startswith("TFL_") for n in original.graph.node) else "onnx")
    first = next(n for n in original.graph.node if n.output)
    card = ModelCard(id=path.stem, task="layers", framework=framework, onnx=path, probe_layer=first.output[0],
                     input=InputSpec(size=(height, width), layout="NHWC" if nhwc else "NCHW",
                                     channels="gray" if channels == 1 else "RGB"), path=path)
    messages: list[str] = []
    with captured_noise(messages):
        return _import(card, 1, False)
