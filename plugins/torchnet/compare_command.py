"""`landscape compare`: every way of connecting stored minima, side by side under one
protocol (`compare`), printed as a table, with `--json`, `--csv` and a figure.

Registered under the entry-point group `landscape.commands` (pyproject.toml); torch
loads only when the command runs.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import click

from landscape.foundations.errors import LandscapeError
from landscape_cli.common import (
    emit,
    finished_paths,
    named,
    picture_name,
    positive,
    progress_bar,
    progress_option,
    set_threads,
    threads_option,
)

__all__ = ["compare_cmd", "default_pairs"]


def default_pairs(store: Any, names: list[str]) -> list[tuple[str, str]]:
    """The pairs that stored paths join (in the store's order), else the first two minima."""
    pairs: list[tuple[str, str]] = []
    for p in finished_paths(store):
        info = store.path_info(p)
        ends = (str(info.get("start")), str(info.get("end")))
        if all(e in names for e in ends) and ends not in pairs and ends[::-1] not in pairs:
            pairs.append(ends)
    return pairs or list(itertools.islice(itertools.combinations(names, 2), 1))


def _rows(text: str | None) -> list[str]:
    from .compare import ROWS

    if text is None:
        return list(ROWS)
    rows = [r.strip() for r in text.split(",") if r.strip()]
    for r in rows:
        if r not in ROWS:
            raise LandscapeError(f"unknown row {r!r}; choose from {', '.join(ROWS)}")
    if not rows:
        raise LandscapeError("--rows names no row")
    return list(dict.fromkeys(rows))


def _csv_target(file: str | None) -> None:
    if file is not None and not os.path.isdir(os.path.dirname(os.path.abspath(file))):
        raise LandscapeError(f"cannot write {file}: folder {os.path.dirname(os.path.abspath(file))} does not exist")


@click.command("compare")
@click.argument("file")
@click.option("--pairs", default=None, help="Pairs of stored minima, e.g. 0-1,0-2 [default: the stored paths' pairs].")
@click.option("--points", type=int, default=33, show_default=True, help="Equally spaced t per row (plus its pivots).")
@click.option("--rows", "row_names", default=None, help="Rows, comma separated [default: all].")
@click.option("--schedule", default="quick", show_default=True, help="AutoNEB schedule where no path is stored.")
@click.option("--bends", type=int, default=1, show_default=True, help="Bends of the PolyChain row.")
@click.option(
    "--curve-steps", type=int, default=1000, show_default=True, help="Training steps of the Bezier and PolyChain rows."
)
@click.option("--no-run", is_flag=True, help="Rows that need an optimisation not stored are 'not run'.")
@click.option("--batch-size", type=int, default=1024, show_default=True, help="Samples per evaluation batch.")
@click.option("--csv", "csv_file", default=None, callback=named, help="Also write the table as CSV to this file.")
@click.option(
    "--figure", "out", default=None, callback=named, help="Profile picture [default: FILE-compare.png beside FILE]."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def compare_cmd(
    file: str,
    pairs: str | None,
    points: int,
    row_names: str | None,
    schedule: str,
    bends: int,
    curve_steps: int,
    no_run: bool,
    batch_size: int,
    csv_file: str | None,
    out: str | None,
    as_json: bool,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Every way of connecting two stored minima of a network store, evaluated at the
    same points on the same data: straight line, weight-matched line, REPAIR, Bezier,
    PolyChain, AutoNEB.  Each row is stored in FILE when done; running again reads it back.

    \b
    Example: landscape compare mlp --pairs 0-1 --points 33
    """
    from landscape.foundations.lock import WriterLock
    from landscape.optimizers.schedules import get_schedule
    from landscape.store import Store

    from .commands import stored_network
    from .compare import CompareSettings, compare_pair, grid, parse_pairs
    from .compare_report import plot_rows, table_lines, to_csv, to_json

    positive(points=points, bends=bends, curve_steps=curve_steps, batch_size=batch_size)
    rows = _rows(row_names)
    get_schedule(schedule)  # a bad schedule fails before any work
    settings = CompareSettings(points, batch_size, schedule, not no_run, bends, curve_steps)
    grid(points)  # at least two points
    with Store.open(file) as store:
        names = [str(n) for n in store.read_minima()[2]]
        chosen = parse_pairs(pairs, names) if pairs is not None else default_pairs(store, names)
    if not chosen:
        raise LandscapeError(f"{file} holds fewer than two minima; nothing to compare")
    png = picture_name(file, out, "compare")
    _csv_target(csv_file)
    set_threads(threads)
    with WriterLock(file):
        pot = stored_network(file, "compare")
        results = [
            r for pair in progress_bar(chosen, progress, "pairs") for r in compare_pair(file, pot, pair, rows, settings)
        ]
    fig = plot_rows(results, png, title=os.path.basename(file.rstrip("/")))
    fig.clf()
    if csv_file is not None:
        with open(csv_file, "w") as f:
            f.write(to_csv(results))
    lines = [
        f"{file}: {len(chosen)} pair(s), {len(rows)} rows, each at {points} equally spaced t plus its pivots, "
        f"on the full train ({len(pot.train_data)}) and test sets "
        f"({'no BatchNorm' if pot.bn_mode == 'none' else 'BatchNorm recomputed per point'}); figure {png}",
        "max loss: highest train loss; rise: over the higher end; err: test error at the max and highest; "
        "opt: samples spent building the curve; eval fwd: evaluating it",
        *table_lines(results),
    ]
    emit(
        as_json,
        {
            "store": file,
            "points": points,
            "bn_mode": pot.bn_mode,
            "figure": png,
            "csv": csv_file,
            "rows": to_json(results),
        },
        lines,
    )
