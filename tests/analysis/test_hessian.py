"""Saddle certificates for any potential (landscape.analysis.hessian) against independent truth:
Mueller-Brown's Hessian written out by hand, LEPS's from second differences of its
energies alone, and the 1000-D embedding, whose spectrum is the plane's plus its
stiffness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape.analysis.hessian import (
    DENSE_MAX,
    certify,
    dense_hessian,
    hessian_vector_products,
    lowest_modes,
    refine_saddle,
)
from landscape.foundations.errors import LandscapeError
from landscape.potentials.registry import load_potential
from landscape.store import Store
from landscape_cli.testing import error_line, invoke, run
from landscape_plugins.analytic.surfaces import MuellerBrown


def mueller_brown_hessian(x: float, y: float) -> np.ndarray:
    """The exact Hessian: each term A exp(q), q = a dx^2 + b dx dy + c dy^2."""
    mb = MuellerBrown
    h = np.zeros((2, 2))
    for A, a, b, c, x0, y0 in zip(mb._A, mb._a, mb._b, mb._c, mb._x0, mb._y0):
        dx, dy = x - x0, y - y0
        t = A * np.exp(a * dx * dx + b * dx * dy + c * dy * dy)
        qx, qy = 2 * a * dx + b * dy, b * dx + 2 * c * dy
        h += t * np.array([[qx * qx + 2 * a, qx * qy + b], [qx * qy + b, qy * qy + 2 * c]])
    return h


def energy_second_differences(potential, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """The Hessian from energies only (no gradient code involved)."""
    n = x.size
    eye = np.eye(n) * h
    points = [x + s * eye[i] + t * eye[j] for i in range(n) for j in range(n) for s in (1, -1) for t in (1, -1)]
    e = np.asarray(potential.energy(np.array(points))).reshape(n, n, 2, 2)
    return (e[:, :, 0, 0] - e[:, :, 0, 1] - e[:, :, 1, 0] + e[:, :, 1, 1]) / (4 * h * h)


@pytest.mark.parametrize("name", ["AC", "CB"])
def test_mueller_brown_saddles_are_first_order_with_the_exact_negative_eigenvalue(name):
    pot = load_potential("mueller-brown")
    x = np.asarray(pot.saddles[name])
    cert = certify(pot, x)
    exact = np.linalg.eigvalsh(mueller_brown_hessian(*x))
    assert cert.first_order and cert.method == "dense" and cert.gradient_norm < 1e-6
    np.testing.assert_allclose(cert.eigenvalues, exact, rtol=1e-6)
    np.testing.assert_allclose(dense_hessian(pot, x), mueller_brown_hessian(*x), rtol=1e-6, atol=1e-4)


def test_leps_saddle_against_second_differences_of_energies():
    pot = load_potential("leps")
    x = np.asarray(pot.saddles["AB"])
    cert = certify(pot, x)
    reference = np.linalg.eigvalsh(energy_second_differences(pot, x))
    assert cert.first_order and reference[0] < 0 < reference[1]
    assert abs(cert.eigenvalues[0] - reference[0]) <= 1e-3 * abs(reference[0])


@pytest.mark.parametrize("name", ["AC", "CB"])
def test_the_1000d_embedding_is_certified_by_lanczos(name):
    pot = load_potential("mueller-brown", {"dim": 1000})
    assert pot.dim > DENSE_MAX
    x = np.asarray(pot.saddles[name])
    cert = certify(pot, x, k=3)
    plane = np.linalg.eigvalsh(mueller_brown_hessian(*MuellerBrown.saddles[name]))
    assert cert.method == "lanczos" and cert.first_order
    assert abs(cert.eigenvalues[0] - plane[0]) <= 1e-3 * abs(plane[0])
    # the mode lies in the embedding's plane, along the plane's negative eigenvector
    in_plane = pot.to_plane(cert.mode[None])[0]
    assert np.linalg.norm(in_plane) == pytest.approx(1.0, abs=1e-4)


def test_hessian_vector_products_are_linear_and_symmetric():
    pot = load_potential("mueller-brown", {"dim": 30})
    x = np.asarray(pot.saddles["AC"]) + 0.01
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, pot.dim))
    hu, hv = hessian_vector_products(pot, x, np.stack([u, v]))
    assert u @ hv == pytest.approx(v @ hu, rel=1e-6)
    np.testing.assert_allclose(hessian_vector_products(pot, x, (2 * u)[None])[0], 2 * hu, rtol=1e-6)


def test_minima_have_no_negative_eigenvalue():
    pot = load_potential("mueller-brown")
    for name in ("A", "B", "C"):
        cert = certify(pot, pot.minima[name])
        assert cert.index == 0 and cert.complete and cert.eigenvalues[0] > 0


@pytest.mark.parametrize("dim", [2, 1000])
def test_refining_moves_a_nearby_point_onto_the_saddle(dim):
    pot = load_potential("mueller-brown", {"dim": dim})
    saddle = np.asarray(pot.saddles["AC"])
    start = saddle + 0.02 * np.random.default_rng(1).normal(size=dim) / np.sqrt(dim)
    point, cert, steps = refine_saddle(pot, start)
    assert cert.first_order and steps <= 10
    assert np.linalg.norm(point - saddle) < 1e-7
    assert pot.energy(point[None])[0] == pytest.approx(MuellerBrown.reference_energies["AC"], abs=1e-8)


def test_refining_far_from_any_saddle_is_a_one_line_error():
    pot = load_potential("mueller-brown")
    with pytest.raises(LandscapeError, match="not near a saddle") as exc:
        refine_saddle(pot, np.array([3.0, 3.0]), max_steps=5)
    assert "\n" not in str(exc.value)


def test_lowest_modes_switch_to_lanczos_above_the_dense_limit():
    small, large = load_potential("mueller-brown", {"dim": 50}), load_potential("mueller-brown", {"dim": DENSE_MAX + 1})
    assert lowest_modes(small, small.saddles["AC"])[2] == "dense"
    assert lowest_modes(large, large.saddles["AC"])[2] == "lanczos"


def test_connect_reports_the_certificate_and_certify_refines_the_climber():
    out = json.loads(
        run(
            ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "string", "--certify", "--json"]
        ).stdout
    )
    h = out["hessian"]
    assert h["saddle_index_of_hessian"] == 1 and h["warnings"] == [] and h["tangent_curvature"] < 0
    assert h["mode_along_path"] > 0.99
    refined = h["refined"]
    assert refined["saddle_index_of_hessian"] == 1 and refined["saddle_gradient_norm"] < 1e-5
    assert refined["saddle_energy"] == pytest.approx(MuellerBrown.reference_energies["AC"], abs=1e-8)
    assert "hessian" not in json.loads(
        run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--no-climb", "--json"]).stdout
    )
    assert "needs a climbing image" in error_line(
        invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", "--no-climb", "--certify"])
    )


def test_hessian_command_works_on_any_potential(tmp_path):
    store = tmp_path / "leps"
    run(["connect", "leps", "--start", "A", "--end", "B", "--method", "neb", "--out", store])
    out = json.loads(run(["hessian", store, "--json"]).stdout)
    assert out["paths"]["A-B"]["saddle_index_of_hessian"] == 1 and out["paths"]["A-B"]["warnings"] == []
    assert all(m["saddle_index_of_hessian"] == 0 for m in out["minima"].values())
    # the same report as a network's: the largest eigenvalue, from the second differences of energies
    leps, top = load_potential("leps"), out["paths"]["A-B"]
    with Store.open(store) as opened:
        x = np.asarray(opened.read_result("A-B").path.pivots)[top["pivot"]]
    largest = np.linalg.eigvalsh(energy_second_differences(leps, x))[-1]
    assert top["largest_eigenvalue"] == pytest.approx(largest, rel=1e-5) and out["minima"]["A"]["near_zero"] == 0


class _ExactMuellerBrown(MuellerBrown):
    """Mueller-Brown with exact Hessian products from the hand-written Hessian: the
    analysis must use them (no gradient evaluated for a product) and nothing else."""

    def __init__(self, shape_bug: bool = False):
        super().__init__()
        self.shape_bug = shape_bug

    def hessian_products(self, x):
        h = mueller_brown_hessian(*x)
        return (lambda d: (d @ h)[:, :1]) if self.shape_bug else (lambda d: d @ h)


def test_a_potential_with_exact_products_is_analysed_with_them():
    from landscape.potentials.potential import CountingPotential

    pot = CountingPotential(_ExactMuellerBrown())  # a wrapper passes the hook through
    x = pot.saddles["AC"]
    np.testing.assert_array_equal(dense_hessian(pot, x), mueller_brown_hessian(*x))
    assert pot.gradient_points == 0  # finite differences would have taken 4 gradients
    cert = certify(pot, x)
    np.testing.assert_allclose(cert.eigenvalues, np.linalg.eigvalsh(mueller_brown_hessian(*x)), rtol=1e-12)
    assert cert.first_order and pot.gradient_points == 1  # the gradient norm only
    with pytest.raises(LandscapeError, match=r"hessian_products gave shape \(2, 1\) for directions of shape \(2, 2\)"):
        dense_hessian(_ExactMuellerBrown(shape_bug=True), x)
