"""Are the two ends of a path minima?  Measure, and relax them when they are not.

A minimum energy path joins two minima.  Started from points that are not (a typo in
the coordinates, a minimum of another surface, a half-trained network), a band still
"converges", with a climbing "saddle" that is an endpoint or a point far downhill.
So `connect` checks each end before the band starts: its gradient norm, against the
scale of the surface between the ends (the gradient at the middle of the straight
line, which the band meets anyway).  An end whose gradient is larger than `GTOL`
(1e-2) times that scale is not a minimum: it is relaxed with FIRE, the band's own
stepper, until its gradient is `RELAX_GTOL` (1e-4) times that scale, and the report
says how far it moved and how much energy it lost.  `relax=False` keeps the ends as
given and only reports them.  The loose trigger leaves alone ends that are minima to
the precision they were found with (a trained network's gradient is some 1e-3 of the
gradient between two of them), and catches points that are not minima at all.

Stochastic potentials (mini-batch losses) are reported as not checked: a gradient
from one batch says nothing about the loss's minimum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import namespace, to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.steppers import FIRE
from landscape.potentials.potential import Potential
from landscape.potentials.primed import PrimedPotential

__all__ = ["GTOL", "EndCheck", "check_and_relax"]

#: An end counts as a minimum when its gradient norm is at most this fraction of the
#: gradient norm at the middle of the straight line between the ends.
GTOL = 1e-2
#: A relaxed end is descended until its gradient norm is this fraction of that scale.
RELAX_GTOL = 1e-4
#: Steps a relaxation may take before the end is refused.
MAX_RELAX_STEPS = 5000


@dataclass(frozen=True)
class EndCheck:
    """What the check found at one end (JSON-able through `as_dict`)."""

    label: str
    checked: bool  # False for stochastic potentials
    gradient_norm: float  # at the point given
    tolerance: float  # GTOL x the gradient norm at the middle of the straight line
    relaxed: bool = False  # the point was moved downhill
    moved: float = 0.0  # distance from the given point to the one used
    energy_drop: float = 0.0  # energy given minus energy used
    steps: int = 0
    gradient_norm_after: float | None = None

    @property
    def is_minimum(self) -> bool:
        return not self.checked or self.gradient_norm <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "label"}


def _norms(potential: Potential, points: Any) -> tuple[np.ndarray, np.ndarray, tuple[Any, Any]]:
    """(energies, gradient norms) on the host, and the potential's own (energies, gradients)."""
    energies, gradients = potential.energy_and_gradient(points)
    e, g = np.asarray(to_numpy(energies), dtype=float), np.asarray(to_numpy(gradients), dtype=float)
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(g))):
        raise LandscapeError(
            "the energy or gradient at an endpoint or the middle of the straight line is NaN or infinite"
        )
    return e, np.linalg.norm(g.reshape(len(e), -1), axis=1), (energies, gradients)


def _relax(potential: Potential, x: Any, tol: float, label: str) -> tuple[Any, int, float, tuple[Any, Any]]:
    """Descend from `x` until the gradient norm is at most `tol`: (point, steps, final
    norm, the potential's (energies, gradients) there, one row each)."""
    xp = namespace(x)
    point = xp.reshape(x, (1, -1))
    stepper = FIRE(lr=0.01, dt_max=0.1, max_step=0.05 * max(1.0, float(np.linalg.norm(to_numpy(x)))))
    state = stepper.init(point)
    norm = float("inf")
    for step in range(MAX_RELAX_STEPS + 1):
        e, g = potential.energy_and_gradient(point)
        norm = float(np.linalg.norm(to_numpy(g)))
        if not np.isfinite(norm):
            raise LandscapeError(
                f"relaxing the {label} point reached a NaN or infinite gradient; "
                "pass --no-relax-ends to keep the points as given"
            )
        if norm <= tol:
            return point[0], step, norm, (e, g)
        point, state = stepper.update(point, -g, state)
    raise LandscapeError(
        f"the {label} point is not a minimum (gradient norm {norm:.3g} after {MAX_RELAX_STEPS} "
        f"relaxation steps, tolerance {tol:.3g}); give a minimum, or pass --no-relax-ends"
    )


def check_and_relax(
    potential: Potential, start: Any, end: Any, *, relax: bool = True
) -> tuple[Any, Any, tuple[EndCheck, EndCheck]]:
    """(start, end, checks): the ends to use (relaxed when they are not minima and
    `relax`), and what was measured at each.  A `PrimedPotential` is primed with the
    points evaluated last (both ends as given or relaxed, the straight line's middle),
    so the band's first evaluation on it does not compute again those it starts from."""
    if potential.stochastic:
        unchecked = [EndCheck(label, False, float("nan"), float("nan")) for label in ("start", "end")]
        return start, end, (unchecked[0], unchecked[1])
    xp = namespace(start)
    points = xp.stack([start, end, (start + end) / 2])
    energies, norms, evaluated = _norms(potential, points)
    tol = GTOL * float(norms[2]) if norms[2] > 0 else 1e-10
    ends, checks, relaxed = [], [], []
    for k, (label, x) in enumerate((("start", start), ("end", end))):
        check = EndCheck(label, True, float(norms[k]), tol)
        if relax and not check.is_minimum:
            y, steps, after, (e_y, g_y) = _relax(potential, x, tol * RELAX_GTOL / GTOL, label)
            e_after = float(np.asarray(to_numpy(e_y), dtype=float)[0])
            relaxed.append((xp.reshape(y, (1, -1)), e_y, g_y))
            moved = float(np.linalg.norm(to_numpy(y) - to_numpy(x)))
            check = EndCheck(label, True, float(norms[k]), tol, True, moved, float(energies[k]) - e_after, steps, after)
            x = y
        ends.append(x)
        checks.append(check)
    given = float(np.linalg.norm(to_numpy(end) - to_numpy(start)))
    if float(np.linalg.norm(to_numpy(ends[1]) - to_numpy(ends[0]))) <= 1e-3 * given:
        raise LandscapeError(
            "start and end relax into the same minimum; there is no path between them "
            "(pass --no-relax-ends to keep the points as given)"
        )
    if isinstance(potential, PrimedPotential):  # after the relaxation, which would spend it
        rows = [(points, *evaluated), *relaxed]
        potential.prime(*(xp.concat([row[i] for row in rows]) for i in range(3)))
    return ends[0], ends[1], (checks[0], checks[1])
