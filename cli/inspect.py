"""Commands that read stores and list plugins: inspect, plot, plugins."""

from __future__ import annotations

from typing import Any

import click

from landscape.foundations.errors import LandscapeError, collapse

from .common import (
    LandscapeGroup,
    build_potential,
    dpi_option,
    emit,
    named,
    picture_name,
    potential_options,
    seed_option,
)
from .surface import plot_surface_cmd

__all__ = ["inspect_cmd", "plot_group", "plugins_cmd", "check_cmd"]


def _open(filename: str) -> Any:
    from landscape.store import Store

    return Store.open(filename)


@click.command("inspect")
@click.argument("file")
@click.option("--check", is_flag=True, help="Verify the store's integrity; exit 1 on problems.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect_cmd(file: str, check: bool, as_json: bool) -> None:
    """Summarise an HDF5 store: potential, minima, paths and their saddles.

    \b
    Example: landscape inspect mb --check
    """
    with _open(file) as store:
        summary = store.describe()
        problems = store.check() if check else []
    if check:
        summary["problems"] = problems
    lines = [f"{file}: landscape store, schema version {summary.get('schema_version')}"]
    pot = summary.get("potential") or {}
    lines.append(f"potential: {pot.get('name', '?')} (dim {pot.get('dim', '?')})")
    minima = summary.get("minima") or {}
    lines.append(f"minima: {minima.get('count', 0)} ({', '.join(map(str, minima.get('names', [])[:20]))})")
    for info in summary.get("paths") or []:
        lines.append(
            f"path {info.get('name')}: {info.get('start')} -> {info.get('end')}{_by(info)}, {_saddle_words(info)}, "
            f"{info.get('status')}, {info.get('n_pivots', '?')} pivots, {info.get('cycles', 0)} cycles"
        )
    if check and not problems:
        lines.append("integrity: ok")
    emit(as_json, summary, lines)
    if problems:
        raise LandscapeError(f"{file}: {len(problems)} integrity problems: " + "; ".join(problems))


def _by(info: dict[str, Any]) -> str:
    """' by METHOD' where the store recorded what made the path (connect, explore)."""
    return f" by {info['method']}" if info.get("method") else ""


def _saddle_words(info: dict[str, Any]) -> str:
    """The path's saddle figures, each named for what it is (as `report` names them); a
    run that did not succeed has no saddle estimate (`Status.success`, `Status.failed`)."""
    from landscape import Status

    saddle, bound = info.get("saddle_energy"), info.get("upper_bound")
    if saddle is None:
        return "no energies"
    try:
        status: Status | None = Status(info.get("status"))
    except ValueError:  # no status, or one the integrity check reports
        status = None
    if status in (Status.RUNNING, Status.INTERRUPTED):  # a climber still on its way up
        return f"highest pivot so far {saddle:.10g} (the run is not finished)"
    if status is not None and status.failed:
        return f"highest point {saddle:.10g} (the band broke: neither a saddle estimate nor a bound)"
    if status is not None and not status.success:  # a budget spent, or a climber that is no saddle
        return f"highest point {bound if bound is not None else saddle:.10g} (an upper bound, no saddle estimate)"
    if not info.get("climbing"):
        return f"upper bound {saddle:.10g} (no climbing image)"
    if bound is None or saddle == bound:
        return f"saddle {saddle:.10g} (climbing image, the top of its path)"
    return f"climbing image {saddle:.10g}, upper bound {bound:.10g}"


@click.group("plot", cls=LandscapeGroup)
def plot_group() -> None:
    """Pictures from a store."""


plot_group.add_command(plot_surface_cmd)


def _pick_path(store: Any, name: str | None) -> str:
    names = store.path_names()
    if not names:
        raise LandscapeError(f"{store.filename} holds no paths")
    if name is None:
        return names[0]
    if name not in names:
        raise LandscapeError(f"no path {name!r} in {store.filename} (paths: {', '.join(names)})")
    return name


@plot_group.command("profile")
@click.argument("file")
@click.option("--path", "path_name", default=None, help="Path name in the store (default: the first).")
@click.option(
    "--figure",
    "out",
    default=None,
    callback=named,
    help="Picture, .png, .pdf or .svg (default: FILE with -profile.png).",
)
@dpi_option
def plot_profile_cmd(file: str, path_name: str | None, out: str | None, dpi: int) -> None:
    """Energy along a stored path.

    \b
    Example: landscape plot profile mb --path A-B
    """
    from landscape.plotting.figures import plot_profile, save_figure

    out = picture_name(file, out, "profile")
    with _open(file) as store:
        name = _pick_path(store, path_name)
        result = store.read_result(name)
        potential = store.potential_description.get("name", "?")
    if result.profile is None:
        raise LandscapeError(f"path {name!r} has no stored energy profile")
    kind = "climbing image" if result.climber_at_top else "upper bound"
    title = f"{potential}: path {name}\n{result.status}, saddle {result.saddle_energy:.8g} ({kind})"
    click.echo(save_figure(plot_profile(result.profile, title=title), out, dpi=dpi))


@plot_group.command("plane")
@click.argument("file")
@click.option(
    "--figure", "out", default=None, callback=named, help="Picture, .png, .pdf or .svg (default: FILE with -plane.png)."
)
@dpi_option
def plot_plane_cmd(file: str, out: str | None, dpi: int) -> None:
    """A 2D surface with every stored path on it.

    \b
    Example: landscape plot plane mb --figure mb-plane.svg
    """
    from landscape.plotting.figures import plot_plane, save_figure

    from .explore import potential_from_description

    out = picture_name(file, out, "plane")
    with _open(file) as store:
        desc = store.potential_description
        names = store.path_names()
        paths = [store.read_result(n).path for n in names]
    if desc.get("dim") != 2:
        raise LandscapeError(f"plot plane needs a 2D potential; {file} holds dim={desc.get('dim')}")
    pot = potential_from_description(desc)[0]  # plugin or file, with the options it was made with
    title = f"{pot.name}: {len(paths)} path{'s' if len(paths) != 1 else ''} (stars: each path's highest pivot)"
    click.echo(save_figure(plot_plane(pot, paths, labels=names, title=title), out, dpi=dpi))


@click.command("check")
@potential_options
@click.option(
    "--points",
    type=int,
    default=8,
    show_default=True,
    help="Seeded points near each kind of place (minima, saddles, the lines between minima).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the points.", callback=seed_option)
@click.option(
    "--fd-tolerance",
    type=float,
    default=1e-5,
    show_default=True,
    help="Largest relative difference of the gradient from central differences (0: skip the test).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check_cmd(
    potential: str, options: tuple[str, ...], points: int, seed: int, fd_tolerance: float, as_json: bool
) -> None:
    """Check that POTENTIAL honours the interface (shapes, batching, determinism, gradients
    against finite differences, stationary minima), near its minima and saddles and along
    the straight lines between minima.  Exit 1 with the first failure.

    \b
    Example: landscape check banana.py:Banana -o stiffness=5
    """
    import numpy as np

    from landscape.testing import check_potential, sample_points

    if not 1 <= points <= 10_000 or not (fd_tolerance >= 0 and np.isfinite(fd_tolerance)):
        raise LandscapeError("--points must be from 1 to 10000 and --fd-tolerance a finite number >= 0")
    pot = build_potential(potential, options)
    sample = sample_points(pot, points, seed=seed)
    try:
        check_potential(pot, sample, fd_tolerance=fd_tolerance or None, minima_gradient=1e-3)
    except AssertionError as exc:
        first = collapse(exc) or "a check failed"
        raise LandscapeError(f"potential {pot.name} fails the interface check: {first}") from None
    emit(
        as_json,
        {"potential": pot.name, "dim": pot.dim, "points": int(len(sample)), "passed": True},
        [
            f"{pot.name} ({pot.dim} dimensions) passes the interface check at {len(sample)} points "
            "(minima, saddles, lines between minima)"
        ],
    )


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plugins_cmd(as_json: bool) -> None:
    """List the registered potential plugins and their options, then the plugin commands
    (text only; a broken one says why).

    \b
    Example: landscape plugins --json
    """
    from landscape.potentials.registry import available

    plugins = available()
    payload = {
        name: {
            "summary": p.summary,
            "target": p.target,
            "broken": p.broken,
            "missing": p.missing(),
            "options": {k: {"type": t.__name__, "default": d, "help": h} for k, (t, d, h) in p.options.items()},
        }
        for name, p in plugins.items()
    }
    lines = [p.help() if not p.broken else f"{name}: BROKEN ({p.broken})" for name, p in plugins.items()]
    group = click.get_current_context().find_root().command
    commands = group.plugin_status() if hasattr(group, "plugin_status") else {}  # landscape_cli.commands
    lines += [
        f"command {name}: " + (f"BROKEN ({c['broken']})" if c["broken"] else f"{c['target']} ({c['distribution']})")
        for name, c in commands.items()
    ]
    emit(as_json, payload, lines)
