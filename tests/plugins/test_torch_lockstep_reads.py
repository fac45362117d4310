"""Curves trained in lockstep read nothing back from the tensors between fault checks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from torch import nn

from landscape.optimizers.curves import Curve
from landscape.optimizers.steppers import Adam
from landscape_plugins.torchnet.lockstep import train_curves_together
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.train import init_parameters

READS = ("__bool__", "__float__", "__int__", "__index__", "item", "tolist", "numpy", "__array__")
STEPS = 40


@pytest.mark.parametrize("batched", ["loop", "vmap"])
def test_the_lockstep_loop_reads_once_per_pair_and_fault_check(monkeypatch, batched):
    """Every way a tensor reaches the host is counted: per pair one read of the starting
    curve's energies (init), one per fault check and one of the final pivots (settle);
    the controls are the same to the bit whatever the cadence."""
    g = torch.Generator().manual_seed(0)
    data = (torch.randn(64, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (64,), generator=g))
    module = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    reads = []
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    runs = {}
    for every in (1, 20):
        pot = NetworkPotential(module, data, batch_size=16, l2=1e-3, batched="loop")
        m = [flatten_parameters(init_parameters(pot.module, s), pot.spec) for s in range(3)]
        curve = Curve(bends=2, steps=STEPS, samples_per_step=2, stepper=Adam(lr=0.05), fault_check_every=every)
        reads.clear()
        runs[every] = train_curves_together(pot, [(m[0], m[1]), (m[1], m[2])], curve, [0, 1], pivots=5, batched=batched)
        checks = STEPS // every
        assert sorted(reads) == sorted(["numpy"] * 2 + ["__bool__"] * 2 * (checks + 1)), every
    for slow, fast in zip(runs[1], runs[20]):
        assert slow.how == fast.how == batched and fast.state.fault is None
        torch.testing.assert_close(fast.controls, slow.controls, rtol=0, atol=0)
        torch.testing.assert_close(fast.path.energies, slow.path.energies, rtol=0, atol=0)
