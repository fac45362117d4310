"""Frozen results of path optimisation, in scipy's vocabulary (status, message, nit, nfev)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.paths.climber import climber_energy, climber_tolerance
from landscape.paths.path import Path, Profile

__all__ = ["Status", "CycleRecord", "Result"]


class Status(str, Enum):
    """Why a run or an exploration stopped: one vocabulary for both.  `success` is true
    for CONVERGED and SCHEDULE_DONE (a run) and COMPLETE (an exploration)."""

    RUNNING = "running"
    CONVERGED = "converged"
    SCHEDULE_DONE = "schedule_done"
    #: an exploration: every edge of its minimum spanning tree is final
    COMPLETE = "complete"
    MAX_STEPS = "max_steps"
    MAX_RUNS = "max_runs"
    MAX_EVALUATIONS = "max_evaluations"
    MAX_SECONDS = "max_seconds"
    NUMERICAL_FAULT = "numerical_fault"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"
    #: the climbing image stopped below the highest point of its own path, and
    #: repairs did not move it there; `saddle_energy` is then the path's upper bound
    SADDLE_NOT_AT_TOP = "saddle_not_at_top"
    #: the climbing image is the top of its path, but the Hessian there is not index 1
    #: (a maximum, or a point that is no stationary point at all): `verdicts.judge`
    NOT_A_SADDLE = "not_a_saddle"

    @property
    def success(self) -> bool:
        return self in (Status.CONVERGED, Status.SCHEDULE_DONE, Status.COMPLETE)

    @property
    def spent(self) -> bool:
        """A run's budget stopped it (steps, evaluations or seconds), not its own criterion."""
        return self in (Status.MAX_STEPS, Status.MAX_EVALUATIONS, Status.MAX_SECONDS)

    @property
    def failed(self) -> bool:
        """The band itself broke (NaN, rejected steps, or it ran away), rather than
        stopping early (a budget, the user) or ending with a climber that is no saddle
        estimate (SADDLE_NOT_AT_TOP, NOT_A_SADDLE), whose path is a sound bound."""
        return self in (Status.NUMERICAL_FAULT, Status.DIVERGED)

    def __str__(self) -> str:  # prints as the word stores and --json use
        return self.value


@dataclass(frozen=True, eq=False)
class CycleRecord:
    """One AutoNEB cycle: the path after it, its dense profile and what was inserted.

    `dense_t`/`dense_energies` are the arc-length fractions and energies of the
    points evaluated between pivots; `inserted` holds the arc fractions of the pivots
    added after the cycle (empty when none were needed).  `nfev` and `samples` count
    since the run began, up to the cycle's commit (`samples` includes the first
    evaluation of the next cycle's band; None for potentials that count no samples).
    """

    index: int
    steps: int
    lr: float
    climb: bool
    path: Path
    dense_t: np.ndarray
    dense_energies: np.ndarray
    residuals: np.ndarray
    inserted: np.ndarray
    nfev: int
    samples: dict[str, int] | None = None

    @property
    def saddle_energy(self) -> float:
        """Highest energy seen after the cycle, pivots and dense points together."""
        return float(max(self.path.saddle_energy, np.max(self.dense_energies, initial=-np.inf)))


@dataclass(frozen=True, eq=False)
class Result:
    """What a driver returns: the final path (host numpy), status and bookkeeping.

    `profile` holds the energies of the final path at its pivots and at dense points
    between them.  `saddle_energy` is the estimate users want: with a climbing image
    at the end (`climbing`) that is the top of its own path (`landscape.paths.climber`), the
    climber's energy (it sits on the saddle); otherwise the highest energy of the
    profile, an upper bound on the minimax energy that this path certifies.  So
    `saddle_energy` is never below `upper_bound` by more than the climber tolerance.
    `history` holds the highest pivot energy after every step; `cycles` the AutoNEB
    cycle records; `config` the optimizer's settings as JSON-able
    data; `state` the final optimizer state for resuming (not stored).  `samples`
    counts the data samples the run evaluated, {"gradient": ..., "forward": ...}
    (`Potential.cost`), None for a potential that counts none.  `arrays` is what the
    optimizer keeps beside the path (`PathOptimizer.result_arrays`: a curve's control
    points, which the pivots only sample), (arrays, attributes) or None; it outlives
    `state`, which executors drop, so stores keep it whoever ran the path.
    """

    path: Path
    status: Status
    message: str
    nit: int
    nfev: int
    history: np.ndarray
    profile: Profile | None = None
    climbing: bool = False
    cycles: tuple[CycleRecord, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    samples: dict[str, int] | None = None
    arrays: tuple[dict[str, Any], dict[str, Any]] | None = None

    @property
    def success(self) -> bool:
        return self.status.success

    def __repr__(self) -> str:
        """A short summary, as scipy's OptimizeResult prints; arrays stay attributes."""
        dim = int(np.shape(self.path.pivots)[1]) if np.ndim(self.path.pivots) == 2 else 0
        what = "climbing image, the top of its path" if self.climber_at_top else "upper bound along the path"
        rows = [
            ("message", self.message),
            ("success", self.success),
            ("status", str(self.status)),
            ("saddle_energy", f"{self.saddle_energy:.10g} ({what})" if self.path.energies is not None else None),
            ("upper_bound", f"{self.upper_bound:.10g}" if self.path.energies is not None else None),
            ("nit", self.nit),
            ("nfev", self.nfev),
            ("samples", self.samples),
            ("path", f"{self.path.n_pivots} pivots in {dim} dimensions"),
            ("cycles", len(self.cycles)),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:>{width}}: {v}" for k, v in rows if v is not None)

    @property
    def climber_at_top(self) -> bool:
        """True when a climbing image ended within tolerance of its path's maximum."""
        if not self.climbing or self.path.energies is None:
            return False
        e = to_numpy(self.path.energies)
        return self.upper_bound - climber_energy(e) <= climber_tolerance(e)

    @property
    def saddle_energy(self) -> float:
        return climber_energy(to_numpy(self.path.energies)) if self.climber_at_top else self.upper_bound

    @property
    def upper_bound(self) -> float:
        """Highest energy seen on the final path (pivots and dense points)."""
        if self.profile is None:
            return self.path.saddle_energy
        return max(self.path.saddle_energy, self.profile.saddle_energy)

    @property
    def forward_barrier(self) -> float:
        """Saddle energy minus the start's energy (ASE's NEBTools calls it the barrier)."""
        return self.saddle_energy - float(to_numpy(self.path.energies)[0])

    @property
    def backward_barrier(self) -> float:
        """Saddle energy minus the end's energy: the barrier of the reverse reaction."""
        return self.saddle_energy - float(to_numpy(self.path.energies)[-1])

    @property
    def reaction_energy(self) -> float:
        """The end's energy minus the start's."""
        e = to_numpy(self.path.energies)
        return float(e[-1]) - float(e[0])

    @property
    def saddle_index(self) -> int:
        """Index of the highest pivot (the climbing image when climbing)."""
        return self.path.saddle_index

    @property
    def saddle(self) -> np.ndarray:
        """Location of the saddle estimate: the highest pivot or dense point."""
        if self.climber_at_top:
            return np.asarray(self.path.pivots[1 + int(np.argmax(to_numpy(self.path.energies)[1:-1]))])
        if self.profile is None or self.profile.saddle_energy <= self.path.saddle_energy:
            return np.asarray(self.path.saddle)
        return np.asarray(self.path.interpolate(np.array([self.profile.t[self.profile.saddle_index]]))[0])
