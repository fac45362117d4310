"""Grid minimax paths: reference values, geometry of the paths, pairwise ultrametric."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landscape import LandscapeError
from landscape.paths.exact import ExactPath, Grid, evaluate_grid, grid_minimax, pairwise_minimax
from landscape.testing import examples
from landscape_plugins.analytic.embedding import Embedded
from landscape_plugins.analytic.surfaces import GaussianMixture, LepsHO, MuellerBrown, Ring, ThreeHole

MB_SADDLE = -40.664844  # docs/concepts.md, reference values
MB_GRID_801 = -40.6654  # docs/concepts.md: 801 x 801 grid minimax


@pytest.fixture(scope="module")
def mb_grid() -> Grid:
    return evaluate_grid(MuellerBrown(), 801)


def test_mueller_brown_801_reference(mb_grid):
    mb = MuellerBrown()
    path = grid_minimax(mb, mb.minima["A"], mb.minima["B"], grid=801)  # includes grid evaluation
    assert isinstance(path, ExactPath)
    assert path.saddle_energy == pytest.approx(MB_SADDLE, abs=1e-3)
    assert path.saddle_energy == pytest.approx(MB_GRID_801, abs=1e-4)  # 8-connectivity reproduces it
    assert np.linalg.norm(path.saddle_point - mb.saddles["AC"]) < 0.01
    assert path.tolerance > abs(path.saddle_energy - MB_SADDLE)
    # the path is a grid path from A to B whose maximum is the saddle, passing C
    assert path.energies.max() == path.saddle_energy
    np.testing.assert_allclose(path.points[0], mb.minima["A"], atol=0.004)
    np.testing.assert_allclose(path.points[-1], mb.minima["B"], atol=0.004)
    assert np.abs(np.diff(path.cells, axis=0)).max() == 1
    assert np.min(np.linalg.norm(path.points - mb.minima["C"], axis=1)) < 0.01
    np.testing.assert_allclose(mb.energy(path.points), path.energies, atol=1e-9)


def test_connectivity_four_is_higher(mb_grid):
    mb = MuellerBrown()
    four = grid_minimax(mb_grid, mb.minima["A"], mb.minima["B"], connectivity=4)
    eight = grid_minimax(mb_grid, mb.minima["A"], mb.minima["B"], connectivity=8)
    assert four.saddle_energy == pytest.approx(MB_SADDLE, abs=1e-3)
    assert eight.saddle_energy <= four.saddle_energy
    assert np.abs(np.diff(four.cells, axis=0)).sum(axis=1).max() == 1  # axis steps only


def test_mueller_brown_saddles_at_coarser_grid():
    mb = MuellerBrown()
    cb = grid_minimax(mb, mb.minima["C"], mb.minima["B"], grid=401)
    assert cb.saddle_energy == pytest.approx(mb.reference_energies["CB"], abs=cb.tolerance)
    assert cb.saddle_energy == pytest.approx(mb.reference_energies["CB"], abs=5e-3)


def test_ring_saddle_and_circle():
    ring = Ring()
    path = grid_minimax(ring, ring.minima["A"], ring.minima["B"], grid=301)
    assert path.saddle_energy == pytest.approx(1.0, abs=1e-9)  # (0, +-1) lie on the grid
    assert abs(abs(path.saddle_point[1]) - 1.0) < 1e-9 and abs(path.saddle_point[0]) < 1e-9
    r = np.hypot(path.points[:, 0], path.points[:, 1])
    assert np.abs(r - 1).max() < 0.15


def test_three_hole_takes_the_upper_channel():
    th = ThreeHole()
    path = grid_minimax(th, th.minima["A"], th.minima["B"], grid=401)
    assert path.saddle_energy == pytest.approx(th.reference_energies["AC"], abs=2e-3)
    assert path.saddle_energy < th.reference_energies["AB"] - 0.2
    assert path.saddle_point[1] > 1.0  # upper channel, not the direct saddle at y = -0.316
    assert path.points[:, 1].max() > 1.4  # passes the shallow minimum C


def test_leps_saddle():
    leps = LepsHO()
    path = grid_minimax(leps, leps.minima["A"], leps.minima["B"], grid=401)
    assert path.saddle_energy == pytest.approx(-0.8752, abs=2e-3)


def test_pairwise_matches_grid_minimax_and_is_ultrametric():
    mb = MuellerBrown()
    pts = np.array([mb.minima["A"], mb.minima["B"], mb.minima["C"], mb.minima["A"]])
    grid = evaluate_grid(mb, 201)
    m = pairwise_minimax(grid, pts)
    assert m.shape == (4, 4)
    np.testing.assert_array_equal(m, m.T)
    for i in range(4):
        for j in range(4):
            assert m[i, j] == grid_minimax(grid, pts[i], pts[j]).saddle_energy
    assert m[0, 1] == m[0, 2] == m[3, 1] and m[1, 2] < m[0, 1]
    assert m[0, 3] == m[0, 0]  # the same cell twice: its own energy


@settings(max_examples=examples(12), deadline=None)
@given(seed=st.integers(0, 100_000), wells=st.integers(2, 9), connectivity=st.sampled_from([4, 8]))
def test_pairwise_ultrametric_on_random_mixtures(seed, wells, connectivity):
    gm = GaussianMixture(wells, seed=seed)
    pts = np.array(list(gm.minima.values()))
    grid = evaluate_grid(gm, 81)
    m = pairwise_minimax(grid, pts, connectivity=connectivity)
    np.testing.assert_array_equal(m, m.T)
    assert np.all(np.isfinite(m))
    k = len(pts)
    for i in range(k):
        for j in range(k):
            assert m[i, j] >= max(m[i, i], m[j, j])
            for l in range(k):
                assert m[i, l] <= max(m[i, j], m[j, l])
    for i, j in [(0, k - 1), (k // 2, 0)]:
        assert m[i, j] == grid_minimax(grid, pts[i], pts[j], connectivity=connectivity).saddle_energy


def test_walls_of_nan_separate():
    x = np.linspace(-1, 1, 21)
    e = np.add.outer(x**2, x**2)
    e[10, :] = np.nan  # a wall across the grid
    grid = Grid(x, x.copy(), e)
    m = pairwise_minimax(grid, [(-0.5, 0.0), (0.5, 0.0), (-0.5, 0.5)])
    assert np.isinf(m[0, 1]) and np.isfinite(m[0, 2])
    with pytest.raises(LandscapeError, match="not connected"):
        grid_minimax(grid, (-0.5, 0.0), (0.5, 0.0))


def test_errors_are_one_line():
    mb = MuellerBrown()
    cases = [
        (
            lambda: grid_minimax(Embedded(mb, dim=3, seed=0), np.zeros(3), np.ones(3)),
            "exact paths need a 2D potential, got dim=3",
        ),
        (lambda: pairwise_minimax(Embedded(mb, dim=5, seed=0), np.zeros((2, 5))), "got dim=5"),
        (lambda: grid_minimax(mb, (5.0, 0.0), mb.minima["B"], grid=51), "outside the grid"),
        (lambda: grid_minimax(mb, mb.minima["A"], mb.minima["B"], grid=51, connectivity=6), "connectivity"),
        (lambda: grid_minimax(mb, mb.minima["A"], mb.minima["B"], grid=1), "grid"),
        (lambda: grid_minimax(mb, mb.minima["A"], mb.minima["B"], bounds=((1, 0), (0, 1))), "bounds"),
        (lambda: pairwise_minimax(mb, np.zeros((3, 3)), grid=51), "shape"),
    ]
    for call, text in cases:
        with pytest.raises(LandscapeError, match=text) as info:
            call()
        assert "\n" not in str(info.value)
