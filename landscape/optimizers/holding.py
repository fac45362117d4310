"""Per-image convergence in bands: which pivots are held, and evaluating only the others.

After ASE's DyNEB (Lindgren et al. 2019), generalised: a pivot whose force norm is at
most `fraction` x the band's force tolerance, with each neighbour's at most the
tolerance, is neither moved nor evaluated in the next step (`ElasticBand.freeze`).
Nothing is stale: a held pivot's gradient is that of the point it has not left (the
potential is deterministic), and the band recomputes every force from the present
pivots, tangents and springs after each step, so a neighbour's step that raises a held
pivot's force above the threshold releases it at once, and convergence is judged on
these exact forces.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.optimizers.forces import force_sizes
from landscape.potentials.potential import Potential

__all__ = ["counted", "evaluate_rows", "held_pivots"]


def held_pivots(forces: Any, limit: float, fraction: float, particle_dim: int = 0) -> np.ndarray | None:
    """The interior pivots (host bool array) that step and are evaluated next, given
    their `forces` (N, dim), measured as the tolerance measures them (`force_sizes`
    with `particle_dim`), and the band's tolerance `limit`; None when all do (none
    held, or all held: then a test other than the force's is pending).  One host read."""
    norms = force_sizes(to_numpy(forces).astype(np.float64), particle_dim)
    done = np.concatenate([[True], norms <= limit, [True]])  # the fixed ends count as converged
    held = (norms <= fraction * limit) & done[:-2] & done[2:]
    if not held.any() or held.all():
        return None
    return ~held


def evaluate_rows(
    xp: Any, potential: Potential, pivots: Any, energies: Any, gradients: Any, rows: list[int]
) -> tuple[Any, Any]:
    """`energies` (N+2,) and interior `gradients` (N, dim) with the interior pivots
    `rows` (interior numbering) evaluated again, in one batch; the others kept."""
    at = [r + 1 for r in rows]
    e_new, g_new = potential.energy_and_gradient(pivots[at])
    energies, gradients = xp.asarray(energies, copy=True), xp.asarray(gradients, copy=True)
    energies[at] = e_new
    gradients[rows] = g_new
    return energies, gradients


def counted(counts: np.ndarray | None, rows: Any) -> np.ndarray | None:
    """Per-pivot evaluation counts with one more for the pivots `rows` (pivot numbering)."""
    if counts is None:
        return None
    out = counts.copy()
    out[rows] += 1
    return out
