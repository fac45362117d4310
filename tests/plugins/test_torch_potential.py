"""NetworkPotential: batched strategies agree, exact gradients, batches, L2, the core contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402

from landscape import LandscapeError  # noqa: E402
from landscape.potentials.potential import gradient_error  # noqa: E402
from landscape.testing import check_potential  # noqa: E402
from landscape_plugins.torchnet.params import flatten_parameters  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402


def _data(n: int = 48, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return x, (x[:, 0] * x[:, 1] > 0).long() + (x[:, 2] > 1).long()


def _net(batchnorm: bool = False) -> nn.Module:
    torch.manual_seed(1)
    layers = [nn.Linear(3, 12)] + ([nn.BatchNorm1d(12)] if batchnorm else []) + [nn.Tanh(), nn.Linear(12, 3)]
    return nn.Sequential(*layers).double()


def _points(net: nn.Module, n: int, scale: float = 0.2, seed: int = 0) -> torch.Tensor:
    x0 = flatten_parameters(net)
    g = torch.Generator().manual_seed(seed)
    return x0 + scale * torch.randn(n, x0.numel(), generator=g, dtype=x0.dtype)


@pytest.mark.parametrize("batchnorm", [False, True], ids=["plain", "batchnorm"])
def test_torch_vmap_and_loop_agree(batchnorm):
    net = _net(batchnorm)
    pts = _points(net, 6)
    out = {}
    for how in ("vmap", "loop"):
        p = NetworkPotential(net, _data(), batch_size=16, seed=3, batched=how, chunk=4)
        out[how] = p.energy_and_gradient(pts), p.energy(pts)
    (ev, gv), e2v = out["vmap"]
    (el, gl), e2l = out["loop"]
    torch.testing.assert_close(ev, el, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gv, gl, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(e2v, e2l, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batchnorm", [False, True], ids=["plain", "batchnorm"])
def test_torch_gradients_match_finite_differences(batchnorm):
    p = NetworkPotential(_net(batchnorm), _data(), l2=1e-2)
    pts = _points(p.module, 2).numpy()
    assert gradient_error(p, pts, eps=1e-6) < 1e-7


def test_torch_full_batch_potential_passes_the_core_conformance_suite():
    p = NetworkPotential(_net(), _data())
    check_potential(p, _points(p.module, 4).numpy(), minima_gradient=None)
    json.dumps(p.describe())


def test_torch_all_points_of_a_call_see_one_batch_and_energy_reuses_it():
    net = _net()
    p = NetworkPotential(net, _data(), batch_size=8, seed=5)
    pts = _points(net, 5)
    e, _ = p.energy_and_gradient(pts)
    torch.testing.assert_close(p.energy(pts), e)  # energy(): the current batch
    with p.frozen_batch():
        rows = torch.cat([p.energy_and_gradient(pts[i : i + 1])[0] for i in range(5)])
    torch.testing.assert_close(rows, e)
    e_next, _ = p.energy_and_gradient(pts)
    assert not torch.allclose(e_next, e)  # a new batch per gradient call


def test_torch_sampler_is_seeded_and_reproducible():
    net = _net()
    pts = _points(net, 3)
    runs = []
    for _ in range(2):
        p = NetworkPotential(net, _data(), batch_size=10, seed=11, batched="vmap")  # auto may pick either
        runs.append(torch.stack([p.energy_and_gradient(pts)[0] for _ in range(7)]))  # crosses an epoch
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    other = NetworkPotential(net, _data(), batch_size=10, seed=12)
    assert not torch.allclose(other.energy_and_gradient(pts)[0], runs[0][0])


def test_torch_l2_is_explicit_and_reported_apart():
    net = _net()
    pts = _points(net, 3)
    plain = NetworkPotential(net, _data())
    reg = NetworkPotential(net, _data(), l2=0.1)
    e0, g0 = plain.energy_and_gradient(pts)
    e1, g1 = reg.energy_and_gradient(pts)
    penalty = 0.05 * (pts * pts).sum(1)
    torch.testing.assert_close(e1, e0 + penalty)
    torch.testing.assert_close(g1, g0 + 0.1 * pts)
    torch.testing.assert_close(reg.last_terms["data"], e0)
    torch.testing.assert_close(reg.last_terms["l2"], penalty)
    assert reg.describe()["l2"] == 0.1


def test_torch_points_live_on_the_module_device_as_tensors():
    p = NetworkPotential(_net(), _data())
    x = p.asarray(np.zeros(p.dim))
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float64 and x.device == p.device
    e, g = p.energy_and_gradient(p.asarray(np.zeros((2, p.dim))))
    assert isinstance(e, torch.Tensor) and isinstance(g, torch.Tensor) and g.shape == (2, p.dim)


def test_torch_auto_records_its_choice_and_bad_options_fail():
    p = NetworkPotential(_net(), _data())
    p.energy_and_gradient(_points(p.module, 4))
    assert p.choices == {"grad<=7": "vmap"}
    assert "choices" not in p.describe()  # identity only: it must not change while running
    with pytest.raises(LandscapeError, match="batched"):
        NetworkPotential(_net(), _data(), batched="fast")
    with pytest.raises(LandscapeError, match=r"\(n, "):
        p.energy(torch.zeros(3))


def test_torch_batchnorm_mode_is_described():
    plain = NetworkPotential(_net(), _data())
    bn = NetworkPotential(_net(True), _data(), calibration_size=32, calibration_seed=4)
    assert plain.bn_mode == "none"
    assert "batch statistics" in bn.bn_mode and "32 calibration samples" in bn.bn_mode
    assert bn.describe()["calibration"]["seed"] == 4
    assert not any("running" in n for n in bn.spec.names)


def test_torch_potential_pickles_and_continues_its_batch_stream():
    import pickle

    net = _net()
    pts = _points(net, 2)
    p = NetworkPotential(net, _data(), batch_size=8, seed=2, batched="vmap")
    p.energy_and_gradient(pts)
    q = pickle.loads(pickle.dumps(p))
    torch.testing.assert_close(q.energy_and_gradient(pts)[0], p.energy_and_gradient(pts)[0], rtol=0, atol=0)


def test_torch_auto_on_the_cpu_chooses_by_rule_not_by_timing(monkeypatch):
    """vmap and the loop round float32 sums differently, and timings follow the machine's
    load: on the CPU `auto` takes vmap for a module without convolutions and the loop for
    one with them, whatever the clock says, so every run of a command takes the same."""
    import landscape_plugins.torchnet.potential as potential_module

    def no_clock(fn, device):
        raise AssertionError("timed on the CPU")

    monkeypatch.setattr(potential_module, "_timed", no_clock)
    dense = NetworkPotential(_net(), _data())
    dense.energy_and_gradient(_points(dense.module, 4))
    assert dense.choices == {"grad<=7": "vmap"}
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Unflatten(1, (1, 1, 3)), nn.Conv2d(1, 2, (1, 2)), nn.Flatten(), nn.Linear(4, 3)).double()
    p = NetworkPotential(conv, _data())
    p.energy_and_gradient(_points(conv, 3))
    assert p.choices == {"grad<=3": "loop"}
    f32 = NetworkPotential(_net().float(), (_data()[0].float(), _data()[1]))
    twin = NetworkPotential(_net().float(), (_data()[0].float(), _data()[1]))
    x = _points(f32.module, 5)
    assert torch.equal(f32.energy(x), twin.energy(x))  # two potentials, one choice: the same bits
