"""NEB springs: energy-weighted constants against their definition and the band they
make (the same saddle, pivots gathered near it); the automatic spring against exact
curvatures, its units, and its place in snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landscape import Path
from landscape.foundations.errors import DamagedCheckpoint, LandscapeError
from landscape.optimizers.band import NEB
from landscape.optimizers.forces import AUTO_SPRING_SCALE, auto_spring
from landscape.paths import geometry
from landscape.potentials.registry import load_potential
from landscape.runs.pair import connect, make_optimizer


def test_constants_follow_the_energy_of_each_segment():
    e = np.array([0.0, 1.0, 3.0, 5.0, 2.0, 0.5])
    k = geometry.energy_weighted_springs(e, 2.0, 0.5)
    seg_e = np.maximum(e[1:], e[:-1])  # 1, 3, 5, 5, 2; reference 0.5, top 5
    expected = 0.5 + 1.5 * np.clip((seg_e - 0.5) / 4.5, 0, 1)
    np.testing.assert_allclose(k, expected, rtol=1e-15)
    assert k.max() == 2.0 and k.min() > 0.5  # the top segments are stiffest


def test_a_flat_band_gets_the_lower_constant_everywhere():
    np.testing.assert_array_equal(geometry.energy_weighted_springs(np.zeros(5), 2.0, 0.5), np.full(4, 0.5))


def test_equal_constants_per_segment_give_the_scalar_spring_force():
    rng = np.random.default_rng(0)
    p = np.cumsum(rng.normal(size=(7, 3)), axis=0)
    tau = geometry.improved_tangents(p, rng.normal(size=7))
    np.testing.assert_allclose(
        geometry.spring_forces(p, tau, np.full(6, 0.7)), geometry.spring_forces(p, tau, 0.7), rtol=1e-12, atol=1e-15
    )


def test_energy_weighted_band_finds_the_same_saddle_with_pivots_near_it():
    mb = load_potential("mueller-brown")
    a, b = mb.minimum("A"), mb.minimum("B")
    plain = connect(mb, a, b, method="neb", pivots=11, climb=True)
    weighted = connect(mb, a, b, method="neb", pivots=11, climb=True, spring=1.0, spring_min=0.1)
    assert weighted.saddle_energy == pytest.approx(-40.664844, abs=1e-5)
    assert plain.saddle_energy == pytest.approx(weighted.saddle_energy, abs=1e-6)

    def around_top(result):  # mean length of the two segments beside the climber, over the path's mean
        seg = geometry.segment_lengths(np.asarray(result.path.pivots))
        top = int(np.argmax(result.path.energies[1:-1])) + 1
        return (seg[top - 1] + seg[top]) / 2 / seg.mean()

    assert around_top(weighted) < around_top(plain)


def test_spring_min_is_checked_and_belongs_to_neb():
    with pytest.raises(LandscapeError, match="spring_min"):
        make_optimizer("neb", spring=1.0, spring_min=2.0)
    with pytest.raises(LandscapeError, match="method neb only"):
        make_optimizer("string", spring_min=0.1)
    with pytest.raises(LandscapeError, match="method neb only"):
        make_optimizer("autoneb", spring_min=0.1)
    assert "spring_min" not in make_optimizer("neb").to_config()  # stored runs keep their identity


# The automatic spring ------------------------------------------------------------------


def _quadratic(eigenvalues, x):
    """Energies and gradients of 1/2 x.A.x, A = diag(eigenvalues), at the rows of x."""
    a = np.diag(eigenvalues)
    return 0.5 * np.einsum("ni,ij,nj->n", x, a, x), x @ a


def test_stiffness_is_the_curvature_along_an_eigenvector_of_a_quadratic():
    """Neighbouring pivots along eigenvector e2 (curvature 7) of a quadratic: every
    gradient secant is exactly 7, so the spring is 1/40 x 8 segments x 7."""
    pivots = np.outer(np.linspace(-1, 2, 9), [0.0, 1.0, 0.0])
    e, g = _quadratic([1.0, 7.0, 300.0], pivots)
    assert float(geometry.secant_stiffness(pivots, e, g[1:-1])) == pytest.approx(7.0, rel=1e-12)
    assert auto_spring(pivots, e, g[1:-1]) == pytest.approx(AUTO_SPRING_SCALE * 8 * 7.0, rel=1e-12)


def test_one_interior_pivot_measures_the_second_difference_of_the_energy():
    d = np.array([0.6, 0.8])  # unit direction: curvature d.A.d = 0.36 x 1 + 0.64 x 7
    pivots = np.stack([-0.5 * d, 0.1 * d, 1.3 * d])  # unequal segments
    e, g = _quadratic([1.0, 7.0], pivots)
    assert float(geometry.secant_stiffness(pivots, e, g[1:-1])) == pytest.approx(4.84, rel=1e-12)


def test_a_flat_band_falls_back_to_one():
    pivots = np.linspace([0.0, 0.0], [1.0, 1.0], 6)
    assert auto_spring(pivots, np.zeros(6), np.zeros((4, 2))) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 12), st.floats(1e-3, 1e3), st.floats(1e-2, 1e2), st.integers(0, 2**31 - 1))
def test_the_automatic_spring_carries_the_potentials_units(n, a, b, seed):
    """Energies x a and coordinates x b: gradients x a/b, the spring x a/b^2."""
    rng = np.random.default_rng(seed)
    pivots, e, g = rng.normal(size=(n, 3)), rng.normal(size=n), rng.normal(size=(n - 2, 3))
    k = auto_spring(pivots, e, g)
    assert k > 0
    assert auto_spring(b * pivots, a * e, a / b * g) == pytest.approx(k * a / b**2, rel=1e-9)


def test_auto_spring_neb_finds_the_saddle_in_fewer_evaluations_than_k_one():
    """The measured default against the old constant, side by side (9 pivots): the same
    saddle; the count is what bench/bench_ase.py records (438 against 2,160 at fmax 0.05)."""
    mb = load_potential("mueller-brown")
    a, b = mb.minimum("A"), mb.minimum("B")
    auto = connect(mb, a, b, method="neb", pivots=9, climb=True)
    one = connect(mb, a, b, method="neb", pivots=9, climb=True, spring=1.0)
    assert auto.saddle_energy == pytest.approx(-40.664844, abs=1e-5)
    assert one.saddle_energy == pytest.approx(auto.saddle_energy, abs=1e-6)
    assert auto.state.spring > 100 and one.state.spring == 1.0
    assert 3 * auto.nfev < one.nfev, (auto.nfev, one.nfev)


def test_spring_settings_are_checked():
    for bad in (0.0, -1.0, float("nan"), float("inf"), "stiff", True):
        with pytest.raises(LandscapeError, match="spring"):
            NEB(spring=bad)
    with pytest.raises(LandscapeError, match="numeric spring"):
        NEB(spring_min=0.1)


def test_a_snapshot_keeps_its_spring_and_older_ones_take_the_configured_constant():
    mb = load_potential("mueller-brown")
    start = Path.straight(mb.minimum("A"), mb.minimum("B"), 7)
    band = NEB(climb=True, fmax=0.1)
    state = band.step(band.init(start, mb), mb)
    arrays, attrs = band.snapshot(state)
    assert band.restore(arrays, attrs, mb).spring == state.spring > 1
    older = {k: v for k, v in attrs.items() if k != "spring"}
    assert NEB(spring=2.5, climb=True).restore(arrays, older, mb).spring == 2.5
    with pytest.raises(DamagedCheckpoint):
        band.restore(arrays, older, mb)  # an automatic spring must have been saved
