"""A band stopped by its budget says when its path crosses a basin between two
barriers (`basin`, `basin_note`): a minimum may lie between its ends, the case of 26 of
the 30 default random-surface bands that spent their steps (docs/benchmarks.md); a band
that stops on its own criterion, or whose path has one barrier, says nothing more."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from landscape import Budget, Status, load_potential
from landscape.paths.sanity import basin, basin_note, rise_tolerance
from landscape.runs.pair import connect
from landscape_plugins.analytic.surfaces import random_pair


def _brute_basin(e: np.ndarray):
    """The definition, pivot by pivot: the largest smaller rise to either side's top."""
    best = None
    for k in range(1, len(e) - 1):
        left, right = e[:k].max() - e[k], e[k + 1 :].max() - e[k]
        if min(left, right) > rise_tolerance(e) and (best is None or min(left, right) > min(best[1], best[2])):
            best = (k, left, right)
    return best


@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=3, max_size=30))
def test_basin_is_the_definition_pivot_by_pivot(values):
    e = np.array(values)
    got, want = basin(e), _brute_basin(e)
    assert (got is None) == (want is None)
    if got is not None:
        assert got[0] == want[0] and np.allclose(got[1:], want[1:], rtol=0, atol=1e-12)


def test_a_dip_below_both_ends_is_named_with_its_pivot():
    note = basin_note(np.array([-1.0, 0.5, -3.0, 0.2, -1.5]))
    assert note is not None and "dips below both ends (E=-3 at pivot 2, ends -1 and -1.5)" in note


def test_a_basin_above_the_ends_is_named_with_both_rises():
    note = basin_note(np.array([-1.0, 0.5, -1.2, 0.2, -1.5]))
    assert note is not None
    assert "crosses a basin between two barriers (E=-1.2 at pivot 2, 1.7 below the highest pivot before it" in note
    assert "and 1.4 below the highest after it)" in note and "landscape minima" in note


def test_one_barrier_no_note():
    assert basin_note(np.array([0.0, 1.0, 0.0])) is None
    assert basin_note(np.array([0.0, 1.0, 2.0, 3.0])) is None  # downhill all the way
    assert basin_note(np.array([0.0, np.nan, -5.0, 0.0])) is None  # no judgement on NaN


def test_round_off_at_a_barrier_is_no_basin():
    e = np.array([0.0, 1.0, 2.0, 2.0, 2.0, 1.0, 0.0])
    e[3] = 2.0 - 0.5 * rise_tolerance(e)  # a wiggle on a flat top, within the rise tolerance
    assert basin(e) is None and basin_note(e) is None
    e[3] = 2.0 - 2 * rise_tolerance(e)
    assert basin(e) is not None and basin_note(e) is not None


def _case(seed: int):
    """bench/bench_random_surfaces.py's case `seed`: a surface and an ordered pair of minima."""
    found = random_pair(seed)
    assert found is not None
    return found


def test_a_band_stopped_by_its_budget_across_a_deeper_basin_says_so():
    """Surface 64: its minimax path passes a basin at E = -4.70, below both ends (-1.77,
    -1.45); the default band spends 3,000 steps there (measured); after 100 it already
    dips to -4.37."""
    surface, a, b = _case(64)
    r = connect(surface, a, b, method="neb", pivots=15, fmax=1e-3, budget=Budget(max_steps=100))
    assert r.status is Status.MAX_STEPS
    assert r.message.startswith("step budget of 100 spent; its path dips below both ends")
    assert "landscape minima" in r.message


def test_mueller_brown_stopped_early_names_minimum_c_and_says_nothing_once_converged():
    """A -> B passes minimum C (E = -80.77), above both ends: 20 steps in, the band's
    basin is C's; run to its tolerance, the band converges and says nothing more."""
    mb = load_potential("mueller-brown")
    r = connect(mb, mb.minimum("A"), mb.minimum("B"), method="neb", budget=Budget(max_steps=20))
    assert r.status is Status.MAX_STEPS and "crosses a basin between two barriers (E=-80.7" in r.message
    k = basin(r.path.energies)[0]
    assert np.linalg.norm(np.asarray(r.path.pivots[k]) - mb.minimum("C")) < 0.1
    r = connect(mb, mb.minimum("A"), mb.minimum("B"), method="neb")
    assert r.success and "basin" not in r.message and "dips" not in r.message


def test_no_note_on_a_band_near_its_straight_start():
    surface, a, b = _case(64)
    r = connect(surface, a, b, method="neb", pivots=15, fmax=1e-3, budget=Budget(max_steps=2))
    assert r.status is Status.MAX_STEPS and r.message == "step budget of 2 spent"
