"""Small PyTorch versions of real architecture families, built here (no torchvision needed).

Each keeps the structural feature its family is known for (residual adds, depthwise convs,
concatenated branches, dense connectivity, SiLU + squeeze-excite, upsampling decoders),
small enough that exporting and converting them is quick.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

# The same building blocks the embedded zoo is built from.
from zoo.build.architectures import BasicBlock, conv_bn


class ResNet(nn.Module):
    def __init__(self, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn(3, width, 3, 1)
        self.layer1 = BasicBlock(width, width, 1)
        self.layer2 = BasicBlock(width, 2 * width, 2)
        self.layer3 = BasicBlock(2 * width, 4 * width, 2)
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class VGG(nn.Module):
    def __init__(self, width: int = 16, classes: int = 10, size: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class MobileNet(nn.Module):
    """Depthwise-separable convs with ReLU6 (Clip), as MobileNet v1/v2."""

    def __init__(self, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        def dw(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(conv_bn(cin, cin, 3, stride, groups=cin, act=nn.ReLU6), conv_bn(cin, cout, 1, act=nn.ReLU6))
        self.features = nn.Sequential(conv_bn(3, width, 3, 2, act=nn.ReLU6), dw(width, 2 * width, 1), dw(2 * width, 4 * width, 2), dw(4 * width, 4 * width, 1))
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class InceptionBlock(nn.Module):
    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.b1 = conv_bn(cin, c, 1)
        self.b3 = nn.Sequential(conv_bn(cin, c, 1), conv_bn(c, c, 3))
        self.b5 = nn.Sequential(conv_bn(cin, c, 1), conv_bn(c, c, 3), conv_bn(c, c, 3))
        self.bp = nn.Sequential(nn.AvgPool2d(3, 1, 1), conv_bn(cin, c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


class Inception(nn.Module):
    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 2 * width, 3, 2), nn.MaxPool2d(3, 2, 1))
        self.mixed = InceptionBlock(2 * width, width)
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(F.adaptive_avg_pool2d(self.mixed(self.stem(x)), 1), 1))


class DenseNet(nn.Module):
    def __init__(self, growth: int = 8, layers: int = 3, classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn(3, 2 * growth, 3, 2)
        self.dense = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(2 * growth + i * growth), nn.ReLU(), nn.Conv2d(2 * growth + i * growth, growth, 3, padding=1, bias=False))
            for i in range(layers)
        )
        channels = 2 * growth + layers * growth
        self.transition = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels // 2, 1), nn.AvgPool2d(2))
        self.head = nn.Linear(channels // 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.dense:
            x = torch.cat([x, layer(x)], dim=1)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(self.transition(x), 1), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, c // r, 1), nn.Conv2d(c // r, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(s))))


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int = 4) -> None:
        super().__init__()
        mid = cin * expand
        self.block = nn.Sequential(conv_bn(cin, mid, 1, act=nn.SiLU), conv_bn(mid, mid, 3, stride, groups=mid, act=nn.SiLU), SqueezeExcite(mid), nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class EfficientNet(nn.Module):
    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn(3, 2 * width, 3, 2, act=nn.SiLU)
        self.blocks = nn.Sequential(MBConv(2 * width, 2 * width, 1), MBConv(2 * width, 3 * width, 2))
        self.head = nn.Linear(3 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))


class EncoderDecoder(nn.Module):
    """Taskonomy-style: conv encoder, decoder with nearest Resize and ConvTranspose."""

    def __init__(self, width: int = 8, out_channels: int = 1) -> None:
        super().__init__()
        self.encoder = nn.Sequential(conv_bn(3, width, 3, 2), conv_bn(width, 2 * width, 3, 2), nn.Conv2d(2 * width, 8, 1))
        self.up1 = nn.ConvTranspose2d(8, width, 4, 2, 1)
        self.conv = nn.Conv2d(width, width, 3, padding=1)
        self.out = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        y = F.relu(self.up1(z))
        y = F.interpolate(y, scale_factor=2.0, mode="nearest")
        return torch.tanh(self.out(F.relu(self.conv(y))))


#: family name -> (constructor, probe module path: the output of this submodule is the probe layer)
FAMILIES = {
    "resnet": ResNet,
    "vgg": VGG,
    "mobilenet": MobileNet,
    "inception": Inception,
    "densenet": DenseNet,
    "efficientnet": EfficientNet,
    "encoder_decoder": EncoderDecoder,
}


def build(family: str, seed: int = 0) -> nn.Module:
    """A deterministic, eval-mode instance with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    model = FAMILIES[family]()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()
