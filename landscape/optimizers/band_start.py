"""A band's stepper state at a start and a restart: L-BFGS's first inverse curvature
measured on the band (`LBFGS.curvature`) and kept when the band restarts its stepper."""

from __future__ import annotations

from typing import Any

from landscape.foundations.arrays import to_numpy
from landscape.optimizers.steppers import Stepper
from landscape.paths import geometry

__all__ = ["restart_state", "start_state"]


def start_state(stepper: Stepper, pivots: Any, energies: Any, gradients: Any) -> Any:
    """The stepper's fresh state for the interior pivots, given the secant stiffness the
    band measures there (`geometry.secant_stiffness`, as the automatic spring does) where
    the stepper takes one (`measured`); one host sync, once per band, only then."""
    state = stepper.init(pivots[1:-1])
    measured = getattr(stepper, "measured", None)
    if measured is None:
        return state
    return measured(state, float(to_numpy(geometry.secant_stiffness(pivots, energies, gradients))))


def restart_state(stepper: Stepper, x: Any, previous: Any) -> Any:
    """Fresh state for `x` (after a rejected step or a repair) keeping what `previous`
    measured (`restart`), so a restart does not fall back to the fixed `lr`."""
    restart = getattr(stepper, "restart", None)
    return stepper.init(x) if restart is None else restart(x, previous)
