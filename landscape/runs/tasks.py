"""What an executor runs: one path run (`PairTask`) between two points, where it commits
its progress as it goes (`InFlight`), the potential shipped to the workers (a Potential,
or a `PotentialSpec` every worker rebuilds), and `run_pair`, which runs one task in any
worker.  Executors are `landscape.runs.executors`; their worker side is
`landscape.runs.workers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from landscape.optimizers.base import PathOptimizer
from landscape.paths.budget import Budget
from landscape.paths.result import Result
from landscape.potentials.potential import Potential

__all__ = ["PotentialSpec", "PotentialSource", "PairTask", "InFlight", "Batch", "run_pair"]


@dataclass(frozen=True)
class PotentialSpec:
    """A potential by registry name and options: rebuilt with `load_potential` where it runs.

    With the `description` a store recorded, a worker rebuilds it as readers of the store
    do (`landscape.potentials.identity.rebuild`): a potential file edited since the store was written
    is refused there too, instead of computing paths on another surface."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    description: Mapping[str, Any] | None = None

    def build(self) -> Potential:
        from landscape.potentials.identity import rebuild
        from landscape.potentials.registry import load_potential

        if self.description is not None:
            return rebuild(self.description)
        return load_potential(self.name, dict(self.options))


PotentialSource = Potential | PotentialSpec


@dataclass(frozen=True, eq=False)
class PairTask:
    """One path run between two points: the optimizer, its start and its budget.

    `start`/`end` are host float64 arrays; the worker moves them to the potential's
    device.  `pivots` and `budget` as in :func:`landscape.runs.pair.connect`.
    """

    start: np.ndarray
    end: np.ndarray
    optimizer: PathOptimizer
    pivots: int | None = None
    budget: Budget | None = None
    in_flight: InFlight | None = None


@dataclass(frozen=True)
class InFlight:
    """Where a run commits its progress as it goes, so a killed exploration loses at most
    one AutoNEB cycle (or `checkpoint_seconds` of a band) of each run in flight: path
    `name`, joining minima `names`, of the store `store` whose lock the exploration holds."""

    store: str
    name: str
    names: tuple[str, str]
    checkpoint_seconds: float | None = None


#: What an executor's `submit` takes: `(i, j, task)` for each pair of minima i, j.
Batch = Sequence[tuple[int, int, PairTask]]


def run_pair(potential: Potential, task: PairTask, callbacks: Sequence[Any] = ()) -> Result:
    """Run one task; the optimizer state is dropped (it is large and never stored).
    `callbacks` see every step (the local executor's progress display)."""
    from landscape.runs.pair import connect, plan
    from landscape.runs.stored import run_in_store

    potential.restart_stream()  # a resumed run then replays the stream from its start
    if task.in_flight is None:
        result = connect(
            potential,
            task.start,
            task.end,
            optimizer=task.optimizer,
            pivots=task.pivots,
            budget=task.budget,
            callbacks=callbacks,
        )
    else:
        where = task.in_flight
        job = plan(potential, task.start, task.end, optimizer=task.optimizer, pivots=task.pivots, budget=task.budget)
        result, _ = run_in_store(
            where.store,
            where.name,
            job,
            potential,
            where.names,
            checkpoint_seconds=where.checkpoint_seconds,
            callbacks=callbacks,
        )
        result = replace(result, config=task.optimizer.to_config())  # as a run without a store reports it
    return replace(result, state=None)
