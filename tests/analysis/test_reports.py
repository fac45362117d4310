"""The one Hessian analysis of points and paths (landscape.analysis.curvature, .reports)
against a quadratic whose spectrum is chosen: E = x^T A x / 2, A = Q diag(lambda) Q^T,
so every eigenvalue, near-zero count and curvature is known in closed form; and the
options that reach a potential's own products (`accepted_options`)."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.analysis.curvature import count_near_zero, curvature_along, extreme_eigenvalues
from landscape.analysis.hessian import accepted_options, hessian_products
from landscape.analysis.reports import analyse_point, climbing_image_analysis, minimum_report
from landscape.foundations.errors import LandscapeError
from landscape.paths.path import Path
from landscape.potentials.potential import CountingPotential, Potential


class Quadratic(Potential):
    """x^T A x / 2 with the eigenvalues `values` in a seeded orthonormal basis; exact
    products through the hook, which takes a `scale` option (the energy times it), and
    the basis vectors of the zero eigenvalues as invariant directions when asked."""

    name = "quadratic"

    def __init__(self, values, seed=0, invariances=False):
        self.values = np.asarray(values, dtype=np.float64)
        self.dim = len(self.values)
        self.q = np.linalg.qr(np.random.default_rng(seed).standard_normal((self.dim, self.dim)))[0]
        self.a = self.q @ np.diag(self.values) @ self.q.T
        if invariances:
            self.invariant_directions = lambda x: (self.q[:, self.values == 0].T, ["flat"] * int(sum(self.values == 0)))

    def energy_and_gradient(self, x):
        x = np.atleast_2d(x)
        g = x @ self.a
        return 0.5 * np.einsum("ki,ki->k", x, g), g

    def hessian_products(self, x, *, scale=1.0):
        return lambda d: scale * (d @ self.a)


class NoOptions(Quadratic):
    def hessian_products(self, x):
        return lambda d: d @ self.a


SPECTRUM = [-2.0, 0.0, 0.0, 1e-5, 0.5, 1.0, 3.0, 7.0]


def test_extremes_near_zero_and_curvature_equal_the_chosen_spectrum():
    pot = Quadratic(SPECTRUM)
    x = np.zeros(pot.dim)
    ext = extreme_eigenvalues(pot, x, k=2, tol=1e-12)
    np.testing.assert_allclose(ext["largest"], [3.0, 7.0], rtol=1e-10)
    np.testing.assert_allclose(ext["smallest"], [-2.0, 0.0], atol=1e-10)
    dense = count_near_zero(pot, x, rtol=1e-3)
    assert dense["method"] == "dense" and dense["count"] == 3 and dense["threshold"] == pytest.approx(7e-3)
    u = pot.q[:, 5] + pot.q[:, 6]  # curvature (1 + 3) / 2 along the sum of two eigenvectors
    assert curvature_along(pot, x, 3 * u) == pytest.approx(2.0, rel=1e-12)
    assert curvature_along(pot, x, u, scale=2.0) == pytest.approx(4.0, rel=1e-12)  # the option reaches the hook


def test_the_stochastic_estimate_counts_a_wide_zero_band():
    """Above the dense limit: stochastic Lanczos quadrature with Lanczos run to the whole
    dimension is exact quadrature, so the mean weight inside the band is (zeros)/dim up
    to the probes' sampling error."""
    values = np.concatenate([np.zeros(40), np.linspace(1.0, 2.0, 60)])
    pot = Quadratic(values, seed=1)
    est = count_near_zero(pot, np.zeros(100), rtol=1e-3, dense_limit=0, probes=32, steps=100)
    assert est["method"] == "slq" and abs(est["count"] - 40) <= 6
    assert est["largest"] == pytest.approx(2.0, rel=1e-8)


def test_point_reports_count_invariances_and_certify_from_one_spectrum():
    pot = Quadratic([0.0, 0.0, 0.5, 1.0, 2.0], invariances=True)
    x = np.zeros(pot.dim)
    rep = analyse_point(pot, x, tangent=pot.q[:, 3])
    assert (rep.largest, rep.near_zero, rep.invariances) == (pytest.approx(2.0), 2, 2)
    assert rep.invariance_curvature == pytest.approx(0.0, abs=1e-12) and rep.near_zero_beyond_invariances == 0
    assert rep.tangent_curvature == pytest.approx(1.0)
    counted = CountingPotential(pot)
    full = minimum_report(counted, x, k=3)
    assert counted.gradient_points == 1  # the gradient norm; the products are the hook's
    assert full["saddle_index_of_hessian"] == 0 and full["hessian_method"] == "dense"
    np.testing.assert_allclose(full["hessian_eigenvalues"], [0.0, 0.0, 0.5], atol=1e-12)
    assert full["hessian_zero_modes"] == 2 and "near-zero" in full["warnings"][0]  # no symmetry explains them
    without = analyse_point(Quadratic([0.0, 0.0, 0.5, 1.0, 2.0]), x)
    assert without.invariances == 0 and without.near_zero_beyond_invariances == 2


def test_the_top_of_a_path_reports_its_index_along_the_path():
    """A straight path through the saddle of the quadratic along its negative mode: one
    negative eigenvalue, curvature -2 along the path, the gradient zero there."""
    pot = Quadratic([-2.0, 1.0, 3.0])
    v = pot.q[:, 0]
    path = Path.straight(-v, v, 5)
    path = Path(path.pivots, pot.energy_and_gradient(path.pivots)[0])
    info = climbing_image_analysis(pot, path, k=2)
    assert info["pivot"] == info["index"] == 2 and info["saddle_index_of_hessian"] == 1
    np.testing.assert_allclose(info["smallest_eigenvalues"], [-2.0, 1.0], rtol=1e-12)
    assert info["largest_eigenvalue"] == pytest.approx(3.0) and info["tangent_curvature"] == pytest.approx(-2.0)
    assert info["mode_along_path"] == pytest.approx(1.0) and info["gradient_norm"] == pytest.approx(0.0, abs=1e-12)
    assert info["warnings"] == ["not a climbing image: the highest pivot bounds the saddle from above, it is not on it"]


def test_a_symmetry_mode_below_zero_is_no_negative_eigenvalue_of_the_top():
    """A rotation's eigenvalue a round-off below zero (as at a cluster's saddle): the top
    reports the index the warnings judge (1), not the raw count of values below zero (2)."""
    from landscape.potentials.symmetry import Symmetry

    class OneZeroMode(Symmetry):
        zero_modes = 1

        def align(self, reference, x):  # pragma: no cover - the report never aligns
            return x

    pot = Quadratic([-1e-9, -2.0, 1.0, 3.0])
    pot.symmetry = OneZeroMode()
    v = pot.q[:, 1]
    path = Path.straight(-v, v, 5)
    path = Path(path.pivots, pot.energy_and_gradient(path.pivots)[0])
    info = climbing_image_analysis(pot, path, k=2)
    assert sum(value < 0 for value in info["smallest_eigenvalues"]) == 2  # the raw count
    assert info["negative_eigenvalues"] == info["saddle_index_of_hessian"] == 1
    assert info["warnings"] == ["not a climbing image: the highest pivot bounds the saddle from above, it is not on it"]


def test_options_reach_only_a_hook_that_takes_them():
    from landscape_plugins.analytic.surfaces import MuellerBrown

    options = {"samples": 8, "scale": 2.0}
    assert accepted_options(Quadratic([1.0, 2.0]), options) == {"scale": 2.0}
    assert accepted_options(CountingPotential(Quadratic([1.0, 2.0])), options) == {"scale": 2.0}  # looked through
    assert accepted_options(NoOptions([1.0, 2.0]), options) == {}
    assert accepted_options(MuellerBrown(), options) == {}  # central differences: nothing to apply them to
    with pytest.raises(LandscapeError, match="hessian_products takes no samples"):
        hessian_products(NoOptions([1.0, 2.0]), np.zeros(2), samples=8)
