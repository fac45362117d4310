"""L-BFGS's first inverse curvature measured on the band (`LBFGS.curvature`, issue 26):
the first step against its closed form, the band's measurement against a quadratic's,
kept across restarts and the guard's fall-back, and configs from before the field."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.band import NEB
from landscape.optimizers.hybrid import Hybrid, guarded_start
from landscape.optimizers.steppers import LBFGS, stepper_from_config
from landscape.paths.path import Path
from landscape.potentials.potential import Potential

H = np.diag([2.0, 30.0, 0.5])


class Bowl(Potential):
    """E = x.H.x / 2: the gradient's change along a straight line is H times the step."""

    dim = 3

    def energy_and_gradient(self, x):
        return 0.5 * np.einsum("ij,jk,ik->i", x, H, x), x @ H


def test_the_first_step_is_curvature_over_the_measured_stiffness():
    x, force = np.array([[0.3, -0.2, 1.0]]), np.array([[0.1, 0.4, -0.2]])
    stepper = LBFGS(curvature=0.5, max_step=10.0)
    moved, _ = stepper.update(x, force, stepper.measured(stepper.init(x), 4.0))
    np.testing.assert_allclose(moved - x, 0.125 * force, rtol=1e-14)
    for nothing in (0.0, float("nan"), float("inf")):  # nothing measured: lr as before
        moved, _ = stepper.update(x, force, stepper.measured(stepper.init(x), nothing))
        np.testing.assert_allclose(moved - x, 0.01 * force, rtol=1e-14)
    plain = LBFGS(max_step=10.0)  # curvature None: the measurement is ignored
    moved, _ = plain.update(x, force, plain.measured(plain.init(x), 4.0))
    np.testing.assert_allclose(moved - x, 0.01 * force, rtol=1e-14)


def test_the_band_measures_the_stiffness_along_its_starting_line():
    a, b = np.array([-1.0, 0.5, 2.0]), np.array([1.0, -0.3, 0.0])
    band = NEB(stepper=LBFGS(curvature=0.7))
    state = band.init(Path.straight(a, b, 6), Bowl())
    u = (b - a) / np.linalg.norm(b - a)  # gradients differ by H times the spacing along u
    assert float(state.stepper_state["h0"]) == pytest.approx(0.7 / np.linalg.norm(H @ u), rel=1e-12)
    default = NEB(stepper=guarded_start()).init(Path.straight(a, b, 6), Bowl())
    assert float(default.stepper_state["2.h0"]) == pytest.approx(0.5 / np.linalg.norm(H @ u), rel=1e-12)


def test_restarts_and_the_guard_keep_the_measured_curvature():
    x = np.zeros((2, 3))
    stepper = guarded_start()
    state = stepper.measured(stepper.init(x), 8.0)
    assert float(state["2.h0"]) == 0.5 / 8.0
    assert float(stepper.restart(x, state)["2.h0"]) == 0.5 / 8.0
    assert float(LBFGS().restart(x, LBFGS().init(x))["h0"]) == 0.01
    # the guard's fall-back to the starting band keeps it for L-BFGS's next start
    state = {**state, "phase": np.asarray(-1.0), "f0": np.asarray(1.0)}
    state["2.r"] = np.asarray(0.4)
    _, after = stepper.update(x, np.ones((2, 3)), {**state, "2.k": np.asarray(1.0), "2.f": 0.1 * np.ones((2, 3))})
    assert float(after["phase"]) == 0.0 and float(after["2.h0"]) == 0.5 / 8.0


def test_a_state_from_before_the_field_steps_with_lr():
    x, force = np.array([[1.0, 0.0, -1.0]]), np.array([[0.2, -0.1, 0.3]])
    stepper = LBFGS(lr=0.02)
    old = {k: v for k, v in stepper.init(x).items() if k != "h0"}  # a snapshot stored before it
    moved, state = stepper.update(x, force, old)
    np.testing.assert_allclose(moved - x, 0.02 * force, rtol=1e-14)
    assert float(state["h0"]) == 0.02


def test_configs_round_trip_and_old_ones_load_as_before():
    assert "curvature" not in LBFGS().to_config()
    old = {"kind": "lbfgs", "lr": 0.01, "memory": 20, "max_step": 0.2, "force_growth": 1.5}
    assert stepper_from_config(old) == LBFGS() and LBFGS().to_config() == old
    for s in (LBFGS(curvature=0.5, max_step=0.4), guarded_start(), Hybrid(start="lbfgs", trust=0.1)):
        assert stepper_from_config(s.to_config()) == s
    with pytest.raises(LandscapeError, match="curvature must be > 0"):
        LBFGS(curvature=0.0)
    with pytest.raises(LandscapeError, match="curvature must be a number"):
        stepper_from_config({"kind": "lbfgs", "curvature": "big"})
