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

The checkpoints are `landscape.runs.checkpoints`; what a store already there means for a
run, `landscape.runs.existing`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.foundations.lock import WriterLock
from landscape.foundations.values import check_number
from landscape.optimizers.autoneb import AutoNEBState
from landscape.optimizers.driver import StepCallback, optimize
from landscape.paths.budget import Budget
from landscape.paths.host import host_job
from landscape.paths.result import Result, Status
from landscape.potentials.identity import record
from landscape.potentials.potential import Potential, add_samples
from landscape.runs.checkpoints import FRESH, Committer, resumed
from landscape.runs.existing import SPENT, continuation, run_config
from landscape.runs.pair import Plan, plan
from landscape.store import Store, remove_store
from landscape.store.layout import CONTROLS_GROUP

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


def _create(filename: str, potential: Potential, names: tuple[str, str], points: tuple[Any, Any]) -> None:
    coords = np.stack([np.asarray(to_numpy(p), dtype=np.float64) for p in points])
    energies = np.asarray(to_numpy(potential.energy(potential.asarray(coords))), dtype=np.float64)
    with Store.create(filename, record(potential), overwrite=True) as store:
        store.write_minima(coords, energies, list(names))


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


def _run(
    filename: str,
    name: str,
    config: dict[str, Any],
    job: Plan,
    potential: Potential,
    mode: str,
    progress: bool,
    checkpoint_seconds: float | None,
    final: bool = True,
    callbacks: Sequence[StepCallback] = (),
) -> tuple[Result, tuple[str, int] | None]:
    """Run (or continue) the optimisation, committing its progress; with `final`, write
    the final result too."""
    optimizer = job.optimizer
    potential, start_path = host_job(potential, job.start_path)  # every step, resumed or not, on the same arrays
    job = replace(job, start_path=start_path)
    origin = potential.cost()
    state, history, seen, where, spent = resumed(filename, name, optimizer, potential) if mode == "resume" else FRESH
    if state is None:  # fresh start: evaluate here so the history holds the first entry
        state = optimizer.init(job.start_path, potential)
        history = [state.max_energy]
    else:  # count on from the checkpoint; rebuilding the state evaluated again what it counts
        origin = add_samples(potential.cost(), spent, -1)
    committer = Committer(filename, name, config, history, seen, optimizer, potential, checkpoint_seconds, origin)
    result = optimize(
        optimizer,
        potential,
        job.start_path,
        budget=job.budget,
        progress=progress,
        callbacks=[committer, *callbacks],
        state=state,
        samples_from=origin,
    )
    result = replace(result, history=committer.host_history(), config=config)
    if result.status is Status.INTERRUPTED:  # keep the latest state (AutoNEB keeps its last cycle)
        if result.state is not None and not isinstance(result.state, AutoNEBState):
            committer.commit_state(result.state)
    elif final:
        if result.status in SPENT and result.state is not None and not isinstance(result.state, AutoNEBState):
            committer.commit_state(result.state)  # the state a larger budget continues from
        with Store.write(filename) as store:
            spent = result.status in SPENT and name in store.path_names()  # else nothing was committed
            kept = store.read_checkpoint(name) if spent else None
            store.write_result(
                name, result, start=config["start_name"], end=config["end_name"], extra_attrs=potential.result_attrs()
            )
            if result.arrays is not None:  # a curve's control points, in the same transaction
                store.write_array_group(CONTROLS_GROUP.format(name), *result.arrays)
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
        arrays, attrs = store.read_checkpoint(name)  # `continuation` saw it
        ends = {"start": config["start_name"], "end": config["end_name"], "config": config}
        store.delete_path(name)
        for cycle in info.cycles[: int(attrs.get("cycle", 0))]:  # AutoNEB: those before its checkpoint
            store.append_cycle(name, cycle, **ends)
        store.write_progress(
            name,
            arrays,
            attrs,
            nit=int(attrs.get("nit", info.nit)),
            nfev=int(attrs.get("nfev", info.nfev)),
            climbing=bool(attrs.get("climbing", False)),
            **ends,
        )


def run_in_store(
    filename: str,
    name: str,
    job: Plan,
    potential: Potential,
    names: tuple[str, str],
    *,
    checkpoint_seconds: float | None = DEFAULT_CHECKPOINT_SECONDS,
    callbacks: Sequence[StepCallback] = (),
) -> tuple[Result, tuple[str, int] | None]:
    """Run `job` with its progress committed to path `name` of the store `filename` as
    it goes, for a caller that writes the final result itself (an exploration's worker).

    A running path of that name with the same settings is continued from its
    checkpoint; one with other settings is replaced.  The caller holds the store's
    writer lock for the whole exploration (the commits themselves are serialised by
    the store).  Returns the result (its config the run's) and where it resumed.
    """
    config = run_config(job, names, potential)
    with Store.open(filename) as store:
        stored = store.path_info(name) if name in store.path_names() else None
    mode = "new"
    if stored is not None and stored.get("status") == Status.RUNNING.value:
        if stored["config"] == config:
            mode = "resume"
        else:
            with Store.write(filename) as store:
                store.delete_path(name)
    return _run(
        filename, name, config, job, potential, mode, False, checkpoint_seconds, final=False, callbacks=callbacks
    )


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
    config = run_config(job, names, potential)
    filename = store_path(filename)
    if not os.path.isdir(os.path.dirname(filename)):
        raise LandscapeError(f"output folder {os.path.dirname(filename)} does not exist")
    if not (force or require_resume) and continuation(filename, potential, name, config, force) == "done":
        return _reused(filename, name)  # a reader's answer: no lock, so it works on read-only media too
    with WriterLock(filename):
        mode = continuation(filename, potential, name, config, force)
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
            result, where = _run(
                filename, name, config, job, potential, mode, progress, checkpoint_seconds, callbacks=callbacks
            )
        except BaseException:
            if mode == "new":
                discard_if_empty(filename, lambda store: bool(store.path_names()))
            raise
        kind, at = where if where is not None else (None, None)
        return StoredRun(
            result,
            filename,
            name,
            resumed_from_cycle=at if kind == "cycle" else None,
            resumed_from_step=at if kind == "step" else None,
        )
