"""The one budget: limits on a run (steps, evaluations, seconds) or on an exploration
(runs, evaluations, seconds); None means unlimited.

A run and an exploration count different things, so each passes the counters it keeps
to `exceeded`; a limit on a counter that is not passed never stops anything.  The
status of a spent budget names what was spent (`Status.MAX_STEPS`, `MAX_RUNS`,
`MAX_EVALUATIONS`, `MAX_SECONDS`), in the vocabulary of every result.
"""

from __future__ import annotations

from dataclasses import dataclass

from landscape.foundations.errors import LandscapeError
from landscape.paths.result import Status

__all__ = ["Budget"]


@dataclass(frozen=True)
class Budget:
    """Limits; None means unlimited.  `max_steps`: optimizer steps of one run;
    `max_runs`: path runs of one exploration; `max_evaluations`: points evaluated;
    `max_seconds`: wall time.  An exploration checks between batches: a batch in flight
    always finishes, and a batch never starts more runs than `max_runs` leaves."""

    max_steps: int | None = None
    max_runs: int | None = None
    max_evaluations: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_runs", "max_evaluations"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 0):
                raise LandscapeError(f"{name} must be a non-negative integer, got {value!r}")
        if self.max_seconds is not None and not self.max_seconds >= 0:
            raise LandscapeError(f"max_seconds must be >= 0, got {self.max_seconds!r}")

    def exceeded(
        self,
        *,
        steps: int | None = None,
        runs: int | None = None,
        evaluations: int | None = None,
        seconds: float | None = None,
    ) -> tuple[Status, str] | None:
        """(status, message) of the first limit the given counters reach, else None."""
        limits = (
            (steps, self.max_steps, Status.MAX_STEPS, "step"),
            (runs, self.max_runs, Status.MAX_RUNS, "run"),
            (evaluations, self.max_evaluations, Status.MAX_EVALUATIONS, "evaluation"),
        )
        for spent, limit, status, what in limits:
            if spent is not None and limit is not None and spent >= limit:
                return status, f"{what} budget of {limit} spent"
        if seconds is not None and self.max_seconds is not None and seconds >= self.max_seconds:
            return Status.MAX_SECONDS, f"time budget of {self.max_seconds:g} s spent"
        return None

    def runs_left(self, runs: int) -> int | None:
        """How many more runs an exploration may start (None: unlimited)."""
        return None if self.max_runs is None else self.max_runs - runs
