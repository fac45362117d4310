"""Sample counters: a network potential counts the data samples every evaluation pushes
through it, and runs, cycles, stores, training and evaluation report them.  Every
expected figure is counted by hand from the settings."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")
from torch import nn  # noqa: E402

from landscape import connect  # noqa: E402
from landscape.optimizers.schedules import Cycle, Schedule  # noqa: E402
from landscape.optimizers.steppers import SGD  # noqa: E402
from landscape.paths.budget import Budget
from landscape.store import Store  # noqa: E402
from landscape_plugins.torchnet.evaluate import evaluate_path, evaluate_splits  # noqa: E402
from landscape_plugins.torchnet.hessian import hvp_function  # noqa: E402
from landscape_plugins.torchnet.params import flatten_parameters  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig, train_minimum  # noqa: E402

N_TRAIN, N_TEST, BATCH = 64, 32, 16


def _data(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    return x, (x[:, 0] * x[:, 1] > 0).long()


def _potential(
    batch_size: int | None = BATCH, batchnorm: bool = False, batched: str = "vmap", **kw
) -> NetworkPotential:
    torch.manual_seed(0)
    layers = [nn.Linear(2, 6)] + ([nn.BatchNorm1d(6)] if batchnorm else []) + [nn.Tanh(), nn.Linear(6, 2)]
    net = nn.Sequential(*layers).double()
    return NetworkPotential(
        net, _data(N_TRAIN, 0), test_data=_data(N_TEST, 1), batch_size=batch_size, batched=batched, **kw
    )


def _ends(pot: NetworkPotential) -> tuple[torch.Tensor, torch.Tensor]:
    x0 = flatten_parameters(pot.module)
    g = torch.Generator().manual_seed(3)
    return x0, x0 + 0.5 * torch.randn(x0.numel(), generator=g, dtype=x0.dtype)


def test_the_counters_count_points_times_images_and_analytic_potentials_count_none():
    from landscape.potentials.registry import load_potential

    pot = _potential()
    x = torch.stack(_ends(pot))
    assert pot.cost() == {"gradient": 0, "forward": 0}
    pot.energy_and_gradient(x)  # 2 points on a batch of 16
    pot.energy(x[:1])  # 1 point on the same batch
    assert pot.cost() == {"gradient": 2 * BATCH, "forward": BATCH}
    assert load_potential("mueller-brown").cost() is None


def test_neb_samples_equal_a_hand_count():
    """5 pivots (3 moving), 3 NEB steps on mini-batches of 16 of 64 samples."""
    pot = _potential()
    a, b = _ends(pot)
    result = connect(pot, a, b, method="neb", pivots=5, budget=Budget(max_steps=3))
    assert result.path.n_pivots == 5 and result.nit == 3
    # A mini-batch loss changes per batch, so every gradient call of the 3 moving
    # pivots is followed by the two fixed ends' energies on its batch (forward only:
    # they never move).  Calls: the start, then one per step.  The climber is not
    # checked on a mini-batch loss (its profile mixes batches).  The final profile: 9
    # points in each of the 4 segments, energies only, on the current batch.
    calls = 1 + 3
    gradient = calls * 3 * BATCH
    forward = calls * 2 * BATCH + 4 * 9 * BATCH
    assert result.samples == {"gradient": gradient, "forward": forward}


def test_autoneb_cycles_record_the_samples_spent_so_far():
    """2 cycles of 2 SGD steps, 3 pivots, 3 points per segment, nothing inserted."""
    pot = _potential()
    a, b = _ends(pot)
    sgd = SGD(lr=0.01, momentum=0.0)
    schedule = Schedule("tiny", (Cycle(2, sgd), Cycle(2, sgd)), threshold=1e9, per_segment=3)
    result = connect(pot, a, b, method="autoneb", schedule=schedule, climb=False, pivots=3)
    assert result.path.n_pivots == 3 and len(result.cycles) == 2
    # one evaluation of the band: the moving pivot's gradient, and the two fixed ends'
    # energies on its batch (a mini-batch loss: evaluated again, forward only)
    band = {"gradient": 1 * BATCH, "forward": 2 * BATCH}
    dense = 2 * 3 * BATCH  # the energies between pivots after a cycle: 2 segments x 3
    # cycle 0: its start and 2 steps, its dense energies, and the start of cycle 1's band
    first = {"gradient": 4 * band["gradient"], "forward": 4 * band["forward"] + dense}
    # cycle 1: 2 more steps and its dense energies (the final profile reuses them)
    second = {
        "gradient": first["gradient"] + 2 * band["gradient"],
        "forward": first["forward"] + 2 * band["forward"] + dense,
    }
    assert [c.samples for c in result.cycles] == [first, second]
    assert result.samples == second


@pytest.mark.parametrize("batched", ["vmap", "loop"])
def test_evaluate_path_counts_calibration_and_whole_set_passes(batched):
    pot = _potential(batchnorm=True, calibration_size=48, calibration_batch=16, batched=batched)
    a, b = _ends(pot)
    pivots = torch.stack([a, (a + b) / 2, b])
    before = pot.cost()
    ev = evaluate_path(pot, pivots, per_segment=2)
    points = 3 + 2 * 2  # pivots and 2 points in each of 2 segments
    assert ev.t.size == points
    # every point: its BatchNorm statistics from 48 calibration samples, then the whole
    # train and test sets (forward only; the calibration runs once for both sets)
    forward = points * 48 + points * (N_TRAIN + N_TEST)
    assert pot.cost() == {"gradient": before["gradient"], "forward": before["forward"] + forward}
    # the minima of Table 1 (plugins/cifar/report.py) and the curves' protocol
    # (compare.evaluate_curve) evaluate both sets through evaluate_splits: once too
    before = pot.cost()
    splits = evaluate_splits(pot, torch.stack([a, b]))
    assert set(splits) == {"train", "test"}
    assert pot.cost()["forward"] - before["forward"] == 2 * 48 + 2 * (N_TRAIN + N_TEST)


def test_training_counts_its_batches_and_curves_per_minimum():
    pot = _potential(batchnorm=True, calibration_size=32, calibration_batch=16)
    trained = train_minimum(pot, 0, TrainConfig(epochs=3, lr=0.01, batch_size=24))
    # 64 samples in batches of 24: 2 full batches per epoch (the tail is dropped);
    # after each epoch the curves recalibrate (32 samples) and evaluate both sets
    gradient = [48 * (e + 1) for e in range(3)]
    forward = [(32 + N_TRAIN + N_TEST) * (e + 1) for e in range(3)]
    np.testing.assert_array_equal(trained.curves["samples_gradient"], gradient)
    np.testing.assert_array_equal(trained.curves["samples_forward"], forward)
    assert trained.samples == {"gradient": 144, "forward": 3 * 128}
    assert trained.metadata()["samples"] == trained.samples and "samples_gradient" not in trained.final
    assert pot.cost() == trained.samples


def test_hessian_vector_products_count_as_sample_gradients():
    pot = _potential()
    x = _ends(pot)[0]
    hvp = hvp_function(pot, x, samples=40)  # the graph of the gradient on 40 samples, once
    hvp(torch.ones(2, pot.dim, dtype=torch.float64))  # two products
    assert pot.cost() == {"gradient": 40 + 2 * 40, "forward": 0}


def test_samples_go_to_the_store_and_a_store_without_them_reads_none(tmp_path):
    pot = _potential()
    a, b = _ends(pot)
    sgd = SGD(lr=0.01, momentum=0.0)
    result = connect(
        pot,
        a,
        b,
        method="autoneb",
        climb=False,
        pivots=3,
        schedule=Schedule("tiny", (Cycle(1, sgd), Cycle(1, sgd)), threshold=1e9, per_segment=2),
    )
    from dataclasses import replace

    with Store.create(tmp_path / "s", {"name": "net"}) as store:
        store.write_result("new", result)
        # what a store written before the counters holds: no sample attributes at all
        old = replace(result, samples=None, cycles=tuple(replace(c, samples=None) for c in result.cycles))
        store.write_result("old", old)
    with Store.open(tmp_path / "s") as store:
        got, before = store.read_result("new"), store.read_result("old")
        info = store.path_info("new")
        assert store.check() == []
    assert got.samples == result.samples and [c.samples for c in got.cycles] == [c.samples for c in result.cycles]
    assert (info["samples_gradient"], info["samples_forward"]) == (
        result.samples["gradient"],
        result.samples["forward"],
    )
    assert before.samples is None and all(c.samples is None for c in before.cycles)
    assert "samples_gradient" not in store_attrs(tmp_path / "s", "old")


def store_attrs(folder, name: str) -> dict:
    with Store.open(folder) as store:
        return store.path_info(name)


def test_a_training_store_from_before_the_counters_reads_zero_samples(tmp_path):
    from landscape_plugins.torchnet.trainrun import CURVES_GROUP, train_stored

    pot, config = _potential(), TrainConfig(epochs=2, lr=0.01, batch_size=None)
    out = tmp_path / "t"
    first = train_stored(out, pot, 1, config)
    assert first.samples == {"0": {"gradient": 2 * N_TRAIN, "forward": 2 * (N_TRAIN + N_TEST)}}
    with Store.write(out) as store:  # what an older store holds: curves without the sample counts
        arrays, attrs = store.read_array_group(CURVES_GROUP)
        store.write_array_group(CURVES_GROUP, {k: v for k, v in arrays.items() if ".samples_" not in k}, attrs)
    again = train_stored(out, pot, 1, config)
    assert again.trained == () and again.samples == {"0": {"gradient": 0, "forward": 0}}
    assert "samples_gradient" not in again.final["0"]


def test_table1_reports_samples_per_path_and_leaves_uncounted_paths_out():
    from landscape_plugins.cifar.report import PathMetrics, Table1

    def path(name, samples):
        maxima = {k: 1.0 for k in ("train_loss", "train_error", "test_loss", "test_error")}
        barriers = {"max_minus_mean_ends": 0.5, "max_gap_to_line": 0.5, "saddle_minus_higher_end": 0.5, "saddle_t": 0.5}
        return PathMetrics(name, 0, 1, maxima, barriers, True, 5, 2, end_train_losses=(0.5, 0.5), samples=samples)

    minima = {k: np.array([0.5, 0.5]) for k in ("train_loss", "train_error", "test_loss", "test_error")}
    counted = [
        path("0-1", {"gradient": 300, "forward": 30}),
        path("1-0", {"gradient": 100, "forward": 10}),
        path("old", None),
    ]
    table = Table1("s", "net", "data", ("0", "1"), minima, tuple(counted), True)
    row = table.row()
    assert (row["samples_gradient_per_path"], row["samples_forward_per_path"]) == (200, 20)
    assert "samples per path (mean): 200 sample-gradients, 20 sample-evaluations" in table.to_text()
    assert table.to_json()["paths"][2]["samples"] is None
    none = Table1("s", "net", "data", ("0", "1"), minima, (path("old", None),), True)
    assert none.row()["samples_gradient_per_path"] is None and "samples per path" not in none.to_text()
    assert none.to_csv().splitlines()[1].endswith(",,")
