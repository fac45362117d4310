"""Minima of a potential from seeded random starts: local minimisation and de-duplication.

`find_minima` draws starting points (uniform in a box, or Gaussian around given points),
minimises each with scipy's L-BFGS-B on the analytic gradient, keeps the points that
converged to a minimum (a gradient small for the energy's scale, `quench_converged`; positive
Hessian in low dimension), merges
points that are the same minimum (close in coordinates *and* in energy), and returns
them sorted by energy as "m0" (the lowest), "m1", ...

Meant for analytic surfaces and other cheap potentials, where one point per call is
fine; network minima come from training (plugins), not from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from landscape.analysis.hessian import certify, minimum_problems
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import require_memory
from landscape.foundations.values import seeded
from landscape.optimizers.quench import Quench, local_minimum, quench_converged
from landscape.potentials.potential import Potential
from landscape.potentials.symmetry import distance

__all__ = ["Minima", "Quench", "local_minimum", "find_minima", "random_starts", "is_minimum", "quench_converged"]

_HESSIAN_MAX_DIM = 120  # finite-difference Hessian checks cost 2 * dim gradients (one batched call up to dim 128)


class Minima(NamedTuple):
    """Minima sorted by energy: coords (m, dim), energies (m,), names "m0", "m1", ..."""

    coords: np.ndarray
    energies: np.ndarray
    names: list[str]


def _box(potential: Potential, bounds: Any) -> np.ndarray | None:
    """Bounds as a (dim, 2) array, or None when neither given nor known."""
    box = bounds if bounds is not None else potential.bounds
    if box is None:
        return None
    b = np.asarray(box, dtype=np.float64)
    if b.shape != (potential.dim, 2) or not np.all(np.isfinite(b)) or np.any(b[:, 0] >= b[:, 1]):
        if bounds is None:  # the potential's own 2D box does not fit (e.g. an embedding)
            return None
        raise LandscapeError(f"bounds must be {potential.dim} finite (low, high) pairs with low < high")
    return b


def random_starts(
    potential: Potential, n: int, *, seed: int = 0, bounds: Any = None, around: Any = None, scale: float = 0.1
) -> np.ndarray:
    """`n` seeded starting points (n, dim).

    Around `around` (k, dim) points, cycled, with Gaussian noise of standard deviation
    `scale`, when given; else uniform in `bounds` (default: the potential's box); else
    around the potential's known minima.
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise LandscapeError(f"the number of starts must be a positive integer, got {n!r}")
    if not scale > 0:
        raise LandscapeError(f"scale must be positive, got {scale}")
    rng = seeded(seed)
    box = _box(potential, bounds)
    if around is None and box is None and potential.minima:
        around = np.stack([np.asarray(to_numpy(v), dtype=np.float64) for v in potential.minima.values()])
    if around is not None:
        centres = np.atleast_2d(np.asarray(to_numpy(around), dtype=np.float64))
        if (
            centres.ndim != 2
            or centres.shape[1] != potential.dim
            or centres.shape[0] == 0
            or not np.all(np.isfinite(centres))
        ):
            raise LandscapeError(f"points to start around must be finite with shape (k, {potential.dim})")
        return centres[np.arange(n) % len(centres)] + scale * rng.standard_normal((n, potential.dim))
    if box is None:
        raise LandscapeError(f"{potential.name} has no bounds: give bounds or points to start around")
    return box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random((n, potential.dim))


def is_minimum(potential: Potential, point: Any) -> bool:
    """Whether the Hessian at `point` is positive definite beyond the zero modes of the
    potential's continuous symmetry (six for a cluster in space): no negative
    eigenvalue, and no more near-zero ones than the symmetry explains (a flat direction
    otherwise: a detached atom, a plateau).  `landscape.analysis.hessian.minimum_problems`."""
    return not minimum_problems(certify(potential, point))


def _deduplicate(potential: Potential, points: np.ndarray, energies: np.ndarray, xtol: float, etol: float) -> list[int]:
    """Indices of distinct minima, lowest energy first: a point is a duplicate of a kept
    one when their energies differ by at most `etol` and it is within `xtol` of it
    (modulo the potential's symmetry: `landscape.potentials.symmetry.distance`)."""
    kept: list[int] = []
    for k in np.argsort(energies, kind="stable"):
        if not any(
            abs(energies[k] - energies[q]) <= etol and distance(potential, points[q], points[k]) <= xtol for q in kept
        ):
            kept.append(int(k))
    return kept


def find_minima(
    potential: Potential,
    n: int = 64,
    *,
    seed: int = 0,
    bounds: Any = None,
    around: Any = None,
    scale: float = 0.1,
    starts: Any = None,
    gtol: float = 1e-8,
    maxiter: int = 2000,
    xtol: float = 1e-4,
    etol: float = 1e-7,
    check_hessian: bool | None = None,
    progress: bool = False,
) -> Minima:
    """Distinct local minima reached from `n` seeded starts, sorted by energy.

    Args:
        n, seed, bounds, around, scale: the starts, see :func:`random_starts`; or give
            `starts` (k, dim) directly.
        gtol, maxiter: L-BFGS-B settings; a point counts as converged when its gradient
            norm is at most ``max(100 * gtol, 1e-6 * sqrt(max(1, |E|)))`` (:func:`quench_converged`:
            the float64 floor grows with the energy's scale).
        xtol, etol: two points are one minimum when closer than `xtol` (modulo the
            potential's symmetry, `landscape.potentials.symmetry`) with energies within `etol`
            (both must hold, so distinct minima at equal energy stay apart).
        check_hessian: reject saddles and maxima by a finite-difference Hessian; default
            on for dim <= 120.
        progress: a progress bar over the starts on stderr.

    Raises:
        LandscapeError: bad arguments, or no start converged to a minimum.
    """
    if starts is None:
        # the starts, the converged points and L-BFGS-B's memory of 10 steps per start
        require_memory(
            f"{n} starts in {potential.dim} dimensions", float(n) * potential.dim * 8 * 24, "use fewer starts"
        )
        starts = random_starts(potential, n, seed=seed, bounds=bounds, around=around, scale=scale)
    starts = np.asarray(to_numpy(starts), dtype=np.float64)
    if starts.ndim != 2 or starts.shape[1] != potential.dim or starts.shape[0] == 0:
        raise LandscapeError(f"starts must have shape (k, {potential.dim}), got {starts.shape}")
    check = potential.dim <= _HESSIAN_MAX_DIM if check_hessian is None else check_hessian
    points, energies = _converged(potential, starts, gtol, maxiter, progress)
    keep = _deduplicate(potential, np.stack(points), np.asarray(energies), xtol, etol) if points else []
    if check:  # once per distinct point, not per start: 2 dim gradients each
        keep = [k for k in keep if is_minimum(potential, points[k])]
    if not keep:
        raise LandscapeError(f"none of the {len(starts)} starts converged to a minimum of {potential.name}")
    return Minima(
        np.stack([points[k] for k in keep]),
        np.asarray([energies[k] for k in keep]),
        [f"m{i}" for i in range(len(keep))],
    )


def _converged(
    potential: Potential, starts: Sequence[np.ndarray], gtol: float, maxiter: int, progress: bool = False
) -> tuple[list[np.ndarray], list[float]]:
    points, energies = [], []
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, unit="start", desc="minima", leave=False, dynamic_ncols=True)
    for start in starts:
        p, e, gnorm, _ = local_minimum(potential, start, gtol, maxiter)
        if np.all(np.isfinite(p)) and quench_converged(gnorm, e, gtol):
            points.append(p)
            energies.append(e)
    return points, energies
