"""`landscape plot surface`: the loss surface on a 1D or 2D slice, around a minimum (Li
et al. 2018) or through three points (Garipov et al. 2018), kept in the store.

Filter-normalised directions come from the potential's plugin: a potential names the
function that draws them in its attribute `directions_function` ("module:function",
imported only then; network potentials do), and the function that gives a grid point's
value in `surface_function` (a network: its whole-set train loss or test error, BatchNorm
recalibrated per point; `landscape.analysis.planes`), so this command imports no plugin.
"""

from __future__ import annotations

import time
from typing import Any

import click

from landscape.foundations.errors import LandscapeError

from .common import (
    dpi_option,
    emit,
    finished_paths,
    named,
    picture_name,
    progress_option,
    seed_option,
    set_threads,
    threads_option,
    want_progress,
)

__all__ = ["plot_surface_cmd"]

# What the picture says a grid point holds (`Surface.values`).
_LABELS = {"energy": "energy", "train_loss": "train loss", "test_error": "test error"}


def _point(store: Any, names: list[str], coords: Any, text: str) -> tuple[str, Any]:
    """(label, point) of a minimum's name or index, or `saddle:i-j` (the highest pivot
    between the ends of the path between minima i and j, names or indices)."""
    if text.startswith("saddle:"):
        return _saddle(store, names, text)
    if text in names:
        return text, coords[names.index(text)]
    if text.isdigit() and int(text) < len(names):
        return names[int(text)], coords[int(text)]
    known = ", ".join(names[:20]) or "none"
    raise LandscapeError(f"{store.filename} has no minimum {text!r} (minima: {known}; or saddle:i-j of a path)")


def _saddle(store: Any, names: list[str], text: str) -> tuple[str, Any]:
    import numpy as np

    from landscape.store.layout import split_pair

    try:
        a, b = split_pair(text[len("saddle:") :], names)
    except LandscapeError as e:
        raise LandscapeError(f"{text!r}: name a path's saddle as saddle:i-j (minima names or indices); {e}") from None
    paths = finished_paths(store)
    for name in (f"{a}-{b}", f"{b}-{a}"):
        if name in paths:
            path = store.read_result(name).path
            if path.energies is None or len(path.energies) < 3:
                raise LandscapeError(f"path {name!r} has no energies between its ends: no highest pivot to take")
            top = 1 + int(np.argmax(np.asarray(path.energies)[1:-1]))  # the ends are minima, not saddles
            return f"saddle {name}", np.asarray(path.pivots)[top]
    raise LandscapeError(
        f"{store.filename} has no finished path between {a} and {b} (paths: {', '.join(paths) or 'none'})"
    )


def _directions(pot: Any, kind: str | None, origin: Any, dims: int, seed: int, scale: float, bias: str) -> Any:
    from landscape.analysis.planes import random_directions
    from landscape.potentials.registry import import_target

    own = getattr(pot, "directions_function", None)
    kind = kind or ("filter" if own else "random")
    if kind == "random":
        return kind, random_directions(pot.dim, dims, seed, scale)
    if own is None:
        raise LandscapeError(f"{pot.name} offers no filter-normalised directions (no layers); use --directions random")
    return kind, import_target(own)(pot, origin, dims, seed, bias)


@click.command("surface")
@click.argument("file")
@click.option("--around", default=None, help="Minimum (name or index) at the centre of a Li et al. picture.")
@click.option(
    "--directions",
    "kind",
    type=click.Choice(["filter", "random"]),
    default=None,
    help="filter: filter-normalised (networks; Li et al. 2018); random: seeded unit Gaussians times --scale "
    "[default: filter where the potential offers it].",
)
@click.option("--dims", type=click.IntRange(1, 2), default=2, show_default=True, help="1: a curve; 2: a contour plot.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the random directions.", callback=seed_option
)
@click.option("--span", type=float, default=1.0, show_default=True, help="Coordinates from -span to span (--around).")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Length of each --directions random.")
@click.option(
    "--bias",
    type=click.Choice(["ignore", "weights", "filter"]),
    default="ignore",
    show_default=True,
    help="Filter directions of biases and BatchNorm: ignore (zero, Li et al.), weights, filter (docs/torch.md).",
)
@click.option("--plane", default=None, help="A,B,C: the plane through three minima or saddle:i-j (Garipov et al.).")
@click.option(
    "--margin", type=float, default=0.2, show_default=True, help="Room around A, B, C (fraction of their box)."
)
@click.option("--grid", type=click.IntRange(2, 1001), default=21, show_default=True, help="Points per direction.")
@click.option("--chunk", type=click.IntRange(1), default=64, show_default=True, help="Points per batch and commit.")
@click.option(
    "--near", type=float, default=0.1, show_default=True, help="Draw paths within this fraction of the grid's size."
)
@click.option(
    "--metric",
    type=click.Choice(["loss", "error"]),
    default="loss",
    show_default=True,
    help="loss: a network's train loss on the whole set (others: the energy); error: a network's test error.",
)
@click.option(
    "--style",
    type=click.Choice(["contour", "surface"]),
    default="contour",
    show_default=True,
    help="A 2D grid as filled contours or as a 3D surface.",
)
@click.option("--name", default=None, help="The surface's name in the store [default: from the options].")
@click.option("--force", is_flag=True, help="Replace a stored surface of this name made on another grid.")
@click.option("--figure", "out", default=None, callback=named, help="Picture [default: FILE-surface-NAME.png].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the grid and energies.")
@dpi_option
@progress_option
@threads_option
def plot_surface_cmd(
    file: str,
    around: str | None,
    kind: str | None,
    dims: int,
    seed: int,
    span: float,
    scale: float,
    bias: str,
    plane: str | None,
    margin: float,
    grid: int,
    chunk: int,
    near: float,
    metric: str,
    style: str,
    name: str | None,
    force: bool,
    out: str | None,
    as_json: bool,
    dpi: int,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Energies on a grid around a minimum along (filter-normalised) random directions, or
    on the plane through three points, stored in FILE (a rerun continues) and drawn with
    the stored paths that lie near the slice.

    \b
    Example: landscape plot surface mlp --around 0 --dims 2 --grid 21
    Example: landscape plot surface mlp --plane 0,1,2
    """
    import numpy as np

    from landscape.analysis.planes import evaluate_surface, plane_through, project_onto, slice_along
    from landscape.plotting.figures import save_figure
    from landscape.plotting.surfaces import plot_surface
    from landscape.store import Store

    from .explore import potential_from_description

    if (around is None) == (plane is None):
        raise LandscapeError("give one of --around MINIMUM and --plane A,B,C")
    if not (np.isfinite(near) and near >= 0):
        raise LandscapeError(f"--near must be a number >= 0, got {near}")
    set_threads(threads)
    with Store.open(file) as store:
        coords, _, names = store.read_minima()
        pot = potential_from_description(store.potential_description)[0]
        if plane is not None:
            parts = plane.split(",")
            if len(parts) != 3:
                raise LandscapeError(f"--plane takes three points A,B,C, got {plane!r}")
            points = [_point(store, names, coords, p.strip()) for p in parts]
        else:
            points = [_point(store, names, coords, around)]  # type: ignore[arg-type]
        paths = {n: store.read_result(n).path for n in finished_paths(store)}
    suffix = "" if metric == "loss" else f"-{metric}"  # another kind of value: another default name
    if plane is not None:
        labels = [p[0] for p in points]
        sl = plane_through(*(p[1] for p in points), margin=margin, grid=grid, names=labels)
        info: dict[str, Any] = {"plane": labels, "margin": margin}
        name = name or "plane-" + "-".join(labels).replace(" ", "_") + suffix
    else:
        label, origin = points[0]
        kind, d = _directions(pot, kind, origin, dims, seed, scale, bias)
        sl = slice_along(origin, d, span=span, grid=grid, marks={label: (0.0,) * dims})
        info = {"around": label, "directions": kind, "dims": dims, "seed": seed, "span": span}
        info.update({"bias": bias} if kind == "filter" else {"scale": scale})
        name = name or f"around-{label}-{kind}-{dims}d-seed{seed}{suffix}"
    info["metric"] = metric
    out = picture_name(file, out, f"surface-{name}")
    before, t0 = pot.cost(), time.perf_counter()
    surface = evaluate_surface(
        pot,
        sl,
        store=file,
        name=name,
        chunk=chunk,
        info=info,
        progress=want_progress(progress),
        replace=force,
        metric=metric,
    )
    seconds = time.perf_counter() - t0
    after = pot.cost()  # samples through the network (None for analytic surfaces)
    samples = None if before is None or after is None else {k: after[k] - before[k] for k in after}
    extent, drawn, report = sl.extent(), [], []
    for pname, path in paths.items():
        c, dist = project_onto(sl, np.asarray(path.pivots))
        far = float(dist.max()) / extent
        report.append({"path": pname, "largest_distance": float(dist.max()), "relative": far, "drawn": far <= near})
        if far <= near:  # a 1D picture draws the path's energies: on the test error's axis, none
            keep = path.energies is not None and (len(sl.shape) == 2 or surface.values != "test_error")
            energies = np.asarray(path.energies) if keep else None
            drawn.append((f"{pname} (off {far:.2g})", c, energies))
    legend = f"{len(drawn)} of {len(paths)} paths near the slice\n(off: largest distance / grid size <= {near:g})"
    what = (
        f"plane through {', '.join(info['plane'])}" if plane else f"{dims}D around {info['around']}, {kind} directions"
    )
    value = _LABELS.get(surface.values, surface.values)
    ax = plot_surface(
        surface,
        drawn,
        legend_title=legend if paths else None,
        title=f"{pot.name}: {what}",
        style=style,
        value_label=value,
    )
    figure = save_figure(ax, out, dpi=dpi)
    e = surface.energies
    payload = {
        "name": name,
        "kind": sl.kind,
        "info": info,
        "values": surface.values,
        "shape": list(sl.shape),
        "axes": [a.tolist() for a in sl.axes],
        "energies": e.tolist(),
        "marks": {k: list(v) for k, v in sl.marks.items()},
        "evaluated": sl.size - surface.resumed_from,
        "from_store": surface.resumed_from,
        "seconds": seconds,
        "samples": samples,
        "paths": report,
        "figure": figure,
    }
    lines = [
        f"{file}: surface {name!r} ({value}), {what}, grid {'x'.join(map(str, sl.shape))}: "
        f"{sl.size - surface.resumed_from} points evaluated in {seconds:.3g} s"
        + (f" ({samples['forward']:,} samples forward)" if samples else "")
        + f", {surface.resumed_from} from the store",
        f"{value} from {np.nanmin(e):.6g} to {np.nanmax(e):.6g}; {len(drawn)} of {len(paths)} paths near the slice",
        figure,
    ]
    emit(as_json, payload, lines)
