"""The network commands of the command line: `train` and `evaluate`.

They register under the entry-point group `landscape.commands` (pyproject.toml), the
way any plugin adds a command (docs/plugins.md); the built-in `hessian` command runs the
core's one analysis on a network too, through `NetworkPotential.hessian_products`.
Nothing heavy is imported at module level: torch loads when a command runs, so
`landscape --help` stays light.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import click

from landscape.foundations.errors import LandscapeError
from landscape_cli.common import (
    emit,
    finished_paths,
    json_number,
    named,
    pick_names,
    picture_name,
    positive,
    potential_options,
    progress_bar,
    progress_option,
    seed_option,
    set_threads,
    threads_option,
    want_progress,
)

__all__ = ["train_cmd", "evaluate_cmd", "network", "stored_network", "MAX_PER_SEGMENT"]

#: Evaluated points between neighbouring pivots: each is a whole pass over the evaluation
#: data (beyond this a run takes days or more memory than the points are worth).
MAX_PER_SEGMENT = 1000


def network(potential: Any, what: str) -> Any:
    """`potential` if it is a network potential, else a one-line error naming `what` needs one."""
    from .potential import NetworkPotential

    if not isinstance(potential, NetworkPotential):
        raise LandscapeError(f"{what} needs a network potential (mlp, cifar, xor, ...), not {potential.name!r}")
    return potential


def stored_network(file: str, what: str) -> Any:
    """The network potential a store describes, rebuilt (after the store is checked)."""
    from landscape.store import Store
    from landscape_cli.explore import potential_from_description

    with Store.open(file) as store:
        desc = store.potential_description
    return network(potential_from_description(desc)[0], what)


# --------------------------------------------------------------------------- train


def _train_options(spec: str, options: tuple[str, ...]) -> tuple[dict[str, str], dict[str, Any]]:
    """(options as given plus minima=0 where the plugin trains on build, validated ones)."""
    from landscape.potentials.registry import available, parse_options

    raw = parse_options(options)
    plugin = available().get(spec)
    if plugin is None:
        return raw, dict(raw)
    if "minima" in plugin.options:
        if raw.get("minima", "0").strip() not in ("0", ""):
            raise LandscapeError("train trains the minima itself: leave out -o minima")
        raw["minima"] = "0"  # no minima at build time, nor when later commands rebuild it
    return raw, plugin.validate(raw)


def _recipe(pot: Any, spec: str, validated: Mapping[str, Any], changes: Mapping[str, Any]) -> Any:
    from dataclasses import replace

    from .trainrun import default_config

    config = default_config(pot, spec, validated)
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.get("batch_size") == 0:
        changes["batch_size"] = None  # full batch
    try:
        return replace(config, **changes)
    except TypeError as exc:
        raise LandscapeError(f"bad training setting: {exc}") from None


@click.command("train")
@potential_options
@click.option("--minima", "n", type=int, required=True, help="Number of minima to train (named 0, 1, ...).")
@click.option(
    "--out",
    required=True,
    callback=named,
    help="Store (a folder); every epoch and minimum is committed, running again continues.",
)
@click.option("--epochs", type=int, default=None, help="Epochs per minimum [default: the plugin's recipe].")
@click.option("--lr", type=float, default=None, help="Initial learning rate [default: the recipe's].")
@click.option(
    "--batch-size", type=int, default=None, help="Training mini-batch, 0 for full batch [default: the recipe's]."
)
@click.option("--weight-decay", type=float, default=None, help="Weight decay [default: the recipe's].")
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default=None, help="[default: the recipe's]")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Minimum k is trained with seed SEED + k.",
    callback=seed_option,
)
@click.option(
    "--stacked",
    is_flag=True,
    help="Train the missing minima at once (one vmapped step for all; equal to each alone up to rounding).",
)
@click.option(
    "--compile",
    "compile_mode",
    default=None,
    metavar="MODE",
    help="torch.compile the training step: default, reduce-overhead (CUDA graphs) or max-autotune; "
    "falls back to eager with one warning line [default: the potential's own, else off].",
)
@click.option("--force", is_flag=True, help="Replace an existing store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def train_cmd(
    potential: str,
    options: tuple[str, ...],
    n: int,
    out: str,
    epochs: int | None,
    lr: float | None,
    batch_size: int | None,
    weight_decay: float | None,
    optimizer: str | None,
    seed: int,
    stacked: bool,
    compile_mode: str | None,
    force: bool,
    as_json: bool,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Train seeded minima of a network POTENTIAL into a store, with learning curves.

    \b
    Example: landscape train mlp --minima 3 --out mlp
    """
    from landscape.potentials.identity import record
    from landscape.potentials.registry import load_potential

    from .trainrun import train_stored

    positive(minima=n, epochs=epochs, lr=lr)
    set_threads(threads)
    if batch_size is not None and batch_size < 0:
        raise LandscapeError(f"--batch-size must be >= 0 (0: full batch), got {batch_size}")
    if weight_decay is not None and not 0 <= weight_decay < float("inf"):  # NaN too: torch refuses it late
        raise LandscapeError(f"--weight-decay must be >= 0 and finite, got {weight_decay}")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):  # before an expensive build
        raise LandscapeError(f"output folder {folder} does not exist")
    raw, validated = _train_options(potential, options)
    if compile_mode is not None:  # checked before the build (one line for a bad mode)
        from .speed import Speed

        Speed(compile=compile_mode)
    pot = network(load_potential(potential, raw), "train")
    speed = None
    if compile_mode is not None:
        from dataclasses import replace

        from .train import training_speed

        speed = replace(training_speed(pot), compile=compile_mode)
    config = _recipe(
        pot,
        potential,
        validated,
        {"epochs": epochs, "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay, "optimizer": optimizer},
    )
    run = train_stored(
        out,
        pot,
        n,
        config,
        seed=seed,
        description=record(pot),
        train_source=getattr(pot, "training_source", None),
        force=force,
        progress=want_progress(progress),
        stacked=stacked,
        speed=speed,
    )
    rows = {name: {k: json_number(v) for k, v in values.items()} for name, values in run.final.items()}
    lines = [
        f"{len(run.names)} minima of {pot.name} in {run.store} ({len(run.trained)} trained now, "
        f"{config.epochs} epochs each, {run.seconds:.1f} s)"
        + (f"; continued minimum {run.resumed[0]} after epoch {run.resumed[1]}" if run.resumed else "")
        + ("; stacked" if stacked else "")
        + (f"; compiled ({compile_mode})" if compile_mode else "")
    ]
    lines += [
        f"  {name} (seed {s}): train loss {_g(v.get('train_loss'))}, test loss {_g(v.get('test_loss'))}, "
        f"test error {_pct(v.get('test_error'))}, {_samples_line(run.samples.get(name))}"
        for (name, v), s in zip(run.final.items(), run.seeds)
    ]
    emit(
        as_json,
        {
            "store": run.store,
            "names": list(run.names),
            "seeds": list(run.seeds),
            "trained": list(run.trained),
            "resumed": list(run.resumed) if run.resumed else None,
            "epochs": config.epochs,
            "seconds": run.seconds,
            "final": rows,
            "samples": {name: dict(v) for name, v in run.samples.items()},
        },
        lines,
    )


def _samples_line(samples: Any) -> str:
    """Samples spent, as the lines of `train` and `connect` print them."""
    if not samples:
        return "samples not counted"
    return f"{samples['gradient']:,} sample-gradients + {samples['forward']:,} sample-evaluations"


def _g(v: Any) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.4g}"


def _pct(v: Any) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{100 * v:.2f}%"


# --------------------------------------------------------------------------- evaluate


def _evaluate_one(
    file: str, pot: Any, name: str, per_segment: int, batch_size: int, out: str | None, repair: bool = False
) -> dict[str, Any]:
    from landscape.potentials.potential import samples_since
    from landscape.store import Store
    from landscape.store.layout import evaluation_digest

    from .evaluate import evaluate_path, plot_profile, save_evaluation

    with Store.open(file) as store:
        result = store.read_result(name)
    mark = pot.cost()
    ev = evaluate_path(pot, result, per_segment, batch_size=batch_size, repair=repair)
    spent = samples_since(pot, mark)
    kind = "repaired" if repair else "path"  # a REPAIRed evaluation never replaces the plain one
    with Store.write(file) as store:
        save_evaluation(store, name, ev, kind=kind, digest=evaluation_digest(result.path.pivots, per_segment))
    png = picture_name(file, out, f"{name}-{'repaired-' if repair else ''}evaluation")
    fig = plot_profile(ev, png, title=f"{os.path.basename(file)}: path {name}{' (REPAIR)' if repair else ''}")
    fig.clf()
    # samples: what the path's run evaluated (None before the counters); evaluation_samples: this evaluation
    return {"summary": ev.summary(), "figure": png, "samples": result.samples, "evaluation_samples": spent}


def _evaluation_lines(name: str, info: Mapping[str, Any]) -> list[str]:
    s = info["summary"]
    lines = [
        f"path {name}: {s['points']} points; figure {info['figure']}; the path's run: "
        f"{_samples_line(info.get('samples'))}; this evaluation: {_samples_line(info.get('evaluation_samples'))}",
        f"  {'metric':<12}{'start':>10}{'end':>10}{'max':>10}{'max-mean':>11}{'gap-line':>11}{'sad-high':>11}",
    ]
    for key in ("train_loss", "train_error", "test_loss", "test_error"):
        if key in s:
            m, b = s[key], s[key]["barriers"]
            bars = "".join(
                f"{b[k]:>11.4g}" for k in ("max_minus_mean_ends", "max_gap_to_line", "saddle_minus_higher_end")
            )
            lines.append(f"  {key:<12}{m['start']:>10.4g}{m['end']:>10.4g}{m['max']:>10.4g}{bars}")
    return lines


@click.command("evaluate")
@click.argument("file")
@click.option(
    "--path", "paths", multiple=True, help="Stored path to evaluate (repeatable) [default: every finished path]."
)
@click.option(
    "--per-segment", type=int, default=9, show_default=True, help="Evaluated points between neighbouring pivots."
)
@click.option("--batch-size", type=int, default=1024, show_default=True, help="Samples per evaluation batch.")
@click.option(
    "--figure",
    "out",
    default=None,
    callback=named,
    help="Profile picture, .png, .pdf or .svg (one path only) [default: FILE-PATH-evaluation.png].",
)
@click.option(
    "--repair",
    is_flag=True,
    help="REPAIR each point towards the ends' channel statistics first (Jordan et al. 2022); stored apart.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def evaluate_cmd(
    file: str,
    paths: tuple[str, ...],
    per_segment: int,
    batch_size: int,
    out: str | None,
    repair: bool,
    as_json: bool,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Train/test loss and error along stored paths of a network store, the three
    barrier definitions, stored in FILE, with a profile picture per path.

    \b
    Example: landscape evaluate mlp --path 0-1
    """
    from landscape.plotting.figures import figure_name
    from landscape.store import Store

    if not 0 <= per_segment <= MAX_PER_SEGMENT:
        raise LandscapeError(f"--per-segment must be from 0 to {MAX_PER_SEGMENT}, got {per_segment}")
    positive(batch_size=batch_size)
    set_threads(threads)
    with Store.open(file) as store:
        names = pick_names(finished_paths(store), paths, "path", file)
    if not names:
        raise LandscapeError(f"{file} holds no finished paths; run `landscape explore {file}` first")
    if out is not None and len(names) > 1:
        raise LandscapeError("--figure names one picture; give one --path with it")
    if out is not None:
        figure_name(out)  # a bad picture name fails before any work
    from landscape.foundations.lock import WriterLock

    with WriterLock(file):  # one writer: a second one fails at once, before any work
        pot = stored_network(file, "evaluate")
        results = {
            name: _evaluate_one(file, pot, name, per_segment, batch_size, out, repair)
            for name in progress_bar(names, progress, "paths")
        }
    lines = [
        f"{file}: {len(names)} paths evaluated on the full train and test sets "
        f"({'no BatchNorm' if pot.bn_mode == 'none' else 'BatchNorm statistics: ' + pot.bn_mode})"
        + ("; every point REPAIRed towards the ends' channel statistics" if repair else ""),
        "barriers: max-mean = max minus mean of the ends; gap-line = largest excess over the straight line "
        "between the ends; sad-high = max minus the higher end",
    ]
    for name, info in results.items():
        lines += _evaluation_lines(name, info)
    emit(
        as_json,
        {"store": file, "bn_mode": pot.bn_mode, "per_segment": per_segment, "repair": repair, "paths": results},
        lines,
    )
