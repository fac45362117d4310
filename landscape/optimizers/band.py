"""Elastic bands: NEB (springs) and the string method (redistribution), climbing optional.

One configurable method composed of a tangent rule (Henkelman-Jonsson improved
tangent), a force projection, springs *or* equal-arc-length redistribution, an
optional climbing image and a stepper.  `NEB` and `StringMethod` are the two presets.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import host_scalars, to_numpy
from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.band_settings import check_band_settings
from landscape.optimizers.band_start import restart_state, start_state
from landscape.optimizers.base import PathOptimizer
from landscape.optimizers.faults import divergence_ceiling, pressing_on_ceiling, reject_step, step_fault
from landscape.optimizers.folds import MAX_SPREADS, folded, spread_out
from landscape.optimizers.forces import (
    auto_spring,
    band_forces,
    climber_index,
    evaluate_pivots,
    force_floor,
    largest_force,
)
from landscape.optimizers.holding import counted, evaluate_rows, held_pivots
from landscape.optimizers.insertion import insert_at_segment
from landscape.optimizers.snapshot import BandState, band_restore, band_snapshot
from landscape.optimizers.steppers import FIRE2, Stepper
from landscape.paths import geometry
from landscape.paths.climber import ClimberCheck, check_climber, sample_band
from landscape.paths.path import Path
from landscape.paths.result import Status
from landscape.potentials.potential import Potential, particle_dim_of

__all__ = ["ElasticBand", "NEB", "StringMethod"]


@dataclass(frozen=True)
class ElasticBand(PathOptimizer):
    """NEB (`method="neb"`, springs of constant `spring`) or the string method.

    climb: switch on a climbing image after `climb_after` steps (ASE advises after
        20-50% of the run); in the string method the climber is excluded from the
        redistribution (climbing string), else it would be moved off the saddle.
    fmax: converged when the largest force norm on any pivot (on any one particle
        of a pivot, for a potential with `particle_dim`: ASE's fmax) is at most this.
    frtol: converged when the largest force norm is at most this fraction of the
        starting path's (scale-free: `connect` uses 1e-4 for neb and string when no
        other criterion is given, so every method stops by itself), or at most the
        round-off floor of the starting path's energy scale (`force_floor`), so an
        exact start converges at once.
    etol: converged when the highest pivot energy changed by less than this over
        the last `patience` steps (climbing switched on, if requested, first).
    kinks: add the springs' pull across the path where the band bends (NEB only;
        `geometry.kink_spring_forces`), so a band does not zig-zag across a narrow
        valley; once converged with it, the band goes on without it until the plain
        forces converge (`_polish`), so a converged band is on the path either way.
    unfold: spread a band that folds back on itself (NEB; `landscape.optimizers.folds`).
    freeze: hold pivots whose force is at most this fraction of the force tolerance,
        their neighbours' at most the tolerance (`landscape.optimizers.holding`); 0
        (off), and no effect for the string method, mini-batch losses or no tolerance.
    check_per_segment: before a climbing band says converged, the energy is
        checked at this many points inside every segment (evaluated where they can
        matter, `landscape.paths.climber.sample_segments`; all of them with `check_all`);
        when one of them is higher than the climber (`landscape.paths.climber`), a pivot
        is inserted there, it becomes the climber and the run goes on, at most
        `max_repairs` times; after that the run ends with status SADDLE_NOT_AT_TOP.
    """

    method: str = "neb"
    spring: float | str = "auto"  # a constant, or "auto": measured per band (`auto_spring`)
    spring_min: float | None = None  # energy-weighted springs from this (ends) to `spring` (top)
    stepper: Stepper = field(default_factory=FIRE2)  # by measurement: bench/bench_defaults.py
    climb: bool = False
    climb_after: int = 0
    fmax: float | None = None
    frtol: float | None = None
    etol: float | None = None
    patience: int = 10
    max_faults: int = 8
    divergence: float = 1000.0
    fault_check_every: int = 1
    check_per_segment: int = 9
    check_all: bool = False
    max_repairs: int = 3
    freeze: float = 0.0
    kinks: bool = False
    unfold: bool = True

    def __post_init__(self) -> None:
        check_band_settings(self)

    # PathOptimizer ---------------------------------------------------------------
    def init(self, path: Path, potential: Potential) -> BandState:
        if path.n_pivots < 3:
            raise LandscapeError(f"a band needs at least one interior pivot, got {path.n_pivots} pivots")
        xp = array_namespace(path.pivots)
        pivots = self._reparametrise(path.pivots, None)
        counts = np.ones(int(pivots.shape[0]), dtype=np.int64)
        if potential.stochastic or path.energies is None:
            energies, g = evaluate_pivots(xp, potential, pivots, None)
        else:
            energies, g = evaluate_pivots(xp, potential, pivots, path.energies)
            counts[[0, -1]] = 0
        nfev = int(counts.sum())
        host = to_numpy(energies)
        if not (np.all(np.isfinite(host)) and bool(xp.all(xp.isfinite(g)))):
            raise LandscapeError("the starting path has NaN or infinite energies or gradients")
        climbing = self.climb and self.climb_after == 0
        spring = self._spring(pivots, energies, g)
        forces = self._forces(pivots, energies, g, climbing, spring, self.kinks)
        particles = particle_dim_of(potential)
        force0 = largest_force(forces, particles) if self.frtol is not None else np.inf  # one host sync, once
        floor = force_floor(pivots, host) if self.frtol is not None else 0.0
        state = BandState(
            ceiling=divergence_ceiling(host, self.divergence),
            path=Path(pivots, energies),
            gradients=g,
            forces=forces,
            stepper_state=start_state(self.stepper, pivots, energies, g),
            nfev=nfev,
            climbing=climbing,
            force0=force0,
            force_floor=floor,
            spring=spring,
            evaluations=counts,
            particle_dim=particles,
        )
        return self._track(state)

    def step(self, state: BandState, potential: Potential) -> BandState:
        xp = array_namespace(state.path.pivots)
        pivots = state.path.pivots
        forces = state.forces
        moving = self._moving(state, potential)
        if moving is not None:  # held pivots: no force, no step
            mask = potential.asarray(moving.astype(np.float64))[:, None] > 0
            forces = xp.where(mask, forces, xp.zeros_like(forces))
        interior, stepper_state = self.stepper.update(pivots[1:-1], forces, state.stepper_state)
        if state.step_scale != 1.0:  # after a rejected step: the step itself shrinks, since
            # scaling the force does not shrink a step at its cap, nor Adam's at all
            interior = pivots[1:-1] + state.step_scale * (interior - pivots[1:-1])
        if moving is not None:
            interior = xp.where(mask, interior, pivots[1:-1])
            stepper_state = self.stepper.hold(stepper_state, mask)
        pivots = xp.concat([pivots[:1], interior, pivots[-1:]])
        climber = climber_index(xp, state.path.energies) + 1 if state.climbing else None
        pivots = self._reparametrise(pivots, climber)
        n = int(pivots.shape[0])
        if moving is not None:
            rows = [int(i) for i in np.flatnonzero(moving)]
            energies, g = evaluate_rows(xp, potential, pivots, state.path.energies, state.gradients, rows)
            evaluated: Any = [r + 1 for r in rows]
        else:
            # A mini-batch loss moves with its batch: then the ends are evaluated again too,
            # so every pivot's energy in this step comes from the same batch.
            known = None if potential.stochastic else state.path.energies
            energies, g = evaluate_pivots(xp, potential, pivots, known)
            evaluated = slice(None) if known is None else slice(1, n - 1)
        counts = counted(state.evaluations, evaluated)
        nfev = state.nfev + (len(range(n)[evaluated]) if isinstance(evaluated, slice) else len(evaluated))
        nit = state.nit + 1
        checked = nit % self.fault_check_every == 0
        if checked:
            fault = step_fault(xp, energies, g, state.ceiling)
            if fault is not None:
                return reject_step(self.stepper, state.verified or state, fault, nit, nfev, counts)
        climbing = self.climb and nit >= self.climb_after
        new = replace(
            state,
            path=Path(pivots, energies),
            gradients=g,
            forces=self._forces(pivots, energies, g, climbing, state.spring, self._pulls(state)),
            stepper_state=stepper_state,
            nit=nit,
            nfev=nfev,
            climbing=climbing,
            faults=0,
            verified=None if checked else (state.verified or state),
            dense=None,
            evaluations=counts,
        )
        if checked and self.unfold and self.method == "neb" and new.spreads < MAX_SPREADS and folded(pivots):
            new = self._climb_from(new, spread_out(new.path), None, potential, new.climbing)
            new = replace(new, repairs=state.repairs, spreads=state.spreads + 1)
        return self._track(new)

    def tolerance(self, state: BandState) -> float:
        """The largest pivot force at which `terminate` says converged (0: no force test)."""
        bounds = [self.fmax] if self.fmax is not None else []
        if self.frtol is not None:
            bounds.append(max(self.frtol * state.force0, state.force_floor))
        return max(bounds, default=0.0)

    def _moving(self, state: BandState, potential: Potential) -> np.ndarray | None:
        """The interior pivots that step next (`freeze`, `holding.held_pivots`); None: all."""
        if self.freeze == 0 or self.method != "neb" or potential.stochastic or state.faults:
            return None
        limit = self.tolerance(state)
        return held_pivots(state.forces, limit, self.freeze, state.particle_dim) if 0 < limit < float("inf") else None

    def terminate(self, state: BandState) -> tuple[Status, str] | None:
        if state.faults >= self.max_faults:
            status = Status.DIVERGED if state.fault == "energy diverged" else Status.NUMERICAL_FAULT
            return status, f"{state.faults} steps in a row rejected ({state.fault}); the path is the last good one"
        pressing = pressing_on_ceiling(state, self.max_faults)
        if pressing is not None:
            return Status.DIVERGED, pressing
        if state.faults or state.verified is not None:
            return None  # never converge on a rejected or an unchecked step
        if self.climb and not state.climbing:
            return None
        if self.fmax is not None or self.frtol is not None:
            f = largest_force(state.forces, state.particle_dim)
            if self.fmax is not None and f <= self.fmax:
                what = "force on one particle" if state.particle_dim else "pivot force"
                return Status.CONVERGED, f"largest {what} {f:.3g} <= fmax {self.fmax:g}"
            # A start with (almost) no force, an exact path, has no scale of its own to judge by.
            if self.frtol is not None and f <= state.force_floor:
                return Status.CONVERGED, (
                    f"largest pivot force {f:.3g} <= {state.force_floor:.3g}, round-off on "
                    "the starting path's energy scale"
                )
            if self.frtol is not None and f <= self.frtol * state.force0:
                return Status.CONVERGED, (
                    f"largest pivot force {f:.3g} <= frtol {self.frtol:g} x the starting path's {state.force0:.3g}"
                )
        if self.etol is not None and len(state.recent_max) > self.patience:
            trace = host_scalars(state.recent_max)
            change = float(trace.max() - trace.min())
            if change < self.etol:
                return (
                    Status.CONVERGED,
                    f"saddle energy changed {change:.3g} < etol {self.etol:g} over {self.patience} steps",
                )
        return None

    def confirm(
        self, state: BandState, potential: Potential, outcome: tuple[Status, str]
    ) -> tuple[BandState, tuple[Status, str] | None]:
        """A climbing band converges only with the climber at the top of its path;
        otherwise a pivot goes where the path is highest and the run continues.  A band
        converged with the pull across bends first goes on without it (`_polish`)."""
        if outcome[0] is Status.CONVERGED and self._pulls(state):
            state, outcome = self._polish(state)
            if outcome is None:
                return state, None
        # A mini-batch loss draws new batches for the check: its noise is no bump.
        if outcome[0] is not Status.CONVERGED or not state.climbing or potential.stochastic:
            return state, outcome
        k = self.check_per_segment
        dense = geometry.dense_points(state.path.pivots, k)  # evaluated where they can matter only
        dense_e, n = sample_band(state.path, state.gradients, dense, k, potential.energy, every=self.check_all)
        state = replace(state, nfev=state.nfev + n, checks=state.checks + n, dense=(k, dense_e))
        check, repaired = self.retarget(state, dense, potential.asarray(dense_e), k, potential)
        if check.ok:
            return state, outcome
        if repaired is None:
            why = "no pivot can be inserted there" if check.segment is None else f"{state.repairs} repairs spent"
            return state, (Status.SADDLE_NOT_AT_TOP, f"{check.message()}; {why}")
        return repaired, None

    def retarget(
        self, state: BandState, dense: Any, dense_energies: Any, per_segment: int, potential: Potential
    ) -> tuple[ClimberCheck, BandState | None]:
        """The climber checked against the energies `dense_energies` at the points
        `dense` between the pivots (`per_segment` a segment), and, when a point is
        higher and a repair is left, a fresh band (stepper restarted, counters kept)
        on the path with a pivot there, which climbs."""
        check = check_climber(to_numpy(state.path.energies), to_numpy(dense_energies), per_segment)
        if check.ok or check.segment is None or state.repairs >= self.max_repairs:
            return check, None
        path = insert_at_segment(state.path, dense, dense_energies, check.segment, per_segment)
        if state.evaluations is not None:  # the new pivot has had no evaluation of its own yet
            state = replace(state, evaluations=np.insert(state.evaluations, check.segment + 1, 0))
        return check, self._climb_from(state, path, check.segment + 1, potential)

    def _climb_from(
        self, state: BandState, path: Path, climber: int | None, potential: Potential, climbing: bool = True
    ) -> BandState:
        """A fresh band on the evaluated `path` whose pivot `climber` climbs (once `climbing`)."""
        xp = array_namespace(path.pivots)
        pivots = self._reparametrise(path.pivots, climber)
        known = None if potential.stochastic else path.energies
        energies, g = evaluate_pivots(xp, potential, pivots, known)
        nfev = state.nfev + int(pivots.shape[0]) - (0 if known is None else 2)
        counts = counted(state.evaluations, slice(None) if known is None else slice(1, -1))
        new = replace(
            state,
            path=Path(pivots, energies),
            gradients=g,
            evaluations=counts,
            forces=self._forces(pivots, energies, g, climbing, state.spring, self._pulls(state)),
            stepper_state=restart_state(self.stepper, pivots[1:-1], state.stepper_state),
            nfev=nfev,
            climbing=climbing,
            recent_max=(),
            faults=0,
            fault=None,
            verified=None,
            repairs=state.repairs + 1,
            dense=None,
        )
        return self._track(new)

    def snapshot(self, state: BandState) -> tuple[dict[str, Any], dict[str, Any]] | None:
        return band_snapshot(state)

    def restore(self, arrays: dict[str, Any], attrs: dict[str, Any], potential: Potential) -> BandState:
        return band_restore(self, arrays, attrs, potential)

    def to_config(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "spring": self.spring if self.method == "neb" else None,  # "auto": each band's is in its state
            # only when set: stored runs keep the identity they had before the option
            **({"spring_min": self.spring_min} if self.spring_min is not None and self.method == "neb" else {}),
            "stepper": self.stepper.to_config(),
            "climb": self.climb,
            "climb_after": self.climb_after,
            "fmax": self.fmax,
            "frtol": self.frtol,
            "etol": self.etol,
            "patience": self.patience,
            "max_faults": self.max_faults,
            "fault_check_every": self.fault_check_every,
            "divergence": self.divergence,
            "check_per_segment": self.check_per_segment,
            "max_repairs": self.max_repairs,
            **({"check_all": True} if self.check_all else {}),  # only when on: stored runs keep their identity
            **({"freeze": self.freeze} if self.freeze else {}),  # only when on: stored runs held none
            **({"kinks": True} if self.kinks else {}),  # only when on (NEB only), as freeze
            **({} if self.unfold else {"unfold": False}),  # only when off: stored runs keep their identity
        }

    # internals -------------------------------------------------------------------
    def _spring(self, pivots: Any, energies: Any, g: Any) -> float:
        """The spring constant of a band starting here (0 for the string method)."""
        if self.method != "neb":
            return 0.0
        return auto_spring(pivots, energies, g) if self.spring == "auto" else float(self.spring)

    def _forces(self, pivots: Any, energies: Any, g: Any, climbing: bool, spring: float, pull: bool) -> Any:
        k: Any = spring if self.method == "neb" else None
        if k is not None and self.spring_min is not None:
            k = geometry.energy_weighted_springs(energies, spring, self.spring_min)
        return band_forces(pivots, energies, g, k, climbing, pull)

    def _pulls(self, state: BandState) -> bool:
        return self.kinks and not state.polished

    def _polish(self, state: BandState) -> tuple[BandState, tuple[Status, str] | None]:
        """A band converged with the pull across bends goes on without it until it
        converges again: held at a bend, a pivot stays off the path by the pull's
        balance (on Mueller-Brown a gradient across the path of 2.2 where the tolerance
        is 0.02), so the pull leads the way and the plain forces decide the end."""
        pivots, energies = state.path.pivots, state.path.energies
        forces = self._forces(pivots, energies, state.gradients, state.climbing, state.spring, False)
        stepper_state = restart_state(self.stepper, pivots[1:-1], state.stepper_state)
        state = replace(state, forces=forces, polished=True, stepper_state=stepper_state)
        return state, self.terminate(state)

    def _reparametrise(self, pivots: Any, climber: Any) -> Any:
        return geometry.redistribute(pivots, fixed=climber) if self.method == "string" else pivots

    def _track(self, state: BandState) -> BandState:
        """Keep the last `patience`+1 highest energies (device scalars) for `etol`."""
        if self.etol is None:
            return state
        recent = (state.recent_max + (state.max_energy,))[-(self.patience + 1) :]
        return replace(state, recent_max=recent)


@dataclass(frozen=True)
class NEB(ElasticBand):
    """Nudged elastic band with springs (Jonsson 1998; Henkelman & Jonsson 2000)."""

    method: str = "neb"


@dataclass(frozen=True)
class StringMethod(ElasticBand):
    """String method (E, Ren, Vanden-Eijnden): no springs, equal-arc redistribution."""

    method: str = "string"
