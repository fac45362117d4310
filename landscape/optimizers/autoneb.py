"""AutoNEB (Kolsbjerg et al. 2016; Draxler et al. 2018, Algorithm 2).

Runs an elastic band in cycles of a schedule.  After each cycle the energy is
evaluated at `per_segment` points between neighbouring pivots; where it exceeds the
straight line between the pivots' energies by more than `threshold` times the energy
range along the path, a pivot is inserted at the point of largest excess.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import host_scalars, to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_flag, check_number
from landscape.optimizers.band import ElasticBand, StringMethod
from landscape.optimizers.base import OptimizerState, PathOptimizer
from landscape.optimizers.insertion import insert_pivots
from landscape.optimizers.schedules import Schedule, get_schedule, levelled
from landscape.optimizers.snapshot import BandState
from landscape.paths import geometry
from landscape.paths.path import Path, dense_fractions
from landscape.paths.result import CycleRecord, Status
from landscape.potentials.potential import Potential

__all__ = ["AutoNEB", "AutoNEBState", "insert_pivots"]


@dataclass(frozen=True, eq=False)
class AutoNEBState(OptimizerState):
    inner: BandState
    cycle: int = 0  # index of the running cycle; == len(schedule) when done
    cycle_step: int = 0
    records: tuple[CycleRecord, ...] = ()
    nit: int = 0
    nfev: int = 0
    fault: str | None = None  # set when a dense evaluation was not finite
    cycle_start: Path | None = None  # the evaluated path the running cycle began from
    cycle_start_potential_state: Any = None  # potential.checkpoint_state() just before that
    levels: tuple[Any, ...] = ()  # the running cycle's last highest pivot energies (Schedule.level_window)

    @property
    def path(self) -> Path:  # type: ignore[override]
        return self.inner.path

    @property
    def repairs(self) -> int:
        """Times the final climbing cycle ran again (its band counts them: only that
        cycle repairs, and every cycle starts a fresh band)."""
        return self.inner.repairs

    @property
    def cycles(self) -> tuple[CycleRecord, ...]:
        return self.records

    def with_cycles(self, cycles: tuple[CycleRecord, ...]) -> AutoNEBState:
        return replace(self, records=tuple(cycles))


@dataclass(frozen=True)
class AutoNEB(PathOptimizer):
    """Cycles of `band` following `schedule`, inserting pivots between cycles
    by the schedule's rule (`threshold`, `per_segment`).

    max_inserts: cap on pivots inserted after one cycle (None: no cap).
    max_pivots: cap on the total number of pivots, ends included (None: no cap).
    stop_cycle_early: end a cycle once the band's own convergence test passes.
    """

    schedule: Schedule = field(default_factory=lambda: get_schedule("analytic"))
    band: ElasticBand = field(default_factory=StringMethod)
    max_inserts: int | None = None
    max_pivots: int | None = None
    stop_cycle_early: bool = True

    def __post_init__(self) -> None:
        if self.max_inserts is not None:
            check_number("max_inserts", self.max_inserts, lambda v: v >= 0, ">= 0 (or None: no cap)", integer=True)
        if self.max_pivots is not None:
            check_number("max_pivots", self.max_pivots, lambda v: v >= 3, ">= 3 (or None: no cap)", integer=True)
        check_flag("stop_cycle_early", self.stop_cycle_early)

    @property
    def per_segment(self) -> int:
        return self.schedule.per_segment

    @property
    def threshold(self) -> float:
        return self.schedule.threshold

    @property
    def total_steps(self) -> int:
        return self.schedule.total_steps

    def _band(self, cycle: int) -> ElasticBand:
        c = self.schedule.cycles[cycle]
        return replace(self.band, stepper=c.stepper, climb=c.climb, climb_after=0 if c.climb else self.band.climb_after)

    def init(self, path: Path, potential: Potential) -> AutoNEBState:
        inner = self._band(0).init(path, potential)
        return AutoNEBState(inner=inner, nfev=inner.nfev, cycle_start=inner.path)

    def step(self, state: AutoNEBState, potential: Potential) -> AutoNEBState:
        if state.cycle >= len(self.schedule.cycles):
            return state
        band = self._band(state.cycle)
        before = state.inner.nfev
        inner = band.step(state.inner, potential)
        state = replace(
            state,
            inner=inner,
            cycle_step=state.cycle_step + 1,
            nit=state.nit + 1,
            nfev=state.nfev + inner.nfev - before,
        )
        done = state.cycle_step >= self.schedule.cycles[state.cycle].steps
        window = self.schedule.level_window
        if window:  # device scalars kept; the host reads them once a window
            state = replace(state, levels=(state.levels + (inner.max_energy,))[-2 * window :])
            if not done and state.cycle_step % window == 0:
                done = levelled(host_scalars(state.levels), window, self.schedule.level_tol)
        if not done and self.stop_cycle_early and any(t is not None for t in (band.fmax, band.frtol, band.etol)):
            done = band.terminate(inner) is not None
        return self._finish_cycle(state, potential) if done else state

    def terminate(self, state: AutoNEBState) -> tuple[Status, str] | None:
        if state.fault is not None:
            return Status.NUMERICAL_FAULT, state.fault
        if state.inner.faults:
            band = self._band(min(state.cycle, len(self.schedule.cycles) - 1))
            outcome = band.terminate(state.inner)
            if outcome is not None and outcome[0] in (Status.NUMERICAL_FAULT, Status.DIVERGED):
                return outcome
        if state.cycle >= len(self.schedule.cycles):
            return (
                Status.SCHEDULE_DONE,
                f"all {len(self.schedule.cycles)} cycles of schedule {self.schedule.name!r} done",
            )
        return None

    def to_config(self) -> dict[str, Any]:
        return {
            "method": "autoneb",
            "band": self.band.to_config(),
            "schedule": self.schedule.to_config(),
            "max_inserts": self.max_inserts,
            "max_pivots": self.max_pivots,
            "stop_cycle_early": self.stop_cycle_early,
        }

    # cycle bookkeeping -------------------------------------------------------------
    def _finish_cycle(self, state: AutoNEBState, potential: Potential) -> AutoNEBState:
        path = state.inner.path
        dense = geometry.dense_points(path.pivots, self.per_segment)
        dense_e = potential.energy(dense)
        state = replace(state, nfev=state.nfev + int(dense.shape[0]))  # the record counts them too
        if not np.all(np.isfinite(to_numpy(dense_e))):
            return replace(state, fault=f"NaN or infinite energy between pivots after cycle {state.cycle}")
        repaired = self._repair(state, dense, dense_e, potential)
        if repaired is not None:
            return repaired
        res = to_numpy(geometry.insertion_residuals(path.energies, dense_e, self.per_segment))
        limit = self._insert_limit(path.n_pivots)
        new_path, chosen = insert_pivots(path, dense, dense_e, res, self.per_segment, self.threshold, limit)
        record = self._record(state, path, to_numpy(dense_e), res, chosen)
        state = replace(state, records=state.records + (record,), cycle=state.cycle + 1, cycle_step=0, levels=())
        if state.cycle >= len(self.schedule.cycles):  # done: no next cycle starts anywhere
            return replace(state, cycle_start=None, cycle_start_potential_state=None)
        # Each cycle starts a fresh band (new stepper state), as in the paper, from the
        # evaluated path alone, so a run resumed from a stored cycle is identical.
        # A stochastic potential's sampler state is taken before the band's first
        # evaluation, so a run resumed here draws the same batches.
        potential_state = potential.checkpoint_state()
        inner = self._band(state.cycle).init(new_path, potential)
        return replace(
            state,
            inner=inner,
            nfev=state.nfev + inner.nfev,
            cycle_start=new_path,
            cycle_start_potential_state=potential_state,
        )

    def _repair(self, state: AutoNEBState, dense: Any, dense_e: Any, potential: Potential) -> AutoNEBState | None:
        """The final climbing cycle again, from the path with a pivot at its top, when
        the climber ended below a point between pivots (`ElasticBand.retarget`); None
        when the climber is the top, or no repair is possible or left."""
        band = self._band(state.cycle)
        final = state.cycle == len(self.schedule.cycles) - 1
        if not final or not state.inner.climbing or potential.stochastic or self._insert_limit(state.path.n_pivots) < 1:
            return None
        _, inner = band.retarget(state.inner, dense, dense_e, self.per_segment, potential)
        if inner is None:
            return None
        return replace(state, inner=inner, nfev=state.nfev + inner.nfev - state.inner.nfev, cycle_step=0)

    def resume(
        self,
        path: Path,
        cycle: int,
        potential: Potential,
        *,
        records: tuple[CycleRecord, ...] = (),
        nit: int = 0,
        nfev: int = 0,
        climbing: bool | None = None,
    ) -> AutoNEBState:
        """The state at the start of `cycle` from the path it starts with (pivots and
        energies, as checkpointed after the previous cycle); with `cycle` past the last,
        the finished run from its final path (`nfev` then counts everything, and
        `climbing` says whether its last band climbed; default: the schedule's setting)."""
        if not 0 <= cycle <= len(self.schedule.cycles):
            raise LandscapeError(f"cannot resume at cycle {cycle}: the schedule has {len(self.schedule.cycles)}")
        done = cycle == len(self.schedule.cycles)
        band = self._band(min(cycle, len(self.schedule.cycles) - 1))
        # A finished run takes no step: its final path as it is (a string's band would
        # redistribute it), with nothing evaluated again.
        climbed = band.climb if climbing is None else climbing
        inner = (
            BandState(path=path, gradients=None, forces=None, stepper_state=None, climbing=climbed)
            if done
            else band.init(path, potential)
        )
        return AutoNEBState(
            inner=inner,
            cycle=cycle,
            records=records,
            nit=nit,
            nfev=nfev if done else nfev + inner.nfev,
            cycle_start=None if done else path,
        )

    def _insert_limit(self, n_pivots: int) -> int:
        limit = n_pivots - 1 if self.max_inserts is None else self.max_inserts
        if self.max_pivots is not None:
            limit = min(limit, self.max_pivots - n_pivots)
        return limit

    def _record(
        self, state: AutoNEBState, path: Path, dense_e: np.ndarray, res: np.ndarray, chosen: np.ndarray
    ) -> CycleRecord:
        cycle = self.schedule.cycles[state.cycle]
        s = to_numpy(path.arc_fractions())
        dense_t = dense_fractions(s, self.per_segment)
        inserted = (
            dense_t.reshape(-1, self.per_segment)[
                chosen, np.argmax(dense_e.reshape(-1, self.per_segment)[chosen], axis=1)
            ]
            if chosen.size
            else np.zeros(0)
        )
        return CycleRecord(
            index=state.cycle,
            steps=state.cycle_step,
            lr=cycle.stepper.step_size,
            climb=cycle.climb,
            path=path.numpy(),
            dense_t=dense_t,
            dense_energies=dense_e,
            residuals=res,
            inserted=np.asarray(inserted, dtype=float),
            nfev=state.nfev,
        )
