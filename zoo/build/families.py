"""Zoo 2.0 encoder families: plain CNN, residual, depthwise-separable (MobileNet-style), small ViT.

Every family maps a 3x64x64 image (zoo 3.0: or 3x32x32, the first stride or the patch size halved) to a
**16 x 8 x 8** bottleneck through the same *nonlinear*
neck (conv1x1 -> 32, BN, ReLU, conv1x1 -> 16, BN, ReLU) named ``bottleneck``; its output (the
last ReLU) is the probe layer. Why: on 1.0's linear 8x8x8 bottleneck behind 3 convs (receptive
field 15 px) a frozen *random* encoder kept most pixel information and beat half the trained
sources. Here the encoders are deeper (receptive field >= 50 px, or global for the ViT) and the
neck is two nonlinear layers, so a random encoder keeps little that a small head can decode,
while a trained one keeps what its task needs.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.build.architectures import BasicBlock, conv_bn

NECK = 16  # bottleneck channels (8x8 at 64x64 input)


def neck(cin: int) -> nn.Sequential:
    return nn.Sequential(conv_bn(cin, 32, 1), conv_bn(32, NECK, 1))


class PlainEncoder(nn.Sequential):
    """Plain CNN: 6 conv3x3-BN-ReLU (strides 2,1,2,1,2,1; 24,32,48,48,64,96 ch) + neck."""

    channels, stride = NECK, 8

    def __init__(self, size: int = 64) -> None:
        super().__init__()
        self.stride = size // 8
        widths = (24, 32, 48, 48, 64, 96)
        cin = 3
        for i, (w, s) in enumerate(zip(widths, (size // 32, 1, 2, 1, 2, 1)), start=1):
            self.add_module(f"conv{i}", conv_bn(cin, w, 3, s))
            cin = w
        self.bottleneck = neck(cin)


class ResidualEncoder(nn.Sequential):
    """ResNet-style: conv3x3/2 stem (16 ch) + 4 basic blocks (24/2, 32, 48/2, 64) + neck."""

    channels, stride = NECK, 8

    def __init__(self, size: int = 64) -> None:
        super().__init__()
        self.stride = size // 8
        self.stem = conv_bn(3, 16, 3, size // 32)
        self.block1 = BasicBlock(16, 24, 2)
        self.block2 = BasicBlock(24, 32, 1)
        self.block3 = BasicBlock(32, 48, 2)
        self.block4 = BasicBlock(48, 64, 1)
        self.bottleneck = neck(64)


def separable(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(conv_bn(cin, cin, 3, stride, groups=cin, act=nn.ReLU6), conv_bn(cin, cout, 1, act=nn.ReLU6))


class DepthwiseEncoder(nn.Sequential):
    """MobileNet-v1 style: conv3x3/2 stem (24 ch) + 6 depthwise-separable blocks (ReLU6; 32, 48/2, 48, 64/2, 96, 128) + neck."""

    channels, stride = NECK, 8

    def __init__(self, size: int = 64) -> None:
        super().__init__()
        self.stride = size // 8
        self.stem = conv_bn(3, 24, 3, size // 32, act=nn.ReLU6)
        cin = 24
        for i, (w, s) in enumerate(((32, 1), (48, 2), (48, 1), (64, 2), (96, 1), (128, 1)), start=1):
            self.add_module(f"dw{i}", separable(cin, w, s))
            cin = w
        self.bottleneck = neck(cin)


class Attention(nn.Module):
    """Multi-head self-attention written with matmul/softmax (exports to plain ONNX ops)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: x + MHSA(LN(x)), x + MLP(LN(x)) with GELU."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTEncoder(nn.Module):
    """Small ViT: 8x8 patches (32 px: 4x4; 64 tokens, dim 64, learned position embedding), 3 pre-norm blocks
    (4 heads, MLP 128), LayerNorm, tokens back to an 8x8 map + neck."""

    channels, stride = NECK, 8

    def __init__(self, dim: int = 64, depth: int = 3, heads: int = 4, size: int = 64) -> None:
        super().__init__()
        self.side, self.stride = 8, size // 8
        self.patch = nn.Conv2d(3, dim, size // 8, size // 8)
        self.pos = nn.Parameter(torch.randn(1, self.side * self.side, dim) * 0.02)
        self.blocks = nn.Sequential(*(TransformerBlock(dim, heads, 2 * dim) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.bottleneck = neck(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.patch(x)
        n, d = z.shape[0], z.shape[1]
        tokens = self.norm(self.blocks(z.flatten(2).transpose(1, 2) + self.pos))
        return self.bottleneck(tokens.transpose(1, 2).reshape(n, d, self.side, self.side))


FAMILIES = {"plain": PlainEncoder, "residual": ResidualEncoder, "depthwise": DepthwiseEncoder, "vit": ViTEncoder}
FAMILY_TEXT = {
    "plain": "plain CNN encoder: 6x conv3x3-BN-ReLU (strides 2,1,2,1,2,1; 24,32,48,48,64,96 ch) + nonlinear neck "
             "conv1x1-BN-ReLU (32) -> conv1x1-BN-ReLU -> 16x8x8 bottleneck",
    "residual": "ResNet-style encoder: conv3x3/2 stem (16 ch) + 4 residual basic blocks (24/2, 32, 48/2, 64 ch) + nonlinear "
                "neck conv1x1-BN-ReLU (32) -> conv1x1-BN-ReLU -> 16x8x8 bottleneck",
    "depthwise": "MobileNet-style encoder: conv3x3/2-BN-ReLU6 (24 ch) + 6 depthwise-separable blocks (ReLU6; 32, 48/2, 48, "
                 "64/2, 96, 128 ch) + nonlinear neck conv1x1-BN-ReLU (32) -> conv1x1-BN-ReLU -> 16x8x8 bottleneck",
    "vit": "small ViT encoder: 8x8 patch embedding (64 tokens, dim 64) + learned position embedding, 3 pre-norm "
           "transformer blocks (4 heads, MLP 128, GELU), LayerNorm, tokens as an 8x8 map + nonlinear neck "
           "conv1x1-BN-ReLU (32) -> conv1x1-BN-ReLU -> 16x8x8 bottleneck",
}
