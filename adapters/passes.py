"""Graph normalisation passes: ONNX in, ONNX out, each fixing one thing onnx2torch trips on.

Passes live in a registry (keyed by name, duplicates refused) and each framework's adapter
lists the ones its exporter needs. Every pass preserves the tensors named in ``keep`` (probe
layers), so that the names a user knows still address the same values afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from harness.registry import Registry

#: The highest default-domain opset whose ops onnx2torch 1.5.x converts (Reduce*/Pad/Resize/
#: Split change signature at 18, Identity/Reshape/Cast/Shape at 19+).
MAX_ONNX2TORCH_OPSET = 17


@dataclass(frozen=True)
class PassContext:
    """What a pass may need besides the graph: tensors that must survive it."""

    keep: frozenset[str] = frozenset()


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

    model, added = _with_outputs(model, ctx.keep)
    model = onnxscript.optimizer.optimize(model)
    # Outputs the optimiser kept are the ones we appended, still last in the list.
    return _drop_added_outputs(model, added)


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
    del graph.node[:]
    graph.node.extend(kept_nodes)
    return model


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


@PASSES.register("downgrade_opset")
def downgrade_opset(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Convert the default-domain opset down to what onnx2torch converts (see MAX_ONNX2TORCH_OPSET)."""
    from onnx import version_converter

    if default_opset(model) <= MAX_ONNX2TORCH_OPSET:
        return model
    return version_converter.convert_version(model, MAX_ONNX2TORCH_OPSET)


@PASSES.register("infer_shapes")
def infer_shapes(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Static shape inference, so that layer listings and checks know every tensor's shape."""
    return onnx.shape_inference.infer_shapes(model)


def run_passes(model: onnx.ModelProto, names: list[str], keep: frozenset[str]) -> onnx.ModelProto:
    """Apply the named passes in order on a copy of ``model``."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    ctx = PassContext(keep=keep)
    for name in names:
        copy = PASSES.get(name)(copy, ctx)
    return copy
