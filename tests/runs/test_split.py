"""A band spent through a basin, split at the basin's minimum (`landscape.runs.split`),
against the grid-exact minimax and a hand count of the evaluations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape import Budget, Path, grid_minimax
from landscape.analysis.minima import is_minimum
from landscape.foundations.errors import LandscapeError
from landscape.paths.result import Result, Status
from landscape.potentials.potential import CountingPotential
from landscape.runs.pair import connect
from landscape.runs.split import settle_basins
from landscape.testing import SeededNoise
from landscape_cli.testing import error_line, run
from landscape_plugins.analytic.surfaces import MuellerBrown, random_pair

# Random surface 832 (7 wells, m5 -> m3): the minimax path runs through a minimum at
# E = -3.87 between two barriers; 9 pivots spend 200 steps without settling both.
SEED, STEPS, PIVOTS = 832, 200, 9


def _connect(potential, a, b, **kw):
    return connect(potential, a, b, method="neb", pivots=PIVOTS, budget=Budget(max_steps=STEPS), fmax=1e-3, **kw)


def test_a_band_spent_through_a_basin_converges_split_at_its_minimum():
    surface, a, b = random_pair(SEED)
    truth = grid_minimax(surface, a, b, grid=301)
    whole = _connect(surface, a, b)
    assert whole.status is Status.MAX_STEPS and "basin" in whole.message
    counted = CountingPotential(surface)
    r = _connect(counted, a, b, split=1)
    assert r.status is Status.CONVERGED, r.message
    assert abs(r.saddle_energy - truth.saddle_energy) <= 2 * max(truth.tolerance, 1e-3)
    # the joined path: start, the minimum added (a true minimum), end; every evaluation counted
    (k,) = r.config["split"]["pivots"]
    assert k == PIVOTS - 1 and r.path.n_pivots == 2 * PIVOTS - 1
    assert r.path.energies[k] == pytest.approx(r.config["split"]["energies"][0])
    assert is_minimum(surface, r.path.pivots[k]) and r.path.energies[k] < min(r.path.energies[[0, -1]])
    np.testing.assert_array_equal(r.path.pivots[0], a)
    np.testing.assert_array_equal(r.path.pivots[-1], b)
    assert r.nfev == counted.points and r.nit > whole.nit
    assert r.climber_at_top and r.upper_bound == pytest.approx(r.profile.saddle_energy)
    t = r.profile.t
    assert t[0] == 0 and t[-1] == pytest.approx(1) and np.all(np.diff(t) > 0)
    assert np.count_nonzero(r.profile.is_pivot) == r.path.n_pivots


def test_split_zero_and_a_settled_band_are_the_band_itself():
    surface, a, b = random_pair(SEED)
    plain = _connect(surface, a, b)
    for r in (_connect(surface, a, b, split=0), settle_basins(surface, plain, _never, splits=0)):
        assert r.status is plain.status and r.nfev == plain.nfev
        np.testing.assert_array_equal(r.path.pivots, plain.path.pivots)
    settled = connect(surface, a, b, method="neb", pivots=PIVOTS, budget=Budget(max_steps=400), fmax=1e-3, split=2)
    assert settled.status is Status.CONVERGED and "split" not in settled.config  # no budget spent, nothing split


def _never(a, b):
    raise AssertionError("no leg should run")


def _spent(potential, pivots):
    path = Path(pivots).evaluate(potential)
    return Result(path, Status.MAX_STEPS, "step budget of 10 spent", 10, 50, np.array([0.0]))


def test_a_basin_that_relaxes_onto_an_end_is_not_split():
    mb = MuellerBrown()
    a, b = mb.minima["A"], mb.minima["B"]
    # a pivot in A's own basin between two high ones: it relaxes to A
    pivots = np.array([a, a + [0.4, 0.4], a + [0.05, 0.02], b + [-0.4, -0.4], b])
    r = settle_basins(mb, _spent(mb, pivots), _never, splits=3)
    assert r.status is Status.MAX_STEPS and "relaxed to the start" in r.message and r.nfev > 50


def test_a_leg_that_breaks_leaves_the_band_as_it_was_with_its_work_counted():
    surface, a, b = random_pair(SEED)
    whole = _connect(surface, a, b)

    def broken(p, q):
        path = Path(np.stack([p, 0.5 * (p + q), q])).evaluate(surface)
        return Result(path, Status.DIVERGED, "ran away", 7, 11, np.array([0.0]))

    r = settle_basins(surface, whole, broken, splits=1)
    assert r.status is Status.MAX_STEPS and "a leg diverged (ran away)" in r.message
    np.testing.assert_array_equal(r.path.pivots, whole.path.pivots)
    assert r.nfev > whole.nfev + 22  # both legs and the relaxation


def test_split_is_refused_where_it_cannot_run():
    mb = MuellerBrown()
    a, b = mb.minima["A"], mb.minima["B"]
    with pytest.raises(LandscapeError, match="method neb or string"):
        connect(mb, a, b, method="autoneb", split=1)
    with pytest.raises(LandscapeError, match="deterministic"):
        connect(SeededNoise(mb, 0.1, stochastic=True), a, b, method="neb", split=1)
    with pytest.raises(LandscapeError, match="integer >= 0"):
        settle_basins(mb, _connect(mb, a, b), _never, splits=-1)
    counted = CountingPotential(mb)
    with pytest.raises(LandscapeError, match="integer >= 0"):
        connect(counted, a, b, method="neb", split=-1)
    assert counted.points == 0  # refused before the first band ran


def test_connect_split_from_the_command_line(tmp_path):
    args = ["connect", "gaussian-mixture", "-o", "wells=7", "-o", f"seed={SEED}", "--start", "m5", "--end", "m3"]
    band = ["--method", "neb", "--pivots", PIVOTS, "--steps", STEPS, "--fmax", "1e-3"]
    whole = run([*args, *band, "--json"], expect=1)
    assert json.loads(whole.stdout)["status"] == "max_steps"
    out = json.loads(run([*args, *band, "--split", 1, "--json"]).stdout)
    assert out["status"] == "converged" and out["split"]["pivots"] == [PIVOTS - 1]
    for extra, words in (
        (["--split", 1, "--out", tmp_path / "s"], "a store cannot resume a split run"),
        (["--split", -1], "--split must be >= 0"),
        (["--split", 1, "--method", "autoneb"], "--split applies to --method neb or string"),
    ):
        assert words in error_line(run([*args, *band, *extra], expect=1))
    assert not (tmp_path / "s").exists()


def test_a_split_interrupted_in_its_first_leg_runs_no_second():
    surface, a, b = random_pair(SEED)
    whole = _connect(surface, a, b)
    legs = []

    def interrupted(p, q):
        legs.append((p, q))
        path = Path(np.stack([p, 0.5 * (p + q), q])).evaluate(surface)
        return Result(path, Status.INTERRUPTED, "interrupted by the user", 3, 5, np.array([0.0]))

    r = settle_basins(surface, whole, interrupted, splits=2)
    assert len(legs) == 1 and r.status is Status.INTERRUPTED and "first leg" in r.message
    assert r.nfev > whole.nfev + 5
