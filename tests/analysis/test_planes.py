"""Loss surfaces on slices: the plane through three points, grids, projection, resume."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import LandscapeError, Store, load_potential
from landscape.analysis.planes import (
    evaluate_surface,
    plane_through,
    project_onto,
    random_directions,
    read_surface,
    slice_along,
)
from landscape.potentials.identity import record

# Mueller-Brown in closed form (Mueller and Brown 1979), the truth the embedded plugin is checked against.
_MB = dict(
    A=[-200, -100, -170, 15],
    a=[-1, -1, -6.5, 0.7],
    b=[0, 0, 11, 0.6],
    c=[-10, -10, -6.5, 0.7],
    x0=[1, 0, -0.5, -1],
    y0=[0, 0.5, 1.5, 1],
)


def mueller_brown(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0:1], p[:, 1:2]
    k = {n: np.asarray(v, dtype=float)[None] for n, v in _MB.items()}
    dx, dy = x - k["x0"], y - k["y0"]
    return (k["A"] * np.exp(k["a"] * dx * dx + k["b"] * dx * dy + k["c"] * dy * dy)).sum(axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_plane_through_contains_the_three_points_exactly(seed):
    rng = np.random.default_rng(seed)
    a, b, c = (rng.normal(scale=10.0 ** rng.integers(-2, 3), size=40) for _ in range(3))
    sl = plane_through(a, b, c, margin=0.3, grid=5)
    scale = max(np.abs(p).max() for p in (a, b, c))
    for name, point in zip("ABC", (a, b, c)):
        np.testing.assert_allclose(sl.at(sl.marks[name]), point, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(sl.directions @ sl.directions.T, np.eye(2), atol=1e-12)  # orthonormal
    coords = np.array(list(sl.marks.values()))
    for k, axis in enumerate(sl.axes):  # the grid covers the three with the margin on each side
        lo, hi = coords[:, k].min(), coords[:, k].max()
        assert axis[0] == pytest.approx(lo - 0.3 * (hi - lo)) and axis[-1] == pytest.approx(hi + 0.3 * (hi - lo))


def test_bad_slices_are_one_line_errors():
    a = np.zeros(3)
    with pytest.raises(LandscapeError, match="collinear"):
        plane_through(a, np.array([1.0, 1, 1]), np.array([-2.0, -2, -2]))
    with pytest.raises(LandscapeError, match="coincides"):
        plane_through(a, a, np.ones(3))
    with pytest.raises(LandscapeError, match="length 0"):
        slice_along(a, np.stack([np.ones(3), np.zeros(3)]))
    with pytest.raises(LandscapeError, match="parallel"):
        slice_along(a, np.stack([np.ones(3), 2 * np.ones(3)]))
    with pytest.raises(LandscapeError, match="at least 2"):
        slice_along(a, np.ones((1, 3)), grid=1)


def test_grid_energies_equal_direct_evaluation_at_sampled_points():
    pot = load_potential("mueller-brown", {"dim": 6})
    d = random_directions(6, 2, seed=3, scale=0.4)
    assert np.allclose(np.linalg.norm(d, axis=1), 0.4)
    origin = np.asarray(pot.minima["A"])
    surface = evaluate_surface(pot, slice_along(origin, d, span=1.5, grid=9), chunk=7)
    assert surface.energies.shape == (9, 9) and surface.filled == 81
    t = np.linspace(-1.5, 1.5, 9)
    for i, j in np.random.default_rng(0).integers(0, 9, size=(12, 2)):
        x = origin + t[i] * d[0] + t[j] * d[1]
        assert surface.energies[i, j] == pytest.approx(float(pot.energy(x[None])[0]), rel=1e-12)


def test_plane_of_embedded_mueller_brown_is_mueller_brown_itself():
    """Embedded, the three minima span the surface's own plane: the grid's energies are
    the closed form at the same points of the 2D plane."""
    flat, high = load_potential("mueller-brown"), load_potential("mueller-brown", {"dim": 5})
    lo = [np.asarray(flat.minima[k]) for k in "ABC"]
    hi = [np.asarray(high.minima[k]) for k in "ABC"]
    surface = evaluate_surface(high, plane_through(*hi, grid=15))
    # each grid point as A + s (B - A) + t (C - A), the same combination in two dimensions
    span = np.stack([hi[1] - hi[0], hi[2] - hi[0]], axis=1)
    st = np.linalg.lstsq(span, (surface.slice.points() - hi[0]).T, rcond=None)[0].T
    points2d = lo[0] + st @ np.stack([lo[1] - lo[0], lo[2] - lo[0]])
    np.testing.assert_allclose(surface.energies.ravel(), mueller_brown(points2d), rtol=1e-9, atol=1e-9)


def test_projection_returns_coordinates_and_distance_from_the_slice():
    rng = np.random.default_rng(1)
    d = rng.normal(size=(2, 8))  # not orthogonal, not unit
    sl = slice_along(rng.normal(size=8), d, grid=3)
    coords = rng.normal(size=(5, 2))
    off = rng.normal(size=(5, 8))
    off -= (off @ np.linalg.pinv(d)) @ d  # orthogonal to the slice
    got, dist = project_onto(sl, sl.origin + coords @ d + off)
    np.testing.assert_allclose(got, coords, atol=1e-10)
    np.testing.assert_allclose(dist, np.linalg.norm(off, axis=1), atol=1e-10)


class Stop(Exception):
    pass


def test_an_interrupted_surface_resumes_to_the_energies_of_one_run(tmp_path):
    pot = load_potential("mueller-brown", {"dim": 4})
    with Store.create(tmp_path / "s", record(pot)):
        pass
    sl = plane_through(*(np.asarray(pot.minima[k]) for k in "ABC"), grid=6)
    once = evaluate_surface(pot, sl, chunk=10)

    def stop(filled: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        evaluate_surface(pot, sl, store=str(tmp_path / "s"), name="p", chunk=10, callback=stop)
    with Store.open(tmp_path / "s") as store:
        held = read_surface(store, "p")
    assert held is not None and held.filled == 10 and np.isnan(held.energies.ravel()[10:]).all()
    again = evaluate_surface(pot, sl, store=str(tmp_path / "s"), name="p", chunk=10)
    assert again.resumed_from == 10 and again.filled == 36
    np.testing.assert_array_equal(again.energies, once.energies)
    with Store.open(tmp_path / "s") as store:
        np.testing.assert_array_equal(read_surface(store, "p").energies, once.energies)
    other = plane_through(*(np.asarray(pot.minima[k]) for k in "ABC"), grid=7)
    with pytest.raises(LandscapeError, match="another grid"):
        evaluate_surface(pot, other, store=str(tmp_path / "s"), name="p")
    assert evaluate_surface(pot, other, store=str(tmp_path / "s"), name="p", replace=True).resumed_from == 0


def test_the_store_check_reads_a_surface_and_names_a_damaged_one(tmp_path):
    from landscape.store.layout import surface_group

    pot = load_potential("mueller-brown")
    with Store.create(tmp_path / "s", record(pot)):
        pass
    evaluate_surface(pot, slice_along(np.zeros(2), np.eye(2), grid=4), store=str(tmp_path / "s"), name="p")
    with Store.open(tmp_path / "s") as store:
        assert store.check() == []
    with Store.write(tmp_path / "s") as store:
        store.write_array_group(
            surface_group("p", "energies"), {"energies": np.zeros(5)}, {"filled": 20, "digest": "x"}
        )
    with Store.open(tmp_path / "s") as store:
        problems = store.check()
    assert len(problems) == 3 and all(p.startswith("/surface-p: /energies-of-surface-p") for p in problems)
