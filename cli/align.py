"""`landscape align STORE`: the stored minima modulo the potential's symmetry.

For each minimum against a reference (or every pair): the distance and the straight
line's barrier, plain and after moving the minimum onto its image closest to the
reference.  Exploration and `connect --align` align by themselves; this command shows
how much of the plain geometry was the symmetry.
"""

from __future__ import annotations

from typing import Any

import click

from landscape.foundations.errors import LandscapeError

from .common import emit, pick_names, progress_bar, progress_option, set_threads, threads_option

__all__ = ["align_cmd"]


@click.command("align")
@click.argument("file")
@click.option("--reference", default=None, help="Stored minimum the others are aligned onto [default: the lowest].")
@click.option("--all-pairs", is_flag=True, help="Every pair of minima, not only each against the reference.")
@click.option("--points", type=int, default=51, show_default=True, help="Points on each straight line, ends included.")
@click.option(
    "--repair",
    is_flag=True,
    help="Also the aligned line with every point REPAIRed (networks; Jordan et al. 2022).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def align_cmd(
    file: str,
    reference: str | None,
    all_pairs: bool,
    points: int,
    repair: bool,
    as_json: bool,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Distances and straight-line barriers between stored minima, plain and modulo the
    potential's symmetry (permuted hidden units, rotated and relabelled atoms).

    \b
    Example: landscape align lj7 --all-pairs
    """
    import numpy as np

    from landscape.potentials.symmetry import compare_lines, symmetry_of
    from landscape.store import Store

    from .explore import potential_from_description

    if not 2 <= points <= 10_000:  # each point is an evaluation of the potential on every pair's line
        raise LandscapeError(f"--points must be from 2 to 10000, got {points}")
    set_threads(threads)
    with Store.open(file) as store:
        coords, energies, names = store.read_minima()
        pot = potential_from_description(store.potential_description)[0]
    if repair and getattr(pot, "repair_command", None) is None:
        raise LandscapeError(f"--repair corrects a network's activations; {pot.name} is not a network")
    if symmetry_of(pot) is None:
        raise LandscapeError(f"{pot.name} declares no symmetry: its minima are aligned as they are")
    if len(names) < 2:
        raise LandscapeError(f"{file} holds {len(names)} minimum; aligning needs two")
    if reference is not None and all_pairs:
        raise LandscapeError("--reference and --all-pairs contradict each other: every pair has no reference")
    ref = (
        int(np.argmin(energies))
        if reference is None
        else names.index(pick_names(names, (reference,), "minimum", file)[0])
    )
    pairs = (
        [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
        if all_pairs
        else [(ref, j) for j in range(len(names)) if j != ref]
    )
    rows = {
        f"{names[i]}-{names[j]}": {
            **compare_lines(pot, coords[i], coords[j], points),
            **(_repaired_line(pot, coords[i], coords[j], points) if repair else {}),
        }
        for i, j in progress_bar(pairs, progress, "pairs")
    }
    lines = [
        f"{file}: {len(rows)} pair(s) of {pot.name} minima, plain and aligned ({points} points per line)",
        f"  {'pair':<14}{'distance':>12}{'aligned':>12}{'line barrier':>16}{'aligned line':>16}"
        + (f"{'with REPAIR':>16}" if repair else ""),
    ]
    lines += [
        f"  {k:<14}{r['distance']:>12.6g}{r['aligned_distance']:>12.6g}{r['line_barrier']:>16.6g}"
        f"{r['aligned_line_barrier']:>16.6g}" + (f"{r['repaired_line_barrier']:>16.6g}" if repair else "")
        for k, r in rows.items()
    ]
    emit(
        as_json,
        {
            "store": file,
            "potential": pot.name,
            "reference": None if all_pairs else names[ref],
            "points": points,
            "repair": repair,
            "symmetry": pot.symmetry.describe(),
            "pairs": rows,
        },
        lines,
    )


def _repaired_line(pot: Any, a: Any, b: Any, points: int, chunk: int = 16) -> dict[str, float]:
    """The aligned line's points REPAIRed (the potential's `repair_command`), their energies'
    barrier (highest minus the higher end) and maximum, as `compare_lines` reports lines."""
    import numpy as np

    from landscape.foundations.arrays import to_numpy
    from landscape.potentials.registry import import_target
    from landscape.potentials.symmetry import align

    moved = align(pot, a, b)
    x = import_target(pot.repair_command)(pot, a, moved, np.linspace(0.0, 1.0, points))
    e = np.concatenate([np.asarray(to_numpy(pot.energy(x[k : k + chunk])), float) for k in range(0, points, chunk)])
    return {"repaired_line_barrier": float(e.max() - max(e[0], e[-1])), "repaired_line_max": float(e.max())}
