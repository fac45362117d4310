"""Section 5.2: the 2-2-1 swap path misclassifies; with a helper neuron nothing does."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape.paths import geometry  # noqa: E402
from landscape_plugins.xor.experiment import run_xor_experiment, train_xor, xor_potential  # noqa: E402
from landscape_plugins.xor.network import (  # noqa: E402
    choreography,
    embed_helper,
    margins,
    network_function,
    sign_invariant,
    split_params,
    swap_hidden,
)


@pytest.fixture(scope="module", params=[0, 2, 3])
def experiment(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"xor{request.param}")
    return run_xor_experiment(request.param, out_dir=str(out)), out


def test_xor_result_holds(experiment):
    result, out = experiment
    assert result["holds"]
    swap = result["two_hidden_swap"]
    assert swap["min_correct"] < 4 and swap["loss_barrier"] > 0.3
    assert swap["crossing"] is not None and swap["crossing"]["correct"] < 4
    # the analytic bound: no network with v1 w11 = 0 has data loss below log(2)/2
    assert swap["max_loss_lower_bound"] == pytest.approx(0.5 * math.log(2))
    assert swap["crossing"]["data_loss"] >= swap["max_loss_lower_bound"] - 1e-9
    assert swap["max_loss"] >= swap["max_loss_lower_bound"] - 1e-9
    chor, helper = result["three_hidden_choreography"], result["three_hidden_autoneb"]
    assert chor["min_correct"] == 4 and chor["loss_barrier"] < 1e-12
    assert helper["min_correct"] == 4 and helper["loss_barrier"] < 0.02
    seed = result["seed"]
    assert (out / f"xor-seed{seed}.png").stat().st_size > 5000
    assert json.loads((out / f"xor-seed{seed}.json").read_text())["holds"]


def test_xor_no_network_on_the_crossing_set_beats_the_bound():
    """20,000 random 2-2-1 networks with w11 = 0 (so v1 w11 = 0) all have data loss >= log(2)/2."""
    from landscape_plugins.xor.network import XOR_TARGETS, join_params, xor_loss

    gen = torch.Generator().manual_seed(0)
    flat = torch.randn(20000, 9, generator=gen, dtype=torch.float64) * 3
    w, c, v, b = (p.clone() for p in split_params(flat, 2))
    w[:, 0, 0] = 0.0  # unit 1 ignores input 1
    flat = join_params(w, c, v, b)
    z = network_function(flat, 2)
    loss = (torch.nn.functional.softplus(z) - XOR_TARGETS.double() * z).mean(-1)
    assert float(loss.min()) >= 0.5 * math.log(2) - 1e-12
    assert float(xor_loss(network_function(flat[:1], 2)[0], XOR_TARGETS.double())) == pytest.approx(float(loss[0]))


def test_xor_embedded_minima_are_index_1_saddles_of_the_2_3_1_network():
    """Dense Hessians: the 2-2-1 minimum is a minimum; embedded with a silent helper
    unit it is a stationary point with exactly one negative eigenvalue (helper in/out
    weights couple through the residuals), so the 2-3-1 'endpoints' are saddles."""
    from landscape_plugins.xor.experiment import DEFAULT_L2
    from landscape_plugins.xor.network import XOR_TARGETS, xor_loss

    def loss(z, hidden):
        return xor_loss(network_function(z, hidden), XOR_TARGETS.double()) + 0.5 * DEFAULT_L2 * (z * z).sum()

    a = train_xor(0).double()
    x = embed_helper(a).double()
    h2 = torch.linalg.eigvalsh(torch.autograd.functional.hessian(lambda z: loss(z, 2), a))
    h3 = torch.linalg.eigvalsh(torch.autograd.functional.hessian(lambda z: loss(z, 3), x))
    grad = torch.autograd.functional.jacobian(lambda z: loss(z, 3), x)
    assert float(h2.min()) > 1e-3 and float(grad.norm()) < 1e-6
    assert int((h3 < 0).sum()) == 1 and float(h3[0]) < -1e-3


def test_xor_every_correct_2_2_1_network_has_opposite_unit_signs():
    """The invariant behind 'every path misclassifies': sampled correct networks obey it."""
    g = torch.Generator().manual_seed(0)
    flat = 4 * torch.randn(200_000, 9, generator=g, dtype=torch.float64)
    ok = (margins(flat, 2) > 0).all(-1)
    assert ok.sum() > 100
    s = torch.sign(sign_invariant(flat[ok], 2))
    assert torch.all(s[:, 0] == -s[:, 1]) and torch.all(s != 0)


def test_xor_swap_embedding_and_choreography_keep_the_function():
    a = train_xor(0)
    f = network_function(a, 2)
    torch.testing.assert_close(network_function(swap_hidden(a, 2), 2), f)
    torch.testing.assert_close(network_function(embed_helper(a), 3), f)
    pts = choreography(a)
    dense = geometry.dense_points(pts, 7)
    torch.testing.assert_close(network_function(dense, 3), f.expand(dense.shape[0], 4))
    torch.testing.assert_close(pts[0], embed_helper(a))
    torch.testing.assert_close(pts[-1], embed_helper(swap_hidden(a, 2)))
    p3 = xor_potential(3)
    e, g = p3.energy_and_gradient(torch.stack([pts[0], pts[-1]]))
    assert float(g.abs().max()) < 1e-6  # embedded minima stay critical points


def test_xor_descriptor_builds_both_minima():
    from landscape_plugins.xor.descriptor import XOR

    p = XOR.build(hidden=3, seed=0)
    assert set(p.minima) == {"a", "b"} and p.dim == 13
    torch.testing.assert_close(p.minimum("b"), embed_helper(swap_hidden(train_xor(0), 2)))
