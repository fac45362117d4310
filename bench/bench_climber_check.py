"""The climber check's points against the full grid: what it saves, what it trusts, what it misses.

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
3. The random surfaces of bench/bench_random_surfaces.py (--cases, NEB with connect's
   default band from the straight line, 15 pivots, fmax 1e-3): on every converged
   band's final path, the check's verdict against the full grid's, and the sharpest
   bend along a chord over the largest the check measures from the pivots, their chord
   slopes and the middles (the ratio its factor must cover).

    python bench/bench_climber_check.py [--cases 100]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_random_surfaces import PIVOTS, _band_settings, case

from landscape import NEB, Budget, Path, connect, optimize
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


def measure(pot, r) -> tuple[bool, int, int, np.ndarray]:  # noqa: ANN001
    """On a band result's final path: (same verdict as the full grid, points the check
    evaluates, grid size, per segment the sharpest bend over the largest measured)."""
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
    return same, n, full.size, np.array(sharpest) / max(max(measured), 1e-300)


def mueller_brown() -> None:
    pot = MuellerBrown()
    r = connect(pot, pot.minima["A"], pot.minima["B"], method="neb", pivots=9, fmax=0.05)
    same, n, size, ratio = measure(pot, r)
    print(f"Mueller-Brown: the check evaluated {n} of {size} grid points; same verdict as the full grid: {same}")
    print(
        f"sharpest bend along a chord / largest measured: {ratio.max():.2f} "
        f"(per segment {np.round(ratio, 2).tolist()}; factor {CURVATURE_SAFETY:g})"
    )


def random_surfaces(cases: int) -> None:
    band = NEB(climb=True, fmax=1e-3, **_band_settings("default", "neb"))
    ratios, points, grid, differ, runs, seed = [], 0, 0, 0, 0, 0
    while runs < cases:
        found = case(seed)
        seed += 1
        if found is None:
            continue
        surface, a, b = found
        runs += 1
        r = optimize(band, surface, Path.straight(a, b, PIVOTS), budget=Budget(max_steps=3000))
        if not r.success:
            continue
        same, n, size, ratio = measure(surface, r)
        differ += 0 if same else 1
        points, grid = points + n, grid + size
        ratios.append(ratio.max())
    q = np.quantile(ratios, [0.5, 0.99, 1.0])
    print(
        f"random surfaces: {len(ratios)} converged of {cases} (seeds 0..{seed - 1}); verdicts unlike the full "
        f"grid's: {differ}; points evaluated {points} of {grid} ({points / grid:.2f}); sharpest bend / largest "
        f"measured: median {q[0]:.2f}, 99th percentile {q[1]:.2f}, largest {q[2]:.2f} (factor {CURVATURE_SAFETY:g})"
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="random surfaces (default 100)")
    args = parser.parse_args()
    mueller_brown()
    bumps()
    random_surfaces(args.cases)
