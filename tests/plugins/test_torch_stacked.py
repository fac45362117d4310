"""Stacked training: n networks trained at once equal each trained alone with its seed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError
from landscape_plugins.torchnet.models import CifarResNet
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.stacked import train_stacked
from landscape_plugins.torchnet.train import TrainConfig, train_minima, train_minimum

# 48 images of 8x8 pixels, batches of 16: 3 SGD steps per epoch, 6 in all.
CONFIG = TrainConfig(epochs=2, lr=0.1, momentum=0.9, weight_decay=5e-4, batch_size=16, milestones=(0.5,))


def _potential():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(48, 3, 8, 8, generator=g), torch.randint(0, 10, (48,), generator=g)
    return NetworkPotential(
        CifarResNet(8, 4), (x, y), test_data=(x[:16], y[:16]), calibration_size=32, calibration_batch=16, batched="loop"
    )


def _assert_same(alone, stacked):
    assert alone.seed == stacked.seed
    torch.testing.assert_close(stacked.params, alone.params, rtol=0, atol=1e-5)
    assert alone.buffers.keys() == stacked.buffers.keys()
    for key, value in alone.buffers.items():  # BatchNorm running statistics, as in separate training
        torch.testing.assert_close(stacked.buffers[key], value, rtol=0, atol=1e-5)
    assert alone.curves.keys() == stacked.curves.keys()
    for key, value in alone.curves.items():
        np.testing.assert_allclose(stacked.curves[key], value, rtol=0, atol=1e-5, err_msg=key)


def test_stacked_resnet_training_equals_training_each_alone():
    pot = _potential()
    alone = [train_minimum(pot, s, CONFIG) for s in (3, 4, 5)]
    stacked = train_stacked(pot, [3, 4, 5], CONFIG)
    for a, s in zip(alone, stacked):
        _assert_same(a, s)
    assert not torch.equal(stacked[0].params, stacked[1].params)  # own initialisation and data order
    assert stacked[0].buffers["bn.num_batches_tracked"] == 6


def test_stacked_training_with_own_augmentation_streams_equals_alone():
    from landscape_plugins.cifar.data import ImageData
    from landscape_plugins.cifar.potential import AugmentedSource

    g = torch.Generator().manual_seed(1)
    data = ImageData.create(
        torch.randint(0, 256, (48, 8, 8, 3), generator=g, dtype=torch.uint8), torch.randint(0, 10, (48,), generator=g)
    )
    pot = NetworkPotential(CifarResNet(8, 4), data, calibration_size=32, calibration_batch=16, batched="loop")
    alone = [train_minimum(pot, s, CONFIG, train_source=AugmentedSource(data, 100 + s)) for s in (0, 1)]
    stacked = train_stacked(pot, [0, 1], CONFIG, train_sources=[AugmentedSource(data, 100 + s) for s in (0, 1)])
    for a, s in zip(alone, stacked):
        _assert_same(a, s)


def test_stacked_training_counts_samples_per_network_as_if_alone():
    pot = _potential()
    before = pot.cost()
    out = train_minima(pot, 2, CONFIG, seeds=[0, 1], stacked=True)
    # per network and epoch: 3 batches of 16 through forward and backward; the curve's
    # BatchNorm calibration (32), training set (48) and test set (16) forward only
    for m in out:
        assert m.samples == {"gradient": 2 * 3 * 16, "forward": 2 * (32 + 48 + 16)}
        np.testing.assert_array_equal(m.curves["samples_gradient"], [48, 96])
    spent = {k: pot.cost()[k] - before[k] for k in before}
    assert spent == {"gradient": 2 * 96, "forward": 2 * 192}
    assert torch.equal(pot.minimum("1"), out[1].params)


def test_stacked_training_refuses_bad_sources():
    pot = _potential()
    with pytest.raises(LandscapeError, match="training sources"):
        train_stacked(pot, [0, 1], CONFIG, train_sources=[pot.train_data])
    with pytest.raises(LandscapeError, match="at least one seed"):
        train_stacked(pot, [], CONFIG)
