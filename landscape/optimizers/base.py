"""The `PathOptimizer` interface: immutable configuration, explicit state.

An optimizer never owns a loop.  `init` evaluates a starting path, `step` advances
the state by one iteration, `terminate` says whether (and why) to stop, and
`confirm` may check (and repair) a stop before the driver accepts it.  The driver
(`landscape.optimizers.driver.optimize`) owns the loop, budget, callbacks, progress and storage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from landscape.paths.path import Path
from landscape.paths.result import CycleRecord, Status
from landscape.potentials.potential import Potential

__all__ = ["PathOptimizer", "OptimizerState"]


class OptimizerState(ABC):
    """What every optimizer state exposes to the driver."""

    path: Path  # current pivots with energies (numpy or the potential's tensors)
    nit: int  # iterations done
    nfev: int  # energy+gradient evaluations (points), energy-only points included

    @property
    def cycles(self) -> tuple[CycleRecord, ...]:
        return ()

    def with_cycles(self, cycles: tuple[CycleRecord, ...]) -> OptimizerState:
        """This state holding `cycles` instead (the driver stamps each new cycle record
        with the samples spent); a state without cycles has nothing to replace."""
        return self

    @property
    def max_energy(self) -> Any:
        """Highest pivot energy now, as a 0-d array (no host sync)."""
        return self.path.energies[1:-1].max() if self.path.n_pivots > 2 else self.path.energies.max()


class PathOptimizer(ABC):
    """A method that improves a path between two fixed ends."""

    @abstractmethod
    def init(self, path: Path, potential: Potential) -> OptimizerState:
        """Evaluate `path` and return the starting state."""

    @abstractmethod
    def step(self, state: OptimizerState, potential: Potential) -> OptimizerState:
        """One iteration."""

    @abstractmethod
    def terminate(self, state: OptimizerState) -> tuple[Status, str] | None:
        """(status, message) when the method itself is done, else None."""

    def confirm(
        self, state: OptimizerState, potential: Potential, outcome: tuple[Status, str]
    ) -> tuple[OptimizerState, tuple[Status, str] | None]:
        """Check a stop that `terminate` reported, with the potential at hand.

        Returns the state and the outcome to end with, or a repaired state and None to
        go on.  Bands with a climbing image use it to make sure the climber is the top
        of its own path before they say converged (`landscape.paths.climber`).
        """
        return state, outcome

    def settle(self, state: OptimizerState, potential: Potential) -> tuple[OptimizerState, tuple[Status, str] | None]:
        """The state to end with, once the driver has decided to stop (not when
        interrupted), and the outcome to end with instead when settling found a fault.
        A curve on a mini-batch loss evaluates its pivots here rather than after every
        step.  The default: the state as it is."""
        return state, None

    def snapshot(self, state: OptimizerState) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(arrays, JSON attributes) from which `restore` rebuilds `state` exactly, so a
        killed run continues where it stood; None when this state cannot be saved (the
        default: such optimizers resume only at their own boundaries, as AutoNEB does
        at its cycles)."""
        return None

    def restore(self, arrays: dict[str, Any], attrs: dict[str, Any], potential: Potential) -> OptimizerState:
        """The state `snapshot` saved."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore a snapshot")

    def result_arrays(self, state: OptimizerState) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(arrays, JSON attributes) a stored result keeps beside its path (a curve's
        control points), or None, the default: the path says it all."""
        return None

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """JSON-able settings, stored with results."""
