"""Which parameter axes each group of hidden units permutes: `PermutationSpec`s for the
networks of this project, the input of weight matching (`matching`).

A `Slot` is the positions along one axis of one parameter, a `Group` the units that
move together (all its slots get one permutation).  Specs are built for the MLPs of
`models.make_mlp` (any Sequential of Linear, BatchNorm1d and elementwise activations),
the CIFAR ResNets of `models` and `landscape_plugins.cifar` (one permutation per
residual stream, carried through the zero-padded shortcuts, and one per block's inner
channels) and the CIFAR DenseNets (one group per layer's new feature maps, carried
through every later concatenation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from torch import nn

from landscape.foundations.errors import LandscapeError

__all__ = ["Slot", "Group", "PermutationSpec", "mlp_spec", "resnet_spec", "densenet_spec", "permutation_spec"]


@dataclass(frozen=True)
class Slot:
    """Where a group's permutation acts: the positions `index` along `axis` of the
    parameter `name` (None: the whole axis).  Positions are how a residual stream widened
    by zero padding keeps an earlier stream's units at an offset."""

    name: str
    axis: int
    index: tuple[int, ...] | None = None

    def positions(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.arange(shape[self.axis]) if self.index is None else np.asarray(self.index, dtype=np.intp)


@dataclass(frozen=True)
class Group:
    """`size` units permuted together wherever `slots` says."""

    name: str
    size: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class PermutationSpec:
    """The groups of units of one architecture; `check` them against parameter shapes."""

    groups: tuple[Group, ...]

    def check(self, shapes: Mapping[str, tuple[int, ...]]) -> None:
        """Every slot names a coordinate, fits its axis and holds the group's size; no
        position is permuted twice; no group touches two axes of one tensor (its cost
        would not be linear)."""
        taken: dict[tuple[str, int], set[int]] = {}
        for g in self.groups:
            axes: dict[str, int] = {}
            for s in g.slots:
                if s.name not in shapes:
                    raise LandscapeError(
                        f"weight matching permutes {s.name!r}, which is not a coordinate "
                        f"(a frozen parameter?); permuting it would change the function"
                    )
                shape = shapes[s.name]
                if not 0 <= s.axis < len(shape):
                    raise LandscapeError(f"group {g.name}: {s.name} has no axis {s.axis}")
                pos = s.positions(shape)
                if len(pos) != g.size or (len(pos) and (pos.min() < 0 or pos.max() >= shape[s.axis])):
                    raise LandscapeError(
                        f"group {g.name}: {len(pos)} positions on axis {s.axis} of {s.name} "
                        f"{shape}, the group has {g.size} units"
                    )
                if axes.setdefault(s.name, s.axis) != s.axis:
                    raise LandscapeError(f"group {g.name} permutes two axes of {s.name}")
                seen = taken.setdefault((s.name, s.axis), set())
                if seen & set(pos.tolist()) or len(set(pos.tolist())) != len(pos):
                    raise LandscapeError(f"group {g.name}: positions of {s.name} axis {s.axis} permuted twice")
                seen.update(pos.tolist())


Stream = list[tuple[str, np.ndarray]]  # the groups living in one tensor's channels, at their positions


class _Builder:
    """Collects slots per group in the order they are found."""

    def __init__(self) -> None:
        self.slots: dict[str, list[Slot]] = {}
        self.sizes: dict[str, int] = {}

    def add(self, stream: Stream, name: str, axis: int) -> None:
        """Slots on `axis` of the parameter `name` for every group of `stream`."""
        for group, pos in stream:
            self.sizes[group] = len(pos)
            self.slots.setdefault(group, []).append(Slot(name, axis, tuple(int(i) for i in pos)))

    def outputs(self, stream: Stream, module: nn.Module, prefix: str) -> None:
        """`module`'s parameters whose axis 0 are the stream's channels: a layer's weight
        rows and bias, or a BatchNorm's scale and shift."""
        for p in ("weight", "bias"):
            if getattr(module, p, None) is not None:
                self.add(stream, f"{prefix}.{p}", 0)

    def inputs(self, stream: Stream, prefix: str) -> None:
        """A layer reading the stream: its weight's axis 1."""
        self.add(stream, f"{prefix}.weight", 1)

    def spec(self, drop: Iterable[str] = ()) -> PermutationSpec:
        keep = [g for g in self.slots if g not in set(drop)]
        return PermutationSpec(tuple(Group(g, self.sizes[g], tuple(self.slots[g])) for g in keep))


# --- architectures ---------------------------------------------------------------------

_ELEMENTWISE = (
    nn.Tanh,
    nn.ReLU,
    nn.Sigmoid,
    nn.GELU,
    nn.Identity,
    nn.Dropout,
    nn.LeakyReLU,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
    nn.Flatten,
)


def _name(prefix: str, child: str) -> str:
    return f"{prefix}.{child}" if prefix else child


def _own(group: str, channels: int) -> Stream:
    return [(group, np.arange(channels))]


def mlp_spec(module: nn.Sequential, prefix: str = "") -> PermutationSpec:
    """One group per hidden Linear layer: its weight rows and bias, the BatchNorm1d after
    it, and the next Linear's weight columns.  The output layer is not permuted."""
    b, last = _Builder(), None
    for child, m in module.named_children():
        name = _name(prefix, child)
        if isinstance(m, nn.Linear):
            if last is not None:
                b.inputs(last, name)
            last = _own(name, m.out_features)
            b.outputs(last, m, name)
        elif isinstance(m, nn.BatchNorm1d):
            if last is not None:
                b.outputs(last, m, name)
        elif not isinstance(m, _ELEMENTWISE):
            raise LandscapeError(
                f"weight matching of a Sequential knows Linear, BatchNorm1d and elementwise "
                f"activations, not {type(m).__name__} ({name})"
            )
    if last is None:
        raise LandscapeError("weight matching found no Linear layer in the Sequential")
    return b.spec(drop=[last[0][0]])


def _is_resnet(m: nn.Module) -> bool:
    return all(hasattr(m, a) for a in ("conv", "bn", "fc")) and any(_is_block(c) for c in m.modules())


def _is_block(m: nn.Module) -> bool:
    return all(hasattr(m, a) for a in ("conv1", "bn1", "conv2", "bn2", "pad"))


def resnet_spec(model: nn.Module, prefix: str = "") -> PermutationSpec:
    """The CIFAR ResNets' groups: the residual stream's channels (stem conv and BN, every
    block's conv2 and bn2 output, every block's conv1 input, the classifier's input) share
    one permutation per width; a zero-padded shortcut keeps the old stream's channels at
    an offset (same groups, shifted) and adds a group for the new ones.  Each block's
    conv1/bn1 output channels (conv2's input) are a group of their own."""
    b = _Builder()
    stem = _name(prefix, "conv")
    stream = _own(f"{stem} (stream)", model.conv.out_channels)
    b.outputs(stream, model.conv, stem)
    b.outputs(stream, model.bn, _name(prefix, "bn"))
    for child, block in model.named_modules():
        if not _is_block(block):
            continue
        name = _name(prefix, child)
        b.inputs(stream, f"{name}.conv1")
        inner = _own(f"{name}.conv1", block.conv1.out_channels)
        b.outputs(inner, block.conv1, f"{name}.conv1")
        b.outputs(inner, block.bn1, f"{name}.bn1")
        b.inputs(inner, f"{name}.conv2")
        if block.pad:  # x zero-padded by pad // 2 channels below and the rest above
            c_in, c_out, off = block.conv1.in_channels, block.conv2.out_channels, block.pad // 2
            stream = [(g, pos + off) for g, pos in stream]
            stream.append((f"{name} (stream)", np.r_[0:off, off + c_in : c_out]))
        b.outputs(stream, block.conv2, f"{name}.conv2")
        b.outputs(stream, block.bn2, f"{name}.bn2")
    b.inputs(stream, _name(prefix, "fc"))
    return b.spec()


def _is_densenet(m: nn.Module) -> bool:
    return all(hasattr(m, a) for a in ("conv", "blocks", "bn", "fc", "growth"))


def densenet_spec(model: nn.Module, prefix: str = "") -> PermutationSpec:
    """The CIFAR DenseNets' groups: the stem's channels, each layer's new feature maps
    (at their place in every later concatenation, so in every later BatchNorm and conv
    input), each bottleneck's 4k channels, and each transition's output."""
    b = _Builder()
    stem = _name(prefix, "conv")
    stream = _own(stem, model.conv.out_channels)
    b.outputs(stream, model.conv, stem)
    width = model.conv.out_channels
    for child, m in model.blocks.named_children():
        name = _name(_name(prefix, "blocks"), child)
        if not (hasattr(m, "bn") and hasattr(m, "conv")):
            raise LandscapeError(
                f"weight matching of a DenseNet knows dense layers and transitions, not {type(m).__name__} ({name})"
            )
        inner = stream
        if getattr(m, "bottleneck", False):
            b.outputs(stream, m.bn0, f"{name}.bn0")
            b.inputs(stream, f"{name}.conv0")
            inner = _own(f"{name}.conv0", m.conv0.out_channels)
            b.outputs(inner, m.conv0, f"{name}.conv0")
        b.outputs(inner, m.bn, f"{name}.bn")
        b.inputs(inner, f"{name}.conv")
        c = m.conv.out_channels
        if hasattr(m, "bottleneck"):  # a dense layer: its maps join the concatenation
            new = [(f"{name}.conv", np.arange(width, width + c))]
            stream, width = stream + new, width + c
        else:  # a transition: its output is the new stream
            new = _own(f"{name}.conv", c)
            stream, width = new, c
        b.outputs([(g, np.arange(c)) for g, _ in new], m.conv, f"{name}.conv")
    b.outputs(stream, model.bn, _name(prefix, "bn"))
    b.inputs(stream, _name(prefix, "fc"))
    return b.spec()


def permutation_spec(module: nn.Module, prefix: str = "") -> PermutationSpec:
    """The spec of a known architecture, looking through wrappers with one child (the
    CIFAR plugin's bf16 `Autocast`, say); a one-line error for anything else."""
    if isinstance(module, nn.Sequential):
        return mlp_spec(module, prefix)
    if _is_densenet(module):
        return densenet_spec(module, prefix)
    if _is_resnet(module):
        return resnet_spec(module, prefix)
    children = list(module.named_children())
    if len(children) == 1 and not any(True for _ in module.parameters(recurse=False)):
        child, inner = children[0]
        return permutation_spec(inner, _name(prefix, child))
    raise LandscapeError(
        f"weight matching knows MLPs (Sequential), CIFAR ResNets and DenseNets, not "
        f"{type(module).__name__}; build a PermutationSpec for it"
    )
