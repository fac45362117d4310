"""Did a band stay sane?  The test a run must pass before it may call itself a success.

A minimum energy path never needs to go higher than the path it started from: the
starting path is itself a path between the two minima, so its highest point already
bounds the minimax energy from above.  A band whose highest point ends above the
starting path's has run off (a stepper that overshot, springs that pulled it over a
wall), and what it reports is worse than what it was given.  Likewise a potential
that declares `bounds` says where its minima and saddles live: the box of its plots
and random starts (a soft box: a Lennard-Jones atom may step a little outside it on a
true path), so a top more than one box width beyond it is no transition between
those minima.  The box is widened to hold the starting path too, so a user who asked
for points outside it (ends, `via` points, an initial path) gets no complaint.

Cheap by design: the starting path's pivot energies are the ones the optimizer's
`init` already evaluated (re-evaluated only for a resumed run), and its dense points
are evaluated only when the final top lies above every starting pivot, which a band
that improved on its start never does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.paths.path import Path
from landscape.potentials.potential import Potential

__all__ = ["RISE_RTOL", "rise_tolerance", "rise_problem", "bounds_problem", "basin", "basin_note"]

#: How far above the starting path's highest sampled point the final top may lie, as
#: a fraction of the starting barrier: sampling a smooth bump at 9 points a segment
#: misses its top by ~1e-3 of its height, and a band that ran off is far above.
RISE_RTOL = 1e-2


def rise_tolerance(start_energies: np.ndarray) -> float:
    """The allowed excess of a final top over the starting path's top."""
    e = np.asarray(start_energies, dtype=float)
    top = float(np.max(e))
    return RISE_RTOL * max(top - float(min(e[0], e[-1])), 0.0) + 1e-10 * max(1.0, abs(top))


def rise_problem(
    final_top: float, start: Path, start_energies: Any, potential: Potential, per_segment: int
) -> tuple[str | None, int]:
    """(why the final top is above the starting path's, or None; evaluations spent).

    `start_energies` are the energies at `start`'s pivots.  Only when `final_top` is
    above all of them are the starting path's points between pivots evaluated
    (`per_segment` a segment, energies only), and compared again.
    """
    e = np.asarray(to_numpy(start_energies), dtype=float)
    top, tol = float(np.max(e)), rise_tolerance(e)
    if final_top <= top + tol or per_segment < 1:
        return _rise_message(final_top, top, tol, "pivots") if final_top > top + tol else None, 0
    profile = Path(start.pivots, start_energies).profile(potential, per_segment)
    spent = (start.n_pivots - 1) * per_segment
    dense_top = float(np.max(profile.energies))
    if np.isfinite(dense_top) and final_top > dense_top + tol:
        return _rise_message(final_top, dense_top, tol, "points"), spent
    return None, spent


def _rise_message(final_top: float, top: float, tol: float, what: str) -> str:
    return (
        f"the band ran away: its highest point (E={final_top:.8g}) is above the starting path's highest "
        f"{what} (E={top:.8g}, tolerance {tol:.3g}), so the starting path is the better answer"
    )


def bounds_problem(point: Any, start: Path, potential: Potential) -> str | None:
    """Why `point` (the band's highest point) lies more than one box width outside the
    potential's declared `bounds`, widened to hold the starting path's pivots, or None
    (also when the potential declares none)."""
    bounds = getattr(potential, "bounds", None)
    x = np.asarray(to_numpy(point), dtype=float).ravel()
    if bounds is None or len(bounds) != x.size:
        return None
    box = np.asarray(bounds, dtype=float)
    width = box[:, 1] - box[:, 0]
    pivots = np.asarray(to_numpy(start.pivots), dtype=float)
    lo = np.minimum(box[:, 0] - width, pivots.min(axis=0))
    hi = np.maximum(box[:, 1] + width, pivots.max(axis=0))
    outside = np.flatnonzero((x < lo) | (x > hi))
    if outside.size == 0:
        return None
    k = int(outside[0])
    return (
        f"the band ran away: its highest point has coordinate {k} = {x[k]:.6g}, outside [{lo[k]:.6g}, "
        f"{hi[k]:.6g}], {potential.name}'s declared bounds widened by their width and to hold the starting path"
    )


def basin(energies: Any) -> tuple[int, float, float] | None:
    """The deepest basin between two barriers on a path's profile, or None: (pivot k,
    how far the highest pivot before k and the highest after it lie above k), both by
    more than `rise_tolerance`; the deepest has the largest smaller rise.  A path
    through one has a minimum between its ends, and two barriers on one band."""
    e = np.asarray(to_numpy(energies), dtype=float)
    if e.size < 3 or not np.all(np.isfinite(e)):
        return None
    left = np.maximum.accumulate(e)[:-2] - e[1:-1]  # the highest pivot before each interior one
    right = np.maximum.accumulate(e[::-1])[::-1][2:] - e[1:-1]
    rise = np.minimum(left, right)
    k = int(np.argmax(rise))
    if rise[k] <= rise_tolerance(e):
        return None
    return k + 1, float(left[k]), float(right[k])


def basin_note(energies: Any) -> str | None:
    """Why a band that spent its budget may not have settled, or None: its path crosses
    a basin between two barriers (`basin`), so one band must resolve both barriers and
    the basin between with the pivots it has.  Of the 30 default NEB bands of 2,000
    random-surface runs that spent their 3,000 steps, 26 did, 10 of them below both ends;
    with the fold check since, 19 of 22 (docs/benchmarks.md, "Bands that do not settle")."""
    e = np.asarray(to_numpy(energies), dtype=float)
    found = basin(e)
    if found is None:
        return None
    k, left, right = found
    if e[k] < min(e[0], e[-1]) - rise_tolerance(e):
        where = f"its path dips below both ends (E={e[k]:.6g} at pivot {k}, ends {e[0]:.6g} and {e[-1]:.6g})"
    else:
        where = (
            f"its path crosses a basin between two barriers (E={e[k]:.6g} at pivot {k}, {left:.3g} below the "
            f"highest pivot before it and {right:.3g} below the highest after it)"
        )
    return (
        f"{where}, so a minimum may lie between the ends: one band must then settle two barriers and the "
        "basin between with the pivots it has; split the band at the basin's minimum (connect --split 1) "
        "or find the minima (landscape minima) and explore them"
    )
