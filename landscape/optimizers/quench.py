"""One point relaxed to a local minimum: scipy's L-BFGS-B on the potential's gradient
(`local_minimum`), and when such a quench counts as converged (`quench_converged`).

Shared by the minima search (`landscape.analysis.minima`), basin-hopping, the rates'
descent from a saddle and the split of a band at its basin (`landscape.runs.split`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.potentials.potential import Potential

__all__ = ["Quench", "local_minimum", "quench_converged"]

# The gradient norm below which float64 cannot see the energy fall, per sqrt(energy): the
# Newton decrease |g|^2 / (2 lambda) drops under the energy's rounding error eps |E| at
# |g| = sqrt(2 lambda eps |E|), which is at most 1e-6 sqrt(|E|) for curvatures lambda up to
# 1e-12 / (2 eps) = 2,250 (Lennard-Jones clusters: about 250 for LJ7 to 1,100 for LJ38).
_ROUNDING_FLOOR = 1e-6


def _energy_and_gradient(potential: Potential, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e, g = potential.energy_and_gradient(potential.asarray(np.atleast_2d(x)))
    return np.asarray(to_numpy(e), dtype=np.float64), np.asarray(to_numpy(g), dtype=np.float64)


class Quench(NamedTuple):
    """Where one local minimisation ended: the point, its energy and gradient norm, and
    the energy-and-gradient evaluations it made (`quench_converged` judges it)."""

    point: np.ndarray
    energy: float
    gradient_norm: float
    nfev: int


def local_minimum(potential: Potential, start: Any, gtol: float = 1e-8, maxiter: int = 2000) -> Quench:
    """scipy's L-BFGS-B from `start` (one point) on the potential's gradient, on the host."""
    from scipy.optimize import minimize

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        e, g = _energy_and_gradient(potential, p)
        return float(e[0]), g[0]

    with np.errstate(all="ignore"):
        res = minimize(
            fun,
            np.asarray(to_numpy(start), dtype=np.float64),
            jac=True,
            method="L-BFGS-B",
            # ftol 0: stop only when no decrease is representable, not when one step's is small
            options={"gtol": gtol, "ftol": 0.0, "maxiter": maxiter, "maxcor": 20},
        )
    e, g = _energy_and_gradient(potential, res.x)
    return Quench(res.x, float(e[0]), float(np.linalg.norm(g[0])), int(res.nfev) + 1)


def quench_converged(gradient_norm: float, energy: float, gtol: float = 1e-8) -> bool:
    """Whether a local minimisation that ended at `energy` with `gradient_norm` has
    converged: ``gradient_norm <= max(100 * gtol, 1e-6 * sqrt(max(1, |energy|)))``.

    The second term is the scale-aware floor: near a minimum the energy still to gain is
    about |g|^2 / (2 lambda), and once that falls below the energy's rounding error
    (2.2e-16 |E|) no float64 minimiser can go further; the floor is where this happens
    for curvatures up to 2,250 at the energy's own scale.  A Lennard-Jones cluster of 38
    atoms (|E| near 170) stops at gradient norms of 1e-6 to 1e-5 in reduced units and
    passes; a potential of unit scale keeps the limit 1e-6.
    """
    if not (np.isfinite(gradient_norm) and np.isfinite(energy)):
        return False
    return gradient_norm <= max(100 * gtol, _ROUNDING_FLOOR * np.sqrt(max(1.0, abs(energy))))
