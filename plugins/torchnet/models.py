"""Small reference networks: a configurable MLP and a compact CIFAR ResNet-20.

ResNet-20 follows He et al. 2016 (section 4.2): 3 stages of 3 basic blocks with 16,
32 and 64 channels and parameter-free "option A" shortcuts (stride-2 subsampling and
zero-padded channels), 0.27M parameters.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from landscape.errors import LandscapeError

__all__ = ["ACTIVATIONS", "make_mlp", "BasicBlock", "CifarResNet", "resnet20"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def make_mlp(in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "tanh",
             batchnorm: bool = False) -> nn.Sequential:
    """Linear layers of widths `hidden`, each followed by [BatchNorm1d and] the activation."""
    if activation not in ACTIVATIONS:
        raise LandscapeError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(ACTIVATIONS[activation]())
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity or option-A (padding) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.pad = stride, c_out - c_in

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet-(6n+2): 3 stages of `n` blocks, widths 16/32/64, global pooling."""

    def __init__(self, n: int = 3, num_classes: int = 10, width: int = 16):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        blocks: list[nn.Module] = []
        c = width
        for stage, c_out in enumerate((width, 2 * width, 4 * width)):
            for k in range(n):
                blocks.append(BasicBlock(c, c_out, 2 if stage > 0 and k == 0 else 1))
                c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(x.mean(dim=(2, 3)))


def resnet20(num_classes: int = 10) -> CifarResNet:
    """ResNet-20 for 32x32 inputs (0.27M parameters)."""
    return CifarResNet(3, num_classes)
