"""Symmetries of a potential: points that are one state, and the distance between states.

Two minima of a network that differ by a permutation of hidden units compute the same
function; two cluster geometries that differ by a rotation, a translation or a
relabelling of identical atoms are one structure.  A potential whose energy is
invariant under such a group says so with a `Symmetry` (its `symmetry` attribute;
None, the default, costs nothing): `align(reference, x)` returns the image of `x`
under the group that lies closest to `reference`, and the distance between two states
is the distance between one and the other's aligned image.

Minima de-duplication, exploration (distances between minima, and never a run between
two images of one minimum) and `connect --align` use the functions below, which fall
back to plain Euclidean geometry when a potential has no symmetry.

Alignment is a best-effort minimisation over a discrete-and-continuous group: exact
(distance 0) on true images of a point, an upper bound on the least distance otherwise.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import check_point

__all__ = [
    "Symmetry",
    "symmetry_of",
    "align",
    "distance",
    "distance_matrix",
    "images",
    "line_energies",
    "compare_lines",
]


class Symmetry(ABC):
    """A group of transformations of R^dim that leave a potential's energy unchanged.

    `zero_modes`: the number of Hessian eigenvalues that vanish at every stationary
    point because the group is continuous (6 for a cluster in space: 3 translations
    and 3 rotations); saddle certificates and minimum checks discount them.
    """

    zero_modes: int = 0

    @abstractmethod
    def align(self, reference: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The image of `x` (dim,) under the group closest to `reference` (dim,)."""

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Distance between the states of `a` and `b`: |a - align(a, b)|."""
        return float(np.linalg.norm(a - self.align(a, b)))

    def describe(self) -> dict[str, Any]:
        """A JSON-able description recorded with results that used the alignment."""
        return {"class": type(self).__qualname__, "zero_modes": self.zero_modes}


def symmetry_of(potential: Any) -> Symmetry | None:
    """The potential's symmetry, or None (also for objects without the attribute)."""
    sym = getattr(potential, "symmetry", None)
    if sym is not None and not isinstance(sym, Symmetry):
        raise LandscapeError(
            f"{getattr(potential, 'name', 'the potential')}.symmetry must be a "
            f"landscape.potentials.symmetry.Symmetry, got {type(sym).__name__}"
        )
    return sym


def _point(potential: Any, x: Any, label: str) -> np.ndarray:
    return check_point(potential, x, label)


def align(potential: Any, reference: Any, x: Any) -> np.ndarray:
    """`x` moved onto its image closest to `reference` (`x` itself without a symmetry);
    the aligned point has the same energy by the symmetry's contract."""
    return _aligned(potential, _point(potential, reference, "reference"), _point(potential, x, "moved"))


def _aligned(potential: Any, ref: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`align` on points already checked."""
    sym = symmetry_of(potential)
    if sym is None:
        return v
    out = np.asarray(sym.align(ref, v), dtype=np.float64).reshape(-1)
    if out.shape != v.shape or not np.all(np.isfinite(out)):
        raise LandscapeError(
            f"the symmetry of {potential.name} returned a point of shape {out.shape} or non-finite values when aligning"
        )
    return out


def distance(potential: Any, a: Any, b: Any) -> float:
    """Distance between the states of `a` and `b` (Euclidean without a symmetry)."""
    u, v = _point(potential, a, "first"), _point(potential, b, "second")
    sym = symmetry_of(potential)
    return float(np.linalg.norm(u - v)) if sym is None else float(sym.distance(u, v))


def distance_matrix(potential: Any, points: Any) -> np.ndarray:
    """(m, m) symmetric distances between the states of `points` (m, dim); Euclidean
    for a potential without a symmetry (or None), from the Gram matrix: no (m, m, dim)
    intermediate for network-sized points."""
    p = np.asarray(to_numpy(points), dtype=np.float64)
    if symmetry_of(potential) is None:
        sq = np.einsum("ij,ij->i", p, p)
        return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * p @ p.T, 0.0))
    sym = symmetry_of(potential)
    rows = [_point(potential, x, f"point {k}") for k, x in enumerate(p)]  # each checked once, not per pair
    d = np.zeros((len(rows), len(rows)))
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            d[i, j] = d[j, i] = float(sym.distance(rows[i], rows[j]))
    return d


def images(potential: Any, points: Any, tol: float, distances: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of `points` that are images of one state (distance <= tol);
    `distances` when the caller has `distance_matrix(potential, points)` already."""
    d = distance_matrix(potential, points) if distances is None else distances
    m = len(d)
    return [(i, j) for i in range(m) for j in range(i + 1, m) if d[i, j] <= tol]


def line_energies(potential: Any, a: Any, b: Any, points: int = 51, chunk: int = 16) -> np.ndarray:
    """Energies at `points` evenly spaced points of the straight line from a to b, ends
    included, evaluated `chunk` points at a time (network losses are heavy)."""
    if isinstance(points, bool) or int(points) != points or points < 2:
        raise LandscapeError(f"a straight line needs at least 2 points, got {points!r}")
    u, v = _point(potential, a, "first"), _point(potential, b, "second")
    t = np.linspace(0.0, 1.0, int(points))[:, None]
    line = (1 - t) * u + t * v
    parts = [
        np.asarray(to_numpy(potential.energy(potential.asarray(line[k : k + chunk]))), dtype=np.float64)
        for k in range(0, len(line), chunk)
    ]
    return np.concatenate(parts)


def compare_lines(potential: Any, a: Any, b: Any, points: int = 51) -> dict[str, float]:
    """The straight line from a to b against the one from a to b's aligned image: their
    lengths and barriers (highest energy on the line minus the higher end).  With a
    symmetry, the aligned line is the cheap baseline a path between two minima has to
    beat (weight matching makes it low for wide networks)."""
    u, v = _point(potential, a, "first"), _point(potential, b, "second")
    moved = _aligned(potential, u, v)
    plain, aligned = line_energies(potential, u, v, points), line_energies(potential, u, moved, points)
    return {
        "distance": float(np.linalg.norm(v - u)),
        "aligned_distance": float(np.linalg.norm(moved - u)),
        "line_barrier": float(plain.max() - max(plain[0], plain[-1])),
        "aligned_line_barrier": float(aligned.max() - max(aligned[0], aligned[-1])),
        "line_max": float(plain.max()),
        "aligned_line_max": float(aligned.max()),
    }
