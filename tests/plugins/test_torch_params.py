"""Flat parameter vectors: exact round trips, buffers excluded, batched views."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402

from landscape import LandscapeError  # noqa: E402
from landscape_plugins.torchnet.params import (  # noqa: E402
    flatten_parameters,
    load_parameters,
    param_spec,
    unflatten_parameters,
)


def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_torch_flatten_round_trip_is_exact_and_keeps_layout():
    net = _bn_net()
    spec = param_spec(net)
    flat = flatten_parameters(net)
    assert flat.shape == (sum(p.numel() for p in net.parameters()),) == (spec.dim,)
    back = unflatten_parameters(flat, spec)
    for name, p in net.named_parameters():
        assert back[name].shape == p.shape and back[name].dtype == p.dtype and back[name].device == p.device
        assert torch.equal(back[name], p.detach())


def test_torch_flatten_excludes_batchnorm_buffers_and_counters():
    net = _bn_net()
    spec = param_spec(net)
    assert not any("running" in n or "num_batches_tracked" in n for n in spec.names)
    assert spec.names == tuple(n for n, _ in net.named_parameters())
    net.train()
    net(torch.randn(8, 3, 6, 6))  # moves running stats and the counter
    before = {k: v.clone() for k, v in net.named_buffers()}
    load_parameters(net, torch.zeros(spec.dim), spec)
    assert all(torch.equal(v, before[k]) for k, v in net.named_buffers())
    assert torch.count_nonzero(flatten_parameters(net)) == 0


def test_torch_mixed_dtypes_promote_and_round_trip_exactly():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2).double())
    spec = param_spec(net)
    assert spec.dtype == torch.float64
    flat = flatten_parameters(net)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2).double())
    load_parameters(fresh, flat)
    for (_, a), (_, b) in zip(net.named_parameters(), fresh.named_parameters()):
        assert a.dtype == b.dtype and torch.equal(a, b)


def test_torch_unflatten_keeps_leading_batch_dimensions():
    net = nn.Linear(3, 2)
    spec = param_spec(net)
    batch = torch.randn(5, 7, spec.dim)
    views = spec.unflatten(batch)
    assert views["weight"].shape == (5, 7, 2, 3) and views["bias"].shape == (5, 7, 2)
    assert torch.equal(views["bias"][2, 3], batch[2, 3, 6:])


def test_torch_flat_layout_errors_are_one_line():
    net = nn.Linear(3, 2)
    with pytest.raises(LandscapeError, match="entries"):
        param_spec(net).unflatten(torch.zeros(3))
    with pytest.raises(LandscapeError, match="no parameters"):
        param_spec(nn.ReLU())
    with pytest.raises(LandscapeError, match="shape"):
        load_parameters(net, torch.zeros(2, 8))
