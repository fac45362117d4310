"""A climbing image is reported as the saddle only when it is the top of its own path.

The regression case (issue 15): on GaussianMixture(n_wells=5, seed=633), minima m0 -> m1,
the path crosses two passes; started on the grid-exact path with 15 pivots, the
climbing string used to settle on the lower pass (-0.20469) and say converged, while
its own path reached -0.17779 between two pivots and the grid-exact minimax is -0.17858.
"""

from __future__ import annotations

import numpy as np
import pytest

from landscape import Path
from landscape.optimizers.autoneb import AutoNEB
from landscape.optimizers.band import NEB, StringMethod
from landscape.optimizers.driver import optimize
from landscape.optimizers.schedules import Cycle, Schedule
from landscape.optimizers.steppers import FIRE
from landscape.paths.budget import Budget
from landscape.paths.climber import CLIMBER_RTOL, check_climber, climber_tolerance
from landscape.paths.exact import grid_minimax
from landscape.paths.geometry import redistribute
from landscape.paths.result import Status
from landscape_plugins.analytic.surfaces import GaussianMixture

STEPPER = FIRE(lr=0.01, dt_max=0.05, max_step=0.02)


@pytest.fixture(scope="module")
def two_passes():
    """The surface, its ends, the grid-exact minimax and the 15-pivot start on the exact path."""
    surface = GaussianMixture(n_wells=5, seed=633)
    names = list(surface.minima)
    a, b = surface.minima[names[0]], surface.minima[names[1]]
    exact = grid_minimax(surface, a, b, grid=301)
    start = redistribute(exact.points.astype(float), 15)
    start = Path(np.concatenate([a[None], start[1:-1], b[None]]))
    return surface, exact, start


def test_the_climbing_string_repairs_onto_the_true_saddle(two_passes):
    surface, exact, start = two_passes
    r = optimize(StringMethod(climb=True, fmax=1e-3, stepper=STEPPER), surface, start, budget=Budget(max_steps=3000))
    assert r.status is Status.CONVERGED
    assert r.climber_at_top and r.state.repairs >= 1
    assert abs(r.saddle_energy - exact.saddle_energy) <= 2 * exact.tolerance
    assert r.saddle_energy >= r.upper_bound - climber_tolerance(r.path.energies)
    assert r.path.n_pivots == start.n_pivots + r.state.repairs  # one pivot per repair


def test_without_repairs_the_run_says_the_climber_is_not_the_top(two_passes):
    surface, exact, start = two_passes
    band = StringMethod(climb=True, fmax=1e-3, stepper=STEPPER, max_repairs=0)
    r = optimize(band, surface, start, budget=Budget(max_steps=3000))
    assert r.status is Status.SADDLE_NOT_AT_TOP and not r.success
    assert "not the top of its path" in r.message
    # the certified figure is the path's maximum, never the low climber
    assert not r.climber_at_top
    assert r.saddle_energy == r.upper_bound >= exact.saddle_energy - exact.tolerance
    assert climber_energy_of(r) < exact.saddle_energy - 0.02


def climber_energy_of(result):
    return float(np.max(result.path.energies[1:-1]))


def test_neb_repairs_too(two_passes):
    surface, exact, start = two_passes
    r = optimize(NEB(climb=True, fmax=1e-3, stepper=STEPPER), surface, start, budget=Budget(max_steps=5000))
    assert r.success or r.status is Status.SADDLE_NOT_AT_TOP
    if r.success:
        assert abs(r.saddle_energy - exact.saddle_energy) <= 2 * exact.tolerance
    assert r.saddle_energy >= r.upper_bound - climber_tolerance(r.path.energies)


def _one_climbing_cycle(max_repairs: int) -> AutoNEB:
    # threshold 10: no ordinary insertion, so only the repair can add a pivot
    schedule = Schedule("climb-only", (Cycle(1500, STEPPER, climb=True),), threshold=10.0)
    return AutoNEB(schedule=schedule, band=StringMethod(fmax=1e-3, max_repairs=max_repairs))


def test_autoneb_runs_its_final_climbing_cycle_again_from_the_top(two_passes):
    surface, exact, start = two_passes
    r = optimize(_one_climbing_cycle(3), surface, start)
    assert r.status is Status.SCHEDULE_DONE and r.climber_at_top
    assert r.state.repairs >= 1 and len(r.cycles) == 1  # the repaired cycle is recorded once
    assert abs(r.saddle_energy - exact.saddle_energy) <= 2 * exact.tolerance


def test_autoneb_without_repairs_is_not_a_success(two_passes):
    surface, exact, start = two_passes
    r = optimize(_one_climbing_cycle(0), surface, start)
    assert r.status is Status.SADDLE_NOT_AT_TOP and "schedule" in r.message
    assert r.saddle_energy == r.upper_bound >= exact.saddle_energy - exact.tolerance


def test_check_climber_finds_the_higher_point_between_pivots():
    pivots = np.array([0.0, 1.0, 0.5, 2.0, 0.0])
    dense = np.array([0.5, 0.8, 0.9, 0.7, 0.6, 1.2, 1.5, 1.9])  # 2 per segment; 2.1 nowhere
    ok = check_climber(pivots, dense, 2)
    assert ok.ok and ok.top == 2.0 and ok.segment is None
    dense[5] = 2.5  # segment 2 (pivots 2 and 3) goes above the climber at 2.0
    bad = check_climber(pivots, dense, 2)
    assert not bad.ok and bad.segment == 2 and bad.dense_index == 5 and bad.top == 2.5
    assert "between pivots 2 and 3" in bad.message()


def test_tolerance_scales_with_the_rise_and_an_end_above_the_climber_is_caught():
    e = np.array([-3.0, -1.0, -2.0])
    assert climber_tolerance(e) == pytest.approx(CLIMBER_RTOL * 2.0, rel=1e-3)
    within = check_climber(e, np.array([-1.0 + 0.5 * CLIMBER_RTOL * 2.0]), 1)
    assert within.ok
    high_end = check_climber(np.array([-3.0, -1.0, 0.0]), np.zeros(0), 1)
    assert not high_end.ok and high_end.segment is None and "an end of the path" in high_end.message()
