"""Align one atomic structure onto another: translation, rotation (and inversion) by
Kabsch's method, relabelling of identical atoms by the Hungarian method.

The two problems are coupled: the best rotation depends on which atom matches which,
and the best matching on the rotation.  Starting rotations come from matching a frame
of two reference atoms (the one farthest from the centroid and the one most
perpendicular to it) with pairs of atoms in the other structure at the same radii and
angle, so a true image is recovered exactly; from each start, Kabsch and Hungarian
steps alternate until the matching stops changing.  For two different structures the
result is the best of those starts: an upper bound on the least distance, as in the
cluster codes of the field (pele, GMIN/OPTIM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.potentials.symmetry import Symmetry

__all__ = ["kabsch", "assign", "align_structures", "ClusterSymmetry"]

_MAX_STARTS = 64  # frame matches tried, best first
_MAX_REFINE = 50  # Kabsch/Hungarian alternations per start


def kabsch(reference: np.ndarray, x: np.ndarray, inversion: bool = False) -> np.ndarray:
    """The orthogonal 3x3 R minimising |reference - x @ R.T| for centred (N, 3) arrays;
    a proper rotation unless `inversion` allows det(R) = -1."""
    u, _, vt = np.linalg.svd(reference.T @ x)
    if not inversion and np.linalg.det(u @ vt) < 0:
        u = u.copy()
        u[:, -1] = -u[:, -1]
    return u @ vt


def assign(
    reference: np.ndarray, x: np.ndarray, species: np.ndarray, wrap: Callable[[np.ndarray], np.ndarray] | None = None
) -> np.ndarray:
    """perm such that x[perm] matches `reference` atom by atom with the least squared
    distance, atoms relabelled only within one species; `wrap` maps the differences
    first (minimum-image ones in a periodic cell)."""
    from scipy.optimize import linear_sum_assignment

    perm = np.arange(len(x))
    for s in np.unique(species):
        idx = np.flatnonzero(species == s)
        diff = reference[idx, None, :] - x[None, idx, :]
        cost = ((diff if wrap is None else wrap(diff)) ** 2).sum(-1)
        rows, cols = linear_sum_assignment(cost)
        perm[idx[rows]] = idx[cols]
    return perm


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanned by a, then b, then a x b."""
    e1 = a / np.linalg.norm(a)
    e2 = b - (b @ e1) * e1
    e2 /= np.linalg.norm(e2)
    return np.stack([e1, e2, np.cross(e1, e2)])


def _starts(reference: np.ndarray, x: np.ndarray, species: np.ndarray, inversion: bool) -> list[np.ndarray]:
    """Candidate rotations: the identity, then frame matches ordered by mismatch."""
    radii_r, radii_x = np.linalg.norm(reference, axis=1), np.linalg.norm(x, axis=1)
    i = int(np.argmax(radii_r))
    if radii_r[i] < 1e-12:
        return [np.eye(3)]
    cross = np.linalg.norm(np.cross(reference[i], reference), axis=1)
    j = int(np.argmax(cross))
    if cross[j] <= 1e-9 * radii_r[i] ** 2:  # collinear structure: one axis, no frame
        return [np.eye(3)]
    dot = reference[i] @ reference[j]
    k_ok = np.flatnonzero(species == species[i])
    l_ok = np.flatnonzero(species == species[j])
    xd = x[k_ok] @ x[l_ok].T
    mismatch = (
        np.abs(radii_x[k_ok] - radii_r[i])[:, None]
        + np.abs(radii_x[l_ok] - radii_r[j])[None, :]
        + np.abs(xd - dot) / max(radii_r[i], 1e-12)
    )
    mismatch[k_ok[:, None] == l_ok[None, :]] = np.inf
    order = np.argsort(mismatch, axis=None)[:_MAX_STARTS]
    f_ref = _frame(reference[i], reference[j])
    out = [np.eye(3)]
    for flat in order:
        a, b = np.unravel_index(flat, mismatch.shape)
        if not np.isfinite(mismatch[a, b]):
            break
        cx = np.cross(x[k_ok[a]], x[l_ok[b]])
        if np.linalg.norm(cx) <= 1e-9 * max(radii_x[k_ok[a]] ** 2, 1e-300):
            continue
        f_x = _frame(x[k_ok[a]], x[l_ok[b]])
        out.append(f_ref.T @ f_x)
        if inversion:
            mirror = f_x.copy()
            mirror[2] = -mirror[2]
            out.append(f_ref.T @ mirror)
    return out


def _refine(
    reference: np.ndarray, x: np.ndarray, rotation: np.ndarray, species: np.ndarray, inversion: bool
) -> tuple[float, np.ndarray]:
    """Alternate Hungarian and Kabsch from `rotation`: (squared distance, aligned x)."""
    perm = None
    for _ in range(_MAX_REFINE):
        new = assign(reference, x @ rotation.T, species)
        if perm is not None and np.array_equal(perm, new):
            break
        perm = new
        rotation = kabsch(reference, x[perm], inversion)
    aligned = x[perm] @ rotation.T
    return float(((reference - aligned) ** 2).sum()), aligned


def align_structures(
    reference: np.ndarray,
    x: np.ndarray,
    species: np.ndarray | None = None,
    *,
    rotations: bool = True,
    inversion: bool = True,
) -> np.ndarray:
    """`x` (N, 3) translated, rotated (reflected when `inversion`) and relabelled within
    species onto `reference` (N, 3).  Without `rotations` only relabelling (for a slab
    or anything fixed in space)."""
    species = np.zeros(len(x), dtype=int) if species is None else np.asarray(species)
    if not rotations:
        return x[assign(reference, x, species)]
    c_ref, c_x = reference.mean(axis=0), x.mean(axis=0)
    r, y = reference - c_ref, x - c_x
    scale = max(float(np.abs(r).max()), 1e-12)
    best = (np.inf, y)
    for rotation in _starts(r, y, species, inversion):
        d2, aligned = _refine(r, y, rotation, species, inversion)
        if d2 < best[0]:
            best = (d2, aligned)
        if best[0] <= (1e-10 * scale) ** 2 * len(x):
            break
    return best[1] + c_ref


@dataclass(frozen=True)
class ClusterSymmetry(Symmetry):
    """Points are N atoms' Cartesian coordinates (x1, y1, z1, x2, ...); the energy is
    invariant under translation, rotation, inversion (when `inversion`) and
    relabelling of atoms of one species."""

    atoms: int
    species: tuple[int, ...] | None = None
    rotations: bool = True
    inversion: bool = True
    _labels: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels = np.zeros(self.atoms, dtype=int) if self.species is None else np.asarray(self.species)
        object.__setattr__(self, "_labels", labels)

    @property
    def zero_modes(self) -> int:  # type: ignore[override]
        if not self.rotations:
            return 0
        return 6 if self.atoms > 2 else 5

    def align(self, reference: np.ndarray, x: np.ndarray) -> np.ndarray:
        ref, y = reference.reshape(self.atoms, 3), x.reshape(self.atoms, 3)
        out = align_structures(ref, y, self._labels, rotations=self.rotations, inversion=self.inversion)
        return out.reshape(-1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "atoms": self.atoms, "rotations": self.rotations, "inversion": self.inversion}
