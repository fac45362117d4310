"""Training minima: seeded, learning curves per epoch, learning-rate schedules."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError  # noqa: E402
from landscape_plugins.torchnet.mlp import make_dataset  # noqa: E402
from landscape_plugins.torchnet.models import make_mlp  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig, learning_rate, train_minima, train_minimum  # noqa: E402


@pytest.fixture(scope="module")
def potential():
    train, test = make_dataset("blobs", 128, 64, noise=0.2, seed=3)
    return NetworkPotential(make_mlp(2, (8,), 2, "tanh"), train, test_data=test)


def test_torch_training_is_seeded_and_records_learning_curves(potential):
    cfg = TrainConfig(epochs=6, lr=0.1, batch_size=32, milestones=(0.5,))
    a, b = train_minimum(potential, 7, cfg), train_minimum(potential, 7, cfg)
    c = train_minimum(potential, 8, cfg)
    assert torch.equal(a.params, b.params) and not torch.equal(a.params, c.params)
    for key in ("epoch", "lr", "train_loss", "train_error", "test_loss", "test_error", "running_loss"):
        assert a.curves[key].shape == (6,), key
    np.testing.assert_allclose(a.curves["lr"], [0.1] * 3 + [0.01] * 3)
    assert a.curves["train_loss"][-1] < a.curves["train_loss"][0]
    assert set(a.metadata()) == {"seed", "config", "final", "samples"}


def test_torch_train_minima_registers_named_minima(potential):
    out = train_minima(potential, 2, TrainConfig(epochs=2, batch_size=None), seeds=[4, 5])
    assert [m.seed for m in out] == [4, 5]
    assert torch.equal(potential.minimum("1"), out[1].params)


def test_torch_learning_rate_schedules_and_bad_recipes():
    step = TrainConfig(epochs=100, lr=0.1, milestones=(0.5, 0.75))
    assert [learning_rate(step, e) for e in (0, 49, 50, 75, 99)] == pytest.approx([0.1, 0.1, 0.01, 0.001, 0.001])
    cos = TrainConfig(epochs=10, lr=1.0, schedule="cosine")
    assert learning_rate(cos, 0) == 1.0 and learning_rate(cos, 5) == pytest.approx(0.5)
    with pytest.raises(LandscapeError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(LandscapeError, match="epochs"):
        TrainConfig(epochs=0)


def test_torch_minima_and_learning_curves_go_to_the_store(potential, tmp_path):
    from landscape.store import Store
    from landscape_plugins.torchnet.train import load_learning_curves, save_minima

    trained = [train_minimum(potential, s, TrainConfig(epochs=3, batch_size=None)) for s in (0, 1)]
    with Store.create(tmp_path / "m.h5", potential.describe()) as store:
        save_minima(store, potential, trained)
        store.commit()
    with Store.open(tmp_path / "m.h5") as store:
        coords, energies, names = store.read_minima()
        curves = load_learning_curves(store)
        meta = store.minima_metadata()
    assert names == ["0", "1"] and coords.shape == (2, potential.dim)
    np.testing.assert_array_equal(coords[1], trained[1].params.numpy())
    np.testing.assert_allclose(curves["1"]["test_error"], trained[1].curves["test_error"])
    assert meta["minima"]["0"]["seed"] == 0 and meta["bn_mode"] == "none"


def test_learning_curves_and_evaluated_minima_share_one_batchnorm_treatment():
    """A network with BatchNorm: the last point of its learning curve is the minimum's
    loss as every other figure evaluates it (running statistics recomputed from the
    calibration set), not the training batches' moving averages."""
    from landscape_plugins.torchnet.evaluate import evaluate_points

    train, test = make_dataset("blobs", 128, 64, noise=0.2, seed=3)
    pot = NetworkPotential(make_mlp(2, (8,), 2, "tanh", batchnorm=True), train, test_data=test)
    trained = train_minimum(pot, 0, TrainConfig(epochs=6, lr=0.1, batch_size=16, optimizer="sgd"))
    point = trained.params.reshape(1, -1)
    got = evaluate_points(pot, point, "train")
    assert trained.curves["train_loss"][-1] == pytest.approx(float(got.loss[0]), rel=1e-5)
    assert trained.curves["test_loss"][-1] == pytest.approx(
        float(evaluate_points(pot, point, "test").loss[0]), rel=1e-5
    )
