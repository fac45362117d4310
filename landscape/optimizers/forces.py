"""The band's forces: the NEB or string force on each interior pivot, the automatic
spring, the round-off floor below which a force is no direction, and the climber's index."""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import device as _device
from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.arrays import to_numpy
from landscape.paths import geometry
from landscape.potentials.potential import Potential

__all__ = [
    "AUTO_SPRING_SCALE",
    "FORCE_FLOOR_RTOL",
    "band_forces",
    "auto_spring",
    "force_floor",
    "force_sizes",
    "largest_force",
    "evaluate_pivots",
    "climber_index",
    "climber_mask",
]

#: The automatic spring is this many times the number of segments times the measured
#: stiffness (bench/bench_defaults.py: best on the analytic surfaces at 5-33 pivots).
AUTO_SPRING_SCALE = 1 / 40

#: A force this small against the starting path's energy range over its pivot spacing
#: is round-off, not a direction to move in (`force_floor`).
FORCE_FLOOR_RTOL = 1e-10


def band_forces(pivots: Any, energies: Any, gradients: Any, spring: Any, climbing: bool, kinks: bool = False) -> Any:
    """Forces (N, dim) on the interior pivots.

    Perpendicular part of minus the gradient, plus springs along the tangent when
    `spring` is given (NEB; one constant, or one per segment), and with `kinks` their
    pull across the path where the band bends (`geometry.kink_spring_forces`).  With
    `climbing` the highest interior pivot instead feels -g + 2 (g . tau) tau: it
    descends across the path and climbs along it.
    """
    xp = array_namespace(pivots)
    tau = geometry.improved_tangents(pivots, energies)
    forces = -geometry.project_perpendicular(gradients, tau)
    if spring is not None:
        forces = forces + geometry.spring_forces(pivots, tau, spring)
        if kinks:
            forces = forces + geometry.kink_spring_forces(pivots, tau, spring)
    if climbing:
        mask = climber_mask(xp, energies)
        forces = xp.where(mask[:, None], geometry.climbing_forces(gradients, tau), forces)
    return forces


def auto_spring(pivots: Any, energies: Any, gradients: Any) -> float:
    """A spring constant in the potential's own units: `AUTO_SPRING_SCALE` x segments x
    the band's secant stiffness (`geometry.secant_stiffness`); 1.0 where nothing varies.

    Why: the springs' slowest mode (stiffness ~ k / segments^2) sets how many steps a band
    needs once the perpendicular forces are relaxed, and the potential's stiffness sets
    the largest stable step.  A fixed k = 1 is too soft on Mueller-Brown (curvatures in
    the thousands: 3,243 evaluations instead of 450 at 9 pivots, bench/bench_defaults.py) and its best value
    grows with the number of pivots.  Scale-free: energies x a gives a k x a; coordinates x b, k / b^2.
    One host sync, once per band."""
    stiffness = float(to_numpy(geometry.secant_stiffness(pivots, energies, gradients)))
    if not (np.isfinite(stiffness) and stiffness > 0):
        return 1.0
    return AUTO_SPRING_SCALE * (int(pivots.shape[0]) - 1) * stiffness


def force_floor(pivots: Any, energies: Any) -> float:
    """The force below which a band counts as converged whatever the relative test
    says: `FORCE_FLOOR_RTOL` x the energy range along the path / the mean pivot spacing.

    Why: `frtol` is relative to the starting path's largest force, which is 0 for a
    start that already is the minimum energy path (a straight line across a symmetric
    double well), so the relative test alone never passes and such a band spends its
    whole budget standing still (5,000 steps, 35,081 evaluations).  Energy over length
    is a force on the potential's own scale, and 1e-10 of it is round-off; the range,
    not the size, of the energies, so that a constant offset changes nothing."""
    e = to_numpy(energies)
    xp = array_namespace(pivots)
    spacing = float(to_numpy(xp.sum(xp.sqrt(xp.sum((pivots[1:] - pivots[:-1]) ** 2, axis=1))))) / (len(e) - 1)
    scale = float(np.max(e) - np.min(e))
    if not (np.isfinite(scale) and np.isfinite(spacing) and spacing > 0):
        return 0.0
    return FORCE_FLOOR_RTOL * scale / spacing


def force_sizes(forces: Any, particle_dim: int = 0) -> Any:
    """Each pivot's force (N, dim) as the force tolerances measure it: the norm of its
    row, or with `particle_dim` d > 0 the largest norm of its d-coordinate blocks, one
    particle's force (`Potential.particle_dim`: ASE's fmax is per atom)."""
    xp = array_namespace(forces)
    if not particle_dim:
        return xp.sqrt(xp.sum(forces * forces, axis=1))
    blocks = xp.reshape(forces, (int(forces.shape[0]), -1, particle_dim))
    return xp.max(xp.sqrt(xp.sum(blocks * blocks, axis=2)), axis=1)


def largest_force(forces: Any, particle_dim: int = 0) -> float:
    """The largest pivot force (`force_sizes`); reduced on the device, one number to the host."""
    xp = array_namespace(forces)
    return float(to_numpy(xp.max(force_sizes(forces, particle_dim))))


def evaluate_pivots(xp: Any, potential: Potential, pivots: Any, known: Any) -> tuple[Any, Any]:
    """Energies (N+2,) of all pivots and gradients (N, dim) of the interior ones.

    With `known` energies the fixed ends are not evaluated again.  Without, they are
    evaluated on the interior's batch: forward only when the potential's `energy` uses
    the batch its last gradient call drew (`Potential.same_batch_energy`: the ends never
    move, so their gradients would be thrown away), else in the same call as the interior."""
    if known is None and not getattr(potential, "same_batch_energy", False):
        e, g = potential.energy_and_gradient(pivots)
        return e, g[1:-1]
    e_int, g = potential.energy_and_gradient(pivots[1:-1])
    if known is None:  # after the gradient call: the ends on the batch it drew
        known = potential.energy(xp.concat([pivots[:1], pivots[-1:]]))
    return xp.concat([known[:1], e_int, known[-1:]]), g


def climber_index(xp: Any, energies: Any) -> Any:
    """Index (0-d array, interior numbering) of the highest interior pivot."""
    return xp.argmax(energies[1:-1])


def climber_mask(xp: Any, energies: Any) -> Any:
    n = energies.shape[0] - 2
    return xp.arange(n, device=_device(energies)) == climber_index(xp, energies)
