"""``GroupNormalization``-18 (scale/bias per group) and -21 (per channel)."""

from __future__ import annotations

import torch

from harness.model.converters.base import OnnxToTorchModule, register, result


class OnnxGroupNorm(torch.nn.Module, OnnxToTorchModule):
    def __init__(self, groups: int, epsilon: float, per_channel: bool) -> None:
        super().__init__()
        self.groups, self.epsilon, self.per_channel = groups, epsilon, per_channel

    def forward(self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        grouped = x.reshape(n, self.groups, -1)
        mean = grouped.mean(dim=-1, keepdim=True)
        var = grouped.var(dim=-1, unbiased=False, keepdim=True)
        normed = ((grouped - mean) / torch.sqrt(var + self.epsilon)).reshape(x.shape)
        if not self.per_channel:  # opset 18: one scale/bias per group
            scale = scale.repeat_interleave(c // self.groups)
            bias = bias.repeat_interleave(c // self.groups)
        view = (1, c) + (1,) * (x.dim() - 2)
        return normed * scale.view(view) + bias.view(view)


@register("GroupNormalization", (18,))
def _group_norm_18(node, graph):
    return result(OnnxGroupNorm(node.attributes["num_groups"], node.attributes.get("epsilon", 1e-5), False), node)


@register("GroupNormalization", (21,))
def _group_norm_21(node, graph):
    return result(OnnxGroupNorm(node.attributes["num_groups"], node.attributes.get("epsilon", 1e-5), True), node)
