"""Graph normalisation passes: ONNX in, ONNX out, each fixing one thing onnx2torch trips on.

Passes live in a registry (keyed by name, duplicates refused) and each framework's adapter
lists the ones its exporter needs. This module holds the passes every source shares; passes
specific to one source live in that source's adapter module (legacy IR/opset upgrades in
``legacy``, TFLite custom ops in ``tflite`` ...). Every pass preserves the tensors named in
``keep`` (probe layers), so that the names a user knows still address the same values.

There is no down-conversion of opsets: ops are converted at their own version
(:mod:`harness.model.converters` registers what onnx2torch lacks).
"""

from __future__ import annotations

import math

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from harness.common.errors import HarnessError
from harness.common.registry import Registry


class PassRefusal(ValueError):
    """A pass meets a construct it cannot rewrite; the message is ours: it names the node and the fix."""


class PassFailure(Exception):
    """A pass failed inside third-party code (onnx, onnxscript, onnxruntime): names the pass, keeps the cause."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"graph pass {name!r} failed ({type(cause).__name__})")
        self.name, self.cause = name, cause

@dataclass(frozen=True)
class PassContext:
    """What a pass may need besides the graph: tensors that must survive it, the card's input shape."""

    keep: frozenset[str] = frozenset()
    #: the graph input's shape from the card (batch None = left dynamic); None: do not pin
    input_shape: tuple[int | None, ...] | None = None


GraphPass = Callable[[onnx.ModelProto, PassContext], onnx.ModelProto]
PASSES: Registry[GraphPass] = Registry("graph pass")


def default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 0


def _with_outputs(model: onnx.ModelProto, names: frozenset[str]) -> tuple[onnx.ModelProto, int]:
    """Temporarily make ``names`` graph outputs so optimisers cannot remove or rename them."""
    existing = {o.name for o in model.graph.output}
    added = [n for n in sorted(names) if n not in existing]
    for name in added:
        model.graph.output.append(helper.make_empty_tensor_value_info(name))
    return model, len(added)


def _drop_added_outputs(model: onnx.ModelProto, count: int) -> onnx.ModelProto:
    for _ in range(count):
        model.graph.output.pop()
    return model


@PASSES.register("fold_constants")
def fold_constants(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """onnxscript's optimizer: constant folding, dead-node removal, function inlining.

    Folds the Identity/Constant chains the exporters leave around weights and the shape
    arithmetic of dynamic graphs.
    """
    import onnxscript.optimizer

    if not foldable(model):  # the optimiser costs seconds on a large graph even when it changes nothing
        return model
    model, added = _with_outputs(model, ctx.keep)
    model = onnxscript.optimizer.optimize(model)
    # Outputs the optimiser kept are the ones we appended, still last in the list.
    return _drop_added_outputs(model, added)


#: Ops the optimiser removes or folds whatever their inputs (shape queries on a pinned input).
_ALWAYS_FOLDED = frozenset({"Identity", "Shape", "Size", "ConstantOfShape", "Dropout"})


def foldable(model: onnx.ModelProto) -> bool:
    """Whether constant folding can change ``model``: a function to inline, an Identity or shape
    query, or a node all of whose inputs are constants (initializers or Constant outputs).

    A plain exported convnet (Conv/Relu/Add on weights and activations) has none, and skipping
    the optimiser then saves its whole cost (1.1 s of a ResNet-50's import).
    """
    if len(model.functions):
        return True
    constants = {init.name for init in model.graph.initializer}
    constants.update(o for n in model.graph.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx") for o in n.output)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type == "Constant":
            continue
        if node.op_type in _ALWAYS_FOLDED:
            return True
        inputs = [name for name in node.input if name]
        if inputs and all(name in constants for name in inputs):
            return True
    return False


def node_attributes(node: onnx.NodeProto, drop: tuple[str, ...] = ()) -> dict:
    """A node's attributes as Python values, by name (``drop``: names left out)."""
    return {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name not in drop}


def replace_nodes(model: onnx.ModelProto, nodes: list[onnx.NodeProto]) -> onnx.ModelProto:
    """``model`` with its node list replaced by ``nodes`` (in place; returned for the pass's result)."""
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


_HALF_TYPES = (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)


def uses_half_precision(model: onnx.ModelProto) -> bool:
    """Whether any weight, graph value, cast or constant of ``model`` is float16 or bfloat16."""
    graph = model.graph
    values = (*graph.input, *graph.output, *graph.value_info)
    return (any(init.data_type in _HALF_TYPES for init in graph.initializer)
            or any(v.type.tensor_type.elem_type in _HALF_TYPES for v in values)
            or any(a.name in ("to", "dtype") and a.type == onnx.AttributeProto.INT and a.i in _HALF_TYPES
                   for n in graph.node for a in n.attribute)
            or any(a.type == onnx.AttributeProto.TENSOR and a.t.data_type in _HALF_TYPES for n in graph.node for a in n.attribute))


#: Largest tensor (elements) a folded constant subgraph may produce: 2^26 float32 elements is
#: 256 MiB, below the per-tensor limit the file check applies to ConstantOfShape/Expand/Range.
FOLD_ELEMENTS = 1 << 26
#: Ops never folded: random, control flow, and Tile (its size is not bounded by the file check).
_UNFOLDABLE = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
                         "Bernoulli", "If", "Loop", "Scan", "Tile"})


@PASSES.register("fold_constant_subgraphs")
def fold_constant_subgraphs(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Every default-domain node whose inputs are all initializers becomes initializers.

    Converters read weights, biases, shapes, pads and scales from initializers, while some
    files compute them: the ONNX Model Zoo's classic files fill every weight with
    ``ConstantOfShape``, others ``Cast``/``Transpose``/``Reshape`` a stored weight, and
    onnxscript's folder leaves ``ConstantOfShape`` and tensors above 262144 elements alone on
    purpose (they make files bigger). Each node is evaluated by ONNX's reference
    implementation, in graph order so that chains fold; outputs above ``FOLD_ELEMENTS`` stay
    computed.
    """
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    protected = set(ctx.keep) | {o.name for o in graph.output}
    kept = []
    for node in graph.node:
        present = [name for name in node.input if name]
        foldable = (node.domain in ("", "ai.onnx") and node.op_type not in _UNFOLDABLE and present
                    and all(name in inits for name in present) and not protected.intersection(node.output)
                    and _fold_size(node, inits) <= FOLD_ELEMENTS)
        if not foldable:
            kept.append(node)
            continue
        single = helper.make_model(
            helper.make_graph([node], "fold", [], [helper.make_empty_tensor_value_info(o) for o in node.output if o],
                              [inits[name] for name in dict.fromkeys(present)]),
            opset_imports=model.opset_import, ir_version=max(model.ir_version, 4))
        try:
            values = ReferenceEvaluator(single).run(None, {})
        except Exception:  # an op the reference cannot run: leave it to the converter
            kept.append(node)
            continue
        if any(np.asarray(v).size > FOLD_ELEMENTS for v in values):
            kept.append(node)
            continue
        for name, value in zip((o for o in node.output if o), values):
            init = numpy_helper.from_array(np.asarray(value), name=name)
            graph.initializer.append(init)
            inits[name] = init
    return replace_nodes(model, kept)


def _fold_size(node: onnx.NodeProto, inits: dict) -> int:
    """Elements a ConstantOfShape/Expand would create (checked before evaluating); 0 for other ops."""
    if node.op_type in ("ConstantOfShape", "Expand"):
        shape = numpy_helper.to_array(inits[node.input[-1]]).astype(np.int64).ravel()
        return int(np.prod(np.maximum(shape, 1), dtype=np.float64)) if shape.size else 1
    return 0


def _float_tensor(tensor: onnx.TensorProto) -> onnx.TensorProto:
    return numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float32), tensor.name)


@PASSES.register("float16_to_float32")
def float16_to_float32(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """A float16 (or bfloat16) graph computes in float32 inside the harness.

    Weights, constants, casts, inputs, outputs and recorded value types are widened; every
    float16 value is exactly representable in float32, so the converted graph computes what
    the file describes with float32 rounding instead of float16's. Parity then compares it with
    onnxruntime running the original float16 file, at float16 precision
    (:data:`harness.model.parity.SCALED_TOLERANCE`).
    """
    graph = model.graph
    if not uses_half_precision(model):
        return model
    for i, init in enumerate(graph.initializer):
        if init.data_type in _HALF_TYPES:
            graph.initializer[i].CopyFrom(_float_tensor(init))
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.type.tensor_type.elem_type in _HALF_TYPES:
            value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    for node in graph.node:
        for attr in node.attribute:
            if attr.name in ("to", "dtype") and attr.type == onnx.AttributeProto.INT and attr.i in _HALF_TYPES:
                attr.i = onnx.TensorProto.FLOAT
            elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type in _HALF_TYPES:
                attr.t.CopyFrom(_float_tensor(attr.t))
    return model


@PASSES.register("asymmetric_average_pool")
def asymmetric_average_pool(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """``AveragePool`` with different begin/end pads -> explicit ``Pad`` + unpadded pools (converters take symmetric pads only).

    With ``count_include_pad=1`` the padded zeros count: one pool of the zero-padded input.
    Otherwise only real elements count: the pool of the zero-padded input divided by the pool
    of a zero-padded tensor of ones, i.e. the sum over real elements by their number.
    """
    graph = model.graph
    nodes, changed = [], False
    for node in graph.node:
        attrs = node_attributes(node)
        pads = list(attrs.get("pads", []))
        half = len(pads) // 2
        if node.op_type != "AveragePool" or node.domain not in ("", "ai.onnx") or not pads or pads[:half] == pads[half:] \
                or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            nodes.append(node)
            continue
        changed = True
        base = node.name or node.output[0]
        pad_values = numpy_helper.from_array(np.array([0, 0, *pads[:half], 0, 0, *pads[half:]], np.int64), f"{base}__pads")
        graph.initializer.append(pad_values)
        pool_attrs = {k: v for k, v in attrs.items() if k not in ("pads", "count_include_pad")}
        nodes.append(helper.make_node("Pad", [node.input[0], pad_values.name], [f"{base}__padded"], name=f"{base}__pad"))
        if attrs.get("count_include_pad", 0):
            nodes.append(helper.make_node("AveragePool", [f"{base}__padded"], list(node.output), name=node.name, **pool_attrs))
            continue
        one = numpy_helper.from_array(np.array(1.0, np.float32), f"{base}__one")
        zero = numpy_helper.from_array(np.array(0.0, np.float32), f"{base}__zero")
        graph.initializer.extend([one, zero])
        nodes += [
            helper.make_node("AveragePool", [f"{base}__padded"], [f"{base}__sum"], name=f"{base}__pool", **pool_attrs),
            helper.make_node("Mul", [node.input[0], zero.name], [f"{base}__zeros"], name=f"{base}__zeros_node"),
            helper.make_node("Add", [f"{base}__zeros", one.name], [f"{base}__ones"], name=f"{base}__ones_node"),
            helper.make_node("Pad", [f"{base}__ones", pad_values.name], [f"{base}__ones_padded"], name=f"{base}__pad_ones"),
            helper.make_node("AveragePool", [f"{base}__ones_padded"], [f"{base}__count"], name=f"{base}__count_pool", **pool_attrs),
            helper.make_node("Div", [f"{base}__sum", f"{base}__count"], list(node.output), name=node.name),
        ]
    return replace_nodes(model, nodes) if changed else model


def _initializer_names(model: onnx.ModelProto) -> set[str]:
    return {init.name for init in model.graph.initializer}


@PASSES.register("constants_to_initializers")
def constants_to_initializers(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Turn tensor-valued ``Constant`` nodes and ``Identity`` of an initializer into initializers.

    onnx2torch reads Conv/Gemm weights and biases only from initializers; the legacy torch
    exporter routes some through Identity nodes (a KeyError in onnx2torch).
    """
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    kept_nodes = []
    for node in graph.node:
        produced = node.output[0] if node.output else ""
        if produced in ctx.keep or produced in {o.name for o in graph.output}:
            kept_nodes.append(node)
            continue
        if node.op_type == "Identity" and node.domain in ("", "ai.onnx") and node.input[0] in inits:
            array = numpy_helper.to_array(inits[node.input[0]])
        elif node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.attribute) == 1 and node.attribute[0].name == "value":
            array = numpy_helper.to_array(node.attribute[0].t)
        else:
            kept_nodes.append(node)
            continue
        init = numpy_helper.from_array(np.asarray(array), name=produced)
        graph.initializer.append(init)
        inits[produced] = init
    return replace_nodes(model, kept_nodes)


@PASSES.register("reshape_allowzero")
def reshape_allowzero(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """``Reshape(allowzero=1)`` -> ``allowzero=0`` where the constant shape has no zero.

    The two are identical then, and onnx2torch only converts allowzero=0.
    """
    inits = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Reshape":
            continue
        for attr in node.attribute:
            if attr.name == "allowzero" and attr.i == 1 and node.input[1] in inits:
                if 0 not in numpy_helper.to_array(inits[node.input[1]]).tolist():
                    attr.i = 0
    return model


@PASSES.register("pin_input_dims")
def pin_input_dims(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Fix the image input's symbolic channel/height/width dims to the card's ``input`` values.

    Exports with dynamic spatial dims leave ranks and shapes unknown to onnx2torch (BatchNorm
    of unknown rank ...) and keep Shape arithmetic that constant folding then removes.
    """
    if ctx.input_shape is None:
        return model
    inits = _initializer_names(model)
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        return model
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != len(ctx.input_shape):
        return model
    for dim, value in zip(dims, ctx.input_shape):
        if value is not None and not (dim.HasField("dim_value") and dim.dim_value > 0):
            dim.Clear()
            dim.dim_value = value
    return model


@PASSES.register("infer_shapes")
def infer_shapes(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Static shape inference, so that layer listings and checks know every tensor's shape.

    With data propagation, shapes computed by Shape/Slice/Concat chains (paddle2onnx, tf2onnx)
    are known too; onnx2torch needs the rank of BatchNorm inputs.
    """
    try:
        return shapes_inferred(model, data_prop=True)
    except Exception:  # inference that stops at an op it cannot type is not fatal: fall back
        return shapes_inferred(model, data_prop=False)


#: Initializers with more elements than this are hidden from shape inference (as typed graph
#: inputs): their values never decide a shape, and serialising them is most of its cost (a
#: ResNet-50's 100 MB of weights: 2 s of the 2.1 s inference took).
SHAPE_ONLY_ELEMENTS = 4096


def shapes_inferred(model: onnx.ModelProto, data_prop: bool = False) -> onnx.ModelProto:
    """``model`` (changed in place and returned) with the value_info and output types that ONNX
    shape inference finds, computed on a light copy: the graph without its large weights, which
    stand in as typed inputs (so no weight is copied or serialised)."""
    big = [init for init in model.graph.initializer if math.prod(init.dims) > SHAPE_ONLY_ELEMENTS]
    if not big:
        return onnx.shape_inference.infer_shapes(model, data_prop=data_prop)
    hidden = {init.name for init in big}
    light = onnx.ModelProto(ir_version=model.ir_version, producer_name=model.producer_name,
                            producer_version=model.producer_version, domain=model.domain, model_version=model.model_version)
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    graph = light.graph
    graph.name = model.graph.name
    graph.node.extend(model.graph.node)
    graph.input.extend(model.graph.input)
    listed = {value.name for value in model.graph.input}
    graph.input.extend(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
                       for init in big if init.name not in listed)
    graph.output.extend(model.graph.output)
    graph.value_info.extend(model.graph.value_info)
    graph.initializer.extend(init for init in model.graph.initializer if init.name not in hidden)
    graph.sparse_initializer.extend(model.graph.sparse_initializer)
    inferred = onnx.shape_inference.infer_shapes(light, data_prop=data_prop)
    del model.graph.value_info[:]
    model.graph.value_info.extend(v for v in inferred.graph.value_info if v.name not in hidden)
    for output, typed_output in zip(model.graph.output, inferred.graph.output):
        output.CopyFrom(typed_output)
    return model


#: Ops whose onnx2torch converters read their input's rank from the graph's value_info.
RANK_NEEDED = frozenset({"BatchNormalization", "InstanceNormalization", "LayerNormalization", "MaxPool", "AveragePool",
                         "GlobalAveragePool"})


def _known_ranks(model: onnx.ModelProto) -> set[str]:
    values = (*model.graph.input, *model.graph.value_info, *model.graph.output)
    known = {v.name for v in values if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape")}
    return known | {init.name for init in model.graph.initializer}


@PASSES.register("pin_ranks")
def pin_ranks(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Record the rank of inputs of rank-dependent ops (BatchNormalization ...) that shape inference left unknown.

    A Reshape whose target shape is computed at run time (a Shape/Slice/Concat chain with a
    data-dependent piece) has no static rank, and onnx2torch then cannot pick BatchNorm1d/2d/3d
    ("spatial rank == -2"). One onnxruntime run on a random input of the card's size (batch 1
    where the batch is dynamic) measures the rank; it is recorded with symbolic dims, so no
    size other than the rank is assumed. Where onnxruntime cannot run the graph, it is left
    as it is and the converter names the node.
    """
    known = _known_ranks(model)
    missing = sorted({n.input[0] for n in model.graph.node if n.op_type in RANK_NEEDED and n.domain in ("", "ai.onnx")
                      and n.input and n.input[0] not in known})
    if not missing:
        return model
    measured = _measured_shapes(model, missing, ctx.input_shape)
    if not measured:
        return model
    for value in list(model.graph.value_info):
        if value.name in measured:
            model.graph.value_info.remove(value)
    for name, (element, rank) in measured.items():
        dims = [f"{name}__dim{i}" for i in range(rank)]
        model.graph.value_info.append(helper.make_tensor_value_info(name, element, dims))
    return model


def _measured_shapes(model: onnx.ModelProto, names: list[str],
                     input_shape: tuple[int | None, ...] | None) -> dict[str, tuple[int, int]]:
    """{tensor: (element type, rank)} from one onnxruntime run; {} when the graph cannot run."""
    import onnxruntime as ort

    inits = _initializer_names(model)
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        return {}
    dims = inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    if input_shape is not None and len(input_shape) == len(shape):
        shape = [s if s is not None else p for s, p in zip(shape, input_shape)]
    shape = [1 if s is None else s for s in shape]
    element = inputs[0].type.tensor_type.elem_type
    values = np.random.default_rng(0).random(shape)  # in [0, 1): valid for float and integer inputs alike
    feed = {inputs[0].name: values.astype(helper.tensor_dtype_to_np_dtype(element))}
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    del copy.graph.output[:]
    copy.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 4  # a graph it cannot run is reported by the converter, not by onnxruntime on stderr
        session = ort.InferenceSession(copy.SerializeToString(), options, providers=["CPUExecutionProvider"])
        results = session.run(names, feed)
    except Exception:  # noqa: BLE001  an op onnxruntime lacks (custom ops): the converter reports the node
        return {}
    return {name: (helper.np_dtype_to_tensor_dtype(np.asarray(value).dtype), np.asarray(value).ndim)
            for name, value in zip(names, results)}


def run_passes(model: onnx.ModelProto, names: list[str], keep: frozenset[str],
               input_shape: tuple[int | None, ...] | None = None) -> onnx.ModelProto:
    """Apply the named passes in order on a copy of ``model``."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    ctx = PassContext(keep=keep, input_shape=input_shape)
    for name in names:
        graph_pass = PASSES.get(name)
        try:
            copy = graph_pass(copy, ctx)
        except (HarnessError, PassRefusal):
            raise
        except Exception as exc:  # third-party code inside the pass: its wording stays out of the message
            raise PassFailure(name, exc) from exc
    return copy


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int | None, ...]]:
    """Tensor name -> shape (None for unknown dims), from ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape"):
            shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim)
    for init in model.graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


_AUTO_PAD_OPS = ("Conv", "MaxPool", "AveragePool", "LpPool")


@PASSES.register("explicit_pads")
def explicit_pads(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """``auto_pad=SAME_UPPER/SAME_LOWER`` -> explicit ``pads`` computed from the static input shape.

    tf2onnx writes SAME padding this way when the input size is dynamic; with the card's size
    pinned the pads are known, and onnx2torch converts explicit pads only. Exact by the spec's
    formula: total = max((ceil(in / stride) - 1) * stride + (k - 1) * dilation + 1 - in, 0),
    the odd pixel at the end (UPPER) or the beginning (LOWER).
    """
    nodes = [n for n in model.graph.node if n.op_type in _AUTO_PAD_OPS and n.domain in ("", "ai.onnx")
             and any(a.name == "auto_pad" and a.s in (b"SAME_UPPER", b"SAME_LOWER") for a in n.attribute)]
    if not nodes:
        return model
    shapes = _static_shapes(model)
    for node in nodes:
        attrs = node_attributes(node)
        in_shape = shapes.get(node.input[0])
        if node.op_type == "Conv":
            weight = shapes.get(node.input[1]) if len(node.input) > 1 else None
            kernel = list(attrs.get("kernel_shape") or (weight[2:] if weight else []))
        else:
            kernel = list(attrs.get("kernel_shape", []))
        if not in_shape or not kernel or any(d is None for d in in_shape[2:]):
            continue  # left for the converter, which names the node when it cannot handle it
        spatial = in_shape[2:]
        strides = list(attrs.get("strides", [1] * len(kernel)))
        dilations = list(attrs.get("dilations", [1] * len(kernel)))
        begin, end = [], []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            upper = attrs["auto_pad"] in (b"SAME_UPPER", "SAME_UPPER")
            begin.append(small if upper else large)
            end.append(large if upper else small)
        kept = [a for a in node.attribute if a.name not in ("auto_pad", "pads")]
        del node.attribute[:]
        node.attribute.extend(kept)
        node.attribute.append(helper.make_attribute("pads", begin + end))
    return model


@PASSES.register("fold_dequantize_weights")
def fold_dequantize_weights(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """``DequantizeLinear`` of constant (weight) tensors -> float initializers.

    onnx2torch reads Conv/Gemm weights from initializers only, and the general constant
    folder skips large tensors. Computed per the spec, ``(q - zero_point) * scale`` per
    tensor, per axis or per block, in float32 as onnxruntime does.
    """
    inits = {init.name: init for init in model.graph.initializer}
    outputs = {o.name for o in model.graph.output}
    kept = []
    for node in model.graph.node:
        present = [name for name in node.input if name]
        if (node.op_type != "DequantizeLinear" or node.domain not in ("", "ai.onnx") or not all(n in inits for n in present)
                or node.output[0] in outputs):
            kept.append(node)
            continue
        attrs = node_attributes(node)
        q = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zero = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32) if len(node.input) > 2 and node.input[2] else None
        axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)

        def shaped(param: np.ndarray) -> np.ndarray:
            if param.ndim == 0 or param.size == 1 and not block:
                return param.reshape(())
            ax = axis % q.ndim
            if block:
                return np.repeat(param, block, axis=ax).take(range(q.shape[ax]), axis=ax)
            view = [1] * q.ndim
            view[ax] = param.size
            return param.reshape(view)

        value = (q - shaped(zero)) * shaped(scale) if zero is not None else q * shaped(scale)
        init = numpy_helper.from_array(value.astype(np.float32), node.output[0])
        model.graph.initializer.append(init)
        inits[init.name] = init
    return replace_nodes(model, kept)
