"""Filter-normalised directions (Li et al. 2018): filter norms, the bias/BatchNorm rule, seeds."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402

from landscape import LandscapeError  # noqa: E402
from landscape_plugins.torchnet.directions import filter_directions  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(2, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5),
        nn.Tanh(),
        nn.Linear(5, 3),
    )
    data = (torch.randn(8, 2, 5, 5), torch.randint(0, 3, (8,)))
    pot = NetworkPotential(module, data, batched="loop")
    w = torch.cat([p.detach().reshape(-1) for p in module.parameters()]).double().numpy()
    w[:18] = 0.0  # the first filter of the convolution (2 x 3 x 3 weights) is zero
    return pot, module, w


def _tensors(module, flat):
    out, at = {}, 0
    for name, p in module.named_parameters():
        out[name] = flat[at : at + p.numel()].reshape(p.shape)
        at += p.numel()
    return out


def test_each_filter_has_the_norm_of_the_minimum_filter_and_biases_and_bn_are_zero(net):
    pot, module, w = net
    d = filter_directions(pot, w, count=2, seed=4)
    assert d.shape == (2, pot.dim) and d.dtype == np.float64
    weights = _tensors(module, w)
    for k in range(2):
        for name, t in _tensors(module, d[k]).items():
            if t.ndim >= 2:  # conv (4, 2, 3, 3) and linear (out, in) weights: a filter per output
                got = np.linalg.norm(t.reshape(t.shape[0], -1), axis=1)
                want = np.linalg.norm(weights[name].reshape(t.shape[0], -1), axis=1)
                np.testing.assert_allclose(got, want, rtol=1e-12)
            else:  # biases, and BatchNorm's weight and bias ("1.weight", "1.bias")
                assert np.all(t == 0), name
    assert np.all(_tensors(module, d[0])["0.weight"][0] == 0)  # a zero filter stays zero
    assert not np.allclose(d[0], d[1])  # two independent draws


def test_same_seed_same_directions_other_seed_others(net):
    pot, _, w = net
    np.testing.assert_array_equal(filter_directions(pot, w, 2, seed=7), filter_directions(pot, w, 2, seed=7))
    assert not np.allclose(filter_directions(pot, w, 1, seed=7), filter_directions(pot, w, 1, seed=8))
    np.testing.assert_array_equal(filter_directions(pot, w, 1, seed=7)[0], filter_directions(pot, w, 2, seed=7)[0])


def test_the_other_bias_rules(net):
    pot, module, w = net
    weights = _tensors(module, w)
    same = _tensors(module, filter_directions(pot, w, 1, seed=1, bias="weights")[0])
    own = _tensors(module, filter_directions(pot, w, 1, seed=1, bias="filter")[0])
    for name, t in weights.items():
        if t.ndim == 1:
            np.testing.assert_array_equal(same[name], t)  # the minimum's own tensor
            np.testing.assert_array_equal(np.abs(own[name]), np.abs(t))  # each entry a filter of one
    with pytest.raises(LandscapeError, match="bias rule"):
        filter_directions(pot, w, 1, bias="zero")


def test_a_potential_without_layers_is_refused():
    from landscape import load_potential

    with pytest.raises(LandscapeError, match="not a network"):
        filter_directions(load_potential("mueller-brown"), np.zeros(2), 1)
