"""The `bezier` curve preset (`landscape_plugins.cifar.curve_presets`): under a tenth of
the paper schedule's sample-gradients per path, computed from the schedules, and run
end to end through `run_experiment` (train, explore, Table 1) on a tiny synthetic set."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError, Store  # noqa: E402
from landscape.optimizers.curves import Curve  # noqa: E402
from landscape_plugins.cifar.curve_presets import CURVE_PRESETS, CurvePreset, curve_preset  # noqa: E402
from landscape_plugins.cifar.experiment import Experiment, run_experiment, schedule_for  # noqa: E402
from landscape_plugins.cifar.recipes import autoneb_preset, paper_batch_size, scaled_schedule  # noqa: E402

#: Moving pivots of the paper schedule's band in each of its 14 cycles on the reduced
#: run's path 0-2 (examples/cifar_reduced.py, --fraction 0.05: the pivots its cycle
#: records hold, less the two ends; docs/cifar.md).  Each cycle evaluates its band once
#: more than it steps, so at 100 images these give the 885,100 sample-gradients counted.
REDUCED_PAPER_MOVING = (3, 5, 7, 9, 11, 12, 13, 13, 13, 13, 13, 13, 13, 13)


@pytest.mark.parametrize("model", ["resnet20", "resnet56", "densenet40-k12"])
def test_the_bezier_preset_costs_under_a_tenth_of_the_paper_per_path(model):
    preset, batch = curve_preset(model, "bezier")
    paper, paper_batch = autoneb_preset(model, "paper")
    assert batch == int(paper_batch_size(model) * preset.batch_fraction)
    # the paper's band moves at least one pivot on every step: a lower bound of its cost
    assert preset.sample_gradients(batch) <= paper.total_steps * paper_batch / 10


def test_the_bezier_preset_costs_under_a_tenth_of_the_reduced_paper_run_per_path():
    """At the reduced run's scale (the paper's cycles x 0.05, 100 images a step; the
    preset at half of them) against the pivots the paper run's band moved."""
    preset = CURVE_PRESETS["bezier"]
    paper = scaled_schedule(0.05)
    paper_cost = sum((c.steps + 1) * n * 100 for c, n in zip(paper.cycles, REDUCED_PAPER_MOVING, strict=True))
    assert paper_cost == 885_100  # its counters: 1,047,900 less its ends (814 evaluations x 2 x 100)
    assert preset.sample_gradients(int(100 * preset.batch_fraction)) <= paper_cost / 10


def test_the_preset_is_a_curve_and_refuses_cycle_steps():
    preset, batch = schedule_for("resnet20", "bezier")
    curve = preset.optimizer(seed=3)
    assert isinstance(curve, Curve) and (curve.kind, curve.bends, curve.samples_per_step) == ("bezier", 3, 1)
    assert (curve.steps, curve.lr_decay, curve.seed, curve.stepper.step_size) == (1760, "garipov", 3, 0.01)
    assert batch == 256
    with pytest.raises(LandscapeError, match="cycle_steps applies to AutoNEB presets"):
        schedule_for("resnet20", "bezier", cycle_steps=10)


def test_a_curve_preset_runs_through_the_experiment_to_table_1(tmp_path):
    from landscape_plugins.cifar.data import write_synthetic_npz

    npz = tmp_path / "tiny.npz"
    write_synthetic_npz(npz, 40, 20)
    potential = dict(
        model="resnet8-w2", data=str(npz), device="cpu", batched="loop", calibration_size=16, calibration_batch=8
    )
    tiny = CurvePreset("tiny", steps=6, batch_fraction=1.0, pivots=5)
    exp = Experiment(
        potential={**potential, "batch_size": 8}, minima=2, epochs=2, train_batch=8, preset=tiny, per_segment=1
    )
    result = run_experiment(tmp_path / "store", exp, log=lambda _: None)
    (path,) = result.table.paths
    with Store.open(tmp_path / "store") as store:
        stored = store.read_result(path.name)
    assert stored.path.n_pivots == 5 and stored.nit == 6 and stored.config["lr_decay"] == "garipov"
    assert stored.samples["gradient"] == 6 * 1 * 8  # steps x draws x batch, nothing else
