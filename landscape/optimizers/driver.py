"""The one optimisation loop: budget, callbacks, progress bar, results.

Every optimizer is run by `optimize`; nothing else loops.  Host syncs happen only
every `check_every` steps (convergence tests, progress), so a GPU path can run
many steps without leaving the device.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import host_scalars, to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.base import OptimizerState, PathOptimizer
from landscape.paths.budget import Budget
from landscape.paths.climber import climber_energy
from landscape.paths.path import Path, Profile, dense_fractions, merge_profile
from landscape.paths.result import CycleRecord, Result, Status
from landscape.paths.sanity import basin_note, bounds_problem, rise_problem
from landscape.potentials.potential import Potential, add_samples, samples_since

__all__ = ["optimize", "StepCallback", "CycleCallback"]

#: Called after every step; returning True stops the run (status INTERRUPTED).
StepCallback = Callable[[OptimizerState], "bool | None"]
#: Called once for every completed AutoNEB cycle (e.g. to commit it to a store).
CycleCallback = Callable[[CycleRecord], None]


def _progress_bar(enabled: bool, total: int | None) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="step", leave=False, dynamic_ncols=True)


def optimize(
    optimizer: PathOptimizer,
    potential: Potential,
    path: Path,
    *,
    budget: Budget = Budget(),
    callbacks: Sequence[StepCallback] = (),
    on_cycle: Sequence[CycleCallback] = (),
    progress: bool = False,
    check_every: int = 1,
    state: OptimizerState | None = None,
    per_segment: int | None = None,
    samples_from: dict[str, int] | None = None,
) -> Result:
    """Run `optimizer` from `path` (or from a saved `state`) until it stops.

    Without a step budget, a method with no schedule and no convergence test would
    never stop, so one of them is required.  The final path's energy profile, with
    `per_segment` points between pivots, is reused from a final AutoNEB cycle or a
    band's climber check, or evaluated once at the end (energies only).  By default a
    band's profile has its climber check's points (`ElasticBand.check_per_segment`, so
    a calculator thinned there is not evaluated at more points afterwards), else 9.

    `samples` of the result and of each new cycle count from `samples_from`, a reading
    of `potential.cost()` (default: the reading before `init`, or now when a `state` is
    given): a resumed run passes the reading that makes it count on where it stopped.
    """
    if check_every < 1:
        raise LandscapeError(f"check_every must be >= 1, got {check_every}")
    if per_segment is None:
        per_segment = int(getattr(optimizer, "check_per_segment", 9))
    total = getattr(optimizer, "total_steps", None) or budget.max_steps
    if total is None and budget.max_evaluations is None and budget.max_seconds is None:
        tolerances = [getattr(optimizer, k, None) for k in ("fmax", "frtol", "etol")]
        if all(t is None for t in tolerances):
            raise LandscapeError("no way to stop: give a step/evaluation/time budget or a convergence tolerance")
    started = time.monotonic()
    origin = potential.cost() if samples_from is None else samples_from
    state = optimizer.init(path, potential) if state is None else state
    # The evaluated starting path, for the sanity test at the end (a resumed run has
    # moved on from it: its energies are evaluated again then).
    start = state.path if state.nit == 0 else None
    history: list[Any] = [state.max_energy]
    seen_cycles = len(state.cycles)
    resumable = state  # the last state a resumed run reproduces exactly: this one or a step's
    bar = _progress_bar(progress, total)
    try:
        while True:
            # Budgets are host-side counters; the optimizer's own test may sync, so
            # it runs every `check_every` steps only.
            outcome = budget.exceeded(steps=state.nit, evaluations=state.nfev, seconds=time.monotonic() - started)
            if outcome is None and state.nit % check_every == 0:
                outcome = optimizer.terminate(state)
                if outcome is not None:  # the optimizer may check (and repair) its own stop
                    state, outcome = optimizer.confirm(state, potential, outcome)
            if outcome is not None:
                break
            state = optimizer.step(state, potential)
            history.append(state.max_energy)
            state, seen_cycles = _report_cycles(state, seen_cycles, on_cycle, potential, origin)
            resumable = state
            if bar is not None:
                bar.update(1)
                if state.nit % check_every == 0:
                    bar.set_postfix(saddle=f"{float(state.max_energy):.6g}", nfev=state.nfev, refresh=False)
            if any(cb(state) for cb in callbacks):
                outcome = (Status.INTERRUPTED, "stopped by a callback")
                break
    except KeyboardInterrupt:  # keep what was computed; the caller can store it
        state, outcome = resumable, (Status.INTERRUPTED, "interrupted by the user")
    finally:
        if bar is not None:
            bar.close()
    try:
        return _finish(
            optimizer, potential, state, outcome, history, origin, path if start is None else start, per_segment
        )
    except KeyboardInterrupt:  # in the final checks: the last step's state resumes exactly (the
        # checks run again), where a loss of the state would redo every step since the last commit
        interrupted = (Status.INTERRUPTED, "interrupted by the user")
        return _finish(optimizer, potential, resumable, interrupted, history, origin, path, per_segment)


def _finish(
    optimizer: PathOptimizer,
    potential: Potential,
    state: OptimizerState,
    outcome: tuple[Status, str],
    history: list[Any],
    origin: dict[str, int] | None,
    start: Path,
    per_segment: int,
) -> Result:
    """The result of a run that stopped at `state` with `outcome`: the last step's path
    settled, its profile and the sanity tests; an interrupted run computes nothing more
    (a second Ctrl-C would land in it)."""
    status, message = outcome
    if status is not Status.INTERRUPTED:
        settled, late = optimizer.settle(state, potential)
        if settled is not state:  # the last step's path, now evaluated
            state, history[-1] = settled, settled.max_energy
        status, message = late or (status, message)
    final = state.path.numpy()
    profile, extra = (None, 0) if status is Status.INTERRUPTED else _final_profile(state, potential, per_segment)
    climbing = bool(getattr(state, "climbing", False) or getattr(getattr(state, "inner", None), "climbing", False))
    result = Result(
        path=final,
        status=status,
        message=message,
        nit=state.nit,
        nfev=state.nfev + extra,
        profile=profile,
        climbing=climbing,
        history=host_scalars(history),
        cycles=state.cycles,
        config=optimizer.to_config(),
        state=state,
        samples=samples_since(potential, origin),
        arrays=optimizer.result_arrays(state),
    )
    # No run ends in success with its climber below the top of its own path (a
    # mini-batch loss is left alone: its profile mixes batches).
    if climbing and result.success and not result.climber_at_top and not potential.stochastic:
        result = replace(
            result,
            status=Status.SADDLE_NOT_AT_TOP,
            message=(
                f"{message}, but the climbing image (E={climber_energy(final.energies):.8g}) is below its path's top "
                f"(E={result.upper_bound:.8g}); saddle_energy is the path's upper bound"
            ),
        )
    return _check_sane(result, potential, start, per_segment)


#: Statuses that say nothing against the band itself: a sanity test may overrule them.
_JUDGED = (
    Status.CONVERGED,
    Status.SCHEDULE_DONE,
    Status.MAX_STEPS,
    Status.MAX_EVALUATIONS,
    Status.MAX_SECONDS,
    Status.SADDLE_NOT_AT_TOP,
)


def _check_sane(result: Result, potential: Potential, start: Path, per_segment: int) -> Result:
    """`result`, or the same marked DIVERGED when its highest point rose above the
    starting path's or left the potential's declared bounds (`landscape.paths.sanity`);
    one stopped by its budget says so when its path crosses a basin between two barriers (`basin_note`).
    A mini-batch loss is left alone: its energies differ from batch to batch."""
    if result.status not in _JUDGED or potential.stochastic or result.path.energies is None:
        return result
    energies = start.energies
    if energies is None:  # a resumed run: its starting pivots again, energies only; not
        # counted, as the fresh run's first evaluation already counted them (a resumed
        # run reports the evaluations of the uninterrupted one)
        energies = potential.energy(start.pivots)
    mark = potential.cost()
    why, spent = rise_problem(result.upper_bound, start, energies, potential, per_segment)
    why = why or bounds_problem(result.saddle, start, potential)
    result = replace(
        result, nfev=result.nfev + spent, samples=add_samples(result.samples, samples_since(potential, mark))
    )
    if why is not None:
        return replace(result, status=Status.DIVERGED, message=f"{result.message}; but {why}")
    note = basin_note(result.path.energies) if result.status.spent else None
    return result if note is None else replace(result, message=f"{result.message}; {note}")


def _report_cycles(
    state: OptimizerState,
    seen: int,
    on_cycle: Sequence[CycleCallback],
    potential: Potential,
    origin: dict[str, int] | None,
) -> tuple[OptimizerState, int]:
    """Stamp new cycle records with the samples spent so far, then report them."""
    cycles = state.cycles
    if len(cycles) > seen and origin is not None:
        spent = samples_since(potential, origin)
        state = state.with_cycles(cycles[:seen] + tuple(replace(r, samples=spent) for r in cycles[seen:]))
        cycles = state.cycles
    for record in cycles[seen:]:
        for cb in on_cycle:
            cb(record)
    return state, len(cycles)


def _final_profile(state: OptimizerState, potential: Potential, per_segment: int) -> tuple[Profile | None, int]:
    """The final path's profile and the evaluations it cost (0 when reused from the
    last AutoNEB cycle or from the optimizer's own check of its stop)."""
    path = state.path
    cycles = state.cycles
    if cycles:
        last = cycles[-1]
        if last.path.n_pivots == path.n_pivots and np.array_equal(last.path.pivots, to_numpy(path.pivots)):
            return merge_profile(to_numpy(path.arc_fractions()), path.energies, last.dense_t, last.dense_energies), 0
    dense = getattr(state, "dense", None)
    if dense is not None and dense[0] == per_segment:
        s = to_numpy(path.arc_fractions())
        seen = ~np.isnan(dense[1])  # the climber check evaluates only the points that can matter
        return merge_profile(s, path.energies, dense_fractions(s, per_segment)[seen], dense[1][seen]), 0
    if per_segment < 1:
        return None, 0
    profile = path.profile(potential, per_segment)
    # A profile with NaN would poison stored results and reports: leave it out.
    return (profile if np.all(np.isfinite(profile.energies)) else None), (path.n_pivots - 1) * per_segment
