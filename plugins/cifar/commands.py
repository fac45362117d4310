"""`landscape report-table`: the paper's Table 1 and Figures 5-7 for an explored network
store, registered under the entry-point group `landscape.commands` (pyproject.toml);
the report (and torch, when it evaluates) loads only when the command runs."""

from __future__ import annotations

import os

import click

from landscape.foundations.errors import LandscapeError
from landscape_cli.common import emit, positive, progress_option, set_threads, threads_option, want_progress
from landscape_plugins.torchnet.commands import MAX_PER_SEGMENT, stored_network

__all__ = ["report_table_cmd"]

#: Evaluated points on each straight line between two minima (each a pass over the data).
MAX_LINE_POINTS = 10_000


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
def report_table_cmd(
    file: str,
    as_json: bool,
    as_csv: bool,
    figures: str | None,
    no_figures: bool,
    per_segment: int,
    line_points: int,
    no_line: bool,
    no_evaluate: bool,
    batch_size: int,
    progress: bool | None,
    threads: int | None,
) -> None:
    """The paper's Table 1 for an explored network store: minima vs the saddles of the
    minimum spanning tree (train loss, test loss, test error), factor, epoch, and the
    straight line beside AutoNEB; Figures 5-7 as PNGs.

    \b
    Example: landscape report-table r20 --csv
    """
    from .report import table1, write_figures

    if as_json and as_csv:
        raise LandscapeError("--json and --csv exclude each other")
    if not (0 <= per_segment <= MAX_PER_SEGMENT and 1 <= line_points <= MAX_LINE_POINTS):
        raise LandscapeError(
            f"--per-segment must be from 0 to {MAX_PER_SEGMENT} and --line-points from 1 to "
            f"{MAX_LINE_POINTS}, got {per_segment} and {line_points}"
        )
    positive(batch_size=batch_size)
    set_threads(threads)
    factory = None if no_evaluate else (lambda: stored_network(file, "report-table"))
    say = (lambda msg: click.echo(msg, err=True)) if want_progress(progress) else None
    table = table1(
        file,
        factory,
        per_segment=per_segment,
        line_points=line_points,
        straight_line=not no_line,
        batch_size=batch_size,
        progress=say,
    )
    pictures = {} if no_figures else write_figures(table, figures or os.path.dirname(os.path.abspath(file)))
    if as_csv:
        click.echo(table.to_csv(), nl=False)
        return
    emit(
        as_json,
        {**table.to_json(), "figures": pictures},
        [table.to_text()] + ([f"figures: {', '.join(pictures.values())}"] if pictures else []),
    )
