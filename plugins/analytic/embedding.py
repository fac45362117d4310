"""Embed a 2D surface in D dimensions by a seeded random rotation.

With Q a random orthogonal D x D matrix and y = Q^T x,
V(x) = base(y[:2]) + stiffness/2 * |y[2:]|^2.  The surface keeps every minimum and
saddle of the base (mapped to x = Q [p, 0]) with the same energies, adds D-2 stiff
harmonic directions, and hides the plane from any coordinate-aligned method.

Only the first two columns of Q enter V (|y[2:]|^2 = |x|^2 - |y[:2]|^2), so only
they are stored: a (D, 2) orthonormal `basis`, the Q factor of a seeded Gaussian
(D, 2) matrix, which is the first two columns of the Q factor of a Gaussian D x D
matrix.  This keeps D = 10^5 and beyond cheap; `rotation()` completes it on demand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import require_memory
from landscape.potentials.potential import Potential, as_batch

__all__ = ["Embedded", "random_plane"]


def random_plane(dim: int, seed: int) -> np.ndarray:
    """A seeded orthonormal (dim, 2) basis: QR of a Gaussian, signs fixed by diag(R) > 0."""
    g = np.random.default_rng(seed).standard_normal((dim, 2))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diag(r))


class Embedded(Potential):
    """`base` (2D) embedded in `dim` dimensions; exact gradients; numpy float64."""

    def __init__(self, base: Potential, dim: int, seed: int, stiffness: float = 1.0):
        if int(getattr(base, "dim", -1)) != 2:
            raise LandscapeError(f"only 2D surfaces can be embedded, got dim={getattr(base, 'dim', None)}")
        if int(dim) < 2:
            raise LandscapeError(f"embedding dimension must be at least 2, got {dim}")
        if not float(stiffness) > 0:
            raise LandscapeError(f"embedding stiffness must be positive, got {stiffness}")
        self.base, self.dim, self.seed, self.stiffness = base, int(dim), int(seed), float(stiffness)
        # the Gaussian draw, its QR factors and the basis: four (dim, 2) float64 arrays
        require_memory(
            f"embedding {base.name} in {self.dim} dimensions", 4.0 * self.dim * 2 * 8, hint="use a smaller dim"
        )
        self.basis = random_plane(self.dim, self.seed)
        self.name = f"{base.name}-{self.dim}d"
        self.minima = {k: self.from_plane(v) for k, v in base.minima.items()}
        self.saddles = {k: self.from_plane(v) for k, v in base.saddles.items()}
        self.reference_energies = dict(getattr(base, "reference_energies", {}))
        # `bounds` is a 2D notion: None here unless dim == 2 in the rotated frame
        self.bounds = None
        self.plane_bounds = base.bounds

    # coordinates ------------------------------------------------------------------
    def to_plane(self, x: Any) -> np.ndarray:
        """Plane coordinates (n, 2) or (2,) of points (n, dim) or (dim,): y[:2] = (Q^T x)[:2]."""
        return np.asarray(x, dtype=np.float64) @ self.basis

    def from_plane(self, p: Any) -> np.ndarray:
        """Points x = Q [p, 0] (n, dim) or (dim,) from plane coordinates (n, 2) or (2,)."""
        return np.asarray(p, dtype=np.float64) @ self.basis.T

    def rotation(self) -> np.ndarray:
        """A full orthogonal (dim, dim) Q whose first two columns are `basis` (D^2 memory)."""
        rest = np.random.default_rng([self.seed, 1]).standard_normal((self.dim, self.dim - 2))
        q, r = np.linalg.qr(np.hstack([self.basis, rest]))
        q = q * np.sign(np.diag(r))
        q[:, :2] = self.basis  # identical up to round-off; keep the stored columns exact
        return q

    # energies -------------------------------------------------------------------------
    def _split(self, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = as_batch(np.asarray(x, dtype=np.float64), self.dim)
        y = x @ self.basis
        off = np.einsum("ij,ij->i", x, x) - np.einsum("ij,ij->i", y, y)
        return x, y, np.maximum(off, 0.0)

    # Overflow far away is the non-finite energy it is (as in the base surfaces).
    def energy(self, x: Any) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            _, y, off = self._split(x)
            return np.asarray(self.base.energy(y)) + 0.5 * self.stiffness * off

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            x, y, off = self._split(x)
            e, g = self.base.energy_and_gradient(y)
            g = np.asarray(g)
            # d/dx of |x_perp|^2 / 2 is x_perp = x - (x Q2) Q2^T
            grad = g @ self.basis.T + self.stiffness * (x - y @ self.basis.T)
            return np.asarray(e) + 0.5 * self.stiffness * off, grad

    def describe(self) -> dict[str, Any]:
        # "name" and "options" are the base plugin's, so that
        # load_potential(d["name"], d["options"]) rebuilds this embedding
        base = self.base.describe()
        options = {**base.get("options", {}), "dim": self.dim, "embed_seed": self.seed, "stiffness": self.stiffness}
        return {
            "name": base["name"],
            "label": self.name,
            "options": options,
            "dim": self.dim,
            "class": type(self).__qualname__,
            "base": base,
            "seed": self.seed,
            "stiffness": self.stiffness,
        }

    def __repr__(self) -> str:
        return f"Embedded({self.base!r}, dim={self.dim}, seed={self.seed}, stiffness={self.stiffness})"
