"""A band's state (`BandState`), as arrays and JSON attributes and back, so a run resumes mid-band.

Everything `ElasticBand.step` reads is saved (pivots, energies, gradients, forces, the
stepper's state, the counters and the recent saddle energies), so a run continued from
a snapshot takes exactly the steps the uninterrupted run took.  A state in the middle
of a fault (a rejected step, or one not yet checked for faults) is not saved: the
next clean step is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import host_scalars, to_numpy
from landscape.foundations.errors import DamagedCheckpoint
from landscape.optimizers.base import OptimizerState
from landscape.paths.path import Path
from landscape.potentials.potential import Potential, particle_dim_of

__all__ = ["BandState", "band_snapshot", "band_restore", "SNAPSHOT_ARRAYS", "SNAPSHOT_NUMBERS"]

_ARRAYS = ("gradients", "forces")
_NUMBERS = ("nit", "nfev", "climbing", "ceiling", "step_scale", "faults", "force0", "repairs")
#: What every snapshot holds besides the stepper's own state (the store's integrity check reads them).
SNAPSHOT_ARRAYS = ("pivots", "energies", *_ARRAYS, "recent_max")
SNAPSHOT_NUMBERS = _NUMBERS


@dataclass(frozen=True, eq=False)
class BandState(OptimizerState):
    """Pivots with energies, the interior gradients and forces at them, stepper state."""

    path: Path
    gradients: Any
    forces: Any
    stepper_state: Any
    nit: int = 0
    nfev: int = 0
    climbing: bool = False
    recent_max: tuple[Any, ...] = ()
    ceiling: float = float("inf")  # energies above this count as divergence
    step_scale: float = 1.0  # shrinks after every rejected step
    faults: int = 0  # consecutive rejected steps
    fault: str | None = None  # why the last step was rejected
    verified: BandState | None = None  # last state checked for faults; None: this one
    force0: float = float("inf")  # largest pivot force of the starting path (for frtol)
    force_floor: float = 0.0  # forces at or below this are round-off: converged (`force_floor`)
    repairs: int = 0  # pivots inserted because the climber was not the top of the path
    dense: tuple[int, np.ndarray] | None = None  # (per_segment, energies) between pivots, if evaluated
    spring: float = 0.0  # the NEB spring constant in use (measured at init when "auto"); 0: string
    evaluations: np.ndarray | None = None  # energy+gradient evaluations of each pivot (None: a snapshot without)
    checks: int = 0  # energy-only points of the climber checks (nfev = evaluations.sum() + checks)
    particle_dim: int = 0  # the potential's, for the force tests (`force_sizes`); not saved: it comes with it
    polished: bool = False  # the pull across bends is off: converged with it, settling without (`kinks`)
    spreads: int = 0  # times the band was spread out where it folded back (`ElasticBand.unfold`)


def _configured_spring(optimizer: Any) -> float:
    if optimizer.method != "neb":
        return 0.0
    if optimizer.spring == "auto":
        raise KeyError("spring")  # an automatic spring must have been saved
    return float(optimizer.spring)


def band_snapshot(state: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """(arrays, attributes) of a clean band state; None for a state mid-fault."""
    if state.verified is not None or state.faults:
        return None
    arrays = {
        "pivots": to_numpy(state.path.pivots),
        "energies": to_numpy(state.path.energies),
        **{k: to_numpy(getattr(state, k)) for k in _ARRAYS},
        "recent_max": host_scalars(state.recent_max),
    }
    attrs: dict[str, Any] = {k: getattr(state, k) for k in _NUMBERS + ("spring", "force_floor")}
    attrs["stepper_numbers"] = {}
    for key, value in state.stepper_state.items():  # arrays, or plain numbers (Adam's t)
        if isinstance(value, (int, float)):
            attrs["stepper_numbers"][key] = value
        else:
            arrays[f"stepper.{key}"] = to_numpy(value)
    if state.polished:  # only when set: snapshots before it (and without the pull) have none
        attrs["polished"] = True
    if state.spreads:  # only when set, as polished
        attrs["spreads"] = int(state.spreads)
    if state.evaluations is not None:
        arrays["evaluations"] = np.asarray(state.evaluations)
        attrs["checks"] = int(state.checks)
    if state.dense is not None:
        attrs["dense_per_segment"] = int(state.dense[0])
        arrays["dense"] = np.asarray(state.dense[1])
    return arrays, attrs


def band_restore(optimizer: Any, arrays: dict[str, np.ndarray], attrs: dict[str, Any], potential: Potential) -> Any:
    """The `BandState` that `band_snapshot` saved, on the potential's arrays."""
    try:
        on = potential.asarray
        stepper = {k[len("stepper.") :]: on(v) for k, v in arrays.items() if k.startswith("stepper.")}
        stepper.update(attrs.get("stepper_numbers", {}))
        dense = (int(attrs["dense_per_segment"]), np.asarray(arrays["dense"])) if "dense" in arrays else None
        numbers = {k: type(getattr(BandState, k))(attrs[k]) for k in _NUMBERS}  # int, bool or float
        # Snapshots from before the automatic spring hold none: theirs was the configured one.
        numbers["spring"] = float(attrs["spring"] if "spring" in attrs else _configured_spring(optimizer))
        numbers["force_floor"] = float(attrs.get("force_floor", 0.0))  # none before the floor: never by it
        # Snapshots from before the per-pivot counts hold none: the counts stay unknown.
        counts = np.asarray(arrays["evaluations"], dtype=np.int64) if "evaluations" in arrays else None
        numbers["checks"] = int(attrs.get("checks", 0))
        numbers["polished"] = bool(attrs.get("polished", False))
        numbers["spreads"] = int(attrs.get("spreads", 0))
        state = BandState(
            path=Path(on(arrays["pivots"]), on(arrays["energies"])),
            **{k: on(arrays[k]) for k in _ARRAYS},
            stepper_state=stepper,
            recent_max=tuple(on(np.asarray(v)) for v in arrays["recent_max"]),
            dense=dense,
            evaluations=counts,
            particle_dim=particle_dim_of(potential),
            **numbers,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedCheckpoint(f"it does not describe a band state ({type(exc).__name__}: {exc})") from None
    if not optimizer.climb and state.climbing:
        raise DamagedCheckpoint("it climbs, the optimizer does not")
    return state
