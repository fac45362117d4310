"""A network band on mini-batches evaluates its fixed ends forward-only on each step's
batch: the same trajectory as with their gradients (float64, to round-off), and the
sample-gradients fall by exactly the ends' share, which become sample-evaluations."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402

from landscape import connect  # noqa: E402
from landscape.optimizers.schedules import Cycle, Schedule  # noqa: E402
from landscape.optimizers.steppers import SGD  # noqa: E402
from landscape.potentials.potential import PotentialWrapper  # noqa: E402
from landscape_plugins.torchnet.params import flatten_parameters  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402

BATCH, PIVOTS, STEPS = 16, 6, 3


class WithEndGradients(PotentialWrapper):
    """The network as the band saw it before: ends evaluated with gradients, in the call."""

    same_batch_energy = False


def _potential(batched: str) -> NetworkPotential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2)).double()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g, dtype=torch.float64)
    return NetworkPotential(net, (x, (x[:, 0] * x[:, 1] > 0).long()), batch_size=BATCH, batched=batched)


@pytest.mark.parametrize("batched", ["vmap", "loop"])
def test_the_band_moves_the_same_and_spends_two_gradients_fewer_per_step(batched):
    runs = {}
    for label, wrap in (("ends with gradients", WithEndGradients), ("forward-only ends", lambda p: p)):
        pot = _potential(batched)
        a = flatten_parameters(pot.module)
        b = a + 0.5 * torch.randn(a.numel(), generator=torch.Generator().manual_seed(3), dtype=a.dtype)
        sgd = SGD(lr=0.05, momentum=0.9)
        schedule = Schedule("tiny", (Cycle(STEPS, sgd), Cycle(STEPS, sgd)), threshold=1e9, per_segment=2)
        runs[label] = connect(wrap(pot), a, b, method="autoneb", schedule=schedule, climb=False, pivots=PIVOTS)
    old, new = runs["ends with gradients"], runs["forward-only ends"]
    assert new.path.n_pivots == old.path.n_pivots == PIVOTS
    np.testing.assert_allclose(np.asarray(new.path.pivots), np.asarray(old.path.pivots), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(new.path.energies), np.asarray(old.path.energies), rtol=0, atol=1e-12)
    # evaluations of the band: per cycle its start and STEPS steps
    ends = 2 * (STEPS + 1) * 2 * BATCH
    assert old.samples["gradient"] - new.samples["gradient"] == ends
    assert new.samples["forward"] - old.samples["forward"] == ends
    assert new.samples["gradient"] == 2 * (STEPS + 1) * (PIVOTS - 2) * BATCH
