"""Minima from seeded random starts: found, de-duplicated, sorted, and rejected when not minima;
Lennard-Jones quenches accepted by the energy-scaled convergence rule, checked against Newton's
method on a central-difference Hessian."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.analysis.minima import find_minima, is_minimum, local_minimum, quench_converged, random_starts
from landscape.foundations.errors import LandscapeError
from landscape_plugins.analytic.embedding import Embedded
from landscape_plugins.analytic.surfaces import GaussianMixture, MuellerBrown, Ring, ThreeHole
from landscape_plugins.clusters.lj import LennardJones

LJ13_GLOBAL = -44.326801  # Cambridge Cluster Database, the Mackay icosahedron


def test_gaussian_mixture_minima_are_found_sorted_and_named():
    surface = GaussianMixture(24, seed=76)  # 10 minima
    found = find_minima(surface, 80, seed=1)
    known = np.array(list(surface.minima.values()))
    assert found.names == [f"m{i}" for i in range(10)]
    np.testing.assert_allclose(found.coords, known, atol=1e-6)
    assert np.all(np.diff(found.energies) > 0)
    np.testing.assert_allclose(found.energies, surface.energy(found.coords), rtol=0, atol=1e-12)


def test_mueller_brown_reference_minima():
    mb = MuellerBrown()
    coords, energies, names = find_minima(mb, 40, seed=0)
    assert names == ["m0", "m1", "m2"]
    np.testing.assert_allclose(energies, [mb.reference_energies[k] for k in "ABC"], atol=1e-6)
    np.testing.assert_allclose(coords, [mb.minima[k] for k in "ABC"], atol=1e-5)


def test_same_energy_minima_stay_apart_and_duplicates_merge():
    th = ThreeHole()  # A and B are mirror images at the same energy
    a, b = th.minima["A"], th.minima["B"]
    found = find_minima(th, starts=np.array([a + 0.05, a - 0.05, b + 0.02, b + 0.03]))
    assert len(found.names) == 2
    assert abs(found.energies[0] - found.energies[1]) < 1e-9
    np.testing.assert_allclose(sorted(found.coords[:, 0]), [a[0], b[0]], atol=1e-6)


def test_saddles_are_rejected():
    ring = Ring()
    saddle = ring.saddles["AB_upper"]
    assert not is_minimum(ring, saddle) and is_minimum(ring, ring.minima["A"])
    with pytest.raises(LandscapeError, match="none of the 1 starts"):
        find_minima(ring, starts=saddle[None])  # zero gradient: L-BFGS stays on the saddle


def test_starts_are_seeded_and_placed():
    mb = MuellerBrown()
    a = random_starts(mb, 20, seed=3)
    np.testing.assert_array_equal(a, random_starts(mb, 20, seed=3))
    assert not np.array_equal(a, random_starts(mb, 20, seed=4))
    (x0, x1), (y0, y1) = mb.bounds
    assert np.all((a[:, 0] >= x0) & (a[:, 0] <= x1) & (a[:, 1] >= y0) & (a[:, 1] <= y1))
    near = random_starts(mb, 6, around=[[0.0, 0.0], [1.0, 1.0]], scale=1e-3)
    np.testing.assert_allclose(near[::2], 0.0, atol=1e-2)
    np.testing.assert_allclose(near[1::2], 1.0, atol=1e-2)


def test_embedding_without_bounds_starts_around_known_minima():
    emb = Embedded(MuellerBrown(), dim=6, seed=1)
    found = find_minima(emb, 9, seed=0, scale=0.02)
    assert found.coords.shape == (3, 6)
    np.testing.assert_allclose(found.energies, [-146.699517, -108.166724, -80.767818], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "positive integer"),
        ({"n": 4, "scale": 0.0}, "scale must be positive"),
        ({"n": 4, "bounds": [[0, 1]]}, "bounds must be"),
        ({"n": 4, "around": np.zeros((2, 3))}, "shape"),
        ({"starts": np.zeros((0, 2))}, "starts must have shape"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(LandscapeError, match=message):
        find_minima(MuellerBrown(), **kwargs)


def test_no_bounds_and_no_known_minima_is_an_error():
    class Bowl(MuellerBrown):
        minima: dict = {}
        bounds = None

    with pytest.raises(LandscapeError, match="no bounds"):
        find_minima(Bowl(), 4)


def _newton(lj: LennardJones, x: np.ndarray, steps: int = 2) -> np.ndarray:
    """Newton's method on a central-difference Hessian, the six zero modes (translation,
    rotation) projected out by the pseudo-inverse: the minimum the quench stalled near."""

    def grad(p):
        return lj.energy_and_gradient(p[None])[1][0]

    h = 1e-5
    for _ in range(steps):
        H = np.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(lj.dim)])
        x = x - np.linalg.pinv(0.5 * (H + H.T), rcond=1e-8) @ grad(x)
    return x


@pytest.mark.parametrize("atoms, starts", [(13, 20), (38, 6)])
def test_lennard_jones_quenches_are_minima_by_the_energy_scaled_rule(atoms, starts):
    lj = LennardJones(atoms)
    quenches = [local_minimum(lj, s, 1e-8, 2000) for s in random_starts(lj, starts, seed=1)]
    norms = np.array([q.gradient_norm for q in quenches])
    assert np.sum(norms > 1e-6) >= 1  # the old fixed limit (1e-6) rejects these
    for x, e, g, _ in quenches:
        assert quench_converged(g, e)
        polished = _newton(lj, x)
        e_min, g_min = lj.energy_and_gradient(polished[None])
        assert np.linalg.norm(g_min) < 1e-9  # a true minimum near each quench, ...
        assert np.linalg.norm(polished - x) < 1e-5 and abs(e - e_min[0]) < 1e-10  # ... within find_minima's tolerances


def test_find_minima_keeps_every_lj13_quench():
    lj = LennardJones(13)
    starts = random_starts(lj, 20, seed=1)
    energies = {round(local_minimum(lj, s, 1e-8, 2000)[1], 5) for s in starts}
    found = find_minima(lj, starts=starts)
    assert found.energies[0] == pytest.approx(LJ13_GLOBAL, abs=1e-6)
    # each quench converged and passed the Hessian check; LJ13's distinct minima differ in energy
    assert sorted(energies) == sorted(round(e, 5) for e in found.energies)


def test_the_rule_scales_with_the_energy_only_beyond_unit_scale():
    assert quench_converged(9e-7, -0.5) and not quench_converged(1.1e-6, -0.5)
    assert quench_converged(1.1e-5, -173.9) and not quench_converged(1.4e-5, -173.9)  # 1e-6 sqrt(173.9) = 1.32e-5
    assert quench_converged(9e-5, 1.0, gtol=1e-6) and not quench_converged(np.nan, 1.0)
