"""NEB, string method and AutoNEB against exact references and grid-exact truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from landscape import Path
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.autoneb import AutoNEB
from landscape.optimizers.band import NEB, StringMethod
from landscape.optimizers.curves import PolyChain
from landscape.optimizers.driver import optimize
from landscape.optimizers.schedules import get_schedule
from landscape.optimizers.steppers import FIRE, SGD, Adam
from landscape.paths.budget import Budget
from landscape.paths.climber import climber_tolerance
from landscape.paths.exact import grid_minimax
from landscape.paths.geometry import redistribute
from landscape.paths.result import Status
from landscape.potentials.potential import CountingPotential
from landscape.runs.pair import connect, make_optimizer
from landscape.testing import check_optimizer, examples
from landscape_plugins.analytic.embedding import Embedded
from landscape_plugins.analytic.strategies import gaussian_surfaces
from landscape_plugins.analytic.surfaces import GaussianMixture, MuellerBrown

MB_SADDLE = -40.664844


@pytest.fixture(scope="module")
def mb():
    return MuellerBrown()


@pytest.mark.parametrize(
    "optimizer",
    [
        NEB(climb=True, fmax=0.05),
        StringMethod(climb=True, fmax=0.05),
        NEB(fmax=0.5),
        StringMethod(fmax=0.5, stepper=SGD(lr=2e-4, momentum=0.9)),
        NEB(climb=True, climb_after=50, fmax=0.5, stepper=Adam(lr=0.005)),
        AutoNEB(schedule=get_schedule("analytic")),
    ],
    ids=["neb-climb", "string-climb", "neb", "string-sgd", "neb-adam-late-climb", "autoneb"],
)
def test_every_optimizer_passes_the_conformance_suite(mb, optimizer):
    check_optimizer(optimizer, mb, mb.minima["A"], mb.minima["B"])


@pytest.mark.parametrize("method", ["neb", "string", "autoneb"])
def test_climbing_image_finds_the_mueller_brown_saddle(mb, method):
    r = connect(mb, mb.minima["A"], mb.minima["B"], method=method, climb=True, fmax=0.01)
    assert r.climbing
    assert abs(r.saddle_energy - MB_SADDLE) <= 1e-3
    np.testing.assert_allclose(r.saddle, [-0.822002, 0.624313], atol=2e-3)


def test_autoneb_without_climbing_gives_a_tight_upper_bound(mb):
    r = connect(mb, mb.minima["A"], mb.minima["B"], method="autoneb", climb=False)
    assert not r.climbing and r.status is Status.SCHEDULE_DONE
    assert MB_SADDLE - 0.05 <= r.saddle_energy <= MB_SADDLE + 0.5
    assert len(r.cycles) == len(get_schedule("analytic").cycles)
    assert r.path.n_pivots > 5  # pivots were inserted


@pytest.mark.parametrize("climb", [True, False])
def test_mueller_brown_embedded_in_1000_dimensions(climb):
    pot = Embedded(MuellerBrown(), dim=1000, seed=3)
    r = connect(pot, pot.minima["A"], pot.minima["B"], method="autoneb", climb=climb)
    if climb:
        assert abs(r.saddle_energy - MB_SADDLE) <= 1e-3
    else:
        assert MB_SADDLE - 0.05 <= r.saddle_energy <= MB_SADDLE + 0.5


def test_ends_never_move_and_counts_are_honest(mb):
    counter = CountingPotential(mb)
    a, b = mb.minima["A"], mb.minima["B"]
    r = optimize(NEB(climb=True), counter, Path.straight(a, b, 7), budget=Budget(max_steps=40), per_segment=0)
    assert r.status is Status.MAX_STEPS and r.nit == 40
    np.testing.assert_array_equal(r.path.pivots[0], a)
    np.testing.assert_array_equal(r.path.pivots[-1], b)
    assert r.nfev == counter.points == 7 + 40 * 5
    assert len(r.history) == 41


def test_evaluation_budget_stops_the_run(mb):
    r = optimize(
        StringMethod(), mb, Path.straight(mb.minima["A"], mb.minima["B"], 9), budget=Budget(max_evaluations=100)
    )
    assert r.status is Status.MAX_EVALUATIONS and 100 <= r.nfev < 100 + 7 + 8 * 9


def test_string_method_keeps_equal_arc_length(mb):
    r = connect(mb, mb.minima["A"], mb.minima["B"], method="string", climb=False, fmax=0.5)
    seg = np.linalg.norm(np.diff(r.path.pivots, axis=0), axis=1)
    np.testing.assert_allclose(redistribute(r.path.pivots), r.path.pivots, atol=1e-9 + 1e-3 * seg.mean())


def test_insertion_lowers_the_interpolation_residuum(mb):
    """After a cycle, inserting pivots where the residual is high must reduce it."""
    sched = replace(get_schedule("analytic"), threshold=0.05)
    r = connect(mb, mb.minima["A"], mb.minima["B"], method="autoneb", climb=False, schedule=sched)
    first_inserting = next(c for c in r.cycles if c.inserted.size)
    later = r.cycles[first_inserting.index + 1]
    assert later.path.n_pivots > first_inserting.path.n_pivots
    assert later.residuals.max() < first_inserting.residuals.max()


def test_reversing_the_path_reverses_the_result(mb):
    kw = dict(method="neb", climb=True, fmax=0.01)
    fwd = connect(mb, mb.minima["A"], mb.minima["B"], **kw)
    back = connect(mb, mb.minima["B"], mb.minima["A"], **kw)
    assert abs(fwd.saddle_energy - back.saddle_energy) < 1e-4
    np.testing.assert_allclose(fwd.path.pivots[::-1], back.path.pivots, atol=2e-3)
    np.testing.assert_allclose(fwd.path.energies[::-1], back.path.energies, atol=0.05)


def test_bad_settings_give_clear_errors(mb):
    with pytest.raises(LandscapeError, match="same point"):
        connect(mb, mb.minima["A"], mb.minima["A"])
    with pytest.raises(LandscapeError, match="shape"):
        connect(mb, np.zeros(3), mb.minima["A"])
    with pytest.raises(LandscapeError, match="NaN"):
        connect(mb, np.array([np.nan, 0.0]), mb.minima["A"])
    with pytest.raises(LandscapeError, match="unknown method"):
        make_optimizer("bfgs")
    with pytest.raises(LandscapeError, match="autoneb only"):
        make_optimizer("neb", max_pivots=5)
    with pytest.raises(LandscapeError, match="not both"):
        connect(mb, mb.minima["A"], mb.minima["B"], optimizer=NEB(fmax=0.1), climb=False)
    with pytest.raises(LandscapeError, match="no way to stop"):
        optimize(NEB(), mb, Path.straight(mb.minima["A"], mb.minima["B"], 5))


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: NEB(unfold="no"), "unfold must be true or false, got 'no'"),
        (lambda: NEB(kinks=1), "kinks must be true or false, got 1"),
        (lambda: StringMethod(climb="yes"), "climb must be true or false"),
        (lambda: StringMethod(check_all=None), "check_all must be true or false"),
        (lambda: AutoNEB(stop_cycle_early="false"), "stop_cycle_early must be true or false"),
        (lambda: AutoNEB(max_pivots=2), "max_pivots must be >= 3"),
        (lambda: AutoNEB(max_pivots=7.5), "max_pivots must be an integer"),
        (lambda: AutoNEB(max_inserts=-1), "max_inserts must be >= 0"),
        (lambda: PolyChain(spread="on"), "spread must be true or false"),
    ],
)
def test_switches_and_caps_of_the_wrong_type_are_refused(build, words):
    """A string where a switch belongs would count as on (`"no"` is truthy) and a float
    cap would be compared as a count: both are refused where they are given."""
    with pytest.raises(LandscapeError, match=words):
        build()


surface_cases = gaussian_surfaces(4, 7).flatmap(lambda s: st.tuples(st.just(s), st.permutations(range(len(s.minima)))))


@given(surface_cases)
@example((GaussianMixture(n_wells=5, seed=633), [0, 1, 2, 3]))  # two passes: tests/paths/test_climber.py
@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_surfaces_never_beat_the_exact_saddle_and_climbing_reaches_it(case):
    """The path maximum is an upper bound on the minimax energy (up to grid
    tolerance); started on the grid-exact path, a climbing image that says it
    converged is at the exact saddle, and one that does not reports the bound."""
    surface, order = case
    names = list(surface.minima)
    a, b = surface.minima[names[order[0]]], surface.minima[names[order[1]]]
    exact = grid_minimax(surface, a, b, grid=301)
    tol = max(exact.tolerance, 1e-3)
    free = connect(surface, a, b, method="autoneb", climb=False)
    assert free.upper_bound >= exact.saddle_energy - tol
    start = Path(redistribute(exact.points.astype(float), 15))
    start = Path(np.concatenate([a[None], start.pivots[1:-1], b[None]]))
    climbed = optimize(
        StringMethod(climb=True, fmax=1e-3, stepper=FIRE(lr=0.01, dt_max=0.05, max_step=0.02)),
        surface,
        start,
        budget=Budget(max_steps=3000),
    )
    assert climbed.saddle_energy >= exact.saddle_energy - tol
    assert climbed.saddle_energy >= climbed.upper_bound - climber_tolerance(climbed.path.energies)
    if climbed.success:
        assert abs(climbed.saddle_energy - exact.saddle_energy) <= 2 * tol


def test_the_climber_checks_points_per_segment_are_a_setting():
    """Fewer points in the climber's check cost fewer evaluations; a converged NEB on
    Mueller-Brown finds the same saddle with 3 as with the default 9."""
    from landscape import connect, load_potential
    from landscape.runs.pair import make_optimizer

    assert make_optimizer("neb", check_per_segment=3).check_per_segment == 3
    assert make_optimizer("autoneb", check_per_segment=3).band.check_per_segment == 3
    mb = load_potential("mueller-brown")
    runs = {k: connect(mb, mb.minima["A"], mb.minima["B"], method="neb", check_per_segment=k) for k in (9, 3)}
    assert all(r.success for r in runs.values())
    assert runs[3].nfev < runs[9].nfev
    assert abs(runs[3].saddle_energy - runs[9].saddle_energy) < 1e-6
    for bad in (0, 10**9, 2.5, True):
        with pytest.raises(LandscapeError, match="check_per_segment"):
            make_optimizer("neb", check_per_segment=bad)


def test_a_spent_time_budget_says_so():
    """A run stopped by its time budget reports MAX_SECONDS (it was reported as
    MAX_STEPS, a step budget that was never given)."""
    from landscape import Budget, Status, connect, load_potential

    mb = load_potential("mueller-brown")
    r = connect(mb, mb.minima["A"], mb.minima["B"], method="neb", budget=Budget(max_seconds=0.0))
    assert r.status is Status.MAX_SECONDS and "time budget of 0 s spent" in r.message and not r.success
