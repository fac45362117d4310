"""Weight matching (Ainsworth et al. 2023, "Git Re-Basin"): permute one network's hidden
units so that its weights best match another's.

Relabelling the hidden units of a layer (the rows of its weight, its bias and BatchNorm
parameters, and with them the matching columns of the next layer's weight) leaves the
network's function unchanged.  Two minima that differ only by such a relabelling are one
state, and the straight line between them crosses a barrier that says nothing about the
landscape.  `NetworkSymmetry` makes this a `landscape.potentials.symmetry.Symmetry`: `align(a, b)`
returns b relabelled to lie as close to a as coordinate descent finds.

A `PermutationSpec` says which parameter axes each group of units permutes (`Slot`s).
Matching maximises sum over parameters of <reference, permuted other>, equivalently
minimises |reference - permuted other| (permutations keep norms): one group at a time,
in a seeded random order, the cost matrix of that group is a sum of inner products over
the axes it does not permute, solved exactly by `linear_sum_assignment`; sweeps repeat
until no group changes.  Each step can only raise the objective, so the result is never
farther than the identity; on a true relabelling of the reference the distance is 0.

Specs (`permspec`) exist for the MLPs, the CIFAR ResNets and the CIFAR DenseNets of
this project.  Sign flips of odd activations (tanh)
and rescalings of ReLU units are symmetries too, but not permutations: not matched here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.potentials.symmetry import Symmetry

from .permspec import Group, PermutationSpec, Slot, densenet_spec, mlp_spec, permutation_spec, resnet_spec  # noqa: F401

__all__ = [
    "Slot",
    "Group",
    "PermutationSpec",
    "mlp_spec",
    "resnet_spec",
    "densenet_spec",
    "permutation_spec",
    "match_weights",
    "NetworkSymmetry",
    "network_symmetry",
]

Tensors = Mapping[str, np.ndarray]


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


def match_weights(
    spec: PermutationSpec, reference: Tensors, other: Tensors, *, seed: int = 0, max_iter: int = 100
) -> dict[str, np.ndarray]:
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
            out[name] = flat[start : start + size].reshape(shape)
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

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "method": "weight matching (Ainsworth et al. 2023)",
            "groups": len(self.spec.groups),
            "units": sum(g.size for g in self.spec.groups),
            "seed": self.seed,
            "max_iter": self.max_iter,
        }


def network_symmetry(potential: Any, *, seed: int = 0, max_iter: int = 100) -> NetworkSymmetry:
    """The weight-matching symmetry of a `NetworkPotential` (its module and coordinates)."""
    spec = permutation_spec(potential.module)
    return NetworkSymmetry(
        tuple(potential.spec.names), tuple(tuple(s) for s in potential.spec.shapes), spec, seed=seed, max_iter=max_iter
    )
