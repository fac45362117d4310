"""Lennard-Jones clusters, many configurations at once (numpy).

E = 4 eps sum_{i<j} [(sigma/r_ij)^12 - (sigma/r_ij)^6], in reduced units by default
(eps = sigma = 1), the convention of the Cambridge Cluster Database.  A point is the
3N Cartesian coordinates (x1, y1, z1, x2, ...).  The energy is invariant under
translation, rotation, inversion and relabelling of the atoms: `symmetry` aligns
structures modulo all four, and every stationary point has six zero Hessian modes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import require_memory
from landscape.potentials.potential import Potential, as_batch

from .alignment import ClusterSymmetry

__all__ = ["LennardJones", "icosahedron_13", "truncated_octahedron_38", "PAIR_DISTANCE"]

#: Separation of the pair minimum, 2^(1/6) sigma.
PAIR_DISTANCE = 2.0 ** (1.0 / 6.0)


class LennardJones(Potential):
    """A cluster of `atoms` identical Lennard-Jones atoms.

    `bounds` is a cube holding the atoms at about the density of the compact minima
    (random starts for `landscape minima` are drawn in it); `inversion` says whether
    mirror images count as one structure (they do in the cluster databases).
    Force tolerances bound the force on each atom, as ASE's fmax does.
    """

    stochastic = False
    particle_dim = 3

    def __init__(self, atoms: int, epsilon: float = 1.0, sigma: float = 1.0, inversion: bool = True):
        if isinstance(atoms, bool) or int(atoms) != atoms or atoms < 2:
            raise LandscapeError(f"a Lennard-Jones cluster needs at least 2 atoms, got {atoms!r}")
        if not (epsilon > 0 and sigma > 0 and np.isfinite(epsilon) and np.isfinite(sigma)):
            raise LandscapeError(f"epsilon and sigma must be positive and finite, got {epsilon}, {sigma}")
        # One point's evaluation holds about six (atoms, atoms, 3) float64 arrays (pair vectors, their
        # squares, the products of the gradient): refuse a cluster whose single evaluation cannot fit.
        require_memory(
            f"a Lennard-Jones cluster of {int(atoms)} atoms", 6.0 * 8 * 3 * float(atoms) ** 2, hint="use fewer atoms"
        )
        self.atoms, self.epsilon, self.sigma = int(atoms), float(epsilon), float(sigma)
        self.dim = 3 * self.atoms
        self.name = f"lj{self.atoms}"
        self.symmetry = ClusterSymmetry(self.atoms, inversion=inversion)
        half = 0.5 * sigma * (1.2 * self.atoms) ** (1.0 / 3.0)  # ~ the compact cluster's extent
        self.bounds = ((-half, half),) * self.dim

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(as_batch(x, self.dim), dtype=np.float64)
        pos = x.reshape(len(x), self.atoms, 3)
        diff = pos[:, :, None, :] - pos[:, None, :, :]  # (n, N, N, 3), r_i - r_j
        r2 = (diff**2).sum(-1)
        r2[:, np.arange(self.atoms), np.arange(self.atoms)] = np.inf  # no self-interaction
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            s6 = (self.sigma**2 / r2) ** 3
            energy = 2.0 * self.epsilon * (s6 * s6 - s6).sum(axis=(1, 2))  # each pair counted twice
            # dE/dr_i = sum_j 4 eps (-12 s12 + 6 s6) / r^2 (r_i - r_j)
            coeff = 4.0 * self.epsilon * (6.0 * s6 - 12.0 * s6 * s6) / r2
            grad = (coeff[..., None] * diff).sum(axis=2)
        return energy, grad.reshape(len(x), self.dim)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "atoms": self.atoms,
            "epsilon": self.epsilon,
            "sigma": self.sigma,
            "symmetry": self.symmetry.describe(),
        }

    def __repr__(self) -> str:
        return f"LennardJones(atoms={self.atoms})"


def icosahedron_13(spacing: float = PAIR_DISTANCE) -> np.ndarray:
    """The 13-atom Mackay icosahedron, LJ13's global minimum before relaxation: a centre
    and the 12 vertices of an icosahedron at `spacing` from it.  Returns (39,) coordinates."""
    phi = (1.0 + np.sqrt(5.0)) / 2.0
    v = [(0, s1, s2 * phi) for s1 in (-1, 1) for s2 in (-1, 1)]
    vertices = np.array([p[k:] + p[:k] for p in v for k in range(3)], dtype=np.float64)  # cyclic permutations
    vertices *= spacing / np.linalg.norm(vertices[0])
    return np.vstack([np.zeros(3), vertices]).reshape(-1)


def truncated_octahedron_38(spacing: float = PAIR_DISTANCE) -> np.ndarray:
    """The 38-atom fcc truncated octahedron, LJ38's global minimum before relaxation:
    the fcc sites in the first three shells around an octahedral hole (6 + 8 + 24
    atoms), nearest neighbours `spacing` apart.  Returns (114,) coordinates."""
    grid = np.array(
        [(a, b, c) for a in range(-3, 5) for b in range(-3, 4) for c in range(-3, 4) if (a + b + c) % 2 == 0],
        dtype=np.float64,
    )
    rel = grid - np.array([1.0, 0.0, 0.0])  # the hole at (1, 0, 0): an odd lattice point
    d2 = np.round((rel**2).sum(1)).astype(int)
    sites = rel[np.isin(d2, (1, 3, 5))]
    if len(sites) != 38:  # the three shells of an octahedral hole hold 6, 8 and 24 sites
        raise AssertionError(f"expected 38 sites, found {len(sites)}")
    return (sites * spacing / np.sqrt(2.0)).reshape(-1)
