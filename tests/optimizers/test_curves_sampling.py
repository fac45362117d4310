"""A curve on a mini-batch loss evaluates its pivots only at the start, every
`sample_every` steps and at the end (`Curve.settle`): the training is the same whatever
the cadence, the final path is the final curve, the samples are the hand count, and a
stored run killed mid-way resumes to the uninterrupted run's result."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from landscape import Path
from landscape.optimizers.curves import BezierCurve, PolyChain
from landscape.optimizers.driver import optimize
from landscape.optimizers.steppers import SGD, Adam
from landscape.paths.budget import Budget
from landscape.paths.result import Status
from landscape.potentials.potential import Potential
from landscape_plugins.analytic.surfaces import MuellerBrown

A, B = MuellerBrown().minima["A"], MuellerBrown().minima["B"]


class Stream(Potential):
    """Mueller-Brown plus a seeded random tilt per batch.  `energy_and_gradient` draws
    the next batch; `energy` evaluates on the last one drawn (`same_batch_energy`) or,
    without it, draws a batch of its own (the base class's).  Its stream position is its
    checkpoint state, so a resumed run draws what the uninterrupted one drew."""

    stochastic = True
    dim = 2

    def __init__(self, same_batch: bool):
        self.same_batch_energy = same_batch
        self.inner, self.drawn, self.tilt = MuellerBrown(), 0, np.zeros(2)
        self.points = {"gradient": 0, "energy": 0}

    def _draw(self) -> None:
        self.drawn += 1
        self.tilt = np.random.default_rng((5, self.drawn)).normal(scale=20.0, size=2)

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        self._draw()
        self.points["gradient"] += len(x)
        e, g = self.inner.energy_and_gradient(x)
        return e + x @ self.tilt, g + self.tilt

    def energy(self, x: Any) -> np.ndarray:
        if not self.same_batch_energy:
            self._draw()
        self.points["energy"] += len(x)
        return self.inner.energy(x) + x @ self.tilt

    def checkpoint_state(self) -> dict[str, Any]:
        return {"drawn": self.drawn}

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.drawn = int(state["drawn"]) - 1
        self._draw()


@pytest.mark.parametrize("same_batch", [True, False])
def test_the_training_is_the_same_whatever_the_sampling_cadence(same_batch):
    runs = {}
    for every in (0, 1, 7):
        pot = Stream(same_batch)
        curve = PolyChain(bends=3, steps=40, samples_per_step=2, stepper=Adam(lr=0.02), seed=3, sample_every=every)
        result = optimize(curve, pot, Path.straight(A, B, 9), per_segment=0)
        runs[every] = (result, dict(pot.points))
    for every, (result, points) in runs.items():
        np.testing.assert_array_equal(result.state.controls, runs[1][0].state.controls)
        # the final path is the final curve at its pivots, on the batch the last step left
        np.testing.assert_array_equal(result.path.pivots, runs[1][0].path.pivots)
        np.testing.assert_array_equal(result.path.energies, runs[1][0].path.energies)
        assert result.state.sampled_at == 40 and result.status is Status.SCHEDULE_DONE
        samplings = {0: 2, 1: 41, 7: 7}[every]  # start (+ steps 7, ..., 35) + end; every step
        assert points == {"gradient": 40 * 2, "energy": 9 * samplings} and result.nfev == 80 + 9 * samplings
    assert runs[0][1]["energy"] == 18  # the start and the end: 9 pivots each, not 9 x 41


def test_between_samplings_the_path_is_the_last_one_sampled():
    pot = Stream(True)
    curve = BezierCurve(steps=20, samples_per_step=1, stepper=SGD(lr=1e-4), sample_every=5)
    state = curve.init(Path.straight(A, B, 5), pot)
    for k in range(1, 8):
        before, state = state, curve.step(state, pot)
        assert state.sampled_at == (5 if k >= 5 else 0)
        if k != 5:
            assert state.path is before.path
        else:
            fifth = state.controls
    np.testing.assert_array_equal(state.path.pivots[1:-1], curve.points(fifth, [0.25, 0.5, 0.75]))
    settled, late = curve.settle(state, pot)
    assert late is None and settled.sampled_at == 7
    np.testing.assert_array_equal(settled.path.pivots[1:-1], curve.points(state.controls, [0.25, 0.5, 0.75]))


def test_a_deterministic_potential_still_samples_every_step():
    mb = MuellerBrown()
    curve = BezierCurve(steps=5, samples_per_step=3, stepper=SGD(lr=1e-5))
    state = curve.init(Path.straight(A, B, 6), mb)
    for _ in range(5):
        state = curve.step(state, mb)
        assert state.sampled_at == state.nit
    assert state.nfev == 6 + 5 * (3 + 4)  # the interior pivots each step, the ends known
    assert curve.settle(state, mb) == (state, None)


def test_a_budget_stop_ends_on_the_curve_of_its_last_step():
    pot = Stream(True)
    curve = PolyChain(bends=2, steps=100, samples_per_step=2, stepper=Adam(lr=0.02))
    result = optimize(curve, pot, Path.straight(A, B, 7), budget=Budget(max_steps=13), per_segment=0)
    assert result.status is Status.MAX_STEPS and result.state.sampled_at == result.nit == 13
    np.testing.assert_array_equal(result.path.pivots, curve.points(result.state.controls, np.linspace(0, 1, 7)))
    assert result.history[-1] == np.max(result.path.energies[1:-1])


def test_non_finite_pivots_at_the_end_are_a_numerical_fault_on_the_last_good_path():
    class Holed(Stream):
        """NaN at the pivots of the final evaluation only."""

        def energy(self, x):
            return np.full(len(x), np.nan) if self.points["energy"] else super().energy(x)

    curve = PolyChain(bends=2, steps=10, samples_per_step=2, stepper=Adam(lr=0.02))
    result = optimize(curve, Holed(True), Path.straight(A, B, 7), per_segment=0)
    assert result.status is Status.NUMERICAL_FAULT and "after step 10" in result.message
    assert "the path is the curve after step 0" in result.message and np.all(np.isfinite(result.path.energies))


@pytest.mark.parametrize("same_batch", [True, False])
def test_a_stored_stochastic_curve_resumes_where_it_was_interrupted(tmp_path, same_batch):
    from landscape import Store
    from landscape.runs.stored import connect_stored

    settings = dict(method="polychain", bends=2, steps=60, samples_per_step=2, checkpoint_seconds=None)
    whole = connect_stored(str(tmp_path / "whole"), Stream(same_batch), ("A", "B"), A, B, **settings).result
    out = str(tmp_path / "store")
    stop = connect_stored(out, Stream(same_batch), ("A", "B"), A, B, callbacks=[lambda s: s.nit == 25], **settings)
    assert stop.result.status is Status.INTERRUPTED
    with Store.open(out) as store:
        assert store.check() == [] and store.read_checkpoint("A-B")[1]["sampled_at"] == 0
    run = connect_stored(out, Stream(same_batch), ("A", "B"), A, B, **settings)
    assert run.resumed_from_step == 25 and run.result.status is Status.SCHEDULE_DONE
    np.testing.assert_array_equal(run.result.state.controls, whole.state.controls)
    np.testing.assert_array_equal(run.result.path.pivots, whole.path.pivots)
    np.testing.assert_array_equal(run.result.path.energies, whole.path.energies)
    assert run.result.nfev == whole.nfev


def test_a_network_curve_costs_its_steps_samples_and_two_samplings():
    """The hand count on a tiny MLP over 64 samples in batches of 16: each step's
    draws x 16 sample-gradients, the pivots forward twice (start, end); the same
    controls as sampling after every step, which costs 15 forward passes a step more."""
    torch = pytest.importorskip("torch")
    from landscape_plugins.torchnet.potential import NetworkPotential

    torch.manual_seed(0)
    x = torch.randn(64, 2)
    data = (x, (x[:, 0] * x[:, 1] > 0).long())
    module = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    a, b = torch.randn(42) * 0.5, torch.randn(42) * 0.5  # the MLP has 42 parameters
    runs = {}
    for every in (0, 1):
        pot = NetworkPotential(module, data, batched="loop", batch_size=16)
        curve = BezierCurve(steps=30, samples_per_step=1, stepper=Adam(lr=0.05), sample_every=every)
        result = optimize(curve, pot, Path.straight(pot.asarray(a), pot.asarray(b), 15), per_segment=0)
        runs[every] = (result, pot.cost())
    (lazy, lazy_cost), (eager, eager_cost) = runs[0], runs[1]
    assert lazy_cost == {"gradient": 30 * 16, "forward": 2 * 15 * 16}
    assert eager_cost == {"gradient": 30 * 16, "forward": 31 * 15 * 16}
    torch.testing.assert_close(lazy.state.controls, eager.state.controls, rtol=0, atol=0)
    np.testing.assert_array_equal(lazy.path.energies, eager.path.energies)
