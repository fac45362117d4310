"""A stored run's checkpoints: committed as the run goes (`Committer`, a driver callback)
and read back into the state it continues from (`resumed`).

AutoNEB commits every finished cycle with the path the next cycle starts from; NEB and
the string method commit a snapshot of their whole state (`PathOptimizer.snapshot`)
every `every` seconds and when interrupted.  Both keep the samples spent and the
potential's own state (a sampler's position), so a resumed run counts on exactly.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

from landscape.foundations.arrays import host_scalars
from landscape.foundations.errors import DamagedCheckpoint, LandscapeError
from landscape.optimizers.autoneb import AutoNEB, AutoNEBState
from landscape.optimizers.base import OptimizerState, PathOptimizer
from landscape.paths.path import Path
from landscape.potentials.potential import Potential, samples_since
from landscape.potentials.primed import forget_primed
from landscape.store import Store

__all__ = ["Committer", "Resumed", "FRESH", "resume_state", "resumed"]


class Committer:
    """Driver callback: commits what a killed run needs to continue where it stood.

    AutoNEB: every newly finished cycle, with a checkpoint (the path the next cycle
    starts from).  Methods that can snapshot their state (NEB, string): the state, every
    `every` seconds of running, and once more when the run is interrupted.
    """

    def __init__(
        self,
        filename: str,
        name: str,
        config: dict[str, Any],
        history: list[float],
        seen: int,
        optimizer: PathOptimizer,
        potential: Potential,
        every: float | None,
        origin: dict[str, int] | None = None,
    ):
        self.filename, self.name, self.config = filename, name, config
        self.origin = origin  # the cost() reading this run's samples count from
        # The samples the latest state cost and the potential's state after it (a
        # sampler's position): a commit after the run stores these, not what the final
        # checks or an interrupted step spent and drew after that state (`optimize`
        # returns the last step's state when Ctrl-C lands there).
        self.spent, self.drawn = samples_since(potential, origin), potential.checkpoint_state()
        self.history: list[Any] = list(history)
        self.seen = seen
        self.optimizer, self.potential, self.every = optimizer, potential, every
        self.last = time.monotonic()

    def __call__(self, state: OptimizerState) -> None:
        self.history.append(state.max_energy)
        self.spent, self.drawn = samples_since(self.potential, self.origin), self.potential.checkpoint_state()
        if isinstance(state, AutoNEBState):
            if len(state.cycles) > self.seen:
                self.commit_cycles(state)
        elif self.every is not None and time.monotonic() - self.last >= self.every:
            self.commit_state(state)

    def host_history(self) -> np.ndarray:
        return host_scalars(self.history)

    def _potential_state(self, attrs: dict[str, Any], saved: Any) -> dict[str, Any]:
        if saved is not None:  # a sampler's position, for instance
            attrs["potential_state"] = saved
        if self.spent is not None:  # what a resumed run counts on from
            attrs["samples"] = self.spent
        return attrs

    def commit_cycles(self, state: AutoNEBState) -> None:
        with Store.write(self.filename) as store:
            for cycle in state.cycles[self.seen :]:
                store.append_cycle(
                    self.name, cycle, start=self.config["start_name"], end=self.config["end_name"], config=self.config
                )
            # The path the next cycle starts from (its band's evaluations are counted again
            # when it is rebuilt), or, after the last cycle, the final path.
            done = state.cycle_start is None
            start = state.inner.path if done else state.cycle_start
            arrays = {"pivots": start.pivots, "energies": start.energies, "history": self.host_history()}
            attrs = {
                "cycle": state.cycle,
                "nit": state.nit,
                "nfev": state.nfev - (0 if done else state.inner.nfev),
                "climbing": bool(state.inner.climbing),
            }
            store.write_checkpoint(self.name, arrays, self._potential_state(attrs, state.cycle_start_potential_state))
        self.seen = len(state.cycles)

    def commit_state(self, state: OptimizerState) -> bool:
        """Commit a snapshot of `state`, the state of the latest call (or the first
        state), when it can be taken now; whether it was."""
        snap = self.optimizer.snapshot(state)
        if snap is None:
            return False
        arrays, attrs = snap
        attrs = self._potential_state({**attrs, "kind": "state"}, self.drawn)
        with Store.write(self.filename) as store:
            store.write_progress(
                self.name,
                {**arrays, "history": self.host_history()},
                attrs,
                nit=state.nit,
                nfev=state.nfev,
                climbing=bool(getattr(state, "climbing", False)),
                start=self.config["start_name"],
                end=self.config["end_name"],
                config=self.config,
            )
        self.last = time.monotonic()
        return True


class Resumed(NamedTuple):
    """Where a run goes on from its checkpoint."""

    state: Any  # None: nothing to go on from, a fresh start
    history: list[float]  # the highest energy after each step so far
    seen: int  # cycles already stored
    where: tuple[str, int] | None  # ("cycle" | "step", where it resumed)
    samples: dict[str, int] | None  # spent up to the checkpoint (None when it holds none)


FRESH = Resumed(None, [], 0, None, None)


def resume_state(filename: str, name: str, optimizer: PathOptimizer, potential: Potential) -> Resumed:
    """The state and bookkeeping of path `name`'s checkpoint (`FRESH` without one)."""
    with Store.open(filename) as store:
        stored = store.read_result(name)
        checkpoint = store.read_checkpoint(name)
    if checkpoint is None:
        return FRESH
    forget_primed(potential)  # the end check's points serve a fresh start's first step only
    arrays, attrs = checkpoint
    samples = attrs.get("samples")
    if "potential_state" in attrs:
        potential.restore_checkpoint_state(attrs["potential_state"])
    if attrs.get("kind") == "state":  # a band's exact state mid-run
        state = optimizer.restore(arrays, attrs, potential)
        return Resumed(state, list(arrays["history"]), 0, ("step", state.nit), samples)
    if not isinstance(optimizer, AutoNEB):
        raise LandscapeError(f"{filename}: path {name} holds an AutoNEB checkpoint, but the method is another")
    path = Path(potential.asarray(arrays["pivots"]), potential.asarray(arrays["energies"]))
    cycle = int(attrs["cycle"])
    records = stored.cycles[:cycle]
    state = optimizer.resume(
        path,
        cycle,
        potential,
        records=records,
        nit=int(attrs["nit"]),
        nfev=int(attrs["nfev"]),
        climbing=attrs.get("climbing"),
    )
    return Resumed(state, list(arrays["history"]), len(records), ("cycle", cycle), samples)


def resumed(filename: str, name: str, optimizer: PathOptimizer, potential: Potential) -> Resumed:
    """`resume_state`, with a damaged checkpoint (an array or attribute missing, wrong
    shapes) reported in one line instead of surfacing as an internal error."""
    try:
        return resume_state(filename, name, optimizer, potential)
    except DamagedCheckpoint as exc:
        why = str(exc)
    except LandscapeError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        why = f"{type(exc).__name__}: {exc}"
    raise LandscapeError(
        f"{filename}: the checkpoint of path {name} is damaged ({why}); pass --force to compute the path afresh"
    )
