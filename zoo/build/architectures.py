"""PyTorch architectures of the zoo: encoders (1.0 here, 2.0 families in ``families``) and task heads.

Zoo 1.0 encoders map a 3x32x32 image to the Taskonomy-style bottleneck ``8 x 8 x 8`` (NCHW) and
end in a 1x1 conv named ``bottleneck``: the models' probe layer. Heads read the bottleneck; their
size follows the encoder's ``channels`` and ``stride`` class attributes.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from zoo.build.data import is_dense, out_channels

BOTTLENECK = 8  # channels; spatial 8x8 at 32x32 input


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), act())


class TaskonomyEncoder(nn.Sequential):
    """The shared encoder of the Taskonomy-style models: 3 conv-BN-ReLU (two stride 2) + 1x1 bottleneck."""

    channels, stride = BOTTLENECK, 4

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = conv_bn(3, 16, 3, 2)
        self.conv2 = conv_bn(16, 32, 3, 2)
        self.conv3 = conv_bn(32, 32, 3, 1)
        self.bottleneck = nn.Conv2d(32, BOTTLENECK, 1)


class MobileNetEncoder(nn.Sequential):
    """MobileNet-v1 style: depthwise-separable convs with ReLU6, then the 1x1 bottleneck."""

    channels, stride = BOTTLENECK, 4

    def __init__(self) -> None:
        super().__init__()

        def dw(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(conv_bn(cin, cin, 3, stride, groups=cin, act=nn.ReLU6), conv_bn(cin, cout, 1, act=nn.ReLU6))

        self.stem = conv_bn(3, 16, 3, 2, act=nn.ReLU6)
        self.dw1 = dw(16, 32, 1)
        self.dw2 = dw(32, 64, 2)
        self.dw3 = dw(64, 64, 1)
        self.bottleneck = nn.Conv2d(64, BOTTLENECK, 1)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, 3, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class ResNetEncoder(nn.Sequential):
    """Wider ResNet style: stem + two residual basic blocks (stride 2), then the 1x1 bottleneck."""

    channels, stride = BOTTLENECK, 4

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn(3, 24, 3, 2)
        self.block1 = BasicBlock(24, 32, 1)
        self.block2 = BasicBlock(32, 48, 2)
        self.bottleneck = nn.Conv2d(48, BOTTLENECK, 1)


ENCODERS = {"taskonomy": TaskonomyEncoder, "mobilenet": MobileNetEncoder, "resnet": ResNetEncoder}
ENCODER_TEXT = {
    "taskonomy": "Taskonomy-style encoder: 3x(conv3x3-BN-ReLU; strides 2,2,1; 16,32,32 ch) + conv1x1 -> 8x8x8 bottleneck",
    "mobilenet": "MobileNet-style encoder: conv3x3/2-BN-ReLU6 + 3 depthwise-separable blocks (ReLU6; 32,64,64 ch) + conv1x1 -> 8x8x8 bottleneck",
    "resnet": "wider ResNet-style encoder: conv3x3/2 stem (24 ch) + 2 residual basic blocks (32 ch stride 1, 48 ch stride 2) + conv1x1 -> 8x8x8 bottleneck",
}


class DenseDecoder(nn.Sequential):
    """bottleneck -> C x H x W: conv3x3-ReLU at the bottleneck's resolution, then ConvTranspose(4, stride 2)
    upsamplings (1.0: 8 -> 32 with widths 32, 16; 2.0: 8 -> 64 with widths 32, 24, 16)."""

    def __init__(self, channels: int, cin: int = BOTTLENECK, widths: tuple[int, ...] = (32, 16)) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, widths[0], 3, padding=1)
        self.relu1 = nn.ReLU()
        outs = widths[1:] + (channels,)
        for i, (a, b) in enumerate(zip(widths, outs), start=1):
            self.add_module(f"up{i}", nn.ConvTranspose2d(a, b, 4, 2, 1))
            if i < len(widths):
                self.add_module(f"relu{i + 1}", nn.ReLU())


class PooledHead(nn.Sequential):
    """bottleneck -> vector: 2x2 average pool, flatten, MLP -64-C (1.0: 8x8x8 -> 128 inputs)."""

    def __init__(self, channels: int, cin: int = BOTTLENECK, side: int = 8) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(cin * (side // 2) ** 2, 64)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(64, channels)


def encoder_class(name: str) -> type[nn.Module]:
    from zoo.build.families import FAMILIES

    return {**ENCODERS, **FAMILIES}[name]


def make_encoder(name: str, size: int) -> nn.Module:
    """A fresh encoder for ``size``-px input (the 2.0/3.0 families take the size; 1.0's are 32-px only)."""
    from zoo.build.families import FAMILIES

    return FAMILIES[name](size=size) if name in FAMILIES else ENCODERS[name]()


def decoder_widths(size: int, stride: int) -> tuple[int, ...]:
    """Decoder widths for a bottleneck ``stride`` times smaller than the image (one ConvT per factor 2)."""
    ups = stride.bit_length() - 1
    return {2: (32, 16), 3: (32, 24, 16)}[ups]


def head_for(task: str, encoder: nn.Module, size: int) -> nn.Module:
    side = size // encoder.stride
    if is_dense(task):
        return DenseDecoder(out_channels(task), encoder.channels, decoder_widths(size, encoder.stride))
    return PooledHead(out_channels(task), encoder.channels, side)


HEAD_TEXT = {
    True: "dense decoder conv3x3-ReLU, {ups} ConvT/2 (widths {widths})",
    False: "pooled MLP head avgpool2x2-flatten-FC64-ReLU-FC",
}


class TaskModel(nn.Module):
    """One encoder, one head per task; returns one output, or a tuple for multi-task models."""

    def __init__(self, encoder: str, tasks: tuple[str, ...], size: int = 32, aux: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.tasks = tasks
        self.encoder = make_encoder(encoder, size)
        self.heads = nn.ModuleList(head_for(t, self.encoder, size) for t in tasks)
        if aux:  # training-only decoders (zoo 3.0); forward and the exported graph never use them
            self.aux_heads = nn.ModuleList(head_for(t, self.encoder, size) for t in aux)

    def forward(self, x: torch.Tensor):
        z = self.encoder(x)
        outs = tuple(head(z) for head in self.heads)
        return outs[0] if len(outs) == 1 else outs


def encoder_text(encoder: str) -> str:
    from zoo.build.families import FAMILY_TEXT

    return {**ENCODER_TEXT, **FAMILY_TEXT}[encoder]


def architecture_text(encoder: str, tasks: tuple[str, ...], size: int = 32) -> str:
    widths = decoder_widths(size, make_encoder(encoder, size).stride)

    def head(t: str) -> str:
        return HEAD_TEXT[is_dense(t)].format(ups=len(widths), widths=", ".join(map(str, widths[1:] + ("C",))))

    return f"{encoder_text(encoder)}; head(s) " + " + ".join(f"{t}: {head(t)}" for t in tasks)
