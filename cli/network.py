"""Commands for network potentials: train, evaluate, hessian, xor, report-table."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import click

from landscape.foundations.errors import LandscapeError

from .common import (emit, json_number, named, pick_names, picture_name, potential_options, progress_bar,
                     progress_option, set_threads, threads_option, want_progress)

__all__ = ["train_cmd", "evaluate_cmd", "hessian_cmd", "xor_cmd", "report_table_cmd"]

# Evaluated points are whole passes over the evaluation data each (or a potential call):
# beyond these a run takes days or more memory than the points are worth.
_MAX_PER_SEGMENT = 1000
_MAX_LINE_POINTS = 10_000


# --------------------------------------------------------------------------- helpers


def _network(potential: Any, what: str) -> Any:
    from landscape_plugins.torchnet.potential import NetworkPotential

    if not isinstance(potential, NetworkPotential):
        raise LandscapeError(f"{what} needs a network potential (mlp, cifar, xor, ...), not {potential.name!r}")
    return potential


def _stored_network(file: str, what: str) -> Any:
    """The network potential a store describes, rebuilt (after the store is checked)."""
    from landscape.store import Store

    from .explore import potential_from_description

    with Store.open(file) as store:
        desc = store.potential_description
    return _network(potential_from_description(desc)[0], what)


def _positive(**values: Any) -> None:
    for name, value in values.items():
        if value is not None and not value > 0:
            raise LandscapeError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _finished_paths(store: Any) -> list[str]:
    from landscape.paths.result import Status

    return [n for n in store.path_names() if store.path_info(n).get("status") != Status.RUNNING.value]


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

    from landscape_plugins.torchnet.trainrun import default_config

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
@click.option("--out", required=True, callback=named, help="Store (a folder); every epoch and minimum is committed, running again continues.")
@click.option("--epochs", type=int, default=None, help="Epochs per minimum [default: the plugin's recipe].")
@click.option("--lr", type=float, default=None, help="Initial learning rate [default: the recipe's].")
@click.option("--batch-size", type=int, default=None,
              help="Training mini-batch, 0 for full batch [default: the recipe's].")
@click.option("--weight-decay", type=float, default=None, help="Weight decay [default: the recipe's].")
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default=None, help="[default: the recipe's]")
@click.option("--seed", type=int, default=0, show_default=True, help="Minimum k is trained with seed SEED + k.")
@click.option("--force", is_flag=True, help="Replace an existing store.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def train_cmd(potential: str, options: tuple[str, ...], n: int, out: str, epochs: int | None, lr: float | None,
              batch_size: int | None, weight_decay: float | None, optimizer: str | None, seed: int, force: bool,
              as_json: bool, progress: bool | None, threads: int | None) -> None:
    """Train seeded minima of a network POTENTIAL into a store, with learning curves.

    \b
    Example: landscape train mlp --minima 3 --out mlp
    """
    from landscape.potentials.identity import record
    from landscape.potentials.registry import load_potential
    from landscape_plugins.torchnet.trainrun import train_stored

    _positive(minima=n, epochs=epochs, lr=lr)
    set_threads(threads)
    if batch_size is not None and batch_size < 0:
        raise LandscapeError(f"--batch-size must be >= 0 (0: full batch), got {batch_size}")
    if weight_decay is not None and weight_decay < 0:
        raise LandscapeError(f"--weight-decay must be >= 0, got {weight_decay}")
    if seed < 0:
        raise LandscapeError(f"--seed must be >= 0, got {seed}")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):  # before an expensive build
        raise LandscapeError(f"output folder {folder} does not exist")
    raw, validated = _train_options(potential, options)
    pot = _network(load_potential(potential, raw), "train")
    config = _recipe(pot, potential, validated, {"epochs": epochs, "lr": lr, "batch_size": batch_size,
                                                 "weight_decay": weight_decay, "optimizer": optimizer})
    run = train_stored(out, pot, n, config, seed=seed, description=record(pot),
                       train_source=getattr(pot, "training_source", None), force=force, progress=want_progress(progress))
    rows = {name: {k: json_number(v) for k, v in values.items()} for name, values in run.final.items()}
    lines = [f"{len(run.names)} minima of {pot.name} in {run.store} ({len(run.trained)} trained now, "
             f"{config.epochs} epochs each, {run.seconds:.1f} s)"
             + (f"; continued minimum {run.resumed[0]} after epoch {run.resumed[1]}" if run.resumed else "")]
    lines += [f"  {name} (seed {s}): train loss {_g(v.get('train_loss'))}, test loss {_g(v.get('test_loss'))}, "
              f"test error {_pct(v.get('test_error'))}, {_samples_line(run.samples.get(name))}"
              for (name, v), s in zip(run.final.items(), run.seeds)]
    emit(as_json, {"store": run.store, "names": list(run.names), "seeds": list(run.seeds),
                   "trained": list(run.trained), "resumed": list(run.resumed) if run.resumed else None,
                   "epochs": config.epochs, "seconds": run.seconds, "final": rows,
                   "samples": {name: dict(v) for name, v in run.samples.items()}}, lines)


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


def _evaluate_one(file: str, pot: Any, name: str, per_segment: int, batch_size: int, out: str | None) -> dict[str, Any]:
    from landscape.potentials.potential import samples_since
    from landscape.store import Store
    from landscape_plugins.cifar.report import evaluation_digest, save_path_evaluation
    from landscape_plugins.torchnet.evaluate import evaluate_path, plot_profile

    with Store.open(file) as store:
        result = store.read_result(name)
    mark = pot.cost()
    ev = evaluate_path(pot, result, per_segment, batch_size=batch_size)
    spent = samples_since(pot, mark)
    with Store.write(file) as store:
        save_path_evaluation(store, f"evaluation-{name}", ev, evaluation_digest(result.path.pivots, per_segment))
    png = picture_name(file, out, f"{name}-evaluation")
    fig = plot_profile(ev, png, title=f"{os.path.basename(file)}: path {name}")
    fig.clf()
    # samples: what the path's run evaluated (None before the counters); evaluation_samples: this evaluation
    return {"summary": ev.summary(), "figure": png, "samples": result.samples, "evaluation_samples": spent}


def _evaluation_lines(name: str, info: Mapping[str, Any]) -> list[str]:
    s = info["summary"]
    lines = [f"path {name}: {s['points']} points; figure {info['figure']}; the path's run: "
             f"{_samples_line(info.get('samples'))}; this evaluation: {_samples_line(info.get('evaluation_samples'))}",
             f"  {'metric':<12}{'start':>10}{'end':>10}{'max':>10}{'max-mean':>11}{'gap-line':>11}{'sad-high':>11}"]
    for key in ("train_loss", "train_error", "test_loss", "test_error"):
        if key in s:
            m, b = s[key], s[key]["barriers"]
            bars = "".join(f"{b[k]:>11.4g}" for k in ("max_minus_mean_ends", "max_gap_to_line",
                                                       "saddle_minus_higher_end"))
            lines.append(f"  {key:<12}{m['start']:>10.4g}{m['end']:>10.4g}{m['max']:>10.4g}{bars}")
    return lines


@click.command("evaluate")
@click.argument("file")
@click.option("--path", "paths", multiple=True,
              help="Stored path to evaluate (repeatable) [default: every finished path].")
@click.option("--per-segment", type=int, default=9, show_default=True,
              help="Evaluated points between neighbouring pivots.")
@click.option("--batch-size", type=int, default=1024, show_default=True, help="Samples per evaluation batch.")
@click.option("--figure", "out", default=None, callback=named, help="Profile picture, .png, .pdf or .svg (one path only) "
              "[default: FILE-PATH-evaluation.png].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def evaluate_cmd(file: str, paths: tuple[str, ...], per_segment: int, batch_size: int, out: str | None,
                 as_json: bool, progress: bool | None, threads: int | None) -> None:
    """Train/test loss and error along stored paths of a network store, the three
    barrier definitions, stored in FILE, with a profile picture per path.

    \b
    Example: landscape evaluate mlp --path 0-1
    """
    from landscape.plotting.figures import figure_name
    from landscape.store import Store

    if not 0 <= per_segment <= _MAX_PER_SEGMENT:
        raise LandscapeError(f"--per-segment must be from 0 to {_MAX_PER_SEGMENT}, got {per_segment}")
    _positive(batch_size=batch_size)
    set_threads(threads)
    with Store.open(file) as store:
        names = pick_names(_finished_paths(store), paths, "path", file)
    if not names:
        raise LandscapeError(f"{file} holds no finished paths; run `landscape explore {file}` first")
    if out is not None and len(names) > 1:
        raise LandscapeError("--figure names one picture; give one --path with it")
    if out is not None:
        figure_name(out)  # a bad picture name fails before any work
    from landscape.foundations.lock import WriterLock

    with WriterLock(file):  # one writer: a second one fails at once, before any work
        pot = _stored_network(file, "evaluate")
        results = {name: _evaluate_one(file, pot, name, per_segment, batch_size, out)
                   for name in progress_bar(names, progress, "paths")}
    lines = [f"{file}: {len(names)} paths evaluated on the full train and test sets "
             f"({'no BatchNorm' if pot.bn_mode == 'none' else 'BatchNorm statistics: ' + pot.bn_mode})",
             "barriers: max-mean = max minus mean of the ends; gap-line = largest excess over the straight line "
             "between the ends; sad-high = max minus the higher end"]
    for name, info in results.items():
        lines += _evaluation_lines(name, info)
    emit(as_json, {"store": file, "bn_mode": pot.bn_mode, "per_segment": per_segment,
                   "paths": results}, lines)


# --------------------------------------------------------------------------- hessian


def _tangent_at(store: Any, name: str, paths: list[str]) -> tuple[Any, str | None]:
    """The unit tangent of a stored path at minimum `name` (None when no path starts or ends there)."""
    from landscape_plugins.torchnet.hessian import path_end_tangents

    for p in paths:
        info = store.path_info(p)
        if name in (info.get("start"), info.get("end")):
            t0, t1 = path_end_tangents(store.read_result(p).path.pivots)
            return (t0 if info.get("start") == name else t1), p
    return None, None


@click.command("hessian")
@click.argument("file")
@click.option("--minimum", "minima", multiple=True, help="Stored minimum (repeatable) [default: all].")
@click.option("--path", "paths", multiple=True, help="Stored path whose climbing image (highest pivot) to analyse "
                                                    "(repeatable) [default: all].")
@click.option("--samples", type=int, default=1024, show_default=True,
              help="Training samples of the loss, a seeded subset (0: all of them).")
@click.option("--chunk", type=int, default=256, show_default=True,
              help="Samples differentiated twice at once; larger sets are summed chunk by chunk (bounded memory).")
@click.option("--rtol", type=float, default=1e-3, show_default=True, help="Near zero: |lambda| <= rtol max|lambda|.")
@click.option("--dense-limit", type=int, default=3000, show_default=True,
              help="Exact spectrum up to this many parameters; stochastic Lanczos estimate above.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def hessian_cmd(file: str, minima: tuple[str, ...], paths: tuple[str, ...], samples: int, chunk: int, rtol: float,
                dense_limit: int, as_json: bool, progress: bool | None, threads: int | None) -> None:
    """Hessian at stored minima and at the climbing images of stored paths: for a network,
    of the data loss (extreme eigenvalues, near-zero count, curvature along the path
    tangent); for any other potential, from its gradients (lowest eigenvalues, index,
    gradient norm, curvature along the path).

    \b
    Example: landscape hessian mb --json
    """
    from landscape.store import Store
    from landscape_plugins.torchnet.hessian import analyse_point, climbing_image_analysis

    from .explore import potential_from_description

    if samples < 0 or not rtol > 0 or dense_limit < 0 or chunk < 1:
        raise LandscapeError("--samples and --dense-limit must be >= 0, --chunk >= 1 and --rtol > 0")
    kw = {"samples": samples or None, "chunk": chunk}
    set_threads(threads)
    with Store.open(file) as store:
        coords, _, names = store.read_minima()
        finished = _finished_paths(store)
        pick_min = pick_names(names, minima, "minimum", file) if minima or not paths else []
        pick_paths = pick_names(finished, paths, "path", file) if paths or not minima else []
        tangents = {m: _tangent_at(store, m, finished) for m in pick_min}
        results = {p: store.read_result(p) for p in pick_paths}
        pot = potential_from_description(store.potential_description)[0]
    if not hasattr(pot, "bn_mode"):  # not a network: the Hessian from its gradients
        _generic_hessian(file, pot, {m: coords[names.index(m)] for m in pick_min}, results, as_json)
        return
    pot = _network(pot, "hessian")
    at_minima = {}
    for m in progress_bar(pick_min, progress, "minima"):
        tangent, along = tangents[m]
        report = analyse_point(pot, coords[names.index(m)], tangent, rtol=rtol, dense_limit=dense_limit, **kw)
        at_minima[m] = {**report.to_dict(), "tangent_of": along}
    at_paths = {p: {**climbing_image_analysis(pot, results[p], **kw), "climbing": bool(results[p].climbing)}
                for p in progress_bar(list(results), progress, "paths")}
    lines = [f"{file}: Hessian of the data loss ({'all' if not samples else samples} training samples, "
             f"{pot.dim} parameters)"]
    for m, r in at_minima.items():
        curv = "-" if r["tangent_curvature"] is None else f"{r['tangent_curvature']:.4g} (path {r['tangent_of']})"
        lines.append(f"  minimum {m}: largest {r['largest']:.4g}, smallest {r['smallest']:.4g}, near zero "
                     f"{r['near_zero']} ({r['near_zero_method']}, |lambda| <= {r['threshold']:.3g}; "
                     f"{r['invariances']} of them trivial invariances, {r['near_zero_beyond_invariances']} beyond), "
                     f"curvature along the path {curv}")
    for p, r in at_paths.items():
        lines.append(f"  path {p}, {'climbing image' if r['climbing'] else 'highest pivot'} (pivot {r['index']}): "
                     f"smallest {r['smallest_eigenvalue']:.4g} ({r['negative_eigenvalues']} negative of the "
                     f"{len(r['smallest_eigenvalues'])} smallest), largest {r['largest_eigenvalue']:.4g}, "
                     f"curvature along the path {r['tangent_curvature']:.4g}, gradient norm {r['gradient_norm']:.3g}")
        lines += [f"    warning: {w}" for w in r["warnings"]]
    emit(as_json, {"store": file, "samples": samples or None, "rtol": rtol, "minima": at_minima,
                   "paths": at_paths}, lines)


def _zero_note(r: dict[str, Any]) -> str:
    """"6 zero modes (the symmetry's 6), " when a dense spectrum has any."""
    z, expected = r["hessian_zero_modes"], r["symmetry_zero_modes"]
    if not z or r["hessian_method"] != "dense":
        return ""
    return f"{z} zero modes ({'the symmetry explains ' + str(expected) if expected else 'no symmetry declared'}), "


def _lowest(r: dict[str, Any]) -> float:
    """The lowest eigenvalue outside the zero band (of the whole spectrum when dense)."""
    v = r["lowest_nonzero_eigenvalue"]
    return v if v == v else r["hessian_eigenvalues"][0]


def _generic_hessian(file: str, pot: Any, minima: dict[str, Any], results: dict[str, Any], as_json: bool) -> None:
    from landscape.analysis.hessian import analyse_minimum, analyse_top

    at_minima = {m: analyse_minimum(pot, x) for m, x in minima.items()}
    at_paths = {p: {**analyse_top(pot, r), "climbing": bool(r.climbing)} for p, r in results.items()
                if r.path.energies is not None}
    lines = [f"{file}: Hessian of {pot.name} from its gradients ({pot.dim} dimensions)"]
    for m, r in at_minima.items():
        lines.append(f"  minimum {m}: {_zero_note(r)}lowest eigenvalue {_lowest(r):.4g}, "
                     f"gradient norm {r['saddle_gradient_norm']:.3g}")
        lines += [f"    warning: {w}" for w in r["warnings"]]
    for p, r in at_paths.items():
        lines.append(f"  path {p}, {'climbing image' if r['climbing'] else 'highest pivot'} (pivot {r['pivot']}): "
                     f"index {r['saddle_index_of_hessian']}, {_zero_note(r)}lowest eigenvalue "
                     f"{r['hessian_eigenvalues'][0]:.6g}, "
                     f"curvature along the path {r['tangent_curvature']:.4g}, gradient norm {r['saddle_gradient_norm']:.3g}")
        lines += [f"    warning: {w}" for w in r["warnings"]]
    emit(as_json, {"store": file, "minima": at_minima, "paths": at_paths}, lines)


# --------------------------------------------------------------------------- xor


@click.command("xor")
@click.option("--seed", "seeds", type=int, multiple=True, help="Seed of the trained minimum (repeatable) [default: 0].")
@click.option("--out-dir", "out_dir", default="xor-experiment", callback=named, show_default=True,
              help="Folder for xor-seed<k>.json and xor-seed<k>.png.")
@click.option("--activation", type=click.Choice(["tanh", "sigmoid"]), default="tanh", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@threads_option
def xor_cmd(seeds: tuple[int, ...], out_dir: str, activation: str, as_json: bool, threads: int | None) -> None:
    """The XOR argument of the paper (section 5.2): no path between the swapped 2-2-1
    minima keeps all four points correct; with a helper neuron one does.

    \b
    Example: landscape xor --seed 0 --seed 1 --out-dir xor-experiment
    """
    from landscape_plugins.xor.experiment import run_xor_experiment

    seeds = seeds or (0,)
    if any(s < 0 for s in seeds):
        raise LandscapeError(f"seeds must be >= 0, got {list(seeds)}")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise LandscapeError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise LandscapeError(f"output folder {out_dir} is not writable")
    set_threads(threads)
    runs = {s: run_xor_experiment(s, out_dir, activation=activation) for s in seeds}
    lines = []
    for s, r in runs.items():
        sw, hp = r["two_hidden_swap"], r["three_hidden_autoneb"]
        lines.append(f"seed {s}: the claim {'HOLDS' if r['holds'] else 'does NOT hold'}: 2-2-1 swap path "
                     f"{sw['min_correct']}/4 correct at worst, loss barrier {sw['loss_barrier']:.4g}; "
                     f"2-3-1 helper path {hp['min_correct']}/4 correct at worst, loss barrier "
                     f"{hp['loss_barrier']:.4g}; picture {r['files']['figure']}")
    emit(as_json, {"holds": all(r["holds"] for r in runs.values()), "seeds": {str(s): r for s, r in runs.items()}},
         lines)


# --------------------------------------------------------------------------- report-table


@click.command("report-table")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the table row as CSV (header and one row).")
@click.option("--figures", "figures", default=None, help="Folder for Figures 5-7 [default: beside FILE].")
@click.option("--no-figures", is_flag=True, help="Write no pictures.")
@click.option("--per-segment", type=int, default=9, show_default=True, help="Evaluated points between pivots.")
@click.option("--line-points", type=int, default=19, show_default=True, help="Evaluated points on each straight line.")
@click.option("--no-line", is_flag=True, help="Skip the straight lines between the MST's minima.")
@click.option("--no-evaluate", is_flag=True, help="Use stored evaluations only (error when one is missing).")
@click.option("--batch-size", type=int, default=1024, show_default=True, help="Samples per evaluation batch.")
@progress_option(help="Say what is being evaluated, on stderr (default: when stderr is a terminal).")
@threads_option
def report_table_cmd(file: str, as_json: bool, as_csv: bool, figures: str | None, no_figures: bool, per_segment: int,
                     line_points: int, no_line: bool, no_evaluate: bool, batch_size: int,
                     progress: bool | None, threads: int | None) -> None:
    """The paper's Table 1 for an explored network store: minima vs the saddles of the
    minimum spanning tree (train loss, test loss, test error), factor, epoch, and the
    straight line beside AutoNEB; Figures 5-7 as PNGs.

    \b
    Example: landscape report-table r20 --csv
    """
    from landscape_plugins.cifar.report import table1, write_figures

    if as_json and as_csv:
        raise LandscapeError("--json and --csv exclude each other")
    if not (0 <= per_segment <= _MAX_PER_SEGMENT and 1 <= line_points <= _MAX_LINE_POINTS):
        raise LandscapeError(f"--per-segment must be from 0 to {_MAX_PER_SEGMENT} and --line-points from 1 to "
                             f"{_MAX_LINE_POINTS}, got {per_segment} and {line_points}")
    _positive(batch_size=batch_size)
    set_threads(threads)
    factory = None if no_evaluate else (lambda: _stored_network(file, "report-table"))
    say = (lambda msg: click.echo(msg, err=True)) if want_progress(progress) else None
    table = table1(file, factory, per_segment=per_segment, line_points=line_points, straight_line=not no_line,
                   batch_size=batch_size, progress=say)
    pictures = {} if no_figures else write_figures(table, figures or os.path.dirname(os.path.abspath(file)))
    if as_csv:
        click.echo(table.to_csv(), nl=False)
        return
    emit(as_json, {**table.to_json(), "figures": pictures},
         [table.to_text()] + ([f"figures: {', '.join(pictures.values())}"] if pictures else []))
