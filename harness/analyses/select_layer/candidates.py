"""Which layers of a model are candidates to transfer from."""

from __future__ import annotations

from harness.common.errors import HarnessError
from harness.model.layers import Layer
from harness.model.probed import ProbedModel

#: Ops whose 4-D output ends a block: activations, residual sums, pooling, concatenations.
BLOCK_OUTPUT_OPS = frozenset({
    "Relu", "Clip", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Gelu",
    "Add", "Sum", "MaxPool", "AveragePool", "Concat",
})


def auto_candidates(model: ProbedModel) -> list[Layer]:
    """Every 4-D block output in graph order, up to and including the probe layer.

    A value consumed only by the next candidate (e.g. a Relu whose output goes straight into
    a MaxPool) is still kept: both are places a user could cut the network.
    """
    chosen: list[Layer] = []
    for layer in model.layers.layers:
        if layer.shape is not None and len(layer.shape) == 4 and layer.op_type in BLOCK_OUTPUT_OPS:
            chosen.append(layer)
        if layer.tensor == model.probe.tensor:
            if layer not in chosen:
                chosen.append(layer)
            break
    return chosen


def candidate_layers(model: ProbedModel, names: list[str] | None) -> list[Layer]:
    """The named layers (ONNX node or tensor names), or :func:`auto_candidates` when ``names`` is None."""
    if names is None:
        layers = auto_candidates(model)
        if not layers:
            raise HarnessError(
                f"{model.card.path}: no 4-D block outputs found before the probe layer; "
                "name candidate layers with --layers (see `harness layers CARD`)"
            )
        return layers
    resolved: list[Layer] = []
    for name in names:
        layer = model.layers.resolve(name, str(model.card.path))
        if layer not in resolved:
            resolved.append(layer)
    return resolved
