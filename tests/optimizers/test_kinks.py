"""The springs' pull across a bent band (`geometry.kink_spring_forces`, `ElasticBand.kinks`):
hand-computed values at known angles, nothing on a straight band, the same force in
torch, its place in the settings, a random surface whose band folded and ran away without
it, against the grid-exact minimax, and the converged band on the path by the plain forces."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import Budget, grid_minimax, load_potential
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.band import NEB, StringMethod
from landscape.optimizers.forces import band_forces
from landscape.paths import geometry
from landscape.runs.pair import connect, make_optimizer
from landscape_plugins.analytic.surfaces import random_pair

ALONG_X = np.array([[1.0, 0.0]])


def test_nothing_on_a_straight_band():
    """Collinear pivots, unevenly spaced: the switch is exactly 0 (cos(pi) = -1)."""
    p = np.array([[0.0, 0.0], [0.3, 0.6], [1.0, 2.0], [1.1, 2.2]])
    tau = geometry.improved_tangents(p, np.array([0.0, 1.0, 2.0, 0.5]))
    np.testing.assert_array_equal(geometry.kink_spring_forces(p, tau, 2.0), np.zeros((2, 2)))


def test_a_right_angle_gets_the_whole_spring_across():
    """behind (1, 0), ahead (0, 1): full spring k (-1, 1), switch 1; across x: k (0, 1)."""
    p = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(geometry.kink_spring_forces(p, ALONG_X, 3.0), [[0.0, 3.0]], atol=1e-15)


def test_sixty_degrees_gets_a_quarter():
    """cos phi = 1/2: switch ((1 + cos(pi / 2)) / 2)^2 = 1/4 of the spring's part across."""
    c, s = np.cos(np.pi / 3), np.sin(np.pi / 3)
    p = np.array([[0.0, 0.0], [1.0, 0.0], [1.0 + c, s]])
    full = 2.0 * (np.array([c, s]) - np.array([1.0, 0.0]))
    np.testing.assert_allclose(geometry.kink_spring_forces(p, ALONG_X, 2.0), [[0.0, 0.25 * full[1]]], atol=1e-15)
    back = np.array([[0.0, 0.0], [1.0, 0.0], [1.0 - c, s]])  # 120 degrees: the band turns back, switch 1
    full = 2.0 * (np.array([-c, s]) - np.array([1.0, 0.0]))
    np.testing.assert_allclose(geometry.kink_spring_forces(back, ALONG_X, 2.0), [[0.0, full[1]]], atol=1e-15)


def test_a_band_folded_straight_back_gets_the_whole_spring_across():
    """cos phi = -1, pivot 1 beyond its forward neighbour: switch 1 (Jonsson, Mills and
    Jacobsen's unsquared factor falls back to 0 there)."""
    p = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]])
    tau = np.array([[0.6, 0.8]])  # a tangent off the line, as a flipped one can be
    full = 2.0 * (np.array([-0.5, 0.0]) - np.array([1.0, 0.0]))
    want = full - (full @ tau[0]) * tau[0]
    np.testing.assert_allclose(geometry.kink_spring_forces(p, tau, 2.0), [want], atol=1e-15)


def test_constants_per_segment_weigh_each_side():
    """k- (R - R-) and k+ (R+ - R) with their own constants; equal ones give the scalar's."""
    rng = np.random.default_rng(3)
    p = np.cumsum(rng.normal(size=(7, 3)), axis=0)
    tau = geometry.improved_tangents(p, rng.normal(size=7))
    same = geometry.kink_spring_forces(p, tau, np.full(6, 0.7))
    np.testing.assert_allclose(same, geometry.kink_spring_forces(p, tau, 0.7), rtol=1e-12, atol=1e-15)
    p3 = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    got = geometry.kink_spring_forces(p3, ALONG_X, np.array([1.0, 4.0]))  # full: 4 (0, 1) - 1 (1, 0)
    np.testing.assert_allclose(got, [[0.0, 4.0]], atol=1e-15)


def test_a_constant_may_be_a_numpy_scalar_or_a_0d_array():
    p = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    want = geometry.kink_spring_forces(p, ALONG_X, 3.0)
    for k in (np.float32(3.0), np.array(3.0)):
        np.testing.assert_allclose(geometry.kink_spring_forces(p, ALONG_X, k), want, rtol=1e-6)


def test_the_climber_feels_none_of_it():
    """The climbing image's force is -g + 2 (g . tau) tau alone, kinks or not."""
    rng = np.random.default_rng(0)
    p = rng.normal(size=(6, 2))
    e = np.array([0.0, 1.0, 3.0, 2.0, 1.0, 0.0])
    g = rng.normal(size=(4, 2))
    with_kinks, without = (band_forces(p, e, g, 1.5, True, kinks=k) for k in (True, False))
    np.testing.assert_array_equal(with_kinks[1], without[1])  # pivot 2, the highest
    assert np.abs(with_kinks - without).max() > 0


def test_torch_gives_the_same_force():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    p = np.cumsum(rng.normal(size=(9, 4)), axis=0)
    tau = geometry.improved_tangents(p, rng.normal(size=9))
    k = rng.uniform(0.5, 2.0, size=8)
    want = geometry.kink_spring_forces(p, tau, k)
    got = geometry.kink_spring_forces(*(torch.from_numpy(a) for a in (p, tau, k)))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)


def test_settings():
    """Off by default; on for NEB when asked; stored only when on, so a run stored
    before the option keeps its identity; refused where it cannot apply."""
    assert "kinks" not in make_optimizer("neb", deterministic=True).to_config()
    assert make_optimizer("neb", deterministic=True, kinks=True).to_config()["kinks"] is True
    assert "kinks" not in NEB().to_config()
    for method in ("string", "autoneb", "bezier"):
        with pytest.raises(LandscapeError, match="kinks .* applies to method neb only"):
            make_optimizer(method, kinks=True)
    with pytest.raises(LandscapeError, match="applies to NEB only"):
        StringMethod(kinks=True)


def _case(seed: int):
    """bench/bench_random_surfaces.py's case `seed`: a surface and an ordered pair of minima."""
    found = random_pair(seed)
    assert found is not None
    return found


def test_a_band_that_folded_and_ran_away_converges_at_the_truth():
    """Random surface 4 of bench/bench_random_surfaces.py: its minimax path crosses a deep
    intermediate minimum; from the straight line with 15 pivots the default band
    zig-zagged, folded back and ran up the confining wall (`diverged`, 18,015 calls,
    measured); with the pull it converges at the grid-exact saddle (6,370, measured)."""
    surface, a, b = _case(4)
    exact = grid_minimax(surface, a, b, grid=301)
    r = connect(surface, a, b, method="neb", pivots=15, fmax=1e-3, budget=Budget(max_steps=3000), kinks=True)
    assert r.success, r.message
    assert abs(r.saddle_energy - exact.saddle_energy) <= 2 * max(exact.tolerance, 1e-3)
    assert r.config["kinks"] is True and r.state.polished


def test_a_converged_band_is_on_the_path_by_the_plain_forces():
    """Held at a bend, a pivot stays off the path by the pull's balance (Mueller-Brown, 9
    pivots: a gradient across the path of 2.2 where the tolerance is 0.02, measured before
    the band went on without it); converged, every pivot's plain NEB force, recomputed
    from a fresh evaluation, is within the tolerance."""
    mb = load_potential("mueller-brown")
    band = make_optimizer("neb", deterministic=True, kinks=True)
    r = connect(mb, mb.minimum("A"), mb.minimum("B"), method="neb", kinks=True)
    assert r.success and r.state.polished
    p = np.asarray(r.path.pivots)
    e, g = mb.energy_and_gradient(p)
    plain = band_forces(p, e, g[1:-1], r.state.spring, True, kinks=False)
    assert np.linalg.norm(plain, axis=1).max() <= band.tolerance(r.state)


def test_a_plain_lbfgs_band_that_ran_off_converges():
    """tests/optimizers/test_success.py's band (L-BFGS alone, 5 wells, seed 3) runs up the
    surface's wall to E = 2344 without the pull and without the fold check (`unfold`), and
    spends its 5,000 steps with the check alone; with the pull, it converges (measured)."""
    from landscape.optimizers.steppers import stepper_from_config

    gm = load_potential("gaussian-mixture", {"wells": 5, "seed": 3})
    lbfgs = stepper_from_config({"kind": "lbfgs"})
    r = connect(gm, gm.minima["m1"], gm.minima["m3"], method="neb", stepper=lbfgs, kinks=True)
    assert r.success, r.message
    exact = grid_minimax(gm, gm.minima["m1"], gm.minima["m3"], grid=301)  # the pass, not the wall
    assert abs(r.saddle_energy - exact.saddle_energy) <= 2 * max(exact.tolerance, 1e-3)


def test_a_snapshot_keeps_whether_the_band_goes_on_without_the_pull():
    """A resumed band must not switch the pull on again: `polished` is saved when set,
    and a snapshot without it (before the option, or before the band converged with the
    pull) restores as not polished."""
    mb = load_potential("mueller-brown")
    band = make_optimizer("neb", deterministic=True, kinks=True)
    r = connect(mb, mb.minimum("A"), mb.minimum("B"), method="neb", kinks=True)
    arrays, attrs = band.snapshot(r.state)
    assert attrs["polished"] is True
    back = band.restore(arrays, attrs, mb)
    assert back.polished and np.array_equal(back.forces, r.state.forces)
    del attrs["polished"]
    assert not band.restore(arrays, attrs, mb).polished
