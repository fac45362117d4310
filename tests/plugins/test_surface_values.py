"""A network's loss surface is the toolkit's whole-set evaluation (BatchNorm recalibrated
per grid point), not the train-mode loss on the stream's current batch."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from landscape import LandscapeError, Store  # noqa: E402
from landscape.analysis.planes import evaluate_surface, random_directions, read_surface, slice_along  # noqa: E402
from landscape.potentials.identity import record  # noqa: E402
from landscape_plugins.torchnet.evaluate import evaluate_points  # noqa: E402
from landscape_plugins.torchnet.params import load_parameters  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402

TRAIN, TEST, CALIB = 40, 30, 16


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g), torch.randint(0, 3, (n,), generator=g)


def _network(batchnorm: bool, batch_size: int | None) -> NetworkPotential:
    torch.manual_seed(0)
    layers = [nn.Linear(3, 6), *([nn.BatchNorm1d(6)] if batchnorm else []), nn.Tanh(), nn.Linear(6, 3)]
    return NetworkPotential(
        nn.Sequential(*layers),
        _data(TRAIN, 1),
        test_data=_data(TEST, 2),
        batch_size=batch_size,
        calibration_size=CALIB,
        calibration_batch=8,
        batched="loop",
    )


def _slice(pot: NetworkPotential, grid: int = 3):
    origin = torch.cat([p.detach().reshape(-1) for p in pot.module.parameters()]).double().numpy()
    return slice_along(origin, random_directions(pot.dim, 2, seed=4, scale=1.5), grid=grid)


@pytest.fixture(scope="module")
def bn():
    pot = _network(batchnorm=True, batch_size=8)
    return pot, _slice(pot)


def test_bn_grid_points_are_the_whole_set_evaluation_with_recalibrated_statistics(bn):
    pot, sl = bn
    before = pot.cost()["forward"]
    surface = evaluate_surface(pot, sl, chunk=4)
    assert surface.values == "train_loss"
    assert pot.cost()["forward"] - before == sl.size * (CALIB + TRAIN)  # calibration + whole set, per point
    points = sl.points()
    for k in (0, 4, 7):  # one point at a time: the chunk is not what the value depends on
        alone = evaluate_points(pot, points[k : k + 1], "train").loss[0]
        assert surface.energies.ravel()[k] == pytest.approx(alone, rel=1e-6)
    # independent truth: torch's own update_bn on the calibration inputs, then eval mode
    module = copy.deepcopy(pot.module)
    load_parameters(module, torch.as_tensor(points[7], dtype=torch.float32), pot.spec)
    torch.optim.swa_utils.update_bn(pot.calibration_inputs(), module)
    module.eval()
    with torch.no_grad():
        truth = float(F.cross_entropy(module(pot.train_data.inputs), pot.train_data.targets))
    assert surface.energies.ravel()[7] == pytest.approx(truth, rel=1e-5)
    # what the surface showed before: train-mode BatchNorm on the stream's one batch of 8
    batch = float(pot.energy(pot.asarray(points[7:8]))[0])
    assert abs(batch - truth) > 1e-3 * truth


def test_bn_test_error_surface_is_evaluate_points_on_the_test_set(bn):
    pot, sl = bn
    surface = evaluate_surface(pot, sl, chunk=5, metric="error")
    assert surface.values == "test_error"
    np.testing.assert_allclose(surface.energies.ravel(), evaluate_points(pot, sl.points(), "test").error, rtol=1e-12)
    assert set(np.round(surface.energies.ravel() * TEST, 9)) <= set(range(TEST + 1))  # counts of 30 samples


class Stop(Exception):
    pass


def test_a_network_surface_resumes_chunk_by_chunk_and_keeps_its_kind(bn, tmp_path):
    pot, sl = bn
    with Store.create(tmp_path / "s", record(pot)):
        pass
    once = evaluate_surface(pot, sl, chunk=4)

    def stop(filled: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        evaluate_surface(pot, sl, store=str(tmp_path / "s"), name="p", chunk=4, callback=stop)
    before = pot.cost()["forward"]
    again = evaluate_surface(pot, sl, store=str(tmp_path / "s"), name="p", chunk=4)
    assert again.resumed_from == 4 and pot.cost()["forward"] - before == 5 * (CALIB + TRAIN)
    np.testing.assert_allclose(again.energies, once.energies, rtol=1e-12)
    with Store.open(tmp_path / "s") as store:
        assert read_surface(store, "p").values == "train_loss"
    with pytest.raises(LandscapeError, match="train_loss, not test_error"):
        evaluate_surface(pot, sl, store=str(tmp_path / "s"), name="p", metric="error")
    with pytest.raises(LandscapeError, match="metric must be one of"):
        evaluate_surface(pot, sl, metric="accuracy")


def test_without_batchnorm_on_the_full_batch_the_old_and_new_values_agree():
    pot = _network(batchnorm=False, batch_size=None)
    sl = _slice(pot, grid=4)
    surface = evaluate_surface(pot, sl, chunk=6)
    old = pot.energy(pot.asarray(sl.points())).double().numpy()
    np.testing.assert_allclose(surface.energies.ravel(), old, rtol=1e-6)
