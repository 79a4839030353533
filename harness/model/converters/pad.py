"""``Pad`` at opsets 18+ (an ``axes`` input, and the ``wrap`` mode from 19).

tf2onnx writes Pad-18 for every explicit TF padding at opset 18; onnx2torch stops at Pad-13.
The pads may be constant (the usual case) or computed; both are handled at run time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.model.converters.base import OnnxToTorchModule, register, result, unsupported

_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


class OnnxPad(torch.nn.Module, OnnxToTorchModule):
    """ONNX ``Pad`` with optional ``constant_value`` and ``axes`` inputs; negative pads crop."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor, pads: torch.Tensor, value: torch.Tensor | None = None,
                axes: torch.Tensor | None = None) -> torch.Tensor:
        rank = x.dim()
        pads = [int(p) for p in pads.tolist()]
        axis_list = list(range(rank)) if axes is None else [int(a) % rank for a in axes.tolist()]
        count = len(axis_list)
        begin = dict(zip(axis_list, pads[:count]))
        end = dict(zip(axis_list, pads[count:]))
        # torch.nn.functional.pad: pairs from the last axis backwards.
        torch_pads: list[int] = []
        for axis in reversed(range(rank)):
            torch_pads += [begin.get(axis, 0), end.get(axis, 0)]
        while len(torch_pads) > 2 and torch_pads[-2:] == [0, 0]:
            torch_pads = torch_pads[:-2]
        if self.mode == "constant":
            fill = 0.0 if value is None or value.numel() == 0 else value.item()
            return F.pad(x, torch_pads, mode="constant", value=fill)
        # reflect/replicate/circular pad only the trailing axes (at most 3, never batch/channel).
        spatial = len(torch_pads) // 2
        if spatial > min(3, rank - 2) and any(torch_pads[2 * (rank - 2):]):
            raise RuntimeError(f"Pad mode {self.mode} of batch or channel axes is not supported")
        torch_pads = torch_pads[: 2 * min(spatial, rank - 2)]
        crop = [min(p, 0) for p in torch_pads]
        grow = [max(p, 0) for p in torch_pads]
        out = F.pad(x, grow, mode=self.mode) if any(grow) else x
        if any(crop):
            out = F.pad(out, crop)  # negative pads crop, as in ONNX
        return out


@register("Pad", (18, 19, 21, 23, 24))
def _pad(node, graph):
    mode = node.attributes.get("mode", "constant")
    if mode not in _MODES:
        raise unsupported(node, f"mode={mode!r}")
    return result(OnnxPad(_MODES[mode]), node)
