"""Commands for many minima: minima, explore, report, and the `plot dgraph` picture."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import click
import numpy as np

from landscape.foundations.errors import Interrupted, LandscapeError
from landscape.foundations.files import store_path

from .common import (
    build_potential,
    dpi_option,
    emit,
    json_number,
    named,
    picture_name,
    potential_options,
    progress_option,
    seed_option,
    set_threads,
    threads_option,
    want_progress,
)
from .inspect import plot_group

__all__ = ["minima_cmd", "explore_cmd", "report_cmd", "dgraph_cmd", "potential_from_description"]

# Options of `explore` that are kept in the store and reused when continuing.
_KEPT = ("method", "schedule", "climb", "fmax", "pivots", "steps", "batch", "rule", "order")
# Those of them that decide how each path is computed: a continuation may not change
# them (docs/exploration.md).  A schedule is compared by its content, by the library
# (`landscape.exploration.state.PATH_SETTINGS`): one file may be named in two ways, or edited.
_PATH_OPTIONS = ("method", "climb", "fmax", "pivots", "steps")
_DEFAULTS: dict[str, Any] = {
    "method": "autoneb",
    "schedule": None,
    "climb": True,
    "fmax": None,
    "pivots": None,
    "steps": None,
    "batch": None,
    "rule": "closest",
    "order": "highest",
}


def potential_from_description(desc: Mapping[str, Any]) -> tuple[Any, Any]:
    """(potential, PotentialSpec) rebuilt from a store's potential description
    (`landscape.potentials.identity.rebuild`); the spec lets executors rebuild it in workers."""
    from landscape.potentials.identity import rebuild, spec_of
    from landscape.runs.tasks import PotentialSpec

    return rebuild(desc), PotentialSpec(*spec_of(desc), description=desc)  # workers check its source too


def _check_out(out: str, force: bool) -> None:
    from landscape.store.opening import unfinished_folder

    target = store_path(out)  # a fifo or a device is refused before any work
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise LandscapeError(f"output folder {folder} does not exist")
    if os.path.lexists(target) and not force and not unfinished_folder(target):
        raise LandscapeError(f"{out} already exists; pass --force to replace it")


@click.command("minima")
@potential_options
@click.option(
    "--method",
    type=click.Choice(["starts", "basinhopping"]),
    default="starts",
    show_default=True,
    help="starts: one local minimisation per random start; basinhopping: a walk between minima.",
)
@click.option("--starts", "n_starts", type=int, default=None, help="Random starts (local minimisations) [default: 64].")
@click.option("--steps", type=int, default=None, help="Basin-hopping steps, one quench each [default: 1000].")
@click.option("--temperature", type=float, default=None, help="Basin-hopping Metropolis temperature [default: 1.0].")
@click.option(
    "--step-size",
    "step_size",
    type=float,
    default=None,
    help="Basin-hopping initial step per coordinate, adapted as it runs [default: 0.5].",
)
@click.option(
    "--time-limit",
    "time_limit",
    type=float,
    default=None,
    help="Basin-hopping: stop after the step that ends past this many wall-clock seconds.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the starts (or of the walk).", callback=seed_option
)
@click.option(
    "--out", "out", required=True, callback=named, help="New store (a folder) for the potential and its minima."
)
@click.option("--force", is_flag=True, help="Replace an existing store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
def minima_cmd(
    potential: str,
    options: tuple[str, ...],
    method: str,
    n_starts: int | None,
    steps: int | None,
    temperature: float | None,
    step_size: float | None,
    time_limit: float | None,
    seed: int,
    out: str,
    force: bool,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Find the minima of POTENTIAL from seeded random starts (or by basin-hopping) and start a store.

    \b
    Example: landscape minima lj -o atoms=13 --method basinhopping --steps 300 --out lj13
    """
    from landscape.foundations.lock import WriterLock
    from landscape.potentials.identity import record
    from landscape.store import Store

    hopping = {"--steps": steps, "--temperature": temperature, "--step-size": step_size, "--time-limit": time_limit}
    if method == "starts" and any(v is not None for v in hopping.values()):
        given = [k for k, v in hopping.items() if v is not None]
        raise LandscapeError(
            f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to --method basinhopping only"
        )
    if method == "basinhopping" and n_starts is not None:
        raise LandscapeError("--starts applies to --method starts; basin-hopping walks from one start (--steps)")
    n_starts = 64 if n_starts is None else n_starts
    if not 1 <= n_starts <= 1_000_000:
        raise LandscapeError(f"--starts must be from 1 to 1000000, got {n_starts}")
    _check_out(out, force)
    pot = build_potential(potential, options)
    if method == "basinhopping":
        found, metadata, extra, said = _basin_hopping(pot, steps, temperature, step_size, time_limit, seed, progress)
    else:
        from landscape.analysis.minima import find_minima

        found = find_minima(pot, n_starts, seed=seed, progress=want_progress(progress))
        metadata = {"method": "find_minima", "starts": n_starts, "seed": seed}
        extra, said = {"starts": n_starts}, f"from {n_starts} starts (seed {seed})"
    with WriterLock(out), Store.create(out, record(pot), overwrite=force) as store:  # never under a running writer
        store.write_minima(found.coords, found.energies, found.names, metadata=metadata)
    hits = extra.get("hits")
    emit(
        as_json,
        {
            "store": out,
            "method": method,
            "count": len(found.names),
            "names": found.names,
            "energies": [float(e) for e in found.energies],
            **extra,
            "seed": seed,
        },
        [f"{len(found.names)} minima of {pot.name} {said}, stored in {out}"]
        + [
            f"  {name}: energy {e:.6f}" + (f", hit {hits[k]} times" if hits else "")
            for k, (name, e) in enumerate(zip(found.names, found.energies))
        ],
    )


def _basin_hopping(
    pot: Any,
    steps: int | None,
    temperature: float | None,
    step_size: float | None,
    time_limit: float | None,
    seed: int,
    progress: bool | None,
) -> tuple[Any, dict[str, Any], dict[str, Any], str]:
    """(minima, store metadata, JSON fields, words for the summary line) of `--method basinhopping`."""
    from landscape.analysis.basinhopping import basin_hopping

    steps = 1000 if steps is None else steps
    if not 0 <= steps <= 10_000_000:
        raise LandscapeError(f"--steps must be from 0 to 10000000, got {steps}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise LandscapeError(f"--time-limit must be a positive number of seconds, got {time_limit}")
    run = basin_hopping(
        pot,
        steps,
        seed=seed,
        temperature=1.0 if temperature is None else temperature,
        stepsize=0.5 if step_size is None else step_size,
        time_limit=time_limit,
        progress=want_progress(progress),
    )
    summary = run.summary()
    extra = {
        k: summary[k]
        for k in (
            "steps",
            "temperature",
            "stepsize",
            "quenches",
            "failed_quenches",
            "evaluations",
            "hits",
            "first_hit",
            "rejected_by_hessian",
            "time_limit",
            "stopped_at_time_limit",
        )
    }
    stop = ""
    if run.stopped_at_time_limit:  # steps taken: one quench each after the start's
        stop = f"; stopped at the time limit of {time_limit:g} s after {run.quenches - 1} of {steps} steps"
    said = (
        f"by basin-hopping ({run.quenches} quenches, {run.failed} failed, {run.evaluations} gradient "
        f"evaluations; seed {seed}{stop})"
    )
    return run.minima, summary, extra, said


def _stored_options(file: str) -> dict[str, Any]:
    """The CLI options an earlier `explore` recorded in the store (empty if none)."""
    from landscape.exploration.state import GRAPH_GROUP
    from landscape.store import Store

    with Store.open(file) as store:
        try:
            attrs = store.read_array_group(GRAPH_GROUP)[1]
        except LandscapeError:
            return {}
    tags = (attrs.get("config") or {}).get("tags") or {}
    return dict(tags.get("cli") or {})


def _check_kept(file: str, given: dict[str, Any], stored: dict[str, Any]) -> None:
    """Refuse, naming them, path options given unlike the stored exploration's."""
    changed = [k for k in _PATH_OPTIONS if given[k] is not None and k in stored and given[k] != stored[k]]
    if changed:
        said = "; ".join(f"it has {_flag(k, stored[k])}, this call {_flag(k, given[k])}" for k in changed)
        raise LandscapeError(
            f"{file} holds an exploration whose paths were computed with other settings ({said}); "
            f"`landscape explore {file}` continues it with its own, or explore a new store"
        )


def _flag(name: str, value: Any) -> str:
    """An option as typed: --climb / --no-climb, --fmax 0.5, --fmax default."""
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no-{name}"
    return f"--{name} {'default' if value is None else value}"


def _resolve(given: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Each option: given on the command line, else as stored, else the default."""
    return {k: given[k] if given[k] is not None else stored.get(k, _DEFAULTS[k]) for k in _KEPT}


def _settings(opts: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `explore` for the path optimizer."""
    from landscape.paths.budget import Budget

    settings: dict[str, Any] = {"method": opts["method"], "climb": opts["climb"], "pivots": opts["pivots"]}
    if opts["fmax"] is not None:
        settings["fmax"] = opts["fmax"]
    if opts["schedule"] is not None:
        if opts["method"] != "autoneb":
            raise LandscapeError("--schedule applies to --method autoneb only")
        settings["schedule"] = opts["schedule"]
    if opts["steps"] is not None:  # else connect's default: the schedule, or 5000 band steps
        settings["run_budget"] = Budget(max_steps=opts["steps"])
    return settings


def _check_positive(**values: Any) -> None:
    """Budgets (max_*) may be 0; counts must be positive."""
    for name, value in values.items():
        budget = name.startswith("max")
        if value is not None and value < (0 if budget else 1):
            raise LandscapeError(f"--{name.replace('_', '-')} must be {'>= 0' if budget else 'positive'}, got {value}")


def _tree_rows(ex: Any) -> list[dict[str, Any]]:
    return [
        {
            "a": ex.names[i],
            "b": ex.names[j],
            "i": i,
            "j": j,
            "energy": json_number(w),
            "final": (i, j) in ex.final,
            "open_pairs": int(ex.open.get((i, j), 0)),
        }
        for i, j, w in ex.tree
    ]


def _tree_lines(ex: Any) -> list[str]:
    rows = sorted(_tree_rows(ex), key=lambda r: -(r["energy"] if r["energy"] is not None else math.inf))
    return [
        f"  {r['a']:>6} - {r['b']:<6} upper bound {r['energy']:.6f}  "
        + ("final" if r["final"] else f"open ({r['open_pairs']} pairs could lower it)")
        for r in rows
    ]


@click.command("explore")
@click.argument("file")
@click.option(
    "--method",
    type=click.Choice(["autoneb", "neb", "string"]),
    default=None,
    help="Path optimizer [default: autoneb, or as stored].",
)
@click.option("--schedule", default=None, help="AutoNEB schedule preset (analytic, quick, paper) or JSON file.")
@click.option("--climb/--no-climb", default=None, help="Climbing image [default: on].")
@click.option(
    "--fmax",
    type=float,
    default=None,
    help="Converged when the largest pivot force (per atom where the potential has atoms) is below this.",
)
@click.option("--pivots", type=int, default=None, help="Pivots on each initial straight line, ends included.")
@click.option("--steps", type=int, default=None, help="Step budget of each run.")
@click.option("--max-runs", type=int, default=None, help="Run at most this many paths now.")
@click.option("--max-evaluations", type=int, default=None, help="Stop after this many evaluated points.")
@click.option("--max-seconds", type=float, default=None, help="Start no batch after this many seconds.")
@click.option(
    "--pairs-per-round",
    "batch",
    type=int,
    default=None,
    help="Pairs computed per round [default: the executor's workers].",
)
@click.option(
    "--rule",
    type=click.Choice(["closest", "lowest"]),
    default=None,
    help="Which pair under an edge [default: closest].",
)
@click.option(
    "--order",
    type=click.Choice(["highest", "nearest"]),
    default=None,
    help="Which open edge next [default: highest, as in the paper].",
)
@click.option(
    "--executor", "executor_kind", type=click.Choice(["local", "process", "ray"]), default="local", show_default=True
)
@click.option("--address", default=None, help="Ray cluster address (ray executor; 'auto' for a running one).")
@click.option("--workers", type=int, default=None, help="Processes (process) or CPUs of a local Ray instance.")
@click.option("--gpus-per-task", type=float, default=0.0, show_default=True, help="GPUs each Ray task asks for.")
@click.option(
    "--checkpoint-every",
    "checkpoint_every",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds between commits of a neb/string run's state while it runs (AutoNEB commits every cycle).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def explore_cmd(
    file: str,
    method: str | None,
    schedule: str | None,
    climb: bool | None,
    fmax: float | None,
    pivots: int | None,
    steps: int | None,
    max_runs: int | None,
    max_evaluations: int | None,
    max_seconds: float | None,
    batch: int | None,
    rule: str | None,
    order: str | None,
    executor_kind: str,
    address: str | None,
    workers: int | None,
    gpus_per_task: float,
    checkpoint_every: float,
    as_json: bool,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Explore the saddles between the minima in FILE (paper Algorithm 3); continues a stored exploration.

    \b
    Example: landscape explore gm --max-runs 12 --executor process
    """
    from landscape.exploration.loop import explore
    from landscape.exploration.results import ExploreBudget, ExploreStatus
    from landscape.runs.executors import make_executor
    from landscape.store import Store, check_writable

    _check_positive(
        pivots=pivots,
        steps=steps,
        pairs_per_round=batch,
        workers=workers,
        max_runs=max_runs,
        max_evaluations=max_evaluations,
        max_seconds=max_seconds,
    )
    if not math.isfinite(checkpoint_every) or checkpoint_every < 0:
        raise LandscapeError(f"--checkpoint-every must be a number of seconds >= 0, got {checkpoint_every}")
    set_threads(threads)
    if (address is not None or gpus_per_task) and executor_kind != "ray":
        raise LandscapeError("--address and --gpus-per-task apply to --executor ray only")
    if not math.isfinite(gpus_per_task) or gpus_per_task < 0:
        raise LandscapeError(f"--gpus-per-task must be a finite number >= 0, got {gpus_per_task}")
    progress = want_progress(progress)
    with Store.open(file) as store:
        desc = store.potential_description
        store.read_minima()  # a clear error when there are none
    check_writable(file)  # a read-only store is refused before its settings are compared
    given = {
        "method": method,
        "schedule": schedule,
        "climb": climb,
        "fmax": fmax,
        "pivots": pivots,
        "steps": steps,
        "batch": batch,
        "rule": rule,
        "order": order,
    }
    stored = _stored_options(file)
    _check_kept(file, given, stored)
    opts = _resolve(given, stored)
    pot, spec = potential_from_description(desc)
    executor = make_executor(executor_kind, workers=workers, address=address, num_gpus_per_task=gpus_per_task)
    with executor:
        ex = explore(
            pot,
            None,
            store=file,
            executor=executor,
            source=spec,
            batch=opts["batch"],
            budget=ExploreBudget(max_runs=max_runs, max_evaluations=max_evaluations, max_seconds=max_seconds),
            rule=opts["rule"],
            order=opts["order"],
            progress=progress,
            tags={"cli": opts},
            checkpoint_seconds=checkpoint_every,
            **_settings(opts),
        )
    if ex.status is ExploreStatus.INTERRUPTED:
        raise Interrupted(f"{file}: {ex.message}; the same command continues the exploration")
    computed = len(ex.edges)
    failed = _failed_paths(ex, file)
    spent = _samples(ex)
    emit(
        as_json,
        {
            "store": file,
            "status": ex.status.value,
            "message": ex.message,
            "complete": ex.complete,
            "runs": ex.runs,
            "runs_resumed": ex.runs_resumed,
            "evaluations": ex.evaluations,
            "seconds": ex.seconds,
            "pairs_computed": computed,
            "pairs_total": ex.pairs_total,
            "names": list(ex.names),
            "tree": _tree_rows(ex),
            "executor": executor_kind,
            "batches": [[list(p) for p in b] for b in ex.batches],
            "paths_failed": failed,
            **spent,
        },
        [
            f"{file}: {ex.status.value} ({ex.message})",
            f"this call: {ex.runs} runs, {ex.evaluations} evaluations, {ex.seconds:.2f} s ({executor_kind} executor)",
            *(
                [
                    f"this call's paths evaluated {spent['samples']['gradient']:,} sample-gradients and "
                    f"{spent['samples']['forward']:,} sample-evaluations"
                ]
                if spent["samples"]
                else []
            ),
            f"pairs with a path: {computed} of {ex.pairs_total}; minimum spanning tree:",
            *_tree_lines(ex),
        ],
    )
    if failed:  # reported above; a failed path makes the command fail too (docs/cli.md)
        raise LandscapeError(
            f"{file}: {failed} of {computed} paths failed (diverged or a numerical fault, "
            "or no finite bound); landscape inspect shows each status"
        )


def _samples(ex: Any) -> dict[str, Any]:
    """The samples of the paths this call ran: their total ("samples") and per path
    ("path_samples"); None and {} for a potential that counts none."""
    from landscape.potentials.potential import SAMPLE_KINDS

    per_path = {
        ex.paths.get(pair, f"{ex.names[pair[0]]}-{ex.names[pair[1]]}"): r.samples
        for pair, r in ex.results.items()
        if r.samples is not None
    }
    total = {k: sum(s[k] for s in per_path.values()) for k in SAMPLE_KINDS} if per_path else None
    return {"samples": total, "path_samples": per_path}


def _failed_paths(ex: Any, file: str) -> int:
    """Pairs of the store `file` whose path failed: its band broke (`Status.failed`; a
    spent budget or a climber below its path's top still bounds its pair, which is all
    an exploration uses), or it has no finite bound (an edge at +inf)."""
    from landscape.paths.result import Status
    from landscape.store import Store

    with Store.open(file) as store:
        statuses = {pair: store.path_info(name).get("status") for pair, name in ex.paths.items()}
    failed = {pair for pair, status in statuses.items() if status in {s.value for s in Status if s.failed}}
    return len(failed | {pair for pair, w in ex.edges.items() if not math.isfinite(w)})


def _matrix_lines(ex: Any, limit: int = 12) -> list[str]:
    """The bounds matrix as a table (the first `limit` minima)."""
    k = min(ex.n, limit)
    names = list(ex.names[:k])
    head = " " * 8 + "".join(f"{n:>11}" for n in names)
    rows = [head] + [f"{names[i]:>8}" + "".join(f"{ex.matrix.values[i, j]:>11.4f}" for j in range(k)) for i in range(k)]
    if ex.n > k:
        rows.append(f"  ... {ex.n - k} more minima (see --json)")
    return rows


def _matrix_json(values: np.ndarray) -> list[list[float | None]]:
    return [[json_number(v) for v in row] for row in values]


@click.command("report")
@click.argument("file")
@click.option(
    "--clusters-at",
    "level",
    type=float,
    default=None,
    metavar="ENERGY",
    help="Clusters of minima joined at or below this saddle energy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def report_cmd(file: str, level: float | None, as_json: bool) -> None:
    """Pairs computed, saddle bounds, minimum spanning tree, final edges and clusters of a store.

    \b
    Example: landscape report gm --clusters-at -2
    """
    from landscape.exploration.loop import load_exploration

    ex = load_exploration(file)
    if level is not None and not math.isfinite(level):
        raise LandscapeError(f"--clusters-at must be a finite energy, got {level}")
    labels = ex.clusters(level) if level is not None else None
    payload = {
        "store": file,
        "status": ex.status.value,
        "message": ex.message,
        "complete": ex.complete,
        "names": list(ex.names),
        "energies": [float(e) for e in ex.energies],
        "pairs_computed": len(ex.edges),
        "pairs_total": ex.pairs_total,
        "pairs": [
            {"a": ex.names[i], "b": ex.names[j], "energy": json_number(w), "path": ex.paths.get((i, j))}
            for (i, j), w in ex.edges.items()
        ],
        "bounds": _matrix_json(ex.matrix.values),
        "tree": _tree_rows(ex),
        "final_edges": sum(1 for r in ex.tree if (r[0], r[1]) in ex.final),
        "tree_edges": len(ex.tree),
        "linkage": ex.linkage.tolist(),
        "evaluations_total": ex.evaluations_total,
        "level": level,
        "clusters": None if labels is None else [int(c) for c in labels],
    }
    lines = [
        f"{file}: {ex.n} minima, {len(ex.edges)} of {ex.pairs_total} pairs with a path; {ex.status.value} "
        f"({ex.message})",
        f"minimum spanning tree ({payload['final_edges']} of {len(ex.tree)} edges final):",
        *_tree_lines(ex),
        "saddle bounds (minimax over the tree):",
        *_matrix_lines(ex),
    ]
    if labels is not None:
        groups = [[ex.names[k] for k in np.flatnonzero(labels == c)] for c in range(int(labels.max()) + 1)]
        lines.append(f"clusters at level {level:g}: " + "; ".join("{" + ", ".join(g) + "}" for g in groups))
    emit(as_json, payload, lines)


@plot_group.command("dgraph")
@click.argument("file")
@click.option(
    "--figure",
    "out",
    default=None,
    callback=named,
    help="Picture, .png, .pdf or .svg (default: FILE with -dgraph.png).",
)
@dpi_option
@click.option(
    "--order",
    type=click.Choice(["energy", "index", "basin"]),
    default="energy",
    show_default=True,
    help="Left-to-right order of sibling basins.",
)
@click.option("--guide-levels", "levels", type=int, default=None, help="Number of dotted guide levels.")
@click.option("--emin", type=float, default=None, help="Lower end of the energy axis.")
@click.option("--emax", type=float, default=None, help="Upper end of the energy axis.")
@click.option(
    "--committor",
    default=None,
    metavar="A,B",
    help="Colour each minimum by its probability to reach B before A (sets joined by +, e.g. m0+m1,m4) "
    "on the network of certified saddles (as `landscape rates` finds them).",
)
@click.option("--temperature", type=float, default=None, help="k_B T of the committor's rates (with --committor).")
@click.option(
    "--theory",
    type=click.Choice(["htst", "kramers-langer"]),
    default=None,
    help="Rate theory of the committor's network [default: htst].",
)
@click.option(
    "--friction", type=float, default=None, help="Friction of kramers-langer rates (with --committor) [default: 1]."
)
def dgraph_cmd(
    file: str,
    out: str | None,
    dpi: int,
    order: str,
    levels: int | None,
    emin: float | None,
    emax: float | None,
    committor: str | None,
    temperature: float | None,
    theory: str | None,
    friction: float | None,
) -> None:
    """Disconnectivity graph of the minima in FILE (joins at the explored saddle bounds),
    optionally coloured by committor probability (--committor m0,m3 --temperature 0.1).

    \b
    Example: landscape plot dgraph gm --figure gm-dgraph.pdf
    """
    from landscape.exploration.loop import load_exploration
    from landscape.plotting.figures import save_figure
    from landscape.store import Store

    out = picture_name(file, out, "dgraph")
    ex = load_exploration(file)
    if not ex.edges:
        raise LandscapeError(f"{file} holds no paths between its minima; run `landscape explore {file}` first")
    if levels is not None and not 0 <= levels <= 1000:
        raise LandscapeError(f"--guide-levels must be from 0 to 1000, got {levels}")
    if (emin is None) != (emax is None):
        raise LandscapeError("give both --emin and --emax, or neither")
    energy_range = None if emin is None else (emin, emax)
    colouring, title = _committor_colours(file, ex.names, committor, temperature, theory, friction), ""
    if colouring:
        title = f"\ncoloured by committor ({theory or 'htst'}, T = {temperature:g})"
    ax = ex.plot(order=order, levels=levels, energy_range=energy_range, **colouring)
    with Store.open(file) as store:
        potential = store.potential_description.get("name", "?")
    # two lines: the figure is as narrow as 4 inches for a few minima
    ax.set_title(
        f"{potential}: {ex.n} minima\njoined at their explored saddle bounds"
        + ("" if ex.complete else "\n(exploration not complete)")
        + title,
        fontsize=10,
    )
    click.echo(save_figure(ax, out, dpi=dpi))


def _committor_colours(
    file: str,
    names: list[str],
    committor: str | None,
    temperature: float | None,
    theory: str | None,
    friction: float | None,
) -> dict[str, Any]:
    """`plot_disconnectivity`'s colouring arguments for `--committor A,B` (none without it).
    An option of the committor given without it is refused, never silently unused."""
    given = {"--temperature": temperature, "--theory": theory, "--friction": friction}
    if committor is None:
        for option, value in given.items():
            if value is not None:
                raise LandscapeError(f"{option} applies to --committor only")
        return {}
    if friction is not None and theory != "kramers-langer":
        raise LandscapeError("--friction applies to --theory kramers-langer only (HTST rates have no friction)")
    theory, friction = theory or "htst", 1.0 if friction is None else friction
    from .rates import minimum_names, store_network

    sides = committor.split(",")
    if len(sides) != 2:
        raise LandscapeError(f"--committor needs A,B (each a minimum or minima joined by +), got {committor!r}")
    A, B = (minimum_names(side.replace("+", ","), "--committor") for side in sides)
    if temperature is None or not (math.isfinite(temperature) and temperature > 0):
        raise LandscapeError(f"--committor needs a positive finite --temperature, got {temperature}")
    if not (math.isfinite(friction) and friction > 0):
        raise LandscapeError(f"--friction must be positive and finite, got {friction}")
    net = store_network(file, A + B)
    q = net.committor(A, B, temperature, theory=theory, friction=friction)
    by_name = dict(zip(net.names, q))
    return {
        "values": [by_name[n] for n in names],
        "values_label": f"committor: P(reach {'+'.join(B)} before {'+'.join(A)})",
        "values_range": (0.0, 1.0),
    }
