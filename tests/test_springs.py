"""Energy-weighted NEB springs: the constants against their definition, and the band
they make (the same saddle, pivots gathered near it)."""
from __future__ import annotations

import numpy as np
import pytest

from landscape import geometry
from landscape.connect import connect, make_optimizer
from landscape.errors import LandscapeError
from landscape.registry import load_potential


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
    np.testing.assert_allclose(geometry.spring_forces(p, tau, np.full(6, 0.7)), geometry.spring_forces(p, tau, 0.7),
                               rtol=1e-12, atol=1e-15)


def test_energy_weighted_band_finds_the_same_saddle_with_pivots_near_it():
    mb = load_potential("mueller-brown")
    a, b = mb.minimum("A"), mb.minimum("B")
    plain = connect(mb, a, b, method="neb", pivots=11, climb=True)
    weighted = connect(mb, a, b, method="neb", pivots=11, climb=True, spring_min=0.1)
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
