"""Reference values, derivatives and batching of the analytic surfaces and embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import root

from landscape import LandscapeError
from landscape.potentials.potential import gradient_error
from landscape.testing import examples
from landscape_plugins.analytic.embedding import Embedded
from landscape_plugins.analytic.surfaces import GaussianMixture, LepsHO, MuellerBrown, Ring, ThreeHole

SURFACES = [MuellerBrown(), ThreeHole(), Ring(), LepsHO(), GaussianMixture(6, seed=3)]
IDS = [s.name for s in SURFACES]

# Literature values (docs/concepts.md, reference values): name -> (point, energy, digits of the source)
LITERATURE = {
    "mueller-brown": {
        "A": ((-0.558224, 1.441726), -146.699517),
        "B": ((0.623499, 0.028038), -108.166724),
        "C": ((-0.050011, 0.466694), -80.767818),
        "AC": ((-0.822002, 0.624313), -40.664844),
        "CB": ((0.212487, 0.292988), -72.248940),
    },
    "three-hole": {
        "A": ((-1.048, -0.042), -3.995),
        "B": ((1.048, -0.042), -3.995),
        "C": ((0.0, 1.537), -2.172),
        "AC": ((-0.617, 1.103), -1.647),
        "CB": ((0.617, 1.103), -1.647),
        "AB": ((0.0, -0.316), -1.385),
    },
    "ring": {"A": ((-1, 0), 0.0), "B": ((1, 0), 0.0), "AB_upper": ((0, 1), 1.0), "AB_lower": ((0, -1), 1.0)},
    "leps": {"AB": ((2.020828, -0.172901), -0.8752)},
}


def fd_hessian(potential, p, h=1e-5):
    p = np.asarray(p, dtype=float)
    eye = np.eye(len(p))
    g = potential.energy_and_gradient(np.vstack([p + h * eye, p - h * eye]))[1]
    hess = (g[: len(p)] - g[len(p) :]).T / (2 * h)
    return 0.5 * (hess + hess.T)


def grad_at(potential, p):
    return potential.energy_and_gradient(np.asarray(p, dtype=float)[None])[1][0]


def energy_at(potential, p):
    return float(potential.energy(np.asarray(p, dtype=float)[None])[0])


def random_points(surface, n, seed=0):
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


# reference values ---------------------------------------------------------------------------
@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_minima_are_minima_with_listed_energies(surface):
    assert surface.minima
    for name, p in surface.minima.items():
        assert np.linalg.norm(grad_at(surface, p)) < 1e-5, name
        assert np.linalg.eigvalsh(fd_hessian(surface, p)).min() > 0, name
        assert energy_at(surface, p) == pytest.approx(surface.reference_energies[name], abs=1e-8)


@pytest.mark.parametrize("surface", SURFACES[:4], ids=IDS[:4])
def test_saddles_have_one_negative_eigenvalue(surface):
    assert surface.saddles
    for name, p in surface.saddles.items():
        assert np.linalg.norm(grad_at(surface, p)) < 1e-5, name
        eig = np.linalg.eigvalsh(fd_hessian(surface, p))
        assert eig[0] < 0 < eig[1], name
        assert energy_at(surface, p) == pytest.approx(surface.reference_energies[name], abs=1e-8)


@pytest.mark.parametrize("surface", SURFACES[:4], ids=IDS[:4])
def test_stored_points_are_refined_stationary_points(surface):
    """Newton on the analytic gradient moves no stored point by more than 1e-8."""
    for name, p in {**surface.minima, **surface.saddles}.items():
        sol = root(lambda q: grad_at(surface, q), p, jac=lambda q: fd_hessian(surface, q), tol=1e-13)
        # already at round-off, hybr may report "no progress": judge the result itself
        assert np.linalg.norm(grad_at(surface, sol.x)) < 1e-9, name
        assert np.abs(sol.x - p).max() < 1e-8, name


@pytest.mark.parametrize("surface", SURFACES[:4], ids=IDS[:4])
def test_literature_values(surface):
    table = LITERATURE[surface.name]
    for name, (point, energy) in table.items():
        digits = max(len(repr(float(c)).split(".")[1]) for c in point)
        stored = {**surface.minima, **surface.saddles}[name]
        assert np.abs(stored - np.array(point)).max() <= 0.6 * 10.0**-digits, name
        edigits = len(repr(float(energy)).split(".")[1])
        assert surface.reference_energies[name] == pytest.approx(energy, abs=0.6 * 10.0**-edigits), name


def test_three_hole_upper_saddles_below_direct_one():
    th = ThreeHole()
    e = th.reference_energies
    assert e["AC"] == e["CB"] < e["AB"]


def test_ring_origin_is_finite_and_blocks():
    ring = Ring()
    e, g = ring.energy_and_gradient(np.zeros((1, 2)))
    assert e[0] == 2.0 and np.all(g == 0)


# batching and derivatives ---------------------------------------------------------------------
@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_batched_equals_row_by_row(surface):
    x = random_points(surface, 50)
    e, g = surface.energy_and_gradient(x)
    assert e.shape == (50,) and g.shape == (50, 2) and e.dtype == np.float64
    rows = [surface.energy_and_gradient(x[i : i + 1]) for i in range(50)]
    np.testing.assert_allclose(e, [r[0][0] for r in rows], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g, np.vstack([r[1] for r in rows]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(surface.energy(x), e, rtol=0, atol=1e-12)


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_gradient_matches_finite_differences(surface):
    x = random_points(surface, 200, seed=1)
    if isinstance(surface, Ring):
        x = x[np.hypot(x[:, 0], x[:, 1]) > 0.2]  # stay away from the singular origin
    assert gradient_error(surface, x, eps=1e-6) < 1e-6


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_bad_shape_is_a_landscape_error(surface):
    with pytest.raises(LandscapeError):
        surface.energy(np.zeros((3, 3)))


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_describe_is_json(surface):
    d = json.loads(json.dumps(surface.describe()))
    assert d["name"] == surface.name and d["dim"] == 2 and "options" in d


# embedding --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 3, 17, 1000])
def test_embedding_preserves_reference_points(dim):
    mb = MuellerBrown()
    emb = Embedded(mb, dim=dim, seed=7, stiffness=3.0)
    for name, p in {**mb.minima, **mb.saddles}.items():
        x = emb.minima.get(name, emb.saddles.get(name))
        assert x.shape == (dim,)
        np.testing.assert_allclose(emb.to_plane(x), p, atol=1e-12)
        assert energy_at(emb, x) == pytest.approx(mb.reference_energies[name], abs=1e-9)
        np.testing.assert_allclose(emb.to_plane(grad_at(emb, x)), grad_at(mb, p), atol=1e-9)
        assert np.linalg.norm(grad_at(emb, x)) < 1e-5


def test_embedding_saddle_index_is_one():
    emb = Embedded(ThreeHole(), dim=6, seed=1, stiffness=0.5)
    eig = np.linalg.eigvalsh(fd_hessian(emb, emb.saddles["AC"]))
    base = np.linalg.eigvalsh(fd_hessian(ThreeHole(), ThreeHole().saddles["AC"]))
    # the base's two eigenvalues plus dim - 2 copies of the stiffness
    np.testing.assert_allclose(eig, np.sort(np.concatenate([base, [0.5] * 4])), atol=1e-5)
    assert eig[0] < 0 < eig[1]


def test_embedding_gradient_and_energy_off_plane():
    mb = MuellerBrown()
    emb = Embedded(mb, dim=12, seed=3, stiffness=2.0)
    rng = np.random.default_rng(0)
    p = random_points(mb, 40)
    off = rng.normal(scale=0.3, size=(40, 12))
    off -= emb.from_plane(emb.to_plane(off))  # the part orthogonal to the plane
    x = emb.from_plane(p) + off
    np.testing.assert_allclose(emb.to_plane(x), p, atol=1e-12)
    expected = mb.energy(p) + 0.5 * 2.0 * np.sum(off**2, axis=1)
    np.testing.assert_allclose(emb.energy(x), expected, atol=1e-9)
    assert gradient_error(emb, x, eps=1e-6) < 1e-6
    e, g = emb.energy_and_gradient(x)
    np.testing.assert_allclose(e, emb.energy(x), atol=1e-12)
    assert g.shape == (40, 12)


def test_embedding_rotation_is_orthogonal_and_seeded():
    a = Embedded(Ring(), dim=9, seed=5)
    q = a.rotation()
    np.testing.assert_allclose(q.T @ q, np.eye(9), atol=1e-12)
    np.testing.assert_allclose(q[:, :2], a.basis)
    np.testing.assert_array_equal(Embedded(Ring(), dim=9, seed=5).basis, a.basis)
    assert not np.allclose(Embedded(Ring(), dim=9, seed=6).basis, a.basis)
    d = json.loads(json.dumps(a.describe()))
    assert d["dim"] == 9 and d["seed"] == 5 and d["base"]["name"] == "ring"


def test_embedding_rejects_bad_input():
    with pytest.raises(LandscapeError):
        Embedded(MuellerBrown(), dim=1, seed=0)
    with pytest.raises(LandscapeError):
        Embedded(Embedded(MuellerBrown(), dim=3, seed=0), dim=5, seed=0)
    with pytest.raises(LandscapeError):
        Embedded(MuellerBrown(), dim=4, seed=0).energy(np.zeros((2, 3)))


# Gaussian mixture ---------------------------------------------------------------------------------------
def test_gaussian_mixture_is_seeded():
    a, b, c = GaussianMixture(7, seed=11), GaussianMixture(7, seed=11), GaussianMixture(7, seed=12)
    x = random_points(a, 30)
    np.testing.assert_array_equal(a.energy(x), b.energy(x))
    assert a.minima.keys() == b.minima.keys()
    for k in a.minima:
        np.testing.assert_array_equal(a.minima[k], b.minima[k])
    assert not np.allclose(a.energy(x), c.energy(x))


@settings(max_examples=examples(20), deadline=None)
@given(seed=st.integers(0, 10_000), wells=st.integers(1, 10))
def test_gaussian_mixture_minima_are_minima(seed, wells):
    gm = GaussianMixture(wells, seed=seed)
    assert 1 <= len(gm.minima) <= wells
    energies = [gm.reference_energies[k] for k in gm.minima]
    assert energies == sorted(energies)
    pts = np.array(list(gm.minima.values()))
    (x0, x1), (y0, y1) = gm.bounds
    assert np.all((pts[:, 0] > x0) & (pts[:, 0] < x1) & (pts[:, 1] > y0) & (pts[:, 1] < y1))
    for p in pts:
        assert np.linalg.norm(grad_at(gm, p)) < 1e-5
        assert np.linalg.eigvalsh(fd_hessian(gm, p)).min() > 0
        # no lower point nearby: a true local minimum
        ring = p + 1e-3 * np.column_stack(
            [np.cos(np.linspace(0, 2 * np.pi, 16)), np.sin(np.linspace(0, 2 * np.pi, 16))]
        )
        assert gm.energy(ring).min() > energy_at(gm, p)
    if len(pts) > 1:
        dist = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
        assert dist[~np.eye(len(pts), dtype=bool)].min() > 1e-5


def test_gaussian_mixture_bad_options():
    with pytest.raises(LandscapeError):
        GaussianMixture(0)
    with pytest.raises(LandscapeError):
        GaussianMixture(3, box=-1.0)
