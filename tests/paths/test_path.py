"""The Path type and the Potential wrappers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from landscape import CachedPotential, ChunkedPotential, CountingPotential, Path
from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import as_batch, gradient_error
from landscape.testing import check_potential
from landscape_plugins.analytic.surfaces import MuellerBrown


@pytest.fixture(scope="module")
def mb():
    return MuellerBrown()


def test_straight_path_interpolates_at_arc_fractions(mb):
    a, b = mb.minima["A"], mb.minima["B"]
    p = Path.straight(a, b, 5)
    np.testing.assert_allclose(p.arc_fractions(), np.linspace(0, 1, 5))
    np.testing.assert_allclose(p.interpolate(np.array([0.0, 0.5, 1.0])), [a, (a + b) / 2, b])
    assert p.length() == pytest.approx(np.linalg.norm(b - a))


@given(st.integers(2, 12), st.integers(1, 12))
def test_profile_is_sorted_and_contains_the_pivots(n, per_segment):
    mb = MuellerBrown()
    p = Path.straight(mb.minima["A"], mb.minima["C"], n).evaluate(mb)
    prof = p.profile(mb, per_segment)
    assert np.all(np.diff(prof.t) >= 0)
    assert prof.t.size == n + (n - 1) * per_segment
    np.testing.assert_allclose(prof.energies[prof.is_pivot], p.energies)
    assert prof.saddle_energy >= p.saddle_energy


def test_reversal_and_concatenation(mb):
    a, c, b = mb.minima["A"], mb.minima["C"], mb.minima["B"]
    ac = Path.straight(a, c, 4).evaluate(mb)
    cb = Path.straight(c, b, 3).evaluate(mb)
    ab = ac.concat(cb)
    assert ab.n_pivots == 6 and ab.saddle_energy == max(ac.saddle_energy, cb.saddle_energy)
    back = ab.reversed()
    np.testing.assert_array_equal(back.pivots, ab.pivots[::-1])
    np.testing.assert_array_equal(back.reversed().energies, ab.energies)
    with pytest.raises(LandscapeError, match="does not start"):
        ac.concat(ac)


def test_bad_paths_are_refused(mb):
    with pytest.raises(LandscapeError):
        Path(np.zeros((1, 2)))
    with pytest.raises(LandscapeError):
        Path(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(LandscapeError, match="not been evaluated"):
        Path(np.zeros((3, 2))).saddle_energy  # noqa: B018 - the access is what raises
    with pytest.raises(LandscapeError):
        as_batch(np.zeros(3), 2)


def test_counting_cached_and_chunked_wrappers_agree_with_the_potential(mb):
    x = np.random.default_rng(0).normal(size=(25, 2)) * 0.5
    e, g = mb.energy_and_gradient(x)
    counter = CountingPotential(mb)
    cached = CachedPotential(counter)
    for _ in range(3):
        ce, cg = cached.energy_and_gradient(x)
    np.testing.assert_array_equal(ce, e)
    np.testing.assert_array_equal(cg, g)
    assert counter.gradient_points == 25 and cached.hits == 50
    chunked = ChunkedPotential(mb, chunk=7)
    np.testing.assert_array_equal(chunked.energy(x), mb.energy(x))
    np.testing.assert_array_equal(chunked.energy_and_gradient(x)[1], g)
    check_potential(chunked)
    assert gradient_error(mb, x) < 1e-6
    with pytest.raises(LandscapeError):
        ChunkedPotential(mb, chunk=0)
    assert counter.name == "mueller-brown" and counter.minima is mb.minima


def test_chunked_wrapper_keeps_torch_tensors(mb):
    torch = pytest.importorskip("torch")
    from landscape.potentials.potential import Potential

    class TorchQuadratic(Potential):
        dim = 3

        def energy_and_gradient(self, x):
            return (x * x).sum(1), 2 * x

    x = torch.randn(10, 3, dtype=torch.float64)
    e, g = ChunkedPotential(TorchQuadratic(), chunk=4).energy_and_gradient(x)
    assert isinstance(e, torch.Tensor) and torch.equal(g, 2 * x)


def test_host_scalars_moves_device_values_in_one_transfer():
    torch = pytest.importorskip("torch")
    from landscape.foundations.arrays import host_scalars

    values = [1.0, np.float64(2.0), torch.tensor(3.0), np.array(4.0), torch.tensor(5.0, dtype=torch.float64)]
    np.testing.assert_array_equal(host_scalars(values), [1, 2, 3, 4, 5])
    assert host_scalars([]).shape == (0,)
