"""A success is a sane band: an exact start converges at once, a band that ran off or
climbed onto a maximum is no success (checked against the surfaces' known saddles)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from landscape.analysis.verdicts import analyse_top, judge
from landscape.optimizers.schedules import Schedule
from landscape.paths.path import Path
from landscape.paths.result import Status
from landscape.paths.sanity import bounds_problem, rise_problem
from landscape.potentials.potential import CountingPotential, Potential
from landscape.potentials.registry import load_potential
from landscape.runs.pair import connect


class DoubleWell(Potential):
    """(x^2 - 1)^2 + 2 y^2: the straight line between its minima is the exact MEP,
    the saddle (0, 0) at energy 1."""

    dim = 2
    name = "double-well"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def energy_and_gradient(self, x):
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        return e, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)


@pytest.mark.parametrize("method", ["neb", "string"])
def test_an_exact_start_converges_at_once(method):
    pot = CountingPotential(DoubleWell())
    r = connect(pot, pot.minima["L"], pot.minima["R"], method=method)
    # Before the round-off floor: max_steps after 5,000 steps and 35,081 evaluations.
    assert r.status is Status.CONVERGED and r.nit == 0, r.message
    # the band once, then the climber check, whose points are the profile's: fewer than its 8 x 9 grid
    assert r.nfev == pot.points == 9 + r.state.checks and 8 <= r.state.checks < 8 * 9
    assert abs(r.saddle_energy - 1.0) < 1e-12 and judge(r, analyse_top(pot, r)).success


def test_a_nearly_exact_start_still_converges_by_the_relative_test():
    pot = DoubleWell()
    r = connect(pot, pot.minima["L"], pot.minima["R"] + np.array([0.0, 1e-3]), method="neb")
    assert r.status is Status.CONVERGED and "frtol" in r.message and abs(r.saddle_energy - 1.0) < 1e-4


def test_a_climber_on_the_rings_maximum_is_not_a_saddle():
    ring = load_potential("ring")
    r = connect(ring, ring.minima["A"], ring.minima["B"], method="neb")  # the straight line, exact and symmetric
    assert r.success and abs(r.saddle_energy - 2.0) < 1e-12  # the band alone cannot tell
    judged = judge(r, analyse_top(ring, r))
    assert judged.status is Status.NOT_A_SADDLE and not judged.success and "2 negative" in judged.message
    assert ring.reference_energies["AB_upper"] == 1.0  # the true saddle, reached through the upper half
    through = connect(ring, ring.minima["A"], ring.minima["B"], via=[np.array([0.0, 1.0])])
    assert judge(through, analyse_top(ring, through)).success
    assert abs(through.saddle_energy - ring.reference_energies["AB_upper"]) < 1e-6


def test_judge_leaves_failures_and_missing_hessians_alone():
    ring = load_potential("ring")
    r = connect(ring, ring.minima["A"], ring.minima["B"], method="neb")
    assert judge(r, {}) is r and judge(r, {"unavailable": "NaN"}) is r


def test_a_band_that_ran_off_mueller_brown_is_diverged():
    mb = load_potential("mueller-brown")
    # plain SGD at lr 1 against curvatures near 750: off the box on every machine
    sgd = Schedule.from_config({"cycles": [{"steps": 50, "stepper": {"kind": "sgd", "lr": 1}}]}, name="runaway")
    r = connect(mb, mb.minima["B"], mb.minima["A"], schedule=sgd)
    assert r.status is Status.DIVERGED and not r.success and "rejected (energy diverged)" in r.message
    assert r.upper_bound > 1e4 > mb.reference_energies["AC"]  # the truth is -40.6648


def test_an_lbfgs_band_that_ran_off_is_diverged_not_max_steps():
    from landscape.optimizers.steppers import stepper_from_config
    from landscape.runs.pair import make_optimizer

    gm = load_potential("gaussian-mixture", {"wells": 5, "seed": 3})
    lbfgs = stepper_from_config({"kind": "lbfgs"})  # with --kinks it converges (test_kinks.py)
    folding = replace(make_optimizer("neb", stepper=lbfgs), unfold=False)  # as before the fold check
    r = connect(gm, gm.minima["m1"], gm.minima["m3"], optimizer=folding)
    # it runs up to the divergence ceiling and stops there on its own (before: at the end
    # of its 5,000 steps, 35,153 evaluations, where the final check said it ran away)
    assert r.status is Status.DIVERGED and "presses on the divergence ceiling" in r.message
    assert r.nit < 5000 and r.upper_bound > 2000
    # spread out where it folds back (the default), the same band stays on its surface
    r = connect(gm, gm.minima["m1"], gm.minima["m3"], method="neb", stepper=lbfgs)
    assert r.status is Status.MAX_STEPS and r.upper_bound < 0


def test_rise_evaluates_the_starting_points_between_pivots_only_when_needed():
    pot = CountingPotential(DoubleWell())
    start = Path(np.array([[-1.0, 0.0], [-0.1, 0.0], [1.0, 0.0]]))  # no pivot on the top (0, 0) at 1
    energies = pot.energy(start.pivots)
    pot.reset()
    assert rise_problem(0.5, start, energies, pot, 9) == (None, 0) and pot.points == 0
    # 1.0 is above every starting pivot (0.98 at most) but on the starting line itself
    assert rise_problem(1.0, start, energies, pot, 9) == (None, 18) and pot.points == 18
    why, spent = rise_problem(1.5, start, energies, pot, 9)
    assert "ran away" in why and spent == 18


def test_bounds_are_widened_to_hold_what_the_user_asked_for():
    mb = load_potential("mueller-brown")  # bounds x in [-1.5, 1.2], y in [-0.2, 2.0]: widths 2.7, 2.2
    start = Path(np.stack([mb.minima["A"], mb.minima["B"]]))
    assert bounds_problem(np.array([-4.64, 2.99]), start, mb).startswith("the band ran away")  # x < -4.2
    assert bounds_problem(np.array([-4.1, 4.1]), start, mb) is None  # a soft box: one width of slack
    assert "coordinate 1" in bounds_problem(np.array([0.0, 4.3]), start, mb)
    far = Path(np.array([[-5.0, 1.0], [0.6, 0.0]]))  # a start the user placed outside the box
    assert bounds_problem(np.array([-4.64, 2.0]), far, mb) is None
    assert bounds_problem(np.array([0.0, 1.0]), start, DoubleWell()) is None  # no bounds declared


def test_the_force_floor_ignores_an_energy_offset_and_scales_with_the_range():
    from landscape.optimizers.forces import force_floor

    pivots = np.stack([np.linspace(-1.0, 1.0, 9), np.zeros(9)], axis=1)
    e = DoubleWell().energy_and_gradient(pivots)[0]
    assert force_floor(pivots, e + 1e8) == pytest.approx(force_floor(pivots, e), rel=1e-6)
    assert force_floor(pivots, 3 * e) == pytest.approx(3 * force_floor(pivots, e))
    assert force_floor(pivots, e) == pytest.approx(1e-10 * 1.0 / 0.25)  # range 1 over spacing 0.25


def test_the_sanity_test_runs_on_torch_arrays_and_on_a_resumed_state():
    torch = pytest.importorskip("torch")
    from landscape.optimizers.band import ElasticBand
    from landscape.optimizers.driver import optimize
    from landscape.paths.budget import Budget

    class TorchWell(DoubleWell):
        def asarray(self, x):
            return torch.as_tensor(np.asarray(x), dtype=torch.float64)

        def energy_and_gradient(self, x):
            e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
            return e, torch.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], dim=1)

    pot = TorchWell()
    start = Path(pot.asarray(np.array([[-1.0, 0.0], [-0.1, 0.0], [1.0, 0.0]])))
    energies = pot.energy(start.pivots)
    assert rise_problem(1.0, start, energies, pot, 9) == (None, 18)  # the dense points, as tensors
    assert bounds_problem(torch.tensor([0.0, 0.0]), start, pot) is None
    band = ElasticBand(method="neb", climb=True, fmax=1e-6)
    line = Path(pot.asarray(np.stack([np.linspace(-1.0, 1.0, 5), np.linspace(0.0, 0.2, 5)], axis=1)))
    first = optimize(band, pot, line, budget=Budget(max_steps=3))
    resumed = optimize(band, pot, line, state=first.state, budget=Budget(max_steps=2000))  # nit > 0: start re-evaluated
    fresh = optimize(band, pot, line, budget=Budget(max_steps=2000))
    assert resumed.success and resumed.nfev == fresh.nfev and resumed.saddle_energy == pytest.approx(1.0, abs=1e-6)
