"""Runs backed by a store: progress is committed as it lands, and running the same
command again continues from the last commit.

AutoNEB commits every finished cycle with a checkpoint (the path the next cycle starts
from, the counters, the history so far); NEB and the string method commit a snapshot
of their whole state (`PathOptimizer.snapshot`) every `checkpoint_seconds` and when
interrupted.  A crash (even kill -9) leaves the store readable with all of it.
Resuming rebuilds the state from the checkpoint, so a resumed run of a deterministic
potential ends exactly where an uninterrupted one does.  Checkpoints keep the samples
spent (`Potential.cost`), so a resumed run reports the samples of the uninterrupted one
(what rebuilding its state evaluates again is not counted twice).

A run that stopped at its budget (`max_steps`, `max_evaluations`) keeps its checkpoint
beside its result: the same budget returns the result, a larger one continues the run
from there (ending where one run with that budget ends), and a budget below what it
used is refused, so a stored answer is never returned for a budget it was not computed
under.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from landscape.foundations.arrays import host_scalars
from landscape.runs.pair import Plan, plan
from landscape.optimizers.driver import StepCallback, optimize
from landscape.paths.budget import Budget
from landscape.foundations.errors import DamagedCheckpoint, LandscapeError
from landscape.foundations.files import store_path
from landscape.paths.host import host_job
from landscape.potentials.identity import differences, record, require_same, same_points
from landscape.foundations.lock import WriterLock
from landscape.optimizers.autoneb import AutoNEB, AutoNEBState
from landscape.optimizers.base import OptimizerState, PathOptimizer
from landscape.paths.path import Path
from landscape.foundations.arrays import to_numpy
from landscape.potentials.potential import Potential, add_samples, samples_since
from landscape.paths.result import Result, Status
from landscape.store import Store, remove_store, vacant
from landscape.foundations.values import check_number

__all__ = ["StoredRun", "connect_stored", "run_in_store", "discard_if_empty", "DEFAULT_CHECKPOINT_SECONDS"]

#: How often NEB and string runs commit their state: at most this much work is lost.
DEFAULT_CHECKPOINT_SECONDS = 30.0


@dataclass(frozen=True, eq=False)
class StoredRun:
    """The outcome of `connect_stored`: the result, and how the store was used."""

    result: Result
    store: str
    name: str
    resumed_from_cycle: int | None = None  # AutoNEB cycle the run continued at, if it did
    resumed_from_step: int | None = None  # step a band (NEB, string) continued at, if it did
    reused: bool = False  # the store already held this finished path


class _Committer:
    """Driver callback: commits what a killed run needs to continue where it stood.

    AutoNEB: every newly finished cycle, with a checkpoint (the path the next cycle
    starts from).  Methods that can snapshot their state (NEB, string): the state, every
    `every` seconds of running, and once more when the run is interrupted.
    """

    def __init__(self, filename: str, name: str, config: dict[str, Any], history: list[float], seen: int,
                 optimizer: PathOptimizer, potential: Potential, every: float | None,
                 origin: dict[str, int] | None = None):
        self.filename, self.name, self.config = filename, name, config
        self.origin = origin  # the cost() reading this run's samples count from
        # The samples the latest state cost: a commit after the run stores them, not
        # what the final profile or an interrupted step evaluated after that state.
        self.spent = samples_since(potential, origin)
        self.history: list[Any] = list(history)
        self.seen = seen
        self.optimizer, self.potential, self.every = optimizer, potential, every
        self.last = time.monotonic()

    def __call__(self, state: OptimizerState) -> None:
        self.history.append(state.max_energy)
        self.spent = samples_since(self.potential, self.origin)
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
                store.append_cycle(self.name, cycle, start=self.config["start_name"], end=self.config["end_name"],
                                   config=self.config)
            # The path the next cycle starts from (its band's evaluations are counted again
            # when it is rebuilt), or, after the last cycle, the final path.
            done = state.cycle_start is None
            start = state.inner.path if done else state.cycle_start
            arrays = {"pivots": start.pivots, "energies": start.energies, "history": self.host_history()}
            attrs = {"cycle": state.cycle, "nit": state.nit, "nfev": state.nfev - (0 if done else state.inner.nfev),
                     "climbing": bool(state.inner.climbing)}
            store.write_checkpoint(self.name, arrays, self._potential_state(attrs, state.cycle_start_potential_state))
        self.seen = len(state.cycles)

    def commit_state(self, state: OptimizerState) -> bool:
        """Commit a snapshot of `state` (when it can be taken now); whether it was."""
        snap = self.optimizer.snapshot(state)
        if snap is None:
            return False
        arrays, attrs = snap
        attrs = self._potential_state({**attrs, "kind": "state"}, self.potential.checkpoint_state())
        with Store.write(self.filename) as store:
            store.write_progress(self.name, {**arrays, "history": self.host_history()}, attrs, nit=state.nit,
                                 nfev=state.nfev, climbing=bool(getattr(state, "climbing", False)),
                                 start=self.config["start_name"], end=self.config["end_name"], config=self.config)
        self.last = time.monotonic()
        return True


def _run_config(job: Plan, names: tuple[str, str]) -> dict[str, Any]:
    """What must match for a stored run to be continued (JSON round-tripped); the
    budget is kept beside it and checked on its own (`_check_budget`)."""
    host = lambda p: np.asarray(to_numpy(p), dtype=float).tolist()  # noqa: E731
    config = {"optimizer": job.optimizer.to_config(), "pivots": job.n_pivots, "start_name": names[0],
              "end_name": names[1], "start": host(job.start_path.start), "end": host(job.start_path.end),
              "budget": asdict(job.budget)}
    if job.via:  # a starting path through other points is another run
        config["via"] = [host(p) for p in job.via]
    if job.given:  # ... and so is one given pivot by pivot (its digest: the pivots may be millions of numbers)
        config["initial_path"] = job.given
    return json.loads(json.dumps(config))


def _existing(filename: str, potential: Potential, name: str, config: dict[str, Any], force: bool) -> str:
    """How to treat an existing store: 'new' (replace it), 'resume', 'reopen' (a path
    that stopped at its budget, continued under a larger one), 'restart' (such a path
    that kept nothing to continue from, computed afresh) or 'done'."""
    if force or vacant(filename):
        return "new"  # anything else that does not open is refused below, never replaced
    with Store.open(filename) as store:
        require_same(store.potential_description, record(potential), filename)
        names = store.path_names()
        if not names and _same_minima(store, config):
            return "new"  # killed between creating the store and the first commit
        if name not in names:
            held = f"the paths {', '.join(names)}" if names else f"{len(store.read_minima()[2])} minima and no path"
            raise LandscapeError(f"{filename} holds {held}, not path {name}; choose another --out or pass --force")
        info = store.read_result(name)
        stored = {k: v for k, v in info.config.items() if k != "budget"}
        ours = {k: v for k, v in config.items() if k != "budget"}
        if stored != ours:
            keys = ", ".join(differences(stored, ours)[:5])
            raise LandscapeError(f"{filename} holds path {name} computed with other settings (differs in {keys}); "
                                 "pass --force to replace it")
        if info.status in (Status.RUNNING, Status.INTERRUPTED):
            return "resume"  # continued under this run's budget
        return _check_budget(filename, name, info, info.config.get("budget"), config["budget"],
                             store.read_checkpoint(name) is not None)


#: Statuses of a run that stopped at its budget, not on its own criterion.
_SPENT = (Status.MAX_STEPS, Status.MAX_EVALUATIONS, Status.MAX_SECONDS)


def _check_budget(filename: str, name: str, info: Result, stored: Any, asked: dict[str, Any],
                  continuable: bool) -> str:
    """How a finished path answers a new budget: 'done' when the budget cannot change
    it (it stopped on its own criterion, or at this very budget); when it stopped at a
    smaller budget, 'reopen' (the run continues from the state it kept) or, with none
    kept (an AutoNEB run stopped in its first cycle, a store from before), 'restart':
    a fresh run under the new budget passes where it stopped and goes on.  Never a
    shorter answer than the one asked for: a budget below what it used is refused."""
    used = {"max_steps": info.nit, "max_evaluations": info.nfev}
    for key, value in asked.items():
        if key in used and value is not None and value < used[key]:
            raise LandscapeError(f"{filename}: path {name} used {used[key]} {key.split('_')[1]}, more than the "
                                 f"budget of {value} asked for; pass --force to compute it within that budget")
    if info.status not in _SPENT or stored == asked:
        return "done"
    return "reopen" if continuable else "restart"


def _same_minima(store: Store, config: dict[str, Any]) -> bool:
    """Whether the store's minima are this run's two endpoints."""
    return same_points(store.read_minima()[0], [config["start"], config["end"]])


def _create(filename: str, potential: Potential, names: tuple[str, str], points: tuple[Any, Any]) -> None:
    coords = np.stack([np.asarray(to_numpy(p), dtype=np.float64) for p in points])
    energies = np.asarray(to_numpy(potential.energy(potential.asarray(coords))), dtype=np.float64)
    with Store.create(filename, record(potential), overwrite=True) as store:
        store.write_minima(coords, energies, list(names))


class _Resumed(NamedTuple):
    """Where a run goes on from its checkpoint."""

    state: Any  # None: nothing to go on from, a fresh start
    history: list[float]  # the highest energy after each step so far
    seen: int  # cycles already stored
    where: tuple[str, int] | None  # ("cycle" | "step", where it resumed)
    samples: dict[str, int] | None  # spent up to the checkpoint (None when it holds none)


_FRESH = _Resumed(None, [], 0, None, None)


def _resume_state(filename: str, name: str, optimizer: PathOptimizer, potential: Potential) -> _Resumed:
    """The state and bookkeeping of path `name`'s checkpoint (`_FRESH` without one)."""
    with Store.open(filename) as store:
        stored = store.read_result(name)
        checkpoint = store.read_checkpoint(name)
    if checkpoint is None:
        return _FRESH
    arrays, attrs = checkpoint
    samples = attrs.get("samples")
    if "potential_state" in attrs:
        potential.restore_checkpoint_state(attrs["potential_state"])
    if attrs.get("kind") == "state":  # a band's exact state mid-run
        state = optimizer.restore(arrays, attrs, potential)
        return _Resumed(state, list(arrays["history"]), 0, ("step", state.nit), samples)
    if not isinstance(optimizer, AutoNEB):
        raise LandscapeError(f"{filename}: path {name} holds an AutoNEB checkpoint, but the method is another")
    path = Path(potential.asarray(arrays["pivots"]), potential.asarray(arrays["energies"]))
    cycle = int(attrs["cycle"])
    records = stored.cycles[:cycle]
    state = optimizer.resume(path, cycle, potential, records=records, nit=int(attrs["nit"]), nfev=int(attrs["nfev"]),
                             climbing=attrs.get("climbing"))
    return _Resumed(state, list(arrays["history"]), len(records), ("cycle", cycle), samples)


def _resumed(filename: str, name: str, optimizer: PathOptimizer, potential: Potential) -> _Resumed:
    """`_resume_state`, with a damaged checkpoint (an array or attribute missing, wrong
    shapes) reported in one line instead of surfacing as an internal error."""
    try:
        return _resume_state(filename, name, optimizer, potential)
    except DamagedCheckpoint as exc:
        why = str(exc)
    except LandscapeError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        why = f"{type(exc).__name__}: {exc}"
    raise LandscapeError(f"{filename}: the checkpoint of path {name} is damaged ({why}); "
                         "pass --force to compute the path afresh")


def discard_if_empty(filename: str, holds_work: Callable[[Store], bool]) -> None:
    """Remove a store a failed run created when it holds no work to resume from
    (`holds_work` false, or it does not even open), so running again starts clean;
    every resumable command (connect, train) ends a failed fresh start with this."""
    try:
        with Store.open(filename) as store:
            empty = not holds_work(store)
    except LandscapeError:
        empty = True
    if empty:
        remove_store(filename)


def _run(filename: str, name: str, config: dict[str, Any], job: Plan, potential: Potential, mode: str,
         progress: bool, checkpoint_seconds: float | None, final: bool = True,
         callbacks: Sequence[StepCallback] = ()) -> tuple[Result, tuple[str, int] | None]:
    """Run (or continue) the optimisation, committing its progress; with `final`, write
    the final result too."""
    optimizer = job.optimizer
    potential, start_path = host_job(potential, job.start_path)  # every step, resumed or not, on the same arrays
    job = replace(job, start_path=start_path)
    origin = potential.cost()
    state, history, seen, where, spent = _resumed(filename, name, optimizer, potential) if mode == "resume" else _FRESH
    if state is None:  # fresh start: evaluate here so the history holds the first entry
        state = optimizer.init(job.start_path, potential)
        history = [state.max_energy]
    else:  # count on from the checkpoint; rebuilding the state evaluated again what it counts
        origin = add_samples(potential.cost(), spent, -1)
    committer = _Committer(filename, name, config, history, seen, optimizer, potential, checkpoint_seconds, origin)
    result = optimize(optimizer, potential, job.start_path, budget=job.budget, progress=progress,
                      callbacks=[committer, *callbacks], state=state, samples_from=origin)
    result = replace(result, history=committer.host_history(), config=config)
    if result.status is Status.INTERRUPTED:  # keep the latest state (AutoNEB keeps its last cycle)
        if result.state is not None and not isinstance(result.state, AutoNEBState):
            committer.commit_state(result.state)
    elif final:
        if result.status in _SPENT and result.state is not None and not isinstance(result.state, AutoNEBState):
            committer.commit_state(result.state)  # the state a larger budget continues from
        with Store.write(filename) as store:
            spent = result.status in _SPENT and name in store.path_names()  # else nothing was committed
            kept = store.read_checkpoint(name) if spent else None
            store.write_result(name, result, start=config["start_name"], end=config["end_name"],
                               extra_attrs=potential.result_attrs())
            if kept is not None:  # a spent budget leaves the run continuable (`_reopen`)
                store.write_checkpoint(name, *kept)
    return result, where


def _discard(filename: str, name: str) -> None:
    """Remove path `name`, to be computed afresh in the same store."""
    with Store.write(filename) as store:
        store.delete_path(name)


def _reopen(filename: str, name: str, config: dict[str, Any]) -> None:
    """Turn a path that stopped at its budget back into a running one, as its last
    commit left it (the cycles its checkpoint follows, the checkpoint), so that a run
    under a larger budget continues it: one transaction, so a crash leaves either."""
    with Store.write(filename) as store:
        info = store.read_result(name)
        arrays, attrs = store.read_checkpoint(name)  # `_check_budget` saw it
        ends = {"start": config["start_name"], "end": config["end_name"], "config": config}
        store.delete_path(name)
        for cycle in info.cycles[: int(attrs.get("cycle", 0))]:  # AutoNEB: those before its checkpoint
            store.append_cycle(name, cycle, **ends)
        store.write_progress(name, arrays, attrs, nit=int(attrs.get("nit", info.nit)),
                             nfev=int(attrs.get("nfev", info.nfev)), climbing=bool(attrs.get("climbing", False)),
                             **ends)


def run_in_store(filename: str, name: str, job: Plan, potential: Potential, names: tuple[str, str], *,
                 checkpoint_seconds: float | None = DEFAULT_CHECKPOINT_SECONDS,
                 callbacks: Sequence[StepCallback] = ()) -> tuple[Result, tuple[str, int] | None]:
    """Run `job` with its progress committed to path `name` of the store `filename` as
    it goes, for a caller that writes the final result itself (an exploration's worker).

    A running path of that name with the same settings is continued from its
    checkpoint; one with other settings is replaced.  The caller holds the store's
    writer lock for the whole exploration (the commits themselves are serialised by
    the store).  Returns the result (its config the run's) and where it resumed.
    """
    config = _run_config(job, names)
    with Store.open(filename) as store:
        stored = store.path_info(name) if name in store.path_names() else None
    mode = "new"
    if stored is not None and stored.get("status") == Status.RUNNING.value:
        if stored["config"] == config:
            mode = "resume"
        else:
            with Store.write(filename) as store:
                store.delete_path(name)
    return _run(filename, name, config, job, potential, mode, False, checkpoint_seconds, final=False,
                callbacks=callbacks)


def _reused(filename: str, name: str) -> StoredRun:
    with Store.open(filename) as store:
        return StoredRun(store.read_result(name), filename, name, reused=True)


def connect_stored(
    filename: str,
    potential: Potential,
    names: tuple[str, str],
    start: Any,
    end: Any,
    *,
    method: str = "autoneb",
    pivots: int | None = None,
    budget: Budget | None = None,
    progress: bool = False,
    force: bool = False,
    require_resume: bool = False,
    checkpoint_seconds: float | None = DEFAULT_CHECKPOINT_SECONDS,
    callbacks: Sequence[StepCallback] = (),
    **settings: Any,
) -> StoredRun:
    """`connect` whose progress lives in the store `filename` (see module docstring).

    An existing store is continued when it holds this path, for this potential and
    these settings, unfinished; returned as is when finished; refused otherwise
    unless `force` replaces it.  Only one process may write a store at a time.
    AutoNEB commits every cycle; NEB and the string method commit their state every
    `checkpoint_seconds` (None: only when interrupted), which never changes the result.
    """
    if checkpoint_seconds is not None:
        check_number("checkpoint_seconds", checkpoint_seconds, lambda v: v >= 0, ">= 0")
    job = plan(potential, start, end, method=method, pivots=pivots, budget=budget, **settings)
    name = f"{names[0]}-{names[1]}"
    config = _run_config(job, names)
    filename = store_path(filename)
    if not os.path.isdir(os.path.dirname(filename)):
        raise LandscapeError(f"output folder {os.path.dirname(filename)} does not exist")
    if not (force or require_resume) and _existing(filename, potential, name, config, force) == "done":
        return _reused(filename, name)  # a reader's answer: no lock, so it works on read-only media too
    with WriterLock(filename):
        mode = _existing(filename, potential, name, config, force)
        if require_resume and mode not in ("resume", "reopen"):
            why = {"new": "no such store", "done": "the path is finished"}.get(mode, "the path kept no state to resume")
            raise LandscapeError(f"nothing to resume in {filename}: {why}")
        if mode == "reopen":
            _reopen(filename, name, config)
            mode = "resume"
        elif mode == "restart":
            _discard(filename, name)
        if mode == "done":
            return _reused(filename, name)
        if mode == "new":
            _create(filename, potential, names, (job.start_path.start, job.start_path.end))
        try:
            result, where = _run(filename, name, config, job, potential, mode, progress, checkpoint_seconds,
                                 callbacks=callbacks)
        except BaseException:
            if mode == "new":
                discard_if_empty(filename, lambda store: bool(store.path_names()))
            raise
        kind, at = where if where is not None else (None, None)
        return StoredRun(result, filename, name, resumed_from_cycle=at if kind == "cycle" else None,
                         resumed_from_step=at if kind == "step" else None)
