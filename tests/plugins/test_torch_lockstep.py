"""Curves of several pairs trained in lockstep equal each pair's curve trained alone."""

from __future__ import annotations

from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from torch import nn

from landscape import LandscapeError
from landscape.optimizers.curves import Curve
from landscape.optimizers.steppers import Adam
from landscape.paths.path import Path
from landscape_plugins.torchnet.lockstep import train_curves_together
from landscape_plugins.torchnet.models import CifarResNet
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.train import init_parameters

# Two t per step, Adam with weight decay and Garipov's decay, the pivots sampled at steps 2 and 4.
CURVE = Curve(
    bends=2, steps=4, samples_per_step=2, stepper=Adam(lr=0.05, weight_decay=1e-4), lr_decay="garipov", sample_every=2
)
PIVOTS, BATCH = 5, 8


def _potential(module, seed=0, dtype=torch.float64, **options):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, 8, 8, generator=g, dtype=dtype), torch.randint(0, 10, (32,), generator=g)
    return NetworkPotential(module.to(dtype), (x, y), batch_size=BATCH, seed=seed, l2=1e-3, **options)


def _minima(pot, n=3):
    return [flatten_parameters(init_parameters(pot.module, s), pot.spec) for s in range(n)]


def _alone(pot, a, b, curve):
    """A pair's run as the preset runs it: the stream restarted, init, steps, settle."""
    pot.restart_stream()
    before = pot.cost()
    state = curve.init(Path.straight(a, b, PIVOTS), pot)
    while curve.terminate(state) is None:
        state = curve.step(state, pot)
    state, _ = curve.settle(state, pot)
    return state, {k: v - before[k] for k, v in pot.cost().items()}


def _assert_equal(together, state, atol):
    torch.testing.assert_close(together.controls, state.controls, rtol=0, atol=atol)
    torch.testing.assert_close(together.path.pivots, state.path.pivots, rtol=0, atol=atol)
    torch.testing.assert_close(together.path.energies, state.path.energies, rtol=0, atol=atol)
    assert (together.state.nit, together.state.nfev, together.state.sampled_at) == (
        state.nit,
        state.nfev,
        state.sampled_at,
    )


def test_batched_pairs_equal_separate_pairs_with_batchnorm():
    pot = _potential(CifarResNet(8, 2), batched="loop")
    m = _minima(pot)
    pairs = [(m[0], m[1]), (m[0], m[2]), (m[1], m[2])]
    seeds = [0, 1, 2]  # each pair its own t
    before = pot.cost()
    together = train_curves_together(pot, pairs, CURVE, seeds, pivots=PIVOTS, batched="vmap")
    spent = {k: v - before[k] for k, v in pot.cost().items()}
    # the hand count per pair: 4 steps x 2 t x 8 images through forward and backward; the
    # pivots (5 x 8 images, forward) at the start and after steps 2 and 4 (no settle then)
    hand = {"gradient": 4 * 2 * BATCH, "forward": 3 * PIVOTS * BATCH}
    for (a, b), seed, got in zip(pairs, seeds, together):
        state, samples = _alone(pot, a, b, replace(CURVE, seed=seed))
        _assert_equal(got, state, 1e-10)
        assert got.samples == samples == hand
        assert (got.status.value, got.how) == ("schedule_done", "vmap")
    assert spent == {k: 3 * v for k, v in hand.items()}  # the joint call counts the separate ones
    assert not torch.equal(together[0].controls[1:-1], together[1].controls[1:-1])


def test_own_batch_streams_and_float32():
    pot = _potential(CifarResNet(8, 2), dtype=torch.float32, batched="loop")
    other = _potential(CifarResNet(8, 2), seed=7, dtype=torch.float32, batched="loop")
    m = _minima(pot, 2)
    curve = replace(CURVE, steps=6, sample_every=0)
    together = train_curves_together(pot, [(m[0], m[1])] * 2, curve, pivots=PIVOTS, batch_seeds=[0, 7])
    for got, alone_pot in zip(together, (pot, other)):
        state, samples = _alone(alone_pot, m[0], m[1], curve)
        _assert_equal(got, state, 1e-5)  # float32: vmap may sum a convolution in another order
        assert got.samples == samples
    assert (torch.abs(together[0].controls - together[1].controls).max()) > 1e-4  # other batches, other curve


class _HostChecked(nn.Module):
    """A network that vmap cannot run: it reads a value on the host in its forward."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(12, 6), nn.Linear(6, 10)

    def forward(self, x):
        if float(x.abs().max()) > 1e6:  # a data-dependent Python branch
            raise ValueError("inputs out of range")
        return self.fc2(torch.tanh(self.fc1(x.flatten(1)[:, :12])))


@pytest.mark.parametrize("batched", ["auto", "loop"])
def test_the_fallback_one_pair_after_another_equals_alone(batched):
    pot = _potential(_HostChecked(), batched="loop")
    m = _minima(pot)
    pairs = [(m[0], m[1]), (m[2], m[1])]
    together = train_curves_together(pot, pairs, CURVE, [3, 4], pivots=PIVOTS, batched=batched)
    for (a, b), seed, got in zip(pairs, [3, 4], together):
        state, samples = _alone(pot, a, b, replace(CURVE, seed=seed))
        _assert_equal(got, state, 0)  # the same calls on the same batches: the same bits
        assert (got.samples, got.how) == (samples, "loop")
    with pytest.raises(LandscapeError, match="joint call failed"):
        train_curves_together(pot, pairs, CURVE, pivots=PIVOTS, batched="vmap")


def test_auto_times_both_ways_without_counting_the_timing_runs():
    pot = _potential(CifarResNet(8, 2), batched="loop")
    m = _minima(pot, 2)
    pairs = [(m[0], m[1]), (m[1], m[0])]
    before = pot.cost()
    together = train_curves_together(pot, pairs, CURVE, pivots=PIVOTS)
    spent = {k: v - before[k] for k, v in pot.cost().items()}
    hand = {"gradient": 4 * 2 * BATCH, "forward": 3 * PIVOTS * BATCH}
    assert spent == {k: 2 * v for k, v in hand.items()}
    for (a, b), got in zip(pairs, together):
        assert got.how in ("vmap", "loop") and got.samples == hand
        _assert_equal(got, _alone(pot, a, b, CURVE)[0], 1e-10)


def test_full_batch_and_chunked_joint_calls_equal_alone():
    from landscape_plugins.torchnet.models import make_mlp

    g = torch.Generator().manual_seed(1)
    x = torch.randn(24, 2, generator=g, dtype=torch.float64)
    pot = NetworkPotential(make_mlp(2, (8,), 2, "tanh").double(), (x, (x[:, 0] > 0).long()), chunk=2, l2=1e-3)
    m = _minima(pot)
    pairs = [(m[0], m[1]), (m[1], m[2]), (m[2], m[0])]
    together = train_curves_together(pot, pairs, CURVE, [5, 6, 7], pivots=PIVOTS, batched="vmap")
    for (a, b), seed, got in zip(pairs, [5, 6, 7], together):
        state, samples = _alone(pot, a, b, replace(CURVE, seed=seed))
        _assert_equal(got, state, 1e-10)
        # deterministic: the interior pivots after every step, the ends' energies known
        assert got.samples == samples == {"gradient": 4 * 2 * 24, "forward": (PIVOTS + 4 * (PIVOTS - 2)) * 24}


def test_bad_input():
    pot = _potential(_HostChecked(), batched="loop")
    m = _minima(pot, 2)
    with pytest.raises(LandscapeError, match="as many seeds"):
        train_curves_together(pot, [(m[0], m[1])], CURVE, [1, 2])
    with pytest.raises(LandscapeError, match="expected"):
        train_curves_together(pot, [(m[0], m[1][:-1])], CURVE)
    with pytest.raises(LandscapeError, match="batched must be"):
        train_curves_together(pot, [(m[0], m[1])], CURVE, batched="fast")
    with pytest.raises(LandscapeError, match="at least one pair"):
        train_curves_together(pot, [], CURVE)
