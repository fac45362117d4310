"""The exploration loop: `explore` runs Algorithm 3 on an executor, `load_exploration` reads one back."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.analysis.linkage import single_linkage
from landscape.exploration.planning import (
    ExplorePlan,
    Pair,
    check_choice,
    ordered_pair,
    propose,
)
from landscape.exploration.results import (
    Exploration,
    ExploreBudget,
    ExploreStatus,
    edge_energy,
    path_name,
)
from landscape.exploration.settings import (
    RoundSettings,
    check_continuation,
    pair_distances,
    path_settings,
    recorded_optimizer,
    resumes,
)
from landscape.exploration.state import (
    ExploreState,
    commit_batch,
    fresh_state,
    open_or_create,
    read_graph,
    stored_edges,
)
from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.foundations.lock import WriterLock
from landscape.paths.budget import Budget
from landscape.paths.result import Result, Status
from landscape.potentials.potential import Potential, force_measure
from landscape.potentials.symmetry import symmetry_of

if TYPE_CHECKING:
    from landscape.optimizers.base import PathOptimizer
    from landscape.runs.executors import Executor
    from landscape.runs.tasks import PotentialSource

__all__ = ["explore", "load_exploration"]


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", leave=False, dynamic_ncols=True, desc="explore")


def _show_steps(bar: Any, ex: Executor, names: Sequence[str]) -> Any:
    """Let the executor show the run in progress on the bar: its pair, step and highest
    energy (a bar that counts whole runs alone sits still for minutes).  Returns the
    executor's own `on_step`, to put back when the bar closes."""
    previous = ex.on_step
    if bar is None:
        return previous

    def on_step(i: int, j: int, step: int, top: float) -> None:
        bar.set_postfix_str(f"{names[i]}-{names[j]} step {step}, highest {top:.6g}", refresh=False)
        bar.update(0)  # redraws at tqdm's own pace

    ex.on_step = on_step
    return previous


def _tick(bar: Any, runs: int, p: ExplorePlan) -> None:
    if bar is not None:
        bar.update(runs)
        top = max((w for i, j, w in p.tree if p.open.get((i, j))), default=None)
        bar.set_postfix(
            open_edges=sum(1 for v in p.open.values() if v), top=f"{top:.6g}" if top is not None else "-", refresh=False
        )


def _initial(
    state: ExploreState, initial_edges: Mapping[Pair, Result | float] | None
) -> list[tuple[Pair, Result | None]]:
    """Merge given paths (Results) or edge energies; returns the Results to store."""
    given: list[tuple[Pair, Result | None]] = []
    n = len(state.names)
    for key, value in (initial_edges or {}).items():
        i, j = (int(k) for k in key)
        if not (0 <= i < n and 0 <= j < n) or i == j:
            raise LandscapeError(f"initial edge {key!r} does not join two of the {n} minima")
        pair = ordered_pair(i, j)
        if isinstance(value, Result):
            state.add(pair, edge_energy(value, state.energies[i], state.energies[j]), -1)
            state.results[pair] = value
            given.append((pair, value))
        else:
            energy = float(value)
            if np.isnan(energy) or energy < max(state.energies[i], state.energies[j]):
                raise LandscapeError(f"initial edge {pair} energy {energy} lies below one of its minima")
            state.add(pair, energy, -1)
    return given


def explore(
    potential: Potential,
    minima: Any = None,
    *,
    names: Sequence[str] | None = None,
    method: str = "autoneb",
    optimizer: PathOptimizer | None = None,
    pivots: int | None = None,
    run_budget: Budget | None = None,
    budget: ExploreBudget | None = None,
    batch: int | None = None,
    executor: Executor | str | None = None,
    source: PotentialSource | None = None,
    store: str | os.PathLike[str] | None = None,
    store_description: Mapping[str, Any] | None = None,
    initial_edges: Mapping[Pair, Result | float] | None = None,
    rule: str = "closest",
    order: str = "highest",
    seed: int = 0,
    progress: bool = False,
    tags: Mapping[str, Any] | None = None,
    checkpoint_seconds: float | None = 30.0,
    **settings: Any,
) -> Exploration:
    """Explore the saddles between `minima` (m, dim) of `potential` (Algorithm 3).

    Args:
        minima: coordinates (m, dim), index 0 the star's centre (sort by energy first);
            None to take them from `store`.  `names` default to "m0", "m1", ...
        method, settings: the path optimizer as in :func:`landscape.runs.pair.make_optimizer`
            (e.g. ``method="neb", fmax=1e-3``), or a ready `optimizer`; `pivots` and
            `run_budget` limit each run as in :func:`landscape.runs.pair.connect`.
        budget: limits on the whole call (:class:`ExploreBudget`).
        batch: pairs proposed per round (default: the executor's workers).
        executor: an :class:`~landscape.runs.executors.Executor`, or "local" (default),
            "process", "ray"; one made here is closed here.  `source`: how workers get the
            potential (default `potential` itself, pickled; a `PotentialSpec` rebuilds it).
        store: HDF5 file; created with the minima when missing (`store_description`
            defaults to ``potential.describe()``), else continued from its paths.
        initial_edges: ``{(i, j): Result or edge energy}`` to start from instead of a star.
        rule: the pair under an edge, ``"closest"`` or ``"lowest"``; order: which
            non-final edge next, ``"highest"`` (the paper) or ``"nearest"`` (the one with
            the closest open pair); see the module docstring.
        seed: recorded with every path (runs start from straight lines: deterministic).
        progress: a progress bar on stderr.
        tags: JSON-able extras recorded in the stored config (the CLI keeps its options
            there, to continue with the same ones).
        checkpoint_seconds: with a store and workers on this machine, every run in
            flight commits its progress as it goes (each AutoNEB cycle; a band's state
            this often), so an interruption loses at most that much of each run, and
            continuing resumes them.  It never changes a result.

    Raises:
        LandscapeError: bad settings or minima, or a store that does not match them.
    """
    from landscape.runs.executors import Executor, LocalExecutor, make_executor
    from landscape.runs.pair import make_optimizer, with_protocol
    from landscape.store import check_writable

    check_choice(rule, order)
    if pivots is not None and pivots < 3:
        raise LandscapeError(f"need at least 3 pivots (ends included), got {pivots}")
    if batch is not None and (isinstance(batch, bool) or int(batch) != batch or batch < 1):
        raise LandscapeError(f"batch must be a positive integer, got {batch!r}")
    shared = optimizer is None and "deterministic" not in settings  # connect's protocol, by default
    if optimizer is None:
        settings = with_protocol(potential, method, settings)
    opt = optimizer or make_optimizer(method, **settings)
    measure = force_measure(potential)  # what fmax bounds, recorded with the paths
    filename = None if store is None else store_path(store)
    with contextlib.ExitStack() as stack:
        if filename is not None:  # one writer per store, for the whole exploration
            check_writable(filename)
            stack.enter_context(WriterLock(filename))
        state = _load_state(potential, minima, names, filename, store_description)
        aligner = potential if symmetry_of(potential) is not None else None
        if filename is not None:  # before any work: the stored paths and the new ones must agree
            if shared and settings.get("deterministic"):
                opt = recorded_optimizer(
                    state, opt, lambda: make_optimizer(method, **{**settings, "deterministic": False})
                )
            ours = path_settings(opt, pivots, run_budget, aligner is not None, measure)
            check_continuation(filename, state, ours)
        given = _initial(state, initial_edges)
        ex = executor if isinstance(executor, Executor) else stack.enter_context(make_executor(executor or "local"))
        ex.start(potential if source is None or isinstance(ex, LocalExecutor) else source)
        k = int(batch) if batch is not None else ex.workers
        run = RoundSettings(
            opt,
            pivots,
            run_budget,
            k,
            rule,
            order,
            int(seed),
            dict(tags or {}),
            checkpoint_seconds,
            potential.result_attrs(),
            aligner,
            measure,
        )
        return _run(state, ex, run, budget or ExploreBudget(), progress, filename, given)


def _load_state(
    potential: Potential,
    minima: Any,
    names: Sequence[str] | None,
    filename: str | None,
    description: Mapping[str, Any] | None,
) -> ExploreState:
    if filename is not None:
        return open_or_create(filename, potential, minima, names, description)
    if minima is None:
        raise LandscapeError("give the minima, or a store that holds them")
    return fresh_state(potential, minima, names)


def _run(
    state: ExploreState,
    ex: Executor,
    run: RoundSettings,
    budget: ExploreBudget,
    progress: bool,
    filename: str | None,
    given: list[tuple[Pair, Result | None]],
) -> Exploration:
    n = len(state.names)
    in_flight = filename if filename is not None and ex.shares_files else None
    distances = run.distances(state)
    config = run.config(ex)
    started = time.monotonic()
    runs = evaluations = resumed = 0
    batches: list[tuple[Pair, ...]] = []
    status, message = ExploreStatus.COMPLETE, "every edge of the minimum spanning tree is final"

    def attrs() -> dict[str, Any]:
        return {
            "config": config,
            "status": status.value,
            "message": message,
            "runs_total": len(state.edges),
            "evaluations_total": state.evaluations_before + evaluations,
            "batches_total": state.batches_before + len(batches),
        }

    p = run.propose(state, distances)
    # a complete exploration that this call leaves unchanged keeps its record as it is
    unchanged = p.complete and not given and state.recorded.get("status") == ExploreStatus.COMPLETE.value
    if filename is not None and given:
        commit_batch(filename, state, given, p, attrs(), run)
    bar = _progress(progress, n * (n - 1) // 2 - len(state.edges))
    callers_on_step = _show_steps(bar, ex, state.names)
    try:
        while not p.complete:
            stop = budget.exceeded(runs=runs, evaluations=evaluations, seconds=time.monotonic() - started)
            if stop is not None:
                status, message = stop
                break
            left = budget.runs_left(runs)
            pairs = p.proposals if left is None else p.proposals[:left]
            tasks = [(i, j, run.task(state, i, j, in_flight)) for i, j in pairs]
            resumed += (
                sum(resumes(state, path_name(state.names, i, j), run.optimizer) for i, j in pairs) if in_flight else 0
            )
            results = ex.submit(tasks)
            if any(r.status is Status.INTERRUPTED for r in results):
                raise KeyboardInterrupt
            for (i, j), r in zip(pairs, results):  # proposal order, not completion order
                state.add(
                    (i, j), edge_energy(r, state.energies[i], state.energies[j]), state.batches_before + len(batches)
                )
                state.results[(i, j)] = r
            runs += len(pairs)
            evaluations += sum(int(r.nfev) for r in results)
            batches.append(tuple(pairs))
            p = run.propose(state, distances)
            if filename is not None:
                commit_batch(filename, state, list(zip(pairs, results)), p, attrs(), run)
            _tick(bar, len(pairs), p)
    except KeyboardInterrupt:  # everything merged is stored, and the runs in flight their progress
        status, message = (
            ExploreStatus.INTERRUPTED,
            (
                "interrupted; the runs in flight keep their committed progress"
                if in_flight
                else "interrupted; the runs in flight were discarded"
            ),
        )
    finally:
        if bar is not None:
            bar.close()
            ex.on_step = callers_on_step  # a caller's executor outlives this bar
    if status is ExploreStatus.COMPLETE and p.unconnected:
        message = f"every edge is final, but {p.unconnected + 1} groups of minima stay apart: their paths failed"
    if filename is not None and not unchanged:
        commit_batch(filename, state, [], p, attrs(), run)  # the final status
    return _exploration(
        state, p, runs, evaluations, time.monotonic() - started, batches, status, message, config, filename, resumed
    )


def _exploration(
    state: ExploreState,
    p: ExplorePlan,
    runs: int,
    evaluations: int,
    seconds: float,
    batches: list[tuple[Pair, ...]],
    status: ExploreStatus,
    message: str,
    config: Mapping[str, Any],
    filename: str | None,
    resumed: int = 0,
) -> Exploration:
    return Exploration(
        names=tuple(state.names),
        coords=state.coords,
        energies=state.energies,
        edges=dict(state.edges),
        results=dict(state.results),
        paths=dict(state.paths),
        tree=p.tree,
        final=p.final,
        open=dict(p.open),
        matrix=p.matrix,
        linkage=single_linkage(p.matrix),
        runs=runs,
        evaluations=evaluations,
        seconds=seconds,
        batches=tuple(batches),
        status=status,
        message=message,
        evaluations_total=state.evaluations_before + evaluations,
        config=dict(config),
        store=filename,
        runs_resumed=resumed,
    )


def load_exploration(filename: str | os.PathLike[str]) -> Exploration:
    """The exploration state of a store, no potential needed: edges, tree, final edges,
    matrix (rule and order from the stored config).  `results` stay in the store: read
    them with ``Store.read_result(exploration.paths[pair])``."""
    from landscape.store import Store

    name = store_path(filename)
    with Store.open(name) as store:
        coords, energies, names = store.read_minima()
        state = ExploreState(list(names), np.asarray(coords, dtype=np.float64), np.asarray(energies, dtype=np.float64))
        stored_edges(store, state)
        attrs = read_graph(store)[1]
    config = attrs.get("config", {})
    rule, order = config.get("rule", "closest"), config.get("order", "highest")
    check_choice(rule, order)
    p = propose(
        len(names), state.energies, state.edges, rule=rule, order=order, distances=pair_distances(state, rule, order)
    )
    if p.complete:
        status, message = ExploreStatus.COMPLETE, "every edge of the minimum spanning tree is final"
    else:
        status = ExploreStatus(attrs.get("status", ExploreStatus.INTERRUPTED.value))
        if status is ExploreStatus.COMPLETE:  # paths were removed since: not complete any more
            status = ExploreStatus.INTERRUPTED
        message = str(attrs.get("message", "no exploration recorded in this store yet"))
    return _exploration(state, p, 0, 0, 0.0, [], status, message, config, name)
