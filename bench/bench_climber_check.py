"""The climber check's points against the full grid: what it saves, what it trusts, what it misses.

    python bench/bench_climber_check.py

1. Mueller-Brown A -> B, `connect --method neb --pivots 9 --fmax 0.05`: the points the
   check evaluates (`landscape.paths.climber.sample_segments`) against its 8 x 9 grid,
   and, per segment, the sharpest bend of the energy along the chord (second
   differences on 400 points) over the largest bend the check measures from the
   pivots, their chord slopes and the segments' middles (what its factor
   `CURVATURE_SAFETY` multiplies).
2. A profile of 8 segments (a barrier topped at pivot 2, plus a Gaussian bump of height
   1.3, above the climber, between two pivots far below it) at bump widths 0.07-0.3 of
   a segment and five positions: does the full grid find the bump, does the check,
   and with how many points.
"""

from __future__ import annotations

import numpy as np

from landscape import connect
from landscape.paths import geometry
from landscape.paths.climber import (
    CURVATURE_SAFETY,
    _curvature,
    check_climber,
    chord_slopes,
    sample_segments,
)
from landscape_plugins.analytic.surfaces import MuellerBrown

K = 9


def mueller_brown() -> None:
    pot = MuellerBrown()
    r = connect(pot, pot.minima["A"], pot.minima["B"], method="neb", pivots=9, fmax=0.05)
    pivots, e = np.asarray(r.path.pivots), np.asarray(r.path.energies)
    slopes, lengths = chord_slopes(pivots, r.state.gradients)
    full = np.asarray(pot.energy(geometry.dense_points(pivots, K)))
    t = np.linspace(0, 1, 401)
    sharpest, measured = [], []
    for s in range(len(lengths)):
        along = pot.energy(pivots[s][None] + t[:, None] * (pivots[s + 1] - pivots[s])[None])
        sharpest.append(np.abs(np.diff(along, 2)).max() * 400**2 / lengths[s] ** 2)
        middle = np.array([e[s], full[s * K + K // 2], e[s + 1]])
        measured.append(_curvature(np.array([0.0, 0.5, 1.0]), middle, slopes[s]) / lengths[s] ** 2)
    dense, n = sample_segments(e, slopes, lengths, K, lambda i: full[i])
    same = check_climber(e, full, K).ok == check_climber(e, dense, K).ok
    print(f"Mueller-Brown: the check evaluated {n} of {full.size} grid points; same verdict as the full grid: {same}")
    print(
        f"sharpest bend along a chord / largest measured: {max(sharpest) / max(measured):.2f} "
        f"(per segment {np.round(np.array(sharpest) / max(measured), 2).tolist()}; factor {CURVATURE_SAFETY:g})"
    )


def bumps() -> None:
    segments = 8
    u = np.arange(segments + 1.0)
    grid = (np.arange(segments)[:, None] + np.arange(1, K + 1)[None] / (K + 1)).reshape(-1)
    print("bump width (segments) | centre: full grid / check (points)")
    for width in (0.3, 0.2, 0.15, 0.1, 0.07):
        row = []
        for centre in (5.2, 5.3, 5.5, 5.7, 6.35):

            def f(x: np.ndarray, c: float = centre, w: float = width) -> np.ndarray:
                return np.exp(-((x - 2) ** 2) / 2) + 1.3 * np.exp(-((x - c) ** 2) / (2 * w * w))

            h = 1e-6
            e = f(u)
            de = (f(u + h) - f(u - h)) / (2 * h)
            slopes = np.stack([de[:-1], de[1:]], axis=1)
            slopes[0, 0] = slopes[-1, 1] = np.nan
            full = f(grid)
            dense, n = sample_segments(e, slopes, np.ones(segments), K, lambda i, full=full: full[i])
            found = ["found" if not check_climber(e, d, K).ok else "MISSED" for d in (full, dense)]
            row.append(f"{centre}: {found[0]} / {found[1]} ({n})")
        print(f"{width:<5} | " + " | ".join(row))


if __name__ == "__main__":
    mueller_brown()
    bumps()
