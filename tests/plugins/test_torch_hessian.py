"""Hessian analysis against a dense float64 Hessian (a network under 2,000 parameters)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape.analysis.hessian import dense_hessian  # noqa: E402
from landscape.paths.path import Path  # noqa: E402
from landscape_plugins.torchnet.hessian import (  # noqa: E402
    analyse_path,
    analyse_point,
    climbing_image_analysis,
    count_near_zero,
    curvature_along,
    extreme_eigenvalues,
    hvp_function,
    network_products,
    path_end_tangents,
)
from landscape_plugins.torchnet.mlp import make_dataset  # noqa: E402
from landscape_plugins.torchnet.models import make_mlp  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig, train_minimum  # noqa: E402


@pytest.fixture(scope="module")
def setup():
    train, _ = make_dataset("spirals", 96, 0, seed=4)
    net = make_mlp(2, (12, 12), 2, "tanh").double()
    p = NetworkPotential(net, train)
    x = train_minimum(p, 0, TrainConfig(epochs=150, lr=0.03, optimizer="adam", batch_size=None)).params
    f = lambda flat: p._objective(flat, *p.train_data.all())  # noqa: E731
    h = torch.autograd.functional.hessian(f, x, vectorize=True)
    return p, x, h, torch.linalg.eigvalsh(h).numpy()


def test_torch_hessian_network_is_small_enough(setup):
    assert setup[0].dim < 2000


def test_torch_hessian_from_hvps_equals_autograd_hessian(setup):
    p, x, h, _ = setup
    # the core's one dense Hessian, on the network's exact products (its hook)
    np.testing.assert_allclose(dense_hessian(p, x, chunk=64), h.numpy(), rtol=1e-9, atol=1e-11)
    v = torch.randn(3, p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(hvp_function(p, x)(v), v @ h, rtol=1e-9, atol=1e-11)


def test_torch_hessian_lanczos_extremes_match_dense_eigenvalues(setup):
    p, x, _, ev = setup
    ext = extreme_eigenvalues(p, x, k=3, tol=1e-10)
    scale = np.abs(ev).max()
    np.testing.assert_allclose(ext["largest"], ev[-3:], atol=1e-7 * scale)
    np.testing.assert_allclose(ext["smallest"], ev[:3], atol=1e-7 * scale)


def test_torch_hessian_lanczos_of_the_density_module_finds_the_extremes(setup):
    """The core's one Lanczos (`landscape.analysis.density`, full reorthogonalisation) on
    a network's products: Ritz weights sum to 1 and the top Ritz value is the top eigenvalue."""
    from landscape.analysis.density import lanczos, quadrature

    p, x, _, ev = setup
    ritz, weights = quadrature(*lanczos(network_products(p, x), np.ones((1, p.dim)), 80))
    assert weights.sum() == pytest.approx(1.0)
    assert ritz.max() == pytest.approx(ev[-1], rel=1e-8)


def test_network_products_carry_the_gradient_of_their_own_loss(setup):
    """The core's gradient norms at a network use the gradient of the loss the products
    differentiate (here the data loss on a seeded 40-sample subset, in chunks of 16),
    not the potential's energy."""
    from landscape.analysis.hessian import gradient_norm, hessian_products

    p, x, _, _ = setup
    hv = hessian_products(p, x, samples=40, chunk=16, include_l2=False)
    idx = torch.randperm(len(p.train_data), generator=torch.Generator().manual_seed(0))[:40]
    g = torch.func.grad(lambda z: p._objective(z, *p.train_data.get(idx)))(x)
    assert gradient_norm(p, x, hv) == pytest.approx(float(g.norm()), rel=1e-9)


def test_torch_hessian_near_zero_count_dense_and_estimated(setup):
    p, x, _, ev = setup
    dense = count_near_zero(p, x, rtol=1e-3)
    expected = int(np.sum(np.abs(ev) <= 1e-3 * np.abs(ev).max()))
    assert dense["method"] == "dense" and dense["count"] == expected
    est = count_near_zero(p, x, rtol=1e-3, dense_limit=0, probes=4, steps=40)
    assert est["method"] == "slq" and abs(est["count"] - expected) <= 0.1 * p.dim


def test_torch_hessian_curvature_along_directions_and_path_ends(setup):
    p, x, h, ev = setup
    u = torch.randn(p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert curvature_along(p, x, 3 * u) == pytest.approx(float(u @ h @ u / (u @ u)), rel=1e-9)
    t0, t1 = path_end_tangents(Path.straight(x, x + u, 4).pivots)
    torch.testing.assert_close(t0, u / u.norm())
    rep = analyse_point(p, x, tangent=t0)
    assert rep.largest == pytest.approx(ev[-1]) and rep.smallest == pytest.approx(ev[0], abs=1e-9 * ev[-1])
    assert rep.tangent_curvature == pytest.approx(float(u @ h @ u / (u @ u)), rel=1e-9)


def test_torch_hessian_climbing_image_has_negative_curvature():
    from landscape.runs.pair import connect
    from landscape_plugins.xor.experiment import train_xor, xor_potential, xor_schedule
    from landscape_plugins.xor.network import swap_hidden

    a = train_xor(0)
    p = xor_potential(2)
    r = connect(p, a, swap_hidden(a, 2), schedule=xor_schedule(100, 3), climb=True)
    info = climbing_image_analysis(p, r, include_l2=True)
    assert info["smallest_eigenvalue"] < 0 and info["tangent_curvature"] < 0
    # independent truth: the dense Hessian of BCE + L2 at the climbing image (9 parameters)
    from landscape_plugins.xor.experiment import DEFAULT_L2
    from landscape_plugins.xor.network import XOR_TARGETS, network_function, xor_loss

    climber = torch.as_tensor(r.path.pivots[info["index"]], dtype=torch.float64)
    dense = torch.linalg.eigvalsh(
        torch.autograd.functional.hessian(
            lambda z: xor_loss(network_function(z, 2), XOR_TARGETS.double()) + 0.5 * DEFAULT_L2 * (z * z).sum(), climber
        )
    )
    negatives = int((dense < 0).sum())
    assert info["negative_eigenvalues"] == min(negatives, 3)
    np.testing.assert_allclose(info["smallest_eigenvalues"], dense[:3].numpy(), rtol=1e-5, atol=1e-8)
    # This climber sits where the network predicts 1/2 everywhere: two negative modes,
    # so it is reported as a saddle of index >= 2, not a first-order one.
    assert negatives == 2 and any("index >= 2" in w for w in info["warnings"])
    report = analyse_path(p, r, include_l2=True)
    assert report["climbing_image"] == info
    for end in ("start", "end"):  # minima of BCE + L2: no negative curvature, positive along the path
        assert report[end]["smallest"] > -1e-6 and report[end]["tangent_curvature"] > 0


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")  # inside torch's forward AD
def test_torch_hessian_forward_and_reverse_products_agree(setup):
    p, x, h, _ = setup
    v = torch.randn(p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(
        hvp_function(p, x, mode="fwd")(v), hvp_function(p, x, mode="rev")(v), rtol=1e-9, atol=1e-12
    )


def test_chunked_products_equal_the_dense_hessian_of_the_whole_batch(setup):
    """No BatchNorm: the size-weighted mean of chunk products is exactly H v of the full
    batch (96 samples in chunks of 40, 40, 16), without differentiating 96 at once."""
    p, x, h, _ = setup
    v = torch.randn(3, p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    chunked = hvp_function(p, x, chunk=40)
    torch.testing.assert_close(chunked(v), v @ h, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(chunked(v[0]), h @ v[0], rtol=1e-8, atol=1e-10)
    ext = extreme_eigenvalues(p, x, chunk=40)
    ev = torch.linalg.eigvalsh(h).numpy()
    assert ext["largest"][-1] == pytest.approx(ev[-1], rel=1e-6)


def test_a_block_of_directions_through_chunks_equals_the_unchunked_block(setup):
    """No BatchNorm: 7 directions at once through chunks of 40, 40, 16 (vmapped per
    chunk) give the unchunked vmapped products to 1e-10, and each row is the chunked
    product of that direction alone."""
    p, x, _, _ = setup
    v = torch.randn(7, p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    chunked = hvp_function(p, x, chunk=40)(v)
    torch.testing.assert_close(chunked, hvp_function(p, x)(v), rtol=1e-10, atol=1e-10 * float(chunked.abs().max()))
    rows = torch.stack([hvp_function(p, x, chunk=40)(row) for row in v])
    torch.testing.assert_close(chunked, rows, rtol=1e-12, atol=1e-14)


def test_chunked_block_products_keep_each_chunks_batchnorm_statistics():
    """BatchNorm in train mode: the chunked block is the size-weighted mean of the
    products on each chunk as its own batch (its own statistics), not the whole batch's."""
    train, _ = make_dataset("blobs", 50, 0, seed=3)
    p = NetworkPotential(make_mlp(2, (6, 5), 3, "tanh", batchnorm=True).double(), train)
    x = 0.5 * torch.randn(p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    v = torch.randn(4, p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    inputs, targets = p.train_data.all()
    each = sum(
        hvp_function(p, x, batch=(inputs[i : i + 20], targets[i : i + 20]))(v) * (min(20, 50 - i) / 50)
        for i in (0, 20, 40)
    )
    torch.testing.assert_close(hvp_function(p, x, chunk=20)(v), each, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(hvp_function(p, x)(v), each, rtol=1e-3)  # the whole batch's statistics differ


def test_saddle_warnings_name_every_way_to_miss_a_first_order_saddle():
    from landscape.analysis.verdicts import saddle_warnings

    assert saddle_warnings(True, [-0.5, 0.1, 0.2], -0.4, 1e-6, 10.0) == []
    assert "not a climbing image" in saddle_warnings(False, [-0.5, 0.1, 0.2], -0.4, 1e-6, 10.0)[0]
    assert "no negative eigenvalue" in saddle_warnings(True, [0.01, 0.1, 0.2], 0.01, 1e-6, 10.0)[0]
    assert "at least 3 negative" in saddle_warnings(True, [-0.5, -0.2, -0.1], -0.4, 1e-6, 10.0)[0]
    assert "2 negative" in saddle_warnings(True, [-0.5, -0.2, 0.1], -0.4, 1e-6, 10.0)[0]
    assert "does not lie along the path" in saddle_warnings(True, [-0.5, 0.1, 0.2], 0.3, 1e-6, 10.0)[0]
    assert "not converged" in saddle_warnings(True, [-0.5, 0.1, 0.2], -0.4, 0.5, 10.0)[0]


def test_a_highest_pivot_without_climbing_is_flagged(setup):
    from landscape.runs.pair import connect
    from landscape_plugins.xor.experiment import train_xor, xor_potential, xor_schedule
    from landscape_plugins.xor.network import swap_hidden

    a = train_xor(0)
    p = xor_potential(2)
    r = connect(p, a, swap_hidden(a, 2), schedule=xor_schedule(100, 3), climb=False)
    info = climbing_image_analysis(p, r, include_l2=True)
    assert any("not a climbing image" in w for w in info["warnings"])


@pytest.mark.parametrize(
    "batchnorm, expected",
    [
        (False, 5 + 1),  # softmax: each of the last layer's 5 input columns, and its bias
        (True, 2 * (6 + 5) + 5 + 1),  # and per BatchNorm channel the weights' scale and the bias's shift
    ],
)
def test_trivial_invariances_are_found_and_flat(batchnorm, expected):
    from landscape_plugins.torchnet.hessian import analyse_point
    from landscape_plugins.torchnet.invariances import invariance_directions

    train, test = make_dataset("blobs", 128, 64, noise=0.2, seed=3)
    pot = NetworkPotential(make_mlp(2, (6, 5), 3, "tanh", batchnorm=batchnorm), train, test_data=test)
    point = train_minimum(pot, 0, TrainConfig(epochs=40, lr=0.1, batch_size=0, optimizer="sgd")).params
    directions, labels = invariance_directions(pot, point)
    assert len(directions) == len(labels) == expected
    np.testing.assert_allclose(directions @ directions.T, np.eye(expected), atol=1e-10)
    h = dense_hessian(pot, point)
    scale = float(np.abs(np.linalg.eigvalsh(h)).max())
    assert np.abs(np.einsum("ki,ij,kj->k", directions, h, directions)).max() <= 1e-4 * scale
    report = analyse_point(pot, point, rtol=1e-3)
    assert report.invariances == expected and report.invariance_curvature <= report.threshold
    assert report.near_zero_beyond_invariances == max(0, report.near_zero - expected)


@pytest.mark.parametrize("dense_max", [400, 10])  # the whole spectrum, and Lanczos above the dense limit
def test_the_core_analysis_is_exact_on_a_network_through_its_hook(dense_max, monkeypatch):
    """`certify` and `lowest_modes` of the core, on a network, equal the eigenvalues of
    the dense autograd Hessian of its energy (data loss + L2) to 1e-8 of the largest, and
    cost what autograd products cost (one batch for the gradient's graph, one per
    direction, one for the gradient norm), not the 2 dim gradients of finite differences;
    a wrapper passes the hook through."""
    from landscape.analysis import hessian as core
    from landscape.potentials.potential import CountingPotential

    monkeypatch.setattr(core, "DENSE_MAX", dense_max)
    train, _ = make_dataset("spirals", 64, 0, seed=2)
    p = NetworkPotential(make_mlp(2, (6,), 2, "tanh").double(), train, l2=0.1)
    x = 0.7 * torch.randn(p.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    inputs, targets = p.train_data.all()
    h = torch.autograd.functional.hessian(lambda z: p._objective(z, inputs, targets) + 0.05 * (z * z).sum(), x)
    ev = torch.linalg.eigvalsh(h).numpy()
    scale = np.abs(ev).max()
    counted = CountingPotential(p)
    cert = core.certify(counted, x, k=3)
    assert cert.method == ("dense" if dense_max == 400 else "lanczos")
    np.testing.assert_allclose(cert.eigenvalues, ev[:3], rtol=0, atol=1e-8 * scale)
    negatives = int(np.sum(ev < -core.ZERO_RTOL * scale))  # 7 here: Lanczos sees those among its 3
    assert cert.index == (negatives if dense_max == 400 else min(negatives, 3))
    assert counted.gradient_points == 1  # the gradient norm only: no finite differences
    if dense_max == 400:
        assert p.cost()["gradient"] == 64 * (1 + p.dim + 1)
        np.testing.assert_allclose(core.lowest_modes(p, x, 3)[3], ev, rtol=0, atol=1e-8 * scale)
