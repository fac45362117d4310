"""Why a band's freshly evaluated step must be rejected (a NaN or infinite value, or an
energy above the divergence ceiling set from the starting path), and the state after."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.optimizers.band_start import restart_state
from landscape.optimizers.snapshot import BandState
from landscape.optimizers.steppers import Stepper

__all__ = ["divergence_ceiling", "step_fault", "reject_step"]


def divergence_ceiling(energies: np.ndarray, divergence: float) -> float:
    """The energy above which a band counts as diverged: the starting path's highest
    pivot plus `divergence` times its energy range above the lower end (at least 1)."""
    return float(energies.max() + divergence * max(energies.max() - energies[[0, -1]].min(), 1.0))


def step_fault(xp: Any, energies: Any, gradients: Any, ceiling: float) -> str | None:
    """Why a freshly evaluated step must be rejected, or None.  One host sync."""
    if xp is np:  # on the host the branches are free: a third of the operations
        if not (np.isfinite(energies).all() and np.isfinite(gradients).all()):
            return "NaN or infinite energy or gradient"
        return "energy diverged" if energies.max() > ceiling else None
    finite = xp.all(xp.isfinite(energies)) & xp.all(xp.isfinite(gradients))
    high = xp.max(xp.where(xp.isfinite(energies), energies, xp.zeros_like(energies))) > ceiling
    ok, too_high = (bool(v) for v in to_numpy(xp.stack([finite, high])))
    if not ok:
        return "NaN or infinite energy or gradient"
    return "energy diverged" if too_high else None


def reject_step(
    stepper: Stepper, good: BandState, fault: str, nit: int, nfev: int, counts: np.ndarray | None
) -> BandState:
    """Back to the last good state; restart momentum and halve the step (the rejected
    step's evaluations stay counted).  A stepper with a `recover` rule restarts by it."""
    x, recover = good.path.pivots[1:-1], getattr(stepper, "recover", None)
    restarted = restart_state(stepper, x, good.stepper_state) if recover is None else recover(x, good.stepper_state)
    return replace(
        good,
        nit=nit,
        nfev=nfev,
        stepper_state=restarted,
        step_scale=good.step_scale * 0.5,
        faults=good.faults + 1,
        fault=fault,
        verified=None,
        evaluations=counts,
    )
