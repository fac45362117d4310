"""A trained curve's state (`landscape.optimizers.curves.Curve`) and its snapshot.

The state holds the control points, the curve sampled at its pivots, the stepper's state
and, between fault checks, the finiteness of the steps since the last check (0-d, on the
arrays' device) with the last checked state to fall back to; a snapshot is taken of a
checked state only, so a resumed run checks, and falls back, where the uninterrupted one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import DamagedCheckpoint
from landscape.optimizers.base import OptimizerState
from landscape.paths.path import Path
from landscape.potentials.potential import Potential

__all__ = ["CurveState", "curve_snapshot", "curve_restore", "CURVE_SNAPSHOT_ARRAYS", "CURVE_SNAPSHOT_NUMBERS"]

#: What every curve snapshot holds besides the stepper's state (the store's integrity check reads them).
CURVE_SNAPSHOT_ARRAYS = ("pivots", "energies", "controls")
CURVE_SNAPSHOT_NUMBERS = ("nit", "nfev")


@dataclass(frozen=True, eq=False)
class CurveState(OptimizerState):
    """The control points (ends included), the curve at the pivots with energies, and
    the stepper's state over the bends."""

    path: Path
    controls: Any  # (bends + 2, dim), the potential's arrays
    stepper_state: Any
    nit: int = 0
    nfev: int = 0
    loss: Any = float("nan")  # the objective at the last step's samples (before its update), 0-d
    fault: str | None = None  # why the last step was refused (non-finite energies)
    sampled_at: int = 0  # the step whose curve `path` is (a mini-batch loss samples it seldom)
    finite: Any = None  # 0-d: all finite since the last fault check (None: checked at this step)
    verified: CurveState | None = None  # the last state checked for faults (None: this one)


def curve_snapshot(state: CurveState) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(arrays, attributes) of a checked curve state; None for a refused or unchecked one."""
    if state.fault is not None or state.finite is not None:
        return None
    arrays = {
        "pivots": to_numpy(state.path.pivots),
        "energies": to_numpy(state.path.energies),
        "controls": to_numpy(state.controls),
    }
    numbers: dict[str, Any] = {}
    for key, value in state.stepper_state.items():  # arrays, or plain numbers (Adam's t)
        if isinstance(value, (int, float)):
            numbers[key] = value
        else:
            arrays[f"stepper.{key}"] = to_numpy(value)
    attrs: dict[str, Any] = {"nit": state.nit, "nfev": state.nfev, "stepper_numbers": numbers}
    attrs["sampled_at"] = state.sampled_at
    loss = float(state.loss)  # read here, not in the steps
    if np.isfinite(loss):  # none before the first step (a stored NaN reads as damage)
        attrs["loss"] = loss
    return arrays, attrs


def curve_restore(
    arrays: dict[str, Any], attrs: dict[str, Any], potential: Potential, shape: tuple[int, int]
) -> CurveState:
    """The state `curve_snapshot` took, on the potential's arrays; its controls of `shape`."""
    try:
        on = potential.asarray
        stepper_state = {k[len("stepper.") :]: on(v) for k, v in arrays.items() if k.startswith("stepper.")}
        stepper_state.update(attrs["stepper_numbers"])
        controls = on(arrays["controls"])
        if tuple(controls.shape) != shape:
            raise ValueError(f"controls of shape {tuple(controls.shape)}, not {shape}")
        return CurveState(
            path=Path(on(arrays["pivots"]), on(arrays["energies"])),
            controls=controls,
            stepper_state=stepper_state,
            nit=int(attrs["nit"]),
            nfev=int(attrs["nfev"]),
            loss=float(attrs.get("loss", float("nan"))),
            sampled_at=int(attrs.get("sampled_at", attrs["nit"])),  # older snapshots sampled every step
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedCheckpoint(f"it does not describe a curve state ({type(exc).__name__}: {exc})") from None
