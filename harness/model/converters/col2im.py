"""``Col2Im``-18: sliding blocks summed back into an image (the inverse layout of Im2Col/Unfold).

``torch.nn.functional.fold`` computes it for two spatial dims, with symmetric padding only;
asymmetric ``pads`` are handled by folding into the padded image and cropping the pads off,
which is what the spec defines (blocks overlapping the pads contribute nothing to the image).
``image_shape`` and ``block_shape`` must be constants: they fix the module's geometry.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.model.converters.base import OnnxToTorchModule, constant, register, result, unsupported


class OnnxCol2Im(torch.nn.Module, OnnxToTorchModule):
    def __init__(self, image: tuple[int, int], block: tuple[int, int], dilations: tuple[int, int],
                 pads: tuple[int, int, int, int], strides: tuple[int, int]) -> None:
        super().__init__()
        self.image, self.block, self.dilations, self.pads, self.strides = image, block, dilations, pads, strides

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, left, bottom, right = self.pads
        padded = (self.image[0] + top + bottom, self.image[1] + left + right)
        folded = F.fold(x, output_size=padded, kernel_size=self.block, dilation=self.dilations, stride=self.strides)
        return folded[..., top:top + self.image[0], left:left + self.image[1]]


@register("Col2Im", (18,))
def _col2im(node, graph):
    image, block = constant(node, graph, 1), constant(node, graph, 2)
    if image is None or block is None:
        raise unsupported(node, "image_shape and block_shape must be constant tensors (initializers)")
    image, block = [int(v) for v in image.reshape(-1)], [int(v) for v in block.reshape(-1)]
    if len(image) != 2 or len(block) != 2:
        raise unsupported(node, f"{len(image)} spatial dimensions; only 2-D images (N, C, H, W) are converted")
    dilations = tuple(node.attributes.get("dilations", (1, 1)))
    strides = tuple(node.attributes.get("strides", (1, 1)))
    pads = tuple(node.attributes.get("pads", (0, 0, 0, 0)))
    if len(dilations) != 2 or len(strides) != 2 or len(pads) != 4:
        raise unsupported(node, "dilations/strides need 2 values and pads 4 (begin h, begin w, end h, end w)")
    module = OnnxCol2Im((image[0], image[1]), (block[0], block[1]), dilations, pads, strides)
    return result(module, node, inputs=(node.input_values[0],))
