"""Is the climbing image the top of its own path?

A climbing image converges onto *a* saddle: the one on the bump where the highest
pivot happened to sit.  When a path crosses two passes and the higher one falls
between pivots, the climber settles on the lower pass while the path itself goes
higher (docs/concepts.md, "When the climber is not the top").  A path's maximum
bounds the minimax energy from above, so such a climber's energy is below what the
path certifies: reporting it as the saddle would be wrong.

This module holds the one test every optimizer and every result uses: the climber
must lie within `climber_tolerance` of the highest energy seen on its path (pivots
and points between them), and where it does not, `ClimberCheck.segment` says where
the path's maximum is, for a repair to insert a pivot there.

The points between pivots are a grid of `per_segment` a segment.  A band evaluates
only those that can matter (`sample_segments`): the middle of every segment first,
then, round by round, the middle of every gap between evaluated points where the
energy could still exceed the climber's tolerance (or the highest point so far) if
its curvature along the segment were at most `CURVATURE_SAFETY` x the largest the
check has measured (pivot energies, their gradients along the chords, the points
evaluated).  Where that curvature holds the verdict and the point found are the full
grid's; a bump too narrow to show in any of these numbers can go unseen, as one
narrower than the grid's spacing always could.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import namespace, to_numpy

__all__ = [
    "CLIMBER_RTOL",
    "CURVATURE_SAFETY",
    "climber_energy",
    "climber_tolerance",
    "ClimberCheck",
    "check_climber",
    "chord_slopes",
    "sample_segments",
    "sample_band",
]

#: Relative tolerance of the test, as a fraction of the energy rise from the lower
#: end to the climber.  A converged climber sits at a maximum along its path, so the
#: points next to it lie below it up to the path's curvature; anything higher by more
#: than this is another bump.
CLIMBER_RTOL = 1e-4

#: How far `sample_segments` trusts the curvature it measures: between evaluated points
#: the energy may bend this many times more sharply than anything measured on the path
#: (by measurement: docs/benchmarks.md, "The climber check").
CURVATURE_SAFETY = 4.0


def climber_energy(pivot_energies: np.ndarray) -> float:
    """Energy of the climbing image: the highest interior pivot."""
    e = np.asarray(pivot_energies, dtype=float)
    return float(np.max(e[1:-1])) if e.size > 2 else float(np.max(e))


def climber_tolerance(pivot_energies: np.ndarray) -> float:
    """How far the path's maximum may exceed the climber (the highest interior pivot)
    before the climber no longer counts as its top."""
    e = np.asarray(pivot_energies, dtype=float)
    top = climber_energy(e)
    rise = top - float(min(e[0], e[-1]))
    return CLIMBER_RTOL * max(rise, 0.0) + 1e-10 * max(1.0, abs(top))


@dataclass(frozen=True)
class ClimberCheck:
    """The outcome of `check_climber`.

    climber: energy of the highest interior pivot; top: highest energy on the path
    (pivots and dense points); segment: the segment (0 = between pivots 0 and 1)
    holding `top` when it is a dense point, else None; dense_index: its index in the
    dense array; tolerance: the allowed excess.
    """

    climber: float
    top: float
    tolerance: float
    segment: int | None
    dense_index: int | None

    @property
    def ok(self) -> bool:
        return self.top - self.climber <= self.tolerance

    def message(self) -> str:
        where = (
            "an end of the path"
            if self.segment is None
            else f"a point between pivots {self.segment} and {self.segment + 1}"
        )
        return (
            f"the climbing image (E={self.climber:.8g}) is not the top of its path: {where} reaches "
            f"E={self.top:.8g} ({self.top - self.climber:.3g} higher, tolerance {self.tolerance:.3g})"
        )


def check_climber(pivot_energies: np.ndarray, dense_energies: np.ndarray, per_segment: int) -> ClimberCheck:
    """Compare the climber with the ends and the highest dense point between pivots.

    `dense_energies` ((N+1) * per_segment,) are ordered by segment, as
    `geometry.dense_points` makes them; NaN marks a point not evaluated.
    """
    e = np.asarray(pivot_energies, dtype=float)
    d = np.asarray(dense_energies, dtype=float)
    d = np.where(np.isnan(d), -np.inf, d)
    climber = climber_energy(e)
    tol = climber_tolerance(e)
    end = float(max(e[0], e[-1]))
    j = int(np.argmax(d)) if d.size and per_segment >= 1 else None
    if j is not None and d[j] > max(climber, end):
        return ClimberCheck(climber, float(d[j]), tol, j // per_segment, j)
    return ClimberCheck(climber, max(climber, end), tol, None, None)


def chord_slopes(pivots: Any, gradients: Any) -> tuple[np.ndarray, np.ndarray]:
    """The energy's derivative along each segment's chord, per unit of the segment's
    fraction, at its start and its end ((segments, 2); NaN at the path's two ends,
    whose gradients a band does not keep), and the chords' lengths, from the interior
    pivots' `gradients` ((N, dim)).  Computed where the arrays live; one host read."""
    xp = namespace(pivots)
    chords = pivots[1:] - pivots[:-1]
    starts, ends = xp.sum(gradients * chords[1:], axis=1), xp.sum(gradients * chords[:-1], axis=1)
    host = to_numpy(xp.concat([starts, ends, xp.sqrt(xp.sum(chords * chords, axis=1))])).astype(float)
    n = int(gradients.shape[0])
    nan = np.array([np.nan])
    slopes = np.stack([np.concatenate([nan, host[:n]]), np.concatenate([host[n : 2 * n], nan])], axis=1)
    return slopes, host[2 * n :]


def _curvature(t: np.ndarray, f: np.ndarray, slopes: np.ndarray) -> float:
    """The largest |second derivative| that a segment's known values `f` at fractions
    `t` (pivots at 0 and 1 included) and its end `slopes` imply (mean-value forms)."""
    d1 = np.diff(f) / np.diff(t)
    found = list(np.abs(2 * np.diff(d1) / (t[2:] - t[:-2])))
    s0, s1 = slopes
    if not np.isnan(s0):
        found.append(abs(2 * (d1[0] - s0) / t[1]))
    if not np.isnan(s1):
        found.append(abs(2 * (s1 - d1[-1]) / (1 - t[-2])))
    if not (np.isnan(s0) or np.isnan(s1)):
        found.append(abs(s1 - s0))
    return float(max(found, default=0.0))


def _bound(t: np.ndarray, a: int, b: int, fa: float, fb: float, slopes: np.ndarray, bend: float) -> float:
    """The highest energy that the grid points strictly between the known points `a`
    and `b` of a segment can have when its second derivative is at most `bend` (per
    unit fraction squared): under the parabola through both, and under the Taylor
    parabola of a pivot whose slope is known."""
    tau = t[a + 1 : b]
    bound = fa + (fb - fa) * (tau - t[a]) / (t[b] - t[a]) + bend * (tau - t[a]) * (t[b] - tau) / 2
    if a == 0 and not np.isnan(slopes[0]):
        bound = np.minimum(bound, fa + slopes[0] * tau + bend * tau**2 / 2)
    if b == t.size - 1 and not np.isnan(slopes[1]):
        bound = np.minimum(bound, fb - slopes[1] * (1 - tau) + bend * (1 - tau) ** 2 / 2)
    return float(bound.max())


def sample_segments(
    pivot_energies: np.ndarray,
    slopes: np.ndarray,
    lengths: np.ndarray,
    per_segment: int,
    evaluate: Callable[[np.ndarray], np.ndarray],
    *,
    safety: float = CURVATURE_SAFETY,
    curvature: float | None = None,
    every: bool = False,
) -> tuple[np.ndarray, int]:
    """The energies ((segments x per_segment,), NaN where not evaluated) at the grid
    points `geometry.dense_points` makes, and how many were evaluated.

    `evaluate(indices)` returns the energies at those flat indices of the grid, in one
    batch; it is called once a round.  The first round takes the middle of every
    segment; each next one the middle point of every gap between evaluated points
    whose bound (`_bound`, for a curvature of `curvature` x the segment's length
    squared, or `safety` x the largest measured) exceeds the climber plus its
    tolerance, the higher end and the highest point found so far.  A point whose
    energy is not finite takes no part in the bounds.  `every`: the whole grid in one
    round (the exhaustive check).
    """
    e = np.asarray(pivot_energies, dtype=float)
    k, segments = int(per_segment), e.size - 1
    t = np.arange(k + 2) / (k + 1)
    grid = np.full((segments, k + 2), np.nan)
    grid[:, 0], grid[:, -1] = e[:-1], e[1:]
    done = np.zeros(grid.shape, dtype=bool)
    done[:, [0, -1]] = True
    floor = max(climber_energy(e) + climber_tolerance(e), float(max(e[0], e[-1])))
    lengths2 = np.asarray(lengths, dtype=float) ** 2
    real = lengths2 > 0  # a repeated pivot's segment is one point: no bend to measure
    picks = [(s, j) for s in range(segments) for j in (range(1, k + 1) if every else [(k + 1) // 2])]
    count = 0
    while picks:
        flat = np.array([s * k + j - 1 for s, j in picks])
        values = np.asarray(evaluate(flat), dtype=float).reshape(-1)
        count += flat.size
        for (s, j), v in zip(picks, values):
            grid[s, j], done[s, j] = v, True
        usable = done & np.isfinite(grid)
        if curvature is None:
            rows = zip(grid[real], usable[real], slopes[real], lengths2[real])
            measured = [_curvature(t[u], g[u], sl) / l2 for g, u, sl, l2 in rows]
            bend = safety * max(measured, default=0.0) * lengths2
        else:
            bend = curvature * lengths2
        inner = grid[:, 1:-1][usable[:, 1:-1]]
        level = max(floor, float(inner.max(initial=-np.inf)))
        picks = []
        for s in range(segments):
            known = np.flatnonzero(usable[s])
            for a, b in zip(known[:-1], known[1:]):
                open_ = np.flatnonzero(~done[s, a + 1 : b]) + a + 1
                if open_.size and _bound(t, a, b, grid[s, a], grid[s, b], slopes[s], bend[s]) > level:
                    picks.append((s, int(open_[np.argmin(np.abs(open_ - (a + b) / 2))])))
    return grid[:, 1:-1].reshape(-1), count


def sample_band(
    path: Any, gradients: Any, dense: Any, per_segment: int, energy: Callable[[Any], Any], *, every: bool = False
) -> tuple[np.ndarray, int]:
    """`sample_segments` on a band's evaluated `path` with its interior pivots'
    `gradients`: `dense` are the grid's points (`geometry.dense_points`), `energy` the
    potential's energy of a batch of them.  Host energies, NaN where not evaluated, and
    how many were."""
    slopes, lengths = chord_slopes(path.pivots, gradients)
    at = lambda i: to_numpy(energy(dense[i.tolist()]))  # noqa: E731
    return sample_segments(to_numpy(path.energies), slopes, lengths, per_segment, at, every=every)
