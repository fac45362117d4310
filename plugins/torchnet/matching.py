"""Weight matching (Ainsworth et al. 2023, "Git Re-Basin"): permute one network's hidden
units so that its weights best match another's.

Relabelling the hidden units of a layer (the rows of its weight, its bias and BatchNorm
parameters, and with them the matching columns of the next layer's weight) leaves the
network's function unchanged.  Two minima that differ only by such a relabelling are one
state, and the straight line between them crosses a barrier that says nothing about the
landscape.  `NetworkSymmetry` makes this a `landscape.symmetry.Symmetry`: `align(a, b)`
returns b relabelled to lie as close to a as coordinate descent finds.

A `PermutationSpec` says which parameter axes each group of units permutes (`Slot`s).
Matching maximises sum over parameters of <reference, permuted other>, equivalently
minimises |reference - permuted other| (permutations keep norms): one group at a time,
in a seeded random order, the cost matrix of that group is a sum of inner products over
the axes it does not permute, solved exactly by `linear_sum_assignment`; sweeps repeat
until no group changes.  Each step can only raise the objective, so the result is never
farther than the identity; on a true relabelling of the reference the distance is 0.

Specs are built for the MLPs of `models.make_mlp` (any Sequential of Linear, BatchNorm1d
and elementwise activations), the CIFAR ResNets of `models` and `landscape_plugins.cifar`
(one permutation per residual stream, carried through the zero-padded shortcuts, and one
per block's inner channels) and the CIFAR DenseNets (one group per layer's new feature
maps, carried through every later concatenation).  Sign flips of odd activations (tanh)
and rescalings of ReLU units are symmetries too, but not permutations: not matched here.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from landscape.errors import LandscapeError
from landscape.path import to_numpy
from landscape.symmetry import Symmetry

__all__ = ["Slot", "Group", "PermutationSpec", "mlp_spec", "resnet_spec", "densenet_spec", "permutation_spec",
           "match_weights", "permute", "NetworkSymmetry", "network_symmetry"]

Tensors = Mapping[str, np.ndarray]


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
                    raise LandscapeError(f"weight matching permutes {s.name!r}, which is not a coordinate "
                                         f"(a frozen parameter?); permuting it would change the function")
                shape = shapes[s.name]
                if not 0 <= s.axis < len(shape):
                    raise LandscapeError(f"group {g.name}: {s.name} has no axis {s.axis}")
                pos = s.positions(shape)
                if len(pos) != g.size or (len(pos) and (pos.min() < 0 or pos.max() >= shape[s.axis])):
                    raise LandscapeError(f"group {g.name}: {len(pos)} positions on axis {s.axis} of {s.name} "
                                         f"{shape}, the group has {g.size} units")
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

_ELEMENTWISE = (nn.Tanh, nn.ReLU, nn.Sigmoid, nn.GELU, nn.Identity, nn.Dropout, nn.LeakyReLU, nn.ELU, nn.SiLU,
                nn.Softplus, nn.Flatten)


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
            raise LandscapeError(f"weight matching of a Sequential knows Linear, BatchNorm1d and elementwise "
                                 f"activations, not {type(m).__name__} ({name})")
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
            stream.append((f"{name} (stream)", np.r_[0:off, off + c_in:c_out]))
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
            raise LandscapeError(f"weight matching of a DenseNet knows dense layers and transitions, "
                                 f"not {type(m).__name__} ({name})")
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
    raise LandscapeError(f"weight matching knows MLPs (Sequential), CIFAR ResNets and DenseNets, not "
                         f"{type(module).__name__}; build a PermutationSpec for it")


# --- matching --------------------------------------------------------------------------


def _rows(t: np.ndarray, slot: Slot) -> np.ndarray:
    """The slot's units as rows (units, everything else)."""
    pos = slot.positions(t.shape)
    return np.moveaxis(t, slot.axis, 0)[pos].reshape(len(pos), -1)


def _permute_slot(t: np.ndarray, slot: Slot, perm: np.ndarray) -> None:
    """In place: unit i of the slot becomes what unit perm[i] was."""
    pos = slot.positions(t.shape)
    view = np.moveaxis(t, slot.axis, 0)
    view[pos] = view[pos[perm]]


def _permute_all(spec: PermutationSpec, perms: Mapping[str, np.ndarray], tensors: Mapping[str, np.ndarray]) -> None:
    """In place: each group's permutation on all its slots (missing groups: identity)."""
    for g in spec.groups:
        if g.name in perms:
            for s in g.slots:
                _permute_slot(tensors[s.name], s, np.asarray(perms[g.name]))


def permute(spec: PermutationSpec, perms: Mapping[str, np.ndarray], tensors: Tensors) -> dict[str, np.ndarray]:
    """Copies of `tensors` with each group's permutation applied (missing groups: identity)."""
    out = {k: np.array(v, copy=True) for k, v in tensors.items()}
    _permute_all(spec, perms, out)
    return out


def match_weights(spec: PermutationSpec, reference: Tensors, other: Tensors, *, seed: int = 0,
                  max_iter: int = 100) -> dict[str, np.ndarray]:
    """Per group, the permutation that brings `other` closest to `reference` (Git Re-Basin's
    weight matching): coordinate descent over the groups in a seeded random order, each
    solved exactly as a linear assignment, until a sweep changes nothing or `max_iter`
    sweeps.  A group moves only when its objective rises strictly (ties keep the identity,
    so dead units never cycle)."""
    from scipy.optimize import linear_sum_assignment

    current = {s.name: np.array(other[s.name], dtype=np.float64) for g in spec.groups for s in g.slots}
    fixed = [[_rows(np.asarray(reference[s.name], dtype=np.float64), s) for s in g.slots] for g in spec.groups]
    perms = {g.name: np.arange(g.size) for g in spec.groups}
    rng = np.random.default_rng(seed)
    for _ in range(max_iter):
        changed = False
        for k in rng.permutation(len(spec.groups)):
            g = spec.groups[k]
            cost = np.zeros((g.size, g.size))
            for s, ref in zip(g.slots, fixed[k]):
                cost += ref @ _rows(current[s.name], s).T
            _, cols = linear_sum_assignment(cost, maximize=True)
            gain = cost[np.arange(g.size), cols].sum() - np.trace(cost)
            if gain <= 1e-12 * max(np.abs(cost).sum(), 1e-300):
                continue
            for s in g.slots:
                _permute_slot(current[s.name], s, cols)
            perms[g.name] = perms[g.name][cols]
            changed = True
        if not changed:
            break
    return perms


# --- the symmetry ------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSymmetry(Symmetry):
    """Hidden-unit permutations of a network whose flat parameter vector holds the
    tensors `names` of `shapes` in order (`params.ParamSpec`); `spec` says what each group
    permutes.  Points may be numpy arrays or tensors; `align` returns numpy float64.

    Only parameters move: buffers (BatchNorm running statistics) are not coordinates,
    and the network potential's energies use batch statistics, so they stay invariant.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    spec: PermutationSpec
    seed: int = 0
    max_iter: int = 100

    def __post_init__(self) -> None:
        self.spec.check(dict(zip(self.names, self.shapes)))

    @property
    def dim(self) -> int:
        return int(sum(int(np.prod(s)) for s in self.shapes))

    def tensors(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """name -> views of the flat vector `flat` (dim,)."""
        if flat.shape != (self.dim,):
            raise LandscapeError(f"expected a flat parameter vector of shape ({self.dim},), got {flat.shape}")
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape))
            out[name] = flat[start:start + size].reshape(shape)
            start += size
        return out

    def permutations(self, reference: Any, x: Any) -> dict[str, np.ndarray]:
        """Per group, the permutation of x's units that `align` applies."""
        ref, y = (np.asarray(to_numpy(v), dtype=np.float64).reshape(-1) for v in (reference, x))
        return match_weights(self.spec, self.tensors(ref), self.tensors(y), seed=self.seed, max_iter=self.max_iter)

    def apply(self, perms: Mapping[str, np.ndarray], x: Any) -> np.ndarray:
        """x (dim,) with the groups' permutations applied: the same function."""
        out = np.array(to_numpy(x), dtype=np.float64).reshape(-1)
        _permute_all(self.spec, perms, self.tensors(out))  # views: writes go into `out`
        return out

    def align(self, reference: Any, x: Any) -> np.ndarray:
        return self.apply(self.permutations(reference, x), x)

    def distance(self, a: Any, b: Any) -> float:
        a = np.asarray(to_numpy(a), dtype=np.float64).reshape(-1)
        return float(np.linalg.norm(a - self.align(a, b)))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "method": "weight matching (Ainsworth et al. 2023)",
                "groups": len(self.spec.groups), "units": sum(g.size for g in self.spec.groups),
                "seed": self.seed, "max_iter": self.max_iter}


def network_symmetry(potential: Any, *, seed: int = 0, max_iter: int = 100) -> NetworkSymmetry:
    """The weight-matching symmetry of a `NetworkPotential` (its module and coordinates)."""
    spec = permutation_spec(potential.module)
    return NetworkSymmetry(tuple(potential.spec.names), tuple(tuple(s) for s in potential.spec.shapes), spec,
                           seed=seed, max_iter=max_iter)
