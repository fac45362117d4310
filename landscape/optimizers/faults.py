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

__all__ = ["divergence_ceiling", "step_fault", "reject_step", "pressing_on_ceiling", "PRESSING"]

#: A band whose last good state's highest pivot lies within this fraction of the ceiling's
#: height (above the lower end) below the ceiling presses on it.  Measured at every
#: rejection: the two random-surface runaways' last good paths reached 0.968 to 0.9997 of
#: it; AutoNEB's `quick` cycles on Mueller-Brown, which came down again there, at most
#: 0.56 (A-B) and 0.92 (C-B) (docs/benchmarks.md; chaotic runs whose fate differs
#: between CPUs: "Mueller-Brown on `quick`").
PRESSING = 0.01


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


def pressing_on_ceiling(state: BandState, max_faults: int) -> str | None:
    """Why a band whose step was just rejected as diverged should stop, or None: its step
    halved `max_faults` times in all, and its last good path's highest pivot is at the
    ceiling (`PRESSING`).  A climber running up a wall comes back to the ceiling after
    every rejection, the halved steps accepted in between, so the faults are never
    `max_faults` in a row; a band that overshoots and comes down is not at the ceiling.
    One host read, only when the host-side conditions hold."""
    if not state.faults or state.fault != "energy diverged" or state.step_scale > 0.5**max_faults:
        return None
    e = np.asarray(to_numpy(state.path.energies), dtype=float)
    if e.max() < state.ceiling - PRESSING * (state.ceiling - min(e[0], e[-1])):
        return None
    return (
        f"the band presses on the divergence ceiling (its highest pivot E={e.max():.6g}, the ceiling "
        f"{state.ceiling:.6g}) with its step halved {max_faults} times: a runaway; the path is the last good one"
    )


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
