"""``Split``-18: sizes from the ``split`` input, or ``num_outputs`` equal chunks (last smaller)."""

from __future__ import annotations

import torch

from harness.model.converters.base import OnnxToTorchModule, register, result


class OnnxSplit18(torch.nn.Module, OnnxToTorchModule):
    def __init__(self, axis: int, num_outputs: int) -> None:
        super().__init__()
        self.axis, self.num_outputs = axis, num_outputs

    def forward(self, x: torch.Tensor, split: torch.Tensor | None = None):
        if split is not None and split.numel():
            return tuple(torch.split(x, [int(s) for s in split.tolist()], dim=self.axis))
        length = x.shape[self.axis]
        chunk = -(-length // self.num_outputs)  # ceil, as the ONNX spec says
        return tuple(torch.split(x, chunk, dim=self.axis))


@register("Split", (18,))
def _split(node, graph):
    num_outputs = node.attributes.get("num_outputs", len(node.output_values))
    return result(OnnxSplit18(node.attributes.get("axis", 0), num_outputs), node)
