"""The network potential's energies on given batches, one group or several at once,
equal its own `energy_and_gradient` and `energy` there, and count the same samples."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError
from landscape_plugins.torchnet.models import CifarResNet
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.train import init_parameters

BATCH = 8


def _potential(**options):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 10, (32,), generator=g)
    return NetworkPotential(CifarResNet(8, 2).double(), (x, y), batch_size=BATCH, l2=1e-3, **options)


def _points(pot, seeds):
    return torch.stack([flatten_parameters(init_parameters(pot.module, s), pot.spec) for s in seeds])


def test_energies_on_a_given_batch_equal_the_potential_on_its_own():
    pot = _potential(batched="loop")
    x = _points(pot, [0, 1, 2])
    e, g = pot.energy_and_gradient(x)  # draws the stream's next batch
    before, drawn = pot.cost(), pot.sampler.drawn
    e2, g2 = pot.energies_on(x.numpy(), *pot.batch)
    f, none = pot.energies_on(x, *pot.batch, gradient=False)
    torch.testing.assert_close(e2, e, rtol=0, atol=1e-12)
    torch.testing.assert_close(g2, g, rtol=0, atol=1e-12)
    torch.testing.assert_close(f, pot.energy(x), rtol=0, atol=1e-12)
    assert none is None and pot.sampler.drawn == drawn  # the stream untouched
    spent = {k: v - before[k] for k, v in pot.cost().items()}
    assert spent == {"gradient": 3 * BATCH, "forward": 2 * 3 * BATCH}  # energies_on x2 (one forward) + energy


def test_grouped_call_equals_each_group_on_its_batch():
    pot = _potential(batched="vmap", chunk=4)  # 3 groups of 2 points: two groups a call
    x = _points(pot, range(6)).reshape(3, 2, -1)
    batches = [pot.train_data.get(torch.arange(k, 32, 4)[:BATCH]) for k in range(3)]
    inputs, targets = torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])
    before = pot.cost()
    e, g = pot.grouped_energies_and_gradients(x, inputs, targets)
    assert pot.cost()["gradient"] - before["gradient"] == 3 * 2 * BATCH
    assert tuple(e.shape) == (3, 2) and tuple(g.shape) == (3, 2, pot.dim)
    for k, (xb, yb) in enumerate(batches):
        ek, gk = pot.energies_on(x[k], xb, yb)
        torch.testing.assert_close(e[k], ek, rtol=0, atol=1e-10)
        torch.testing.assert_close(g[k], gk, rtol=0, atol=1e-10)
    assert not torch.allclose(e[0], e[1])  # each group its own batch and points
    with pytest.raises(LandscapeError, match="groups of points need as many batches"):
        pot.grouped_energies_and_gradients(x, inputs[:2], targets[:2])
    with pytest.raises(LandscapeError, match="grouped points must be"):
        pot.grouped_energies_and_gradients(x[0], inputs, targets)
