"""CIFAR ResNets (He et al. 2016) and DenseNets (Huang et al. 2017), built by name.

Naming rule of `build_model` (case-insensitive, no spaces):

    resnet{D}[-w{W}]       D = 6n+2: n basic blocks in each of 3 stages, stage widths
                           W, 2W, 4W (W = 16 in the paper); e.g. resnet20, resnet8-w4
    densenet{D}[-k{K}]     D = 3m+4: m 3x3 layers per dense block, growth rate K
                           (12 in the paper), no bottleneck or compression; e.g. densenet40
    densenet{D}bc[-k{K}]   D = 6m+4: m bottleneck layers per block, compression 0.5;
                           e.g. densenet100bc, densenet22bc-k6

Parameter counts. Literature: He et al. 2016, Table 6: ResNet-20 0.27M, -32 0.46M,
-44 0.66M, -56 0.85M (option-A shortcuts add no parameters); Huang et al. 2017, Table 2:
DenseNet (L=40, k=12) 1.0M, DenseNet-BC (L=100, k=12) 0.8M. Exact counts of these builds
with 10 classes (`EXACT_PARAMS`): 269,722, 464,154, 658,586, 853,018, 1,019,722 and
769,162, all within 2% of the literature except DenseNet-BC-100: its printed 0.8M is
rounded to one digit (the architecture as described has 769,162 = 0.77M with 10
classes, 800,032 with 100), so it is matched to that rounding (0.75M..0.85M).

The models use only standard layers and slicing, so channels_last inputs and bf16
autocast work unchanged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from landscape.foundations.errors import LandscapeError
from landscape_plugins.torchnet.models import BasicBlock, CifarResNet, HeConv2d, conv3x3

__all__ = [
    "BasicBlock",
    "CifarResNet",
    "DenseLayer",
    "Transition",
    "CifarDenseNet",
    "ModelSpec",
    "MODEL_NAMES",
    "LITERATURE_PARAMS",
    "EXACT_PARAMS",
    "parse_model_name",
    "build_model",
    "count_parameters",
    "HeConv2d",
]

MODEL_NAMES = ("resnet20", "resnet32", "resnet44", "resnet56", "densenet40", "densenet100bc")

LITERATURE_PARAMS: dict[str, float] = {
    "resnet20": 0.27e6,  # He et al. 2016, Table 6
    "resnet32": 0.46e6,
    "resnet44": 0.66e6,
    "resnet56": 0.85e6,
    "densenet40": 1.0e6,  # Huang et al. 2017, Table 2, DenseNet (L=40, k=12)
    "densenet100bc": 0.8e6,  # Huang et al. 2017, Table 2, DenseNet-BC (L=100, k=12)
}

# Counted from the architectures as the papers describe them (10 classes).
EXACT_PARAMS: dict[str, int] = {
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "densenet40": 1_019_722,
    "densenet100bc": 769_162,
}


# The ResNets (He et al. 2016, section 4.2) are landscape_plugins.torchnet.models' own.


# --- DenseNet (Huang et al. 2017, section 3 and 4.2) -------------------------------------


class DenseLayer(nn.Module):
    """BN-ReLU-Conv3x3(k), optionally after a BN-ReLU-Conv1x1(4k) bottleneck; the output
    is the input with the k new feature maps concatenated."""

    def __init__(self, c_in: int, growth: int, bottleneck: bool = False, dropout: float = 0.0):
        super().__init__()
        c_mid = c_in
        self.bottleneck = bottleneck
        if bottleneck:
            c_mid = 4 * growth
            self.bn0 = nn.BatchNorm2d(c_in)
            self.conv0 = HeConv2d(c_in, c_mid, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_mid)
        self.conv = conv3x3(c_mid, growth)
        self.dropout = dropout

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.dropout, self.training) if self.dropout > 0 else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.bottleneck:
            out = self._drop(self.conv0(F.relu(self.bn0(out))))
        out = self._drop(self.conv(F.relu(self.bn(out))))
        return torch.cat([x, out], 1)


class Transition(nn.Module):
    """BN-ReLU-Conv1x1 then 2x2 average pooling between dense blocks."""

    def __init__(self, c_in: int, c_out: int, dropout: float = 0.0):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = HeConv2d(c_in, c_out, 1, bias=False)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(F.relu(self.bn(x)))
        if self.dropout > 0:
            out = F.dropout(out, self.dropout, self.training)
        return F.avg_pool2d(out, 2)


class CifarDenseNet(nn.Module):
    """DenseNet-`depth`-`growth` for 32x32 images: three dense blocks, two transitions.

    Huang et al. 2017, section 4.2: the first conv has 16 filters (twice the growth rate
    for DenseNet-BC); blocks on 32x32, 16x16 and 8x8 maps with equally many layers,
    (depth-4)/3 plain or (depth-4)/6 bottleneck layers; transitions compress the
    channels by `compression` (0.5 for BC, 1 otherwise); then BN-ReLU, global average
    pooling and a linear classifier. `dropout` 0.2 is their choice without augmentation.
    """

    def __init__(
        self,
        depth: int = 40,
        growth: int = 12,
        bottleneck: bool = False,
        compression: float | None = None,
        num_classes: int = 10,
        in_channels: int = 3,
        stem: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        per = 6 if bottleneck else 3
        if depth < per + 4 or (depth - 4) % per:
            rule = "DenseNet-BC: depth 6m+4 (10, 16, ...)" if bottleneck else "DenseNet: depth 3m+4 (7, 10, ...)"
            raise LandscapeError(f"a CIFAR {rule}, got {depth}")
        compression = (0.5 if bottleneck else 1.0) if compression is None else float(compression)
        if growth < 1 or num_classes < 1 or not 0 < compression <= 1 or not 0 <= dropout < 1:
            raise LandscapeError(
                f"DenseNet needs growth, num_classes >= 1, 0 < compression <= 1, 0 <= dropout < 1; "
                f"got {growth}, {num_classes}, {compression}, {dropout}"
            )
        m = (depth - 4) // per
        self.depth, self.growth, self.bottleneck, self.compression = depth, growth, bottleneck, compression
        c = stem if stem is not None else (2 * growth if bottleneck else 16)
        self.conv = conv3x3(in_channels, c)
        blocks: list[nn.Module] = []
        for b in range(3):
            for _ in range(m):
                blocks.append(DenseLayer(c, growth, bottleneck, dropout))
                c += growth
            if b < 2:
                c_out = int(math.floor(compression * c))
                blocks.append(Transition(c, c_out, dropout))
                c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.blocks(self.conv(x))))
        # the global average pool as a mean: the same numbers, and under vmap with
        # channels_last adaptive_avg_pool2d falls back to a loop (no batching rule)
        return self.fc(x.mean(dim=(-2, -1)))


# --- names ---------------------------------------------------------------------------------

_RESNET = re.compile(r"resnet(\d+)(?:-w(\d+))?")
_DENSENET = re.compile(r"densenet(\d+)(bc)?(?:-k(\d+))?")
_RULE = "resnet{D}[-w{W}] (D = 6n+2) or densenet{D}[bc][-k{K}] (D = 3m+4, or 6m+4 with bc)"


@dataclass(frozen=True)
class ModelSpec:
    """What a model name says: family ("resnet" or "densenet"), depth, base width
    (ResNet) or growth rate (DenseNet), and whether it is a DenseNet-BC."""

    family: str
    depth: int
    width: int
    bottleneck: bool = False

    def kwargs(self) -> dict[str, Any]:
        if self.family == "resnet":
            return {"depth": self.depth, "width": self.width}
        return {"depth": self.depth, "growth": self.width, "bottleneck": self.bottleneck}


def parse_model_name(name: str) -> ModelSpec:
    """The `ModelSpec` of a name following the module's naming rule."""
    key = str(name).strip().lower()
    if m := _RESNET.fullmatch(key):
        return ModelSpec("resnet", int(m[1]), int(m[2] or 16))
    if m := _DENSENET.fullmatch(key):
        return ModelSpec("densenet", int(m[1]), int(m[3] or 12), m[2] is not None)
    raise LandscapeError(f"unknown model {name!r}; names are {_RULE}, e.g. {', '.join(MODEL_NAMES)}, resnet8-w4")


def build_model(name: str, num_classes: int = 10, **kw: Any) -> nn.Module:
    """A freshly initialised model by name; `kw` go to the constructor (e.g. `dropout`,
    `compression`, `in_channels`) but may not repeat what the name fixes."""
    spec = parse_model_name(name)
    fixed = spec.kwargs()
    if clash := sorted(set(fixed) & set(kw)):
        raise LandscapeError(f"model {name!r} already fixes {', '.join(clash)}; change the name instead")
    cls = CifarResNet if spec.family == "resnet" else CifarDenseNet
    try:
        return cls(num_classes=num_classes, **fixed, **kw)
    except TypeError as exc:
        raise LandscapeError(f"bad option for model {name!r}: {exc}") from None


def count_parameters(model: nn.Module | str, num_classes: int = 10) -> int:
    """Number of trainable parameters; a name is built on the meta device (no memory)."""
    if isinstance(model, str):
        with torch.device("meta"):
            model = build_model(model, num_classes)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
