"""Reductions at opset 18+, where ``axes`` moved from an attribute to an optional input.

Covers ReduceMean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare (18, and Max/Min 20);
``noop_with_empty_axes`` is honoured.
"""

from __future__ import annotations

import torch

from harness.model.converters.base import OnnxToTorchModule, register, result


def _sum(x, dims, keep):
    return torch.sum(x, dim=dims, keepdim=keep)


_REDUCERS = {
    "ReduceMean": lambda x, d, k: torch.mean(x, dim=d, keepdim=k),
    "ReduceMax": lambda x, d, k: torch.amax(x, dim=d, keepdim=k),
    "ReduceMin": lambda x, d, k: torch.amin(x, dim=d, keepdim=k),
    "ReduceProd": lambda x, d, k: _prod(x, d, k),
    "ReduceL1": lambda x, d, k: _sum(x.abs(), d, k),
    "ReduceL2": lambda x, d, k: torch.sqrt(_sum(x * x, d, k)),
    "ReduceLogSum": lambda x, d, k: torch.log(_sum(x, d, k)),
    "ReduceLogSumExp": lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k),
    "ReduceSumSquare": lambda x, d, k: _sum(x * x, d, k),
}
_VERSIONS = {name: (18, 20) if name in ("ReduceMax", "ReduceMin") else (18,) for name in _REDUCERS}


def _prod(x, dims, keep):
    for dim in sorted((d % x.dim() for d in dims), reverse=True):
        x = torch.prod(x, dim=dim, keepdim=keep)
    return x


class OnnxReduce18(torch.nn.Module, OnnxToTorchModule):
    def __init__(self, op_type: str, keepdims: bool, noop_with_empty_axes: bool) -> None:
        super().__init__()
        self.op_type, self.keepdims, self.noop = op_type, keepdims, noop_with_empty_axes

    def forward(self, x: torch.Tensor, axes: torch.Tensor | None = None) -> torch.Tensor:
        if axes is None or axes.numel() == 0:
            if self.noop:
                return x
            dims = list(range(x.dim()))
        else:
            dims = [int(a) % x.dim() for a in axes.tolist()]
        return _REDUCERS[self.op_type](x, dims, self.keepdims)


def _make(op_type: str):
    @register(op_type, _VERSIONS[op_type])
    def _convert(node, graph):
        return result(OnnxReduce18(op_type, bool(node.attributes.get("keepdims", 1)),
                                   bool(node.attributes.get("noop_with_empty_axes", 0))), node)

    return _convert


for _name in _REDUCERS:
    _make(_name)
