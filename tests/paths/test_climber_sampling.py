"""The climber check evaluates only the grid points that can matter (`sample_segments`).

Independent truth: the full grid's verdict (`check_climber` on every point), chord
derivatives by central differences, and profiles whose curvature is known in closed
form (sums of sines), for which the check must agree with the full grid exactly.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from landscape import NEB, Path, connect, optimize
from landscape.paths import geometry
from landscape.paths.climber import check_climber, chord_slopes, climber_tolerance, sample_segments
from landscape_plugins.analytic.surfaces import MuellerBrown

K = 9  # grid points a segment, connect's default


def _profile(u: np.ndarray, terms: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """A profile along u (one unit a segment): a barrier plus sines, and its derivative."""
    e, de = np.exp(-((u - 2.0) ** 2) / 2), -(u - 2.0) * np.exp(-((u - 2.0) ** 2) / 2)
    for a, w, phi in terms:
        e, de = e + a * np.sin(w * u + phi), de + a * w * np.cos(w * u + phi)
    return e, de


def _check(segments: int, f, **kw):
    """(full-grid check, adaptive check, points evaluated) for a profile `f(u)` -> (E, dE/du)."""
    u = np.arange(segments + 1.0)
    e, de = f(u)
    slopes = np.stack([de[:-1], de[1:]], axis=1)
    slopes[0, 0] = slopes[-1, 1] = np.nan  # a band keeps no gradient at the ends
    grid = (np.arange(segments)[:, None] + np.arange(1, K + 1)[None] / (K + 1)).reshape(-1)
    full = f(grid)[0]
    calls = []
    dense, n = sample_segments(e, slopes, np.ones(segments), K, lambda i: calls.append(i) or full[i], **kw)
    assert n == sum(len(i) for i in calls) and np.array_equal(
        ~np.isnan(dense), np.isin(np.arange(full.size), np.concatenate(calls))
    )
    return check_climber(e, full, K), check_climber(e, dense, K), n


@settings(max_examples=150, deadline=None)
@given(
    segments=st.integers(3, 12),
    terms=st.lists(
        st.tuples(st.floats(0.01, 0.6), st.floats(0.3, 12.0), st.floats(0, 2 * np.pi)), min_size=0, max_size=4
    ),
)
def test_with_the_true_curvature_bound_the_verdict_is_the_full_grids(segments, terms):
    """Where no second derivative along the path exceeds `curvature` (here known in
    closed form), skipping points changes nothing: same verdict, same top, same segment."""
    bound = 1.0 + sum(a * w * w for a, w, _ in terms)  # |(exp(-x^2/2))''| <= 1
    full, adaptive, n = _check(segments, lambda u: _profile(u, terms), curvature=bound)
    assert adaptive.ok == full.ok and n <= segments * K
    if not full.ok:
        assert (adaptive.segment, adaptive.top) == (full.segment, full.top)


def test_a_bump_between_two_low_pivots_is_found_from_the_measured_curvature():
    """A bump 0.2 of a segment wide, centred off the middle of a segment whose pivots lie
    far below the climber and rising above it: the middle point sees its flank, the
    curvature measured there sends the check to it."""

    def bumped(u):
        e, de = _profile(u, [])
        g = 1.3 * np.exp(-((u - 5.3) ** 2) / (2 * 0.2**2))
        return e + g, de - g * (u - 5.3) / 0.2**2

    full, adaptive, _ = _check(8, bumped)
    assert not full.ok and not adaptive.ok and adaptive.segment == full.segment == 5
    assert adaptive.top == full.top  # the highest grid point, where the repair puts its pivot
    clean, checked, n = _check(8, lambda u: _profile(u, []))
    assert clean.ok and checked.ok and n < 8 * K / 2  # without the bump: under half of the grid


def test_chord_slopes_are_the_derivatives_along_each_segment():
    pot = MuellerBrown()
    rng = np.random.default_rng(0)
    pivots = rng.normal(size=(6, 2)) * 0.3
    _, g = pot.energy_and_gradient(pivots)
    slopes, lengths = chord_slopes(pivots, g[1:-1])
    h = 1e-6
    for s in range(5):
        a, b = pivots[s], pivots[s + 1]
        along = lambda t: pot.energy((a + t * (b - a))[None])[0]  # noqa: E731
        expect = [(along(h) - along(-h)) / (2 * h), (along(1 + h) - along(1 - h)) / (2 * h)]
        known = [s > 0, s < 4]  # the ends' gradients are not given
        np.testing.assert_allclose(slopes[s][known], np.array(expect)[known], rtol=1e-5)
        assert np.isnan(slopes[s][~np.array(known)]).all()
        assert lengths[s] == np.linalg.norm(b - a)


def test_a_band_profile_holds_only_the_points_the_check_evaluated():
    pot = MuellerBrown()
    r = connect(pot, pot.minima["A"], pot.minima["B"], method="neb", pivots=9, fmax=0.05)
    assert r.success and 8 <= r.state.checks < 8 * K
    assert r.profile.energies.size == 9 + r.state.checks and np.isfinite(r.profile.energies).all()
    # every profile point is the potential's energy there, and none is above the climber
    dense = geometry.dense_points(r.path.pivots, K)[~np.isnan(r.state.dense[1])]
    np.testing.assert_allclose(np.sort(pot.energy(dense)), np.sort(r.profile.energies[~r.profile.is_pivot]))
    assert r.climber_at_top


def test_check_all_evaluates_the_whole_grid_and_finds_the_same_top():
    pot = MuellerBrown()
    start = Path.straight(pot.minima["A"], pot.minima["B"], 9)
    runs = [optimize(NEB(climb=True, fmax=0.05, check_all=every), pot, start) for every in (False, True)]
    assert all(r.success for r in runs) and runs[1].state.checks == 8 * K > runs[0].state.checks
    assert runs[1].config["check_all"] and "check_all" not in runs[0].config  # stored runs keep their identity
    assert runs[0].upper_bound == runs[0].saddle_energy == runs[1].saddle_energy  # the climber: the top of both
    assert runs[1].upper_bound <= runs[1].saddle_energy + climber_tolerance(runs[1].path.energies)


def test_a_repeated_pivot_measures_no_bend_and_hides_nothing():
    """A zero-length segment (a pivot given twice) has no curvature to divide by its
    length; the others are still checked, and a point above the climber is found."""
    e = np.array([0.0, 1.0, 1.0, 0.5])
    slopes = np.array([[np.nan, 0.0], [0.0, 0.0], [0.0, np.nan]])
    high = lambda i: np.where(np.asarray(i) // K == 2, 1.5, 0.9)  # noqa: E731  # the last segment rises above
    dense, n = sample_segments(e, slopes, np.array([1.0, 0.0, 1.0]), K, high)
    assert not np.isnan(dense[K // 2 :: K]).any() and n >= 3  # every middle, the repeated pivot's too
    assert check_climber(e, dense, K).segment == 2
