"""Reference networks: a configurable MLP and the CIFAR ResNets.

The ResNets follow He et al. 2016 (section 4.2): 3 stages of n basic blocks with
W, 2W and 4W channels (W = 16: ResNet-20 has n = 3 and 0.27M parameters) and
parameter-free "option A" shortcuts (stride-2 subsampling and zero-padded channels),
He-initialised convolutions.  The CIFAR plugin builds them by name
(`landscape_plugins.cifar.models.build_model`); they live here, with the MLP, so every
network plugin shares one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from landscape.foundations.errors import LandscapeError

__all__ = ["ACTIVATIONS", "make_mlp", "HeConv2d", "conv3x3", "BasicBlock", "CifarResNet", "resnet20"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def make_mlp(
    in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "tanh", batchnorm: bool = False
) -> nn.Sequential:
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


class HeConv2d(nn.Conv2d):
    """Conv2d with He et al. 2015 init (normal, fan_out, ReLU gain), as both papers' code.

    The init lives in `reset_parameters`, so a generic seeded re-initialisation that
    calls every module's `reset_parameters` keeps it. BatchNorm resets to the identity;
    linear layers keep PyTorch's default init.
    """

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        if self.bias is not None:
            nn.init.zeros_(self.bias)


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return HeConv2d(c_in, c_out, 3, stride, 1, bias=False)


# --- ResNet (He et al. 2016, section 4.2) ---------------------------------------------


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers; option-A shortcut (subsample, zero-pad the new channels)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(c_in, c_out, stride)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = conv3x3(c_out, c_out)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.pad = stride, c_out - c_in

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad:  # parameter-free, so the counts match the paper's
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-`depth` for 32x32 images: depth = 6n+2, stage widths `width`*(1, 2, 4).

    He et al. 2016, section 4.2: a 3x3 conv with 16 filters, three stages of n basic
    blocks on 32x32, 16x16 and 8x8 maps with 16, 32 and 64 filters (stride-2 first
    conv in stages 2 and 3), global average pooling and a linear classifier.
    """

    def __init__(self, depth: int = 20, width: int = 16, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise LandscapeError(f"a CIFAR ResNet needs depth 6n+2 >= 8 (8, 14, 20, ...), got {depth}")
        if width < 1 or num_classes < 1:
            raise LandscapeError(f"ResNet width and num_classes must be >= 1, got {width} and {num_classes}")
        n = (depth - 2) // 6
        self.depth, self.width = depth, width
        self.conv = conv3x3(in_channels, width)
        self.bn = nn.BatchNorm2d(width)
        widths = (width, 2 * width, 4 * width)
        stages, c = [], width
        for k, w in enumerate(widths):
            blocks = [BasicBlock(c if i == 0 else w, w, 2 if (i == 0 and k > 0) else 1) for i in range(n)]
            stages.append(nn.Sequential(*blocks))
            c = w
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(F.relu(self.bn(self.conv(x))))
        # the global average pool as a mean: the same numbers, and under vmap with
        # channels_last adaptive_avg_pool2d falls back to a loop (no batching rule)
        return self.fc(x.mean(dim=(-2, -1)))


def resnet20(num_classes: int = 10) -> CifarResNet:
    """ResNet-20 for 32x32 inputs (0.27M parameters)."""
    return CifarResNet(20, num_classes=num_classes)
