"""Numerical faults: NaN/inf and divergence reject steps, then stop with a clear status."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import Path, Potential
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.band import NEB, StringMethod
from landscape.optimizers.driver import optimize
from landscape.optimizers.steppers import SGD
from landscape.paths.budget import Budget
from landscape.paths.result import Status
from landscape.runs.pair import connect
from landscape_plugins.analytic.surfaces import MuellerBrown


class NaNRegion(Potential):
    """Mueller-Brown that returns NaN in a disc the path must cross (x < -0.7, y < 1.0),
    or everywhere after `after` calls."""

    dim = 2

    def __init__(self, after: int | None = None):
        self.inner, self.calls, self.after = MuellerBrown(), 0, after
        self.minima = self.inner.minima

    def energy_and_gradient(self, x):
        self.calls += 1
        e, g = self.inner.energy_and_gradient(x)
        bad = np.full(len(x), self.after is not None and self.calls > self.after)
        if self.after is None:
            bad = (x[:, 0] < -0.7) & (x[:, 1] < 1.0)
        e = np.where(bad, np.nan, e)
        return e, np.where(bad[:, None], np.nan, g)


class StiffValley(Potential):
    """V = 50 y^2 + x^2/2: plain SGD with lr 1 overshoots across the valley by a
    factor 99 per step, so energies grow without bound."""

    dim = 2

    def energy_and_gradient(self, x):
        return 50 * x[:, 1] ** 2 + 0.5 * x[:, 0] ** 2, np.stack([x[:, 0], 100 * x[:, 1]], axis=1)


def test_nan_everywhere_stops_with_numerical_fault_and_a_clean_path():
    pot = NaNRegion(after=3)
    a, b = pot.minima["A"], pot.minima["B"]
    r = optimize(NEB(), pot, Path.straight(a, b, 7), budget=Budget(max_steps=100))
    assert r.status is Status.NUMERICAL_FAULT
    assert "NaN" in r.message
    assert np.all(np.isfinite(r.path.pivots)) and np.all(np.isfinite(r.path.energies))
    assert np.all(np.isfinite(r.history))
    assert r.profile is None  # the dense profile would be NaN: not reported


def test_nan_region_rejects_steps_and_shrinks_them():
    pot = NaNRegion()
    r = connect(pot, pot.minima["A"], pot.minima["B"], method="string", climb=False, budget=Budget(max_steps=300))
    assert np.all(np.isfinite(r.path.energies))
    assert r.state.step_scale < 1.0 or r.status is Status.NUMERICAL_FAULT


def test_autoneb_reports_numerical_fault():
    pot = NaNRegion(after=5)
    r = connect(pot, pot.minima["A"], pot.minima["B"], method="autoneb")
    assert r.status is Status.NUMERICAL_FAULT
    assert np.all(np.isfinite(r.path.energies))


def test_divergence_is_detected():
    bent = Path(np.array([[-1.0, 0.0], [-0.5, 0.1], [0.0, 0.1], [0.5, 0.1], [1.0, 0.0]]))
    r = optimize(StringMethod(stepper=SGD(lr=1.0), max_faults=3), StiffValley(), bent, budget=Budget(max_steps=500))
    assert r.status is Status.DIVERGED and "diverged" in r.message
    assert np.all(np.isfinite(r.path.energies))


def test_nan_at_the_start_is_refused():
    pot = NaNRegion(after=0)
    with pytest.raises(LandscapeError, match="NaN"):
        optimize(NEB(), pot, Path.straight(pot.minima["A"], pot.minima["B"], 5), budget=Budget(max_steps=3))


@pytest.mark.parametrize("every", [3, 7])
def test_lazy_fault_checks_revert_to_the_last_checked_state(every):
    """Checking every k steps (no host sync in between) still ends clean: the path
    reverts to the last state that passed a check."""
    pot = NaNRegion(after=20)
    a, b = pot.minima["A"], pot.minima["B"]
    band = NEB(fault_check_every=every, max_faults=4)
    r = optimize(band, pot, Path.straight(a, b, 7), budget=Budget(max_steps=200), check_every=every)
    assert r.status is Status.NUMERICAL_FAULT
    assert np.all(np.isfinite(r.path.pivots)) and np.all(np.isfinite(r.path.energies))
    assert r.state.verified is None


def test_lazy_fault_checks_change_nothing_on_a_clean_run():
    mb = MuellerBrown()
    a, b = mb.minima["A"], mb.minima["B"]
    every_step = optimize(StringMethod(climb=True), mb, Path.straight(a, b, 9), budget=Budget(max_steps=60))
    lazy = optimize(
        StringMethod(climb=True, fault_check_every=10), mb, Path.straight(a, b, 9), budget=Budget(max_steps=60)
    )
    np.testing.assert_array_equal(every_step.path.pivots, lazy.path.pivots)


@pytest.mark.parametrize("kind", ["adam", "lbfgs", "fire2-lbfgs", "fire"])
def test_a_halved_step_is_half_the_step_whatever_the_stepper(kind):
    """After a rejected step the band's next step is half the one it would take: before,
    the force was halved, which leaves Adam's step (it divides by the force's size) and a
    step at its stepper's cap (L-BFGS's trust radius) as they were."""
    from dataclasses import replace

    from landscape.optimizers.steppers import stepper_from_config

    mb = MuellerBrown()
    band = NEB(stepper=stepper_from_config({"kind": kind}), climb=False)
    state = band.init(Path.straight(mb.minima["A"], mb.minima["B"], 7), mb)
    for _ in range(3):  # past the first steps' special cases (L-BFGS's first, FIRE from rest)
        state = band.step(state, mb)
    full = band.step(state, mb).path.pivots - state.path.pivots
    half = band.step(replace(state, step_scale=0.5), mb).path.pivots - state.path.pivots
    assert np.linalg.norm(full) > 0
    np.testing.assert_allclose(half, 0.5 * full, rtol=1e-12, atol=1e-15)


def test_the_hybrid_restarts_as_fire2_after_a_rejected_step():
    """A rejected step restarts FIRE 2.0 + L-BFGS as FIRE 2.0, keeping the first step's
    force: a guarded L-BFGS start (-1) goes on as FIRE 2.0 (0), L-BFGS handed the band
    (1) is given up for good (2), the FIRE 2.0 phases stay.  Before, every rejection
    restarted the guarded L-BFGS, even from FIRE 2.0 for good."""
    from landscape.optimizers.hybrid import Hybrid

    hybrid = Hybrid(start="lbfgs")
    x = np.zeros((3, 2))
    for phase, recovered in ((-1, 0), (0, 0), (1, 2), (2, 2)):
        state = {**hybrid.init(x), "phase": np.float64(phase), "f0": np.float64(7.0), "cuts": np.float64(1)}
        got = hybrid.recover(x, state)
        assert (float(got["phase"]), float(got["f0"]), float(got["cuts"])) == (recovered, 7.0, 1.0)
        assert np.all(got["1.v"] == 0)  # FIRE 2.0 from rest


def test_a_band_at_the_ceiling_after_its_halvings_is_a_runaway():
    """`pressing_on_ceiling`: diverged once the step has halved max_faults times in all and
    the last good path's top is within 1% of the ceiling's height above the lower end;
    not for NaN faults, fewer halvings, or a top further down (a band that overshot)."""
    from types import SimpleNamespace

    from landscape.optimizers.faults import pressing_on_ceiling

    def band(top, scale=0.5**8, fault="energy diverged"):
        path = SimpleNamespace(energies=np.array([0.0, top, -1.0]))  # lower end -1, ceiling 99
        return SimpleNamespace(path=path, ceiling=99.0, faults=1, fault=fault, step_scale=scale)

    assert "presses on the divergence ceiling" in pressing_on_ceiling(band(98.0), 8)  # 99 - 0.01 x 100
    assert pressing_on_ceiling(band(97.9), 8) is None
    assert pressing_on_ceiling(band(98.5, scale=0.5**7), 8) is None
    assert pressing_on_ceiling(band(98.5, fault="NaN or infinite energy or gradient"), 8) is None
    accepted = band(98.5)
    accepted.faults = 0  # a step accepted since the last rejection
    assert pressing_on_ceiling(accepted, 8) is None
