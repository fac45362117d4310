"""Hessian spectra (top and bottom eigenpairs, Hutchinson's trace, the SLQ density, per
block) against dense Hessians of independent truth: a small float64 MLP's by
`torch.autograd.functional.hessian`, and an analytic potential's in closed form (its
products by central differences of gradients)."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import LandscapeError, Potential
from landscape.analysis.density import lanczos, quadrature, rademacher, slq_density
from landscape.analysis.hessian import hessian_products
from landscape.analysis.spectrum import (
    block_products,
    eigenpairs,
    hutchinson,
    parameter_blocks,
    spectra_along,
    spectrum,
)


class Quartic(Potential):
    """E = x^T A x / 2 + sum c x^4 / 4 in 40 dimensions, with three named blocks;
    Hessian A + 3 diag(c x^2), eigenvalues of A in [-2, -0.5] and [0.5, 10]."""

    name = "quartic"

    def __init__(self, dim: int = 40, seed: int = 1):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        values = np.concatenate([np.linspace(-2, -0.5, 4), np.linspace(0.5, 10, dim - 4)])
        self.dim, self.a, self.c = dim, (q * values) @ q.T, rng.uniform(0.5, 1.5, dim)

    def energy_and_gradient(self, x):
        x = np.asarray(x, dtype=np.float64)
        ax = x @ self.a
        return 0.5 * np.sum(x * ax, axis=1) + 0.25 * (x**4) @ self.c, ax + self.c * x**3

    def hessian(self, x):
        return self.a + np.diag(3 * self.c * x**2)

    def parameter_blocks(self):
        return {"first": slice(0, 10), "middle": slice(10, 25), "last": slice(25, 40)}


@pytest.fixture(scope="module")
def quartic():
    pot = Quartic()
    x = np.random.default_rng(2).uniform(-0.5, 0.5, pot.dim)
    return pot, x, pot.hessian(x)


@pytest.fixture(scope="module")
def mlp():
    """A 4-class MLP (60 parameters, float64) after 10 epochs, and its autograd Hessian."""
    torch = pytest.importorskip("torch")
    from landscape_plugins.torchnet.mlp import make_dataset
    from landscape_plugins.torchnet.models import make_mlp
    from landscape_plugins.torchnet.potential import NetworkPotential
    from landscape_plugins.torchnet.train import TrainConfig, train_minimum

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    train, _ = make_dataset("spirals", 64, 0, classes=4, seed=4)
    pot = NetworkPotential(make_mlp(2, (8,), 4, "tanh").double(), train)
    x = train_minimum(pot, 0, TrainConfig(epochs=10, lr=0.03, optimizer="adam", batch_size=None)).params
    h = torch.autograd.functional.hessian(lambda flat: pot._objective(flat, *pot.train_data.all()), x)
    yield pot, x.numpy(), h.numpy()
    torch.set_num_threads(before)


CASES = ["quartic", "mlp"]


def _case(request, name):
    return request.getfixturevalue(name)


@pytest.mark.parametrize("name", CASES)
def test_top_and_bottom_eigenpairs_equal_the_dense_hessians(request, name):
    pot, x, h = _case(request, name)
    exact = np.linalg.eigvalsh(h)
    hv = hessian_products(pot, x)
    for which, want in (("top", exact[-4:]), ("bottom", exact[:4])):
        found = eigenpairs(pot, x, 4, which=which, products=hv, seed=3)
        assert found.method == "lanczos" and found.values.shape == (4,)
        np.testing.assert_allclose(found.values, want, rtol=1e-6)
        residual = h @ found.vectors - found.vectors * found.values
        assert np.max(np.linalg.norm(residual, axis=0)) <= 1e-6 * np.abs(exact).max()
    everything = eigenpairs(pot, x, pot.dim, which="bottom", products=hv)  # k = dim: every coordinate's product
    assert everything.products == pot.dim and "every coordinate" in everything.method
    np.testing.assert_allclose(everything.values, exact, rtol=1e-6, atol=1e-9 * np.abs(exact).max())


@pytest.mark.parametrize("name", CASES)
def test_hutchinson_is_within_three_standard_errors_which_shrink_as_one_over_root_samples(request, name):
    pot, x, h = _case(request, name)
    hv = hessian_products(pot, x)
    # a Rademacher probe's variance, in closed form: 2 (|H|_F^2 - sum H_ii^2)
    sd = np.sqrt(2 * (np.sum(h * h) - np.sum(np.diag(h) ** 2)))
    few, _ = hutchinson(pot, x, 100, products=hv, seed=5)
    many, _ = hutchinson(pot, x, 400, products=hv, seed=6)
    for est in (few, many):
        assert abs(est.trace - np.trace(h)) <= 3 * est.standard_error
        assert est.standard_error == pytest.approx(sd / np.sqrt(est.samples), rel=0.25)
    assert 1.6 <= few.standard_error / many.standard_error <= 2.5  # 2 = sqrt(400 / 100)


@pytest.mark.parametrize("name", CASES)
def test_each_blocks_eigenvalues_and_trace_are_its_dense_diagonal_blocks(request, name):
    pot, x, h = _case(request, name)
    blocks = parameter_blocks(pot)
    assert sorted((s.start, s.stop) for s in blocks.values())[0][0] == 0
    assert sum(s.stop - s.start for s in blocks.values()) == pot.dim  # they tile the coordinates
    whole, traces = hutchinson(pot, x, 200, per_block=True, seed=7)
    assert sum(t.trace for t in traces.values()) == pytest.approx(whole.trace, rel=1e-9)
    found = spectrum(pot, x, top=2, bottom=2, trace_samples=200, per_block=True, seed=7)
    for name, s in blocks.items():
        hb = h[s, s]
        exact = np.linalg.eigvalsh(hb)
        b = found.blocks[name]
        assert b.dim == hb.shape[0] and traces[name] == b.trace
        assert abs(b.trace.trace - np.trace(hb)) <= 3 * b.trace.standard_error + 1e-9 * np.abs(exact).max()
        scale = np.abs(exact).max()
        np.testing.assert_allclose(b.top.values, exact[-2:], rtol=1e-6, atol=1e-12 * scale)
        np.testing.assert_allclose(b.bottom.values, exact[:2], rtol=1e-6, atol=1e-12 * scale)
    assert found.products > sum(b.products for b in found.blocks.values()) > 0


def test_a_blocks_products_are_its_diagonal_block_times_the_direction(quartic):
    pot, x, h = quartic
    s = slice(10, 25)
    d = np.random.default_rng(0).standard_normal((3, 15))
    np.testing.assert_allclose(block_products(hessian_products(pot, x), pot.dim, s)(d), d @ h[s, s], rtol=1e-7)


@pytest.mark.parametrize("name", CASES)
def test_lanczos_quadrature_is_exact_for_low_degree_moments_of_its_starts(request, name):
    """Gauss quadrature from m steps integrates polynomials of degree < 2m exactly:
    sum tau theta^p = v^T H^p v / |v|^2 for each start v, against the dense Hessian."""
    pot, x, h = _case(request, name)
    starts = rademacher(np.random.default_rng(9), 5, pot.dim)
    alphas, betas, lengths = lanczos(hessian_products(pot, x), starts, 3)
    assert list(lengths) == [3] * 5
    hp = np.eye(pot.dim)
    for p in range(1, 6):
        hp = hp @ h
        for i, v in enumerate(starts):
            nodes, weights = quadrature(alphas[i], betas[i], 3)
            assert np.sum(weights * nodes**p) == pytest.approx(v @ hp @ v / (v @ v), rel=1e-7)


def test_lanczos_stops_exactly_on_an_invariant_subspace():
    h = np.diag([1.0, 2.0, 3.0, 3.0, 3.0, 7.0])  # a start sees only 4 distinct eigenvalues
    alphas, betas, lengths = lanczos(lambda d: d @ h, np.ones((1, 6)), 6)
    nodes, weights = quadrature(alphas, betas, lengths)
    assert lengths[0] == 4 and nodes.shape == (1, 6)
    seen = weights[0] > 1e-12  # the two padded nodes weigh nothing and lie inside the spectrum
    np.testing.assert_allclose(nodes[0, seen], [1, 2, 3, 7], atol=1e-12)
    np.testing.assert_allclose(weights[0, seen], [1 / 6, 1 / 6, 1 / 2, 1 / 6], atol=1e-12)
    assert 1 - 1e-12 <= nodes.min() and nodes.max() <= 7 + 1e-12


@pytest.mark.parametrize(("name", "starts"), [("quartic", 2048), ("mlp", 20000)])
def test_the_slq_densitys_first_two_moments_are_within_two_percent(request, name, starts):
    pot, x, h = _case(request, name)
    n = pot.dim
    # a start's moments scatter with a relative standard deviation of 0.15-0.20 (quartic)
    # and 0.61-0.66 (MLP) here: these starts put 2% beyond three standard errors; two
    # steps integrate both moments exactly (the density's shape needs more, its moments not)
    d = slq_density(hessian_products(pot, x), n, steps=2, starts=starts, batch=4096, seed=11)
    assert d.products == 2 * starts
    for p, truth in ((1, np.trace(h) / n), (2, np.trace(h @ h) / n)):
        assert 3 * d.moment_error(p) < 0.02 * truth  # the check can tell 2% from noise
        assert d.moment(p) == pytest.approx(truth, rel=0.02)
    # the broadened density: unit mass, the nodes' mean, their second moment plus sigma^2
    g, phi, dx = d.grid, d.density, d.grid[1] - d.grid[0]
    assert np.sum(phi) * dx == pytest.approx(1, rel=1e-3)
    assert np.sum(g * phi) * dx == pytest.approx(d.moment(1), abs=1e-3 * np.abs(g).max())
    assert np.sum(g * g * phi) * dx == pytest.approx(d.moment(2) + d.sigma**2, rel=1e-3)


def test_the_density_resolves_the_spectrum_with_enough_steps(quartic):
    pot, x, h = quartic
    d = slq_density(hessian_products(pot, x), pot.dim, steps=40, starts=4, seed=0)
    exact = np.linalg.eigvalsh(h)
    # 40 steps in 40 dimensions: every start's nodes are the whole spectrum
    np.testing.assert_allclose(np.sort(d.nodes[0]), exact, atol=1e-6 * np.abs(exact).max())
    assert d.grid[0] < exact[0] and d.grid[-1] > exact[-1] and d.to_json()["starts"] == 4


def test_spectra_along_a_path_are_the_spectra_at_its_points(quartic):
    pot, x, h = quartic
    along = spectra_along(pot, np.stack([x, -x]), [0.0, 0.5, 1.0], top=1, bottom=1, trace_samples=0)
    at_end = np.linalg.eigvalsh(pot.hessian(-x))
    assert along.spectra[2].top.values[0] == pytest.approx(at_end[-1], rel=1e-6)
    assert along.spectra[1].bottom.values[0] == pytest.approx(np.linalg.eigvalsh(pot.a)[0], rel=1e-6)
    assert along.to_json()["t"] == [0.0, 0.5, 1.0] and along.spectra[0].trace is None


def test_bad_requests_are_one_line_errors(quartic):
    pot, x, _ = quartic

    class Plain(Quartic):
        def __init__(self, blocks):
            super().__init__()
            self.blocks = blocks

        def parameter_blocks(self):
            return self.blocks

    class Noisy(Quartic):
        stochastic = True

    cases = [
        (lambda: spectrum(Noisy(), x), "mini-batch loss without exact Hessian products"),
        (lambda: spectrum(Plain(None), x, per_block=True), "names no parameter blocks"),
        (lambda: hutchinson(Plain([slice(0, 3)]), x, 4, per_block=True), "must map names to slices"),
        (lambda: hutchinson(Plain({"a": slice(30, 50)}), x, 4, per_block=True), "not a slice of 0..40"),
        (lambda: hutchinson(Plain({"a": slice(0, 40, 2)}), x, 4, per_block=True), "not a slice of 0..40"),
        (lambda: eigenpairs(pot, x, 2, block="nope"), "no block 'nope'"),
        (lambda: eigenpairs(pot, x, 0), "k must be >= 1"),
        (lambda: eigenpairs(pot, x, 2, which="middle"), "top or bottom"),
        (lambda: hutchinson(pot, x, 0), "samples must be >= 1"),
        (lambda: slq_density(lambda d: d, 4, steps=0), "steps must be >= 1"),
        (lambda: spectrum(pot, x, top=-1), "top must be >= 0"),
        (lambda: spectra_along(pot, np.stack([x, -x]), [0.5, 2.0]), r"in \[0, 1\]"),
    ]
    for call, message in cases:
        with pytest.raises(LandscapeError, match=message) as exc:
            call()
        assert "\n" not in str(exc.value)


def test_a_mini_batch_network_is_analysed_on_its_whole_training_set(mlp):
    from landscape_plugins.torchnet.potential import NetworkPotential

    pot, x, h = mlp
    noisy = NetworkPotential(pot.module, pot.train_data.all(), batch_size=16)
    assert noisy.stochastic
    found = eigenpairs(noisy, x, 2, which="top")
    np.testing.assert_allclose(found.values, np.linalg.eigvalsh(h)[-2:], rtol=1e-9)
