"""The worker side of the executors: what runs inside a pool process or a Ray task.

A worker builds (or unpickles) the potential once per exploration, keyed by the token
the executor gave it; a pool worker tells its runs' progress through a queue the driver
reads, and takes the first SIGINT/SIGTERM as Ctrl-C so that its run's progress is kept.
These functions are module-level so that a process pool and Ray can pickle them.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.result import Result
from landscape.potentials.potential import Potential
from landscape.runs.tasks import PairTask, PotentialSource, PotentialSpec, run_pair

__all__ = ["resolve_potential", "Reporter", "process_init", "process_run", "ray_run"]

# Worker-side cache: a worker process builds (or unpickles) the potential once per
# exploration, keyed by the token the executor gave it.
_WORKER: dict[str, Potential] = {}


def resolve_potential(source: PotentialSource, token: str) -> Potential:
    """The potential of the exploration `token`, built (or unpickled) once per worker."""
    potential = _WORKER.get(token)
    if potential is None:
        potential = source.build() if isinstance(source, PotentialSpec) else source
        _WORKER.clear()  # one exploration at a time per worker
        _WORKER[token] = potential
    return potential


class Reporter:
    """A step callback that tells `send(i, j, step, highest)` at most every `every` seconds."""

    def __init__(self, pair: tuple[int, int], send: Any, every: float):
        self.pair, self.send, self.every, self.last = pair, send, every, -float("inf")

    def __call__(self, state: Any) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.send(*self.pair, int(state.nit), float(np.asarray(to_numpy(state.max_energy))))


# Worker side of a process pool: where progress goes (a queue the driver reads), if anywhere.
_EVENTS: list[Any] = []


def process_init(source: PotentialSource, token: str, events: Any = None) -> None:
    """A pool worker's initializer: signals as `_interrupt_once` says, the potential, the queue."""
    _interrupt_once()
    resolve_potential(source, token)
    _EVENTS[:] = [] if events is None else [events]


# Seconds after a worker's first SIGINT/SIGTERM during which another one is ignored.
_WORKER_GRACE = 2.0


def _interrupt_once() -> None:
    """In a pool worker: the first SIGINT or SIGTERM stops the run in hand as Ctrl-C does
    (KeyboardInterrupt: the run returns its state for the main process to commit), and a
    second one within `_WORKER_GRACE` is ignored.  A signal sent to the whole process group
    (a batch system's time limit) and the Ctrl-C the main process forwards then interrupt
    once, instead of killing the worker with its run's progress; a later one acts as usual."""
    first: list[float] = []

    def handler(signum: int, frame: Any) -> None:
        now = time.monotonic()
        if not first:
            first.append(now)
            raise KeyboardInterrupt
        if now - first[0] < _WORKER_GRACE:
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, handler)


def process_run(token: str, task: PairTask, pair: tuple[int, int] | None = None) -> Result:
    """Run `task` in a pool worker, telling its progress for `pair` when the driver listens."""
    potential = _WORKER.get(token)
    if potential is None:  # pragma: no cover - the initializer always ran first
        raise LandscapeError("worker lost its potential")
    if pair is None or not _EVENTS:
        return run_pair(potential, task)
    events = _EVENTS[0]
    return run_pair(potential, task, [Reporter(pair, lambda *m: events.put(m), 0.25)])


def ray_run(source: PotentialSource, token: str, task: PairTask) -> Result:
    """Run `task` as a Ray task (the potential resolved once per worker process)."""
    return run_pair(resolve_potential(source, token), task)
